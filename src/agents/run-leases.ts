import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { RunLeaseLostError, TenantScopeError } from '../base/errors.ts';
import { guarded, parseInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';
import { type AgentRun, agentRuns, type ExecutionError, type JsonObject } from '../schema/index.ts';
import { executionErrorSchema } from '../validators/agents.ts';
import {
  type FinishRunInput,
  finishRunInputSchema,
  RUN_QUEUE_HOLD,
  RUN_SLOT_FREED,
  runAttemptSchema,
  runQueueWake,
  updateRun,
} from './agent-runs.ts';
import type { AgentKind } from './run-queue.ts';

// What a worker does with a run it claimed, in the run's tenant scope: heartbeat, finish, fail an
// attempt, release. Every operation names the attempt it holds, so a worker whose lease was taken
// over writes nothing.

/** A run a worker claimed: what it needs to open the run's tenant scope and do the work, and nothing more. */
export interface ClaimedRun {
  organizationId: string;
  runId: string;
  agentId: string;
  agentKind: AgentKind;
  configId: string;
  input: JsonObject;
  /** This claim's attempt (1, 2, ...): every lease operation names it. */
  attempt: number;
  maxAttempts: number;
  leaseExpiresAt: Date;
}

/** How long a worker holds a run before another claim may take it back (1 s to a day). */
export const leaseSecondsSchema = z.int().min(1).max(86_400);

/** A claimed run named in its tenant's scope; the scope must be the run's tenant. */
function heldRun(tx: Transaction, claim: Pick<ClaimedRun, 'organizationId' | 'runId' | 'attempt'>) {
  assertUuid(claim.runId, 'runId');
  if (currentTenant(tx) !== claim.organizationId) {
    throw new TenantScopeError(
      `run ${claim.runId} belongs to organization ${claim.organizationId}: open its scope (withTenant(db, run.organizationId, fn))`,
    );
  }
  return parseInput(runAttemptSchema, claim.attempt, 'agent_runs', 'attempt');
}

/**
 * Extends the lease of a run this worker holds, to `leaseSeconds` from now. Tells whether the run
 * was cancelled meanwhile (`cancelRun`): the worker stops and finishes it as `cancelled`.
 * `RunLeaseLostError` when another claim took the run over.
 */
export async function heartbeatRun(
  tx: Transaction,
  claim: Pick<ClaimedRun, 'organizationId' | 'runId' | 'attempt'>,
  options: { leaseSeconds?: number } = {},
): Promise<{ leaseExpiresAt: Date; cancelRequested: boolean }> {
  const attempt = heldRun(tx, claim);
  const leaseSeconds = parseInput(
    leaseSecondsSchema,
    options.leaseSeconds ?? 60,
    'agent_runs',
    'leaseSeconds',
  );
  const run = await updateRun(
    tx,
    claim.runId,
    { leaseExpiresAt: sql`now() + make_interval(secs => ${leaseSeconds}::integer)` },
    attempt,
  );
  return {
    leaseExpiresAt: run.leaseExpiresAt ?? new Date(),
    cancelRequested: run.cancelRequestedAt !== null,
  };
}

/**
 * Finishes many claimed runs of the current tenant in one statement, each with its terminal status
 * and telemetry as `finishRun` takes them: what a busy worker does with the runs that ended
 * together. Returns the runs finished and the ids of those no longer held by the attempt named
 * (taken over, released or finished), which are left as they are.
 */
export async function finishRuns(
  tx: Transaction,
  items: readonly { run: Pick<ClaimedRun, 'organizationId' | 'runId' | 'attempt'>; result: FinishRunInput }[],
): Promise<{ finished: string[]; lost: string[] }> {
  if (items.length === 0) return { finished: [], lost: [] };
  const org = currentTenant(tx);
  const rows = items.map(({ run, result }, index) => finishRow(heldRun(tx, run), run.runId, result, index));
  // Latency is the caller's, else the time since the start; kept out of COALESCE, where Citus refuses now().
  const finish = (subset: typeof rows, latency: ReturnType<typeof sql>) =>
    subset.length === 0
      ? Promise.resolve([])
      : tx.execute(sql`
        update agent_runs r set
          status = v.status, output = coalesce(v.output, r.output), error = coalesce(v.error, r.error),
          model = coalesce(v.model, r.model),
          prompt_tokens = coalesce(v.prompt_tokens, r.prompt_tokens),
          completion_tokens = coalesce(v.completion_tokens, r.completion_tokens),
          cost_amount = coalesce(v.cost_amount, r.cost_amount), currency = coalesce(v.currency, r.currency),
          time_to_first_token_ms = coalesce(v.time_to_first_token_ms, r.time_to_first_token_ms),
          lease_expires_at = null, finished_at = greatest(now(), r.started_at), latency_ms = ${latency}
        from jsonb_to_recordset(${jsonParam(subset)}) as v(
          id uuid, attempt integer, status agent_run_status, output jsonb, error jsonb, model text,
          prompt_tokens integer, completion_tokens integer, cost_amount numeric, currency text,
          latency_ms integer, time_to_first_token_ms integer)
        where r.organization_id = ${org}::uuid and r.id = v.id and r.status = 'running' and r.attempts = v.attempt
        returning r.id`);
  return guarded(async () => {
    // The queue row before the runs, as a claim takes them (else a claim and this finish can deadlock).
    await tx.execute(RUN_QUEUE_HOLD);
    const [measured, timed] = await Promise.all([
      finish(
        rows.filter((row) => row.latency_ms !== null),
        sql`v.latency_ms`,
      ),
      finish(
        rows.filter((row) => row.latency_ms === null),
        sql`(extract(epoch from greatest(now(), r.started_at) - r.started_at) * 1000)::int`,
      ),
      tx.execute(RUN_SLOT_FREED),
    ]);
    const updated = [...rowsOf<{ id: string }>(measured), ...rowsOf<{ id: string }>(timed)];
    const finished = new Set(updated.map((row) => row.id));
    return {
      finished: [...finished],
      lost: rows.filter((row) => !finished.has(row.id)).map((row) => row.id),
    };
  });
}

/** One run of a finish as the statements read it from JSON (jsonb_to_recordset). */
export function finishRow(attempt: number, runId: string, result: FinishRunInput, index: number) {
  const values = parseInput(finishRunInputSchema, result, 'agent_runs', `runs[${index}]`);
  return {
    id: runId,
    attempt,
    status: values.status,
    output: values.output ?? null,
    error: values.error ?? null,
    model: values.model ?? null,
    prompt_tokens: values.promptTokens ?? null,
    completion_tokens: values.completionTokens ?? null,
    cost_amount: values.costAmount ?? null,
    currency: values.currency ?? null,
    latency_ms: values.latencyMs ?? null,
    time_to_first_token_ms: values.timeToFirstTokenMs ?? null,
  };
}

/** `backoff_seconds`, doubled for each attempt after the first, at most a day: as app_claim_runs computes it. */
export const runBackoffSeconds = (attempts: number, backoffSeconds: number) =>
  Math.min(backoffSeconds * 2 ** Math.max(attempts - 1, 0), 86_400);

/**
 * An attempt of a run this worker holds failed: the run goes back to the queue, due after its
 * backoff, or to `failed` once it has had `maxAttempts` (to `cancelled` if cancelled meanwhile).
 * `error` is kept on the run either way. `RunLeaseLostError` when another claim took it over.
 */
export async function failRunAttempt(
  tx: Transaction,
  claim: Pick<ClaimedRun, 'organizationId' | 'runId' | 'attempt'>,
  error: ExecutionError,
): Promise<AgentRun> {
  const attempt = heldRun(tx, claim);
  const reason = parseInput(executionErrorSchema, error, 'agent_runs', 'error');
  // The queue row before the run, as a claim takes them (else a claim and this failure can deadlock).
  await guarded(() => tx.execute(RUN_QUEUE_HOLD));
  // Read, then written with the outcome decided here: Citus refuses now() inside CASE in an UPDATE.
  const [held] = await guarded(() =>
    tx
      .select({
        maxAttempts: agentRuns.maxAttempts,
        backoffSeconds: agentRuns.backoffSeconds,
        cancelRequestedAt: agentRuns.cancelRequestedAt,
      })
      .from(agentRuns)
      .where(
        and(
          eq(agentRuns.organizationId, claim.organizationId),
          eq(agentRuns.id, claim.runId),
          eq(agentRuns.status, 'running'),
          eq(agentRuns.attempts, attempt),
        ),
      )
      .for('update'),
  );
  if (!held) throw new RunLeaseLostError(claim.runId, attempt);
  const retry = attempt < held.maxAttempts && held.cancelRequestedAt === null;
  const run = await updateRun(
    tx,
    claim.runId,
    retry
      ? {
          status: 'queued',
          startedAt: null,
          runAt: sql`now() + make_interval(secs => ${runBackoffSeconds(attempt, held.backoffSeconds)}::float8)`,
          error: reason,
          leaseExpiresAt: null,
        }
      : {
          status: held.cancelRequestedAt === null ? 'failed' : 'cancelled',
          finishedAt: sql`greatest(now(), ${agentRuns.startedAt})`,
          latencyMs: sql`(extract(epoch from greatest(now(), ${agentRuns.startedAt}) - ${agentRuns.startedAt}) * 1000)::int`,
          error: reason,
          leaseExpiresAt: null,
        },
    attempt,
  );
  await guarded(() => tx.execute(run.status === 'queued' ? runQueueWake(run.runAt) : RUN_SLOT_FREED));
  return run;
}

/**
 * Gives a run this worker holds back to the queue, due now, without counting the attempt: what a
 * worker does with runs it cannot finish before it stops. `RunLeaseLostError` when it no longer holds it.
 */
export async function releaseRun(
  tx: Transaction,
  claim: Pick<ClaimedRun, 'organizationId' | 'runId' | 'attempt'>,
): Promise<AgentRun> {
  const attempt = heldRun(tx, claim);
  // The queue row before the run, as a claim takes them (else a claim and this release can deadlock).
  await guarded(() => tx.execute(RUN_QUEUE_HOLD));
  const run = await updateRun(
    tx,
    claim.runId,
    {
      status: 'queued',
      startedAt: null,
      attempts: sql`${agentRuns.attempts} - 1`,
      runAt: sql`now()`,
      leaseExpiresAt: null,
    },
    attempt,
  );
  await guarded(() => tx.execute(runQueueWake(run.runAt)));
  return run;
}
