import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { uuidv7 } from '../base/ids.ts';
import { guarded, InputError, notFound, parseInput } from '../base/input.ts';
import type { Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';
import { type AgentRun, type agentKinds, agentRuns, agents } from '../schema/index.ts';
import { insertAgentRunBaseSchema } from '../validators/agents.ts';
import { runQueueWake } from './agent-runs.ts';

// The run queue: tenants enqueue runs in their own scope; workers, which are no tenant, claim them
// across tenants through app_claim_runs (a SECURITY DEFINER function that wants the service key's
// proof), finish the runs they claimed through app_finish_runs (the same proof, naming the tenant),
// and open a run's tenant scope with withTenant to heartbeat, retry or release it (run-leases.ts).

export type AgentKind = (typeof agentKinds)[number];

/** The channel enqueues notify on commit: an idle worker listening on it claims at once. */
export const RUN_QUEUE_CHANNEL = 'neonhub_agent_runs';

/** What a caller may set on a run besides its agent; each is optional. */
const enqueueOptions = {
  input: true,
  conversationId: true,
  parentRunId: true,
  idempotencyKey: true,
  priority: true,
  runAt: true,
  maxAttempts: true,
  backoffSeconds: true,
} as const;

const enqueueInputSchema = insertAgentRunBaseSchema
  .pick({ agentId: true, ...enqueueOptions })
  .partial(enqueueOptions)
  .extend({
    /** Default: the agent's current config. */
    configId: z.uuid().optional(),
    /** Default: `api`. */
    trigger: insertAgentRunBaseSchema.shape.trigger.optional(),
  });
export type EnqueueRunInput = z.input<typeof enqueueInputSchema>;

/** Inputs of one enqueueRuns call: enough for a burst, small enough for one statement's parameters. */
const MAX_ENQUEUE = 1000;

/**
 * Queues runs of the current tenant in one statement: each with its agent's current config unless
 * `configId` says otherwise, `priority` (higher first within the tenant), `runAt` (not claimed
 * before), `maxAttempts` and `backoffSeconds`. A run whose `idempotencyKey` the tenant used before
 * comes back as that first run, `created: false`. Listening workers are woken when the
 * transaction commits. Results are in the order of `inputs`.
 */
export async function enqueueRuns(
  tx: Transaction,
  inputs: readonly EnqueueRunInput[],
): Promise<{ run: AgentRun; created: boolean }[]> {
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_ENQUEUE) {
    throw new InputError('agent_runs', [
      { path: [], message: `enqueueRuns takes 1 to ${MAX_ENQUEUE} runs, got ${inputs?.length ?? 0}` },
    ]);
  }
  const parsed = inputs.map((input, index) =>
    parseInput(enqueueInputSchema, input, 'agent_runs', `runs[${index}]`),
  );
  const org = currentTenant(tx);
  return guarded(async () => {
    const agentIds = [...new Set(parsed.map((input) => input.agentId))];
    const found = await tx
      .select({ id: agents.id, currentConfigId: agents.currentConfigId })
      .from(agents)
      .where(and(eq(agents.organizationId, org), inArray(agents.id, agentIds), isNull(agents.deletedAt)));
    const configs = new Map(found.map((agent) => [agent.id, agent.currentConfigId]));
    const rows = parsed.map(({ configId, trigger = 'api', ...values }, index) => {
      if (!configs.has(values.agentId)) {
        throw new InputError('agent_runs', [
          {
            column: 'agent_id',
            path: [`runs[${index}]`, 'agentId'],
            message: 'no such agent in this organization',
          },
        ]);
      }
      const config = configId ?? configs.get(values.agentId);
      if (!config) {
        throw new InputError('agent_runs', [
          {
            column: 'config_id',
            path: [`runs[${index}]`, 'configId'],
            message: 'the agent has no current config; publish one first',
          },
        ]);
      }
      return {
        ...values,
        id: uuidv7(),
        organizationId: org,
        configId: config,
        trigger,
        status: 'queued' as const,
      };
    });
    // The queue hears of the runs in the same round trip as their insert (a refused insert aborts both).
    const scheduled = rows.every((row) => row.runAt);
    const due = scheduled ? new Date(Math.min(...rows.map((row) => row.runAt?.getTime() ?? 0))) : undefined;
    const [inserted] = await Promise.all([
      tx
        .insert(agentRuns)
        .values(rows)
        .onConflictDoNothing({ target: [agentRuns.organizationId, agentRuns.idempotencyKey] })
        .returning(),
      tx.execute(runQueueWake(due)),
    ]);
    const byId = new Map(inserted.map((run) => [run.id, run]));
    const missingKeys = rows.filter((row) => !byId.has(row.id)).map((row) => row.idempotencyKey ?? '');
    const earlier = missingKeys.length
      ? await tx
          .select()
          .from(agentRuns)
          .where(and(eq(agentRuns.organizationId, org), inArray(agentRuns.idempotencyKey, missingKeys)))
      : [];
    const byKey = new Map(earlier.map((run) => [run.idempotencyKey, run]));
    return rows.map((row) => {
      const run = byId.get(row.id);
      if (run) return { run, created: true };
      // A key repeated inside this batch: its first row was inserted by this very statement.
      const first =
        byKey.get(row.idempotencyKey ?? null) ??
        inserted.find((r) => r.idempotencyKey === row.idempotencyKey);
      if (!first)
        throw new Error(`agent run with idempotency key ${row.idempotencyKey} vanished during enqueue`);
      return { run: first, created: false };
    });
  });
}

/** One run: `enqueueRuns` with a single input. */
export async function enqueueRun(
  tx: Transaction,
  input: EnqueueRunInput,
): Promise<{ run: AgentRun; created: boolean }> {
  const [result] = await enqueueRuns(tx, [input]);
  if (!result) throw new Error('enqueueRuns returned nothing for one input');
  return result;
}

/**
 * Cancels a run of the current tenant: a queued run is `cancelled` at once and never claimed; a
 * running one gets `cancel_requested_at`, which its worker sees at its next heartbeat. A finished
 * run is returned as it is.
 */
export async function cancelRun(tx: Transaction, runId: string): Promise<AgentRun> {
  assertUuid(runId, 'runId');
  const org = currentTenant(tx);
  // Two statements, one of which matches, sent together: Citus refuses now() inside CASE in an UPDATE.
  const thisRun = (status: 'queued' | 'running') =>
    and(eq(agentRuns.organizationId, org), eq(agentRuns.id, runId), eq(agentRuns.status, status));
  return guarded(async () => {
    const [[stopped], [asked]] = await Promise.all([
      tx
        .update(agentRuns)
        .set({ status: 'cancelled', finishedAt: sql`now()`, cancelRequestedAt: sql`now()` })
        .where(thisRun('queued'))
        .returning(),
      tx
        .update(agentRuns)
        .set({ cancelRequestedAt: sql`now()` })
        .where(and(thisRun('running'), isNull(agentRuns.cancelRequestedAt)))
        .returning(),
    ]);
    const run = stopped ?? asked;
    if (run) return run;
    const [finished] = await tx
      .select()
      .from(agentRuns)
      .where(and(eq(agentRuns.organizationId, org), eq(agentRuns.id, runId)));
    if (!finished) throw notFound('agent_runs', 'id', 'runId');
    return finished;
  });
}
