import { and, eq, inArray } from 'drizzle-orm';
import { connectionFailure, RunLeaseLostError } from '../base/errors.ts';
import type { Database, Transaction } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import { type AgentRun, agentRuns, type ExecutionError, type JsonObject } from '../schema/index.ts';
import type { FinishRunInput } from './agent-runs.ts';
import { finishClaimedRuns } from './run-claims.ts';
import { type ClaimedRun, failRunAttempt, releaseRun } from './run-leases.ts';

// How a worker writes the outcomes of the runs it claimed (run-worker.ts runs them). Outcomes that
// end in the same turn of the event loop leave together: a tenant's successes and cancellations in
// one finishClaimedRuns call (no tenant scope to open), its failures and releases in one scope.

/** What the worker reads of a run to tell whether an outcome sent on a lost connection was written. */
type RunState = Pick<AgentRun, 'status' | 'attempts' | 'error'>;

/** An outcome of a claimed run, on its way to the database. */
export interface RunOutcome {
  /** A finish with a terminal status, which shares one call with the tenant's other finishes. */
  result?: FinishRunInput;
  /** Else the outcome, in the tenant's scope, alone or among others. */
  apply?: (tx: Transaction) => Promise<unknown>;
  /** Whether the run as the database has it shows this outcome written (asked after a lost connection). */
  written: (row: RunState) => boolean;
}

/** A finish (`succeeded` with the handler's result, or `cancelled`): written when the run has that status under the attempt held. */
export const finishOutcome = (run: ClaimedRun, result: FinishRunInput): RunOutcome => ({
  result,
  written: (row) => row.status === result.status && row.attempts === run.attempt,
});

/** A failed attempt (retried after its backoff): written when the run left `running` under this attempt with this error. */
export function failureOutcome(run: ClaimedRun, error: unknown): RunOutcome {
  const failure = executionError(error);
  return {
    apply: (tx) => failRunAttempt(tx, run, failure),
    // Queued for its retry, failed or cancelled (an expired lease taken back says lease_expired).
    written: (row) =>
      row.attempts === run.attempt &&
      row.status !== 'running' &&
      row.error?.code === failure.code &&
      row.error.message === failure.message,
  };
}

/** A release (the worker stops): written when the run is queued again with the attempt given back. */
export const releaseOutcome = (run: ClaimedRun): RunOutcome => ({
  apply: (tx) => releaseRun(tx, run),
  written: (row) => row.status === 'queued' && row.attempts === run.attempt - 1,
});

/** A handler's failure as the run records it: its message, never its stack. */
function executionError(error: unknown): ExecutionError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown })?.code;
  return {
    code: typeof code === 'string' && code.length > 0 ? code.slice(0, 100) : 'handler_error',
    message: message.slice(0, 2000) || 'the handler failed',
  } satisfies ExecutionError & JsonObject;
}

type Pending = RunOutcome & { run: ClaimedRun; resolve: () => void; reject: (e: unknown) => void };

/**
 * Returns `settle(run, outcome)`, which resolves once the database took the outcome, and rejects
 * with `RunLeaseLostError` when the run was no longer the worker's; `report` hears what fails a
 * whole batch of outcomes.
 */
export function outcomeWriter(
  db: Database,
  report: (error: unknown) => void,
): (run: ClaimedRun, outcome: RunOutcome) => Promise<void> {
  let pending: Pending[] = [];
  const finishAll = async (items: Pending[]) => {
    const { lost } = await finishClaimedRuns(
      db,
      items.map((item) => ({ run: item.run, result: item.result ?? { status: 'succeeded' } })),
    );
    const refused = new Set(lost);
    for (const item of items) {
      if (refused.has(item.run.runId)) item.reject(new RunLeaseLostError(item.run.runId, item.run.attempt));
      else item.resolve();
    }
  };
  const applyAll = async (organizationId: string, items: Pending[]) => {
    const settled = await withTenant(db, organizationId, (tx) =>
      Promise.allSettled(items.map((item) => item.apply?.(tx))),
    );
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') items[i]?.resolve();
      else items[i]?.reject(result.reason);
    });
  };
  /**
   * An outcome whose connection was lost on its way may have been written: a finish commits on its
   * own, and a scope's COMMIT may have been processed. The runs the database shows with their
   * outcome written are settled; the others come back (all of them when it cannot be asked either).
   */
  const unwritten = async (items: Pending[]): Promise<Pending[]> => {
    const organizationId = items[0]?.run.organizationId;
    if (!organizationId) return items;
    const ids = items.map((item) => item.run.runId);
    const rows = await withTenant(db, organizationId, (tx) =>
      tx
        .select({
          id: agentRuns.id,
          status: agentRuns.status,
          attempts: agentRuns.attempts,
          error: agentRuns.error,
        })
        .from(agentRuns)
        .where(and(eq(agentRuns.organizationId, organizationId), inArray(agentRuns.id, ids))),
    ).catch(() => undefined);
    if (!rows) return items;
    const found = new Map(rows.map((row) => [row.id.toLowerCase(), row]));
    return items.filter((item) => {
      const row = found.get(item.run.runId.toLowerCase());
      const written = row !== undefined && item.written(row);
      if (written) item.resolve();
      return !written;
    });
  };
  /** A call for many runs failed as a whole (one refusal fails it): each alone, so one bad run takes no other down. */
  const eachAlone = async (items: Pending[], call: (items: Pending[]) => Promise<void>) => {
    try {
      await call(items);
    } catch (error) {
      const lost = connectionFailure(error, '') !== undefined;
      const rest = lost ? await unwritten(items) : items;
      // A refusal of one run is its own; a lost outcome is sent again, also for one run.
      if (items.length === 1 && !lost) items[0]?.reject(error);
      else await Promise.all(rest.map((item) => call([item]).catch(item.reject)));
    }
  };
  const flush = async () => {
    const items = pending;
    pending = [];
    const groups = new Map<string, Pending[]>();
    for (const item of items) {
      const key = `${item.apply ? 'scope' : 'finish'}:${item.run.organizationId}`;
      const group = groups.get(key);
      if (group) group.push(item);
      else groups.set(key, [item]);
    }
    await Promise.all(
      [...groups.values()].map((group) =>
        eachAlone(group, (some) =>
          some[0]?.apply ? applyAll(some[0].run.organizationId, some) : finishAll(some),
        ),
      ),
    );
  };
  return (run, outcome) =>
    new Promise<void>((resolve, reject) => {
      if (pending.length === 0) setImmediate(() => flush().catch(report));
      pending.push({ run, ...outcome, resolve, reject });
    });
}
