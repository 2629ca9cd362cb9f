import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { toDatabaseError } from '../base/database-errors.ts';
import { TenantScopeError } from '../base/errors.ts';
import { parseInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { type Database, rowsOf, type Transaction } from '../client/client.ts';
import { runtimeOf } from '../client/scope-runtime.ts';
import { scopeOf } from '../client/scope-sessions.ts';
import { assertUuid } from '../client/tenant.ts';
import { agentKinds, type JsonObject } from '../schema/index.ts';
import { type FinishRunInput, runAttemptSchema } from './agent-runs.ts';
import { type ClaimedRun, finishRow, leaseSecondsSchema } from './run-leases.ts';
import type { AgentKind } from './run-queue.ts';

// A worker's calls across tenants, which it makes as no tenant: each goes through one of the
// queue's definer functions with the service key's proof (run-queue.ts has the tenant's side,
// enqueue and cancel; run-leases.ts what a worker does in a run's own scope).

export interface ClaimRunsOptions {
  /** Only runs of agents of these kinds (default: any kind). */
  kinds?: readonly AgentKind[];
  /** At most this many runs (1 to 1000, default 1). */
  limit?: number;
  /** How long the worker holds each run before another claim may take it back (default 60). */
  leaseSeconds?: number;
  /** At most this many runs of one tenant running at once, across all workers (default: no limit). */
  perTenantLimit?: number;
}

const claimOptionsSchema = z.object({
  kinds: z.array(z.enum(agentKinds)).min(1).optional(),
  limit: z.int().min(1).max(1000).default(1),
  leaseSeconds: leaseSecondsSchema.default(60),
  perTenantLimit: z.int().min(1).optional(),
});

/** Cross-tenant calls are a worker's: refused inside a tenant or user scope, which is a tenant's transaction. */
function workerDatabase(db: Database | Transaction, call: string): Database {
  if (scopeOf(db)) {
    throw new TenantScopeError(
      `${call} is a worker's call across tenants: pass the database, not a scope's transaction`,
    );
  }
  return db as Database;
}

/**
 * Claims due runs across tenants, tenant-fair: tenants with due runs are visited least recently
 * visited first (at most 16 per call, each given an even share of `limit`), so one tenant's backlog
 * delays another tenant's new run by at most one claim per worker; within a tenant by priority,
 * then due time. Expired leases of the visited tenants go back to the queue first (after their
 * backoff) or to `failed` after `maxAttempts`. The runs come back `running`, leased to this worker.
 * Needs the key ring (the service key proves the call), as `withTenant` does.
 */
export async function claimRuns(db: Database, options: ClaimRunsOptions = {}): Promise<ClaimedRun[]> {
  return (await claimRunsAndNextDue(db, options)).runs;
}

/**
 * `claimRuns`, and in the same call when the next run of any tenant may be due (`nextRunDueAt`, as
 * the claim left the queue; now when the claim took `limit` runs, since more may be due): what an
 * idle worker sleeps until.
 */
export async function claimRunsAndNextDue(
  db: Database,
  options: ClaimRunsOptions = {},
): Promise<{ runs: ClaimedRun[]; nextDueAt: Date | null }> {
  const worker = workerDatabase(db, 'claimRuns');
  const { kinds, limit, leaseSeconds, perTenantLimit } = parseInput(
    claimOptionsSchema,
    options,
    'agent_runs',
  );
  const { issued, proof } = await runtimeOf(worker).keys.runQueueProof('claim');
  const kindList = kinds ? `{${kinds.join(',')}}` : null;
  const rows = await queueCall<Record<string, unknown>>(
    worker,
    sql`select * from public.app_claim_runs_next(${kindList}::agent_kind[], ${limit}::integer, ${leaseSeconds}::integer,
          ${perTenantLimit ?? null}::integer, ${issued}::bigint, ${proof}::bytea)`,
  );
  // The runs, then one row without a run that says when the next may be due.
  const runs = rows.filter((row) => row.run_id !== null && row.run_id !== undefined);
  const next = rows.find((row) => row.run_id === null || row.run_id === undefined)?.next_ready;
  return {
    runs: runs.map((row) => ({
      organizationId: String(row.organization_id),
      runId: String(row.run_id),
      agentId: String(row.agent_id),
      agentKind: row.agent_kind as AgentKind,
      configId: String(row.config_id),
      input: (typeof row.input === 'string' ? JSON.parse(row.input) : row.input) as JsonObject,
      attempt: Number(row.attempt),
      maxAttempts: Number(row.max_attempts),
      leaseExpiresAt: new Date(row.lease_expires_at as string | Date),
    })),
    nextDueAt: next ? new Date(next as string | Date) : null,
  };
}

async function queueCall<T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  try {
    return rowsOf<T>(await db.execute(query));
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** When the next run of any tenant may be due (null: none queued or running); idle workers sleep until then. */
export async function nextRunDueAt(db: Database): Promise<Date | null> {
  const worker = workerDatabase(db, 'nextRunDueAt');
  const { issued, proof } = await runtimeOf(worker).keys.runQueueProof('next');
  const [row] = await queueCall<{ next: string | Date | null }>(
    worker,
    sql`select public.app_run_queue_next_ready(${issued}::bigint, ${proof}::bytea) as next`,
  );
  return row?.next ? new Date(row.next) : null;
}

/** The queue of one tenant's agent, as operators see it (`neonhub-db runs`). */
export interface RunQueueDepth {
  organizationId: string;
  organizationSlug: string;
  agentId: string;
  agentSlug: string;
  /** Queued, due or scheduled. */
  queued: number;
  /** Queued and due now. */
  due: number;
  /** The longest-waiting due run became due then (null: none due). */
  oldestDueAt: Date | null;
  running: number;
  /** Running with a lease that has expired: its worker is gone; the next claim of its tenant takes it back. */
  expiredLeases: number;
}

/** The queue per tenant and agent, across tenants (a worker's or operator's call: needs the key ring). */
export async function runQueueDepth(db: Database): Promise<RunQueueDepth[]> {
  const worker = workerDatabase(db, 'runQueueDepth');
  const { issued, proof } = await runtimeOf(worker).keys.runQueueProof('stats');
  const rows = await queueCall<Record<string, unknown>>(
    worker,
    sql`select * from public.app_run_queue_stats(${issued}::bigint, ${proof}::bytea)`,
  );
  return rows.map((row) => ({
    organizationId: String(row.organization_id),
    organizationSlug: String(row.organization_slug),
    agentId: String(row.agent_id),
    agentSlug: String(row.agent_slug),
    queued: Number(row.queued),
    due: Number(row.due),
    oldestDueAt: row.oldest_due_at ? new Date(row.oldest_due_at as string | Date) : null,
    running: Number(row.running),
    expiredLeases: Number(row.expired_leases),
  }));
}

/** Runs of one tenant a finish sends in one call: as many as enqueueRuns takes. */
const MAX_FINISH = 1000;

/**
 * A worker's finish of runs it claimed, without opening their tenants' scopes: each run with its
 * terminal status and telemetry as `finishRuns` takes them, one call per tenant (through the
 * definer function `app_finish_runs`, which wants the service key's proof of the tenant named).
 * Only a run still running under the attempt named is finished; the ids of the others (taken
 * over, released, finished, of another tenant or never claimed) come back as `lost`, unchanged.
 * On the database, not in a scope (inside one it throws `TenantScopeError`).
 */
export async function finishClaimedRuns(
  db: Database,
  items: readonly { run: Pick<ClaimedRun, 'organizationId' | 'runId' | 'attempt'>; result: FinishRunInput }[],
): Promise<{ finished: string[]; lost: string[] }> {
  const worker = workerDatabase(db, 'finishClaimedRuns');
  const byTenant = new Map<string, ReturnType<typeof finishRow>[]>();
  items.forEach(({ run, result }, index) => {
    assertUuid(run.organizationId, 'organizationId');
    assertUuid(run.runId, 'runId');
    const attempt = parseInput(runAttemptSchema, run.attempt, 'agent_runs', 'attempt');
    const row = finishRow(attempt, run.runId, result, index);
    // As the database spells the tenant in the message the proof signs.
    const org = run.organizationId.toLowerCase();
    const rows = byTenant.get(org);
    if (rows) rows.push(row);
    else byTenant.set(org, [row]);
  });
  const runtime = runtimeOf(worker);
  const calls = [...byTenant].flatMap(([org, rows]) =>
    Array.from({ length: Math.ceil(rows.length / MAX_FINISH) }, async (_, part) => {
      const { issued, proof } = await runtime.keys.runQueueProof(`finish:${org}`);
      const chunk = rows.slice(part * MAX_FINISH, (part + 1) * MAX_FINISH);
      return queueCall<{ run_id: string }>(
        worker,
        sql`select run_id from public.app_finish_runs(${org}::uuid, ${jsonParam(chunk)},
              ${issued}::bigint, ${proof}::bytea)`,
      );
    }),
  );
  const finished = new Set((await Promise.all(calls)).flat().map((row) => String(row.run_id)));
  return {
    finished: [...finished],
    lost: [...new Set(items.map(({ run }) => run.runId))].filter((id) => !finished.has(id.toLowerCase())),
  };
}
