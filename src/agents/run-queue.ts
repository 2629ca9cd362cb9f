import { and, eq, getTableColumns, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { uuidv7 } from '../base/ids.ts';
import { guarded, InputError, type InputIssue, notFound, parseInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';
import { rowFromDefiner } from '../identity/definer-rows.ts';
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
 * transaction commits. One round trip: the insert reads the agents itself, beside the queue's
 * wake; a key used before, or an input refused (an agent not the tenant's, deleted or without a
 * config), costs another, and a refusal leaves none of the call's runs. Results are in the order
 * of `inputs`.
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
  const rows = parsed.map(
    ({ configId, trigger = 'api', ...values }): PendingRun =>
      definedOnly({
        ...values,
        id: uuidv7(),
        organizationId: org,
        // The agent's current config, read by the insert itself, unless the input names one.
        configId: configId ?? null,
        trigger,
        status: 'queued' as const,
      }),
  );
  return guarded(async () => {
    // The queue hears of the runs in the same round trip as their insert (a refused insert aborts both).
    const scheduled = rows.every((row) => row.runAt);
    const due = scheduled ? new Date(Math.min(...rows.map((row) => row.runAt?.getTime() ?? 0))) : undefined;
    const [, ...inserts] = await Promise.all([
      tx.execute(runQueueWake(due)),
      ...sameColumns(rows).map((group) => tx.execute(insertRunsOfAgents(org, group))),
    ]);
    const inserted = inserts.flatMap((result) =>
      rowsOf<Record<string, unknown>>(result).map((raw) => rowFromDefiner(tx, agentRuns, raw)),
    );
    const byId = new Map(inserted.map((run) => [run.id, run]));
    const missing = rows.filter((row) => !byId.has(row.id));
    if (missing.length === 0)
      return rows.map((row) => ({ run: byId.get(row.id) as AgentRun, created: true }));
    // Not inserted: an idempotency key used before (or earlier in this call), or an agent that is
    // not this organization's, or without a config. Both are read at once; the second is refused.
    const keys = missing.flatMap((row) => (row.idempotencyKey ? [row.idempotencyKey] : []));
    const [earlier, found] = await Promise.all([
      keys.length
        ? tx
            .select()
            .from(agentRuns)
            .where(and(eq(agentRuns.organizationId, org), inArray(agentRuns.idempotencyKey, keys)))
        : Promise.resolve([]),
      tx
        .select({ id: agents.id })
        .from(agents)
        .where(
          and(
            eq(agents.organizationId, org),
            inArray(agents.id, [...new Set(missing.map((row) => row.agentId))]),
            isNull(agents.deletedAt),
          ),
        ),
    ]);
    const byKey = new Map(earlier.map((run) => [run.idempotencyKey, run]));
    const known = new Set(found.map((agent) => agent.id));
    const results = rows.map((row, index): { run: AgentRun; created: boolean } | { refusal: InputIssue } => {
      const run = byId.get(row.id);
      if (run) return { run, created: true };
      const first = row.idempotencyKey ? byKey.get(row.idempotencyKey) : undefined;
      if (first) return { run: first, created: false };
      return { refusal: refusalOf(index, known.has(row.agentId)) };
    });
    const refusals = results.flatMap((result) => ('refusal' in result ? [result.refusal] : []));
    if (refusals.length > 0) {
      // Nothing of the call stays, even for a caller that catches the refusal and commits.
      if (byId.size > 0)
        await tx
          .delete(agentRuns)
          .where(and(eq(agentRuns.organizationId, org), inArray(agentRuns.id, [...byId.keys()])));
      throw new InputError('agent_runs', refusals);
    }
    return results.flatMap((result) => ('run' in result ? [result] : []));
  });
}

/** Why input `index` was not queued: its agent is not the organization's (or deleted), or has no config. */
function refusalOf(index: number, agentFound: boolean): InputIssue {
  return agentFound
    ? {
        column: 'config_id',
        path: [`runs[${index}]`, 'configId'],
        message: 'the agent has no current config; publish one first',
      }
    : {
        column: 'agent_id',
        path: [`runs[${index}]`, 'agentId'],
        message: 'no such agent in this organization',
      };
}

/** A run to insert: its config null when the insert is to read the agent's current one. */
type PendingRun = Omit<typeof agentRuns.$inferInsert, 'id' | 'configId'> & {
  id: string;
  configId: string | null;
};

/** The row without the keys its input left out, so the table's defaults fill them. */
function definedOnly<T extends object>(row: T): T {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== undefined)) as T;
}

/** Rows grouped by the columns they set, in order: one statement per group, each column set by every row of it. */
function sameColumns(rows: PendingRun[]): PendingRun[][] {
  const groups = new Map<string, PendingRun[]>();
  for (const row of rows) {
    const key = Object.keys(row).join(',');
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return [...groups.values()];
}

/**
 * `insert ... select` of `rows` (all setting the same columns) joined with their agents: a row
 * whose agent is not the organization's, is deleted, or has no config to run is not inserted, and
 * the agent's current config fills a row without one, in the one statement (on Citus, one shard).
 * A repeated idempotency key is not inserted either. Returns the inserted rows.
 */
function insertRunsOfAgents(org: string, rows: PendingRun[]) {
  const columns = getTableColumns(agentRuns);
  const keys = Object.keys(rows[0] ?? {}) as (keyof PendingRun & keyof typeof columns)[];
  const names = sql.join(
    keys.map((key) => sql.identifier(columns[key].name)),
    sql`, `,
  );
  // The rows as one JSON parameter that json_to_recordset reads with the columns' types: a thousand
  // runs as seven thousand bound values cost more to build and bind than the insert itself.
  const typedNames = sql.join(
    keys.map((key) => sql`${sql.identifier(columns[key].name)} ${sql.raw(columns[key].getSQLType())}`),
    sql`, `,
  );
  const records = rows.map((row) => Object.fromEntries(keys.map((key) => [columns[key].name, row[key]])));
  const picked = sql.join(
    keys.map((key) =>
      key === 'organizationId'
        ? sql`a.organization_id`
        : key === 'configId'
          ? sql`coalesce(v.config_id, a.current_config_id)`
          : sql`v.${sql.identifier(columns[key].name)}`,
    ),
    sql`, `,
  );
  return sql`insert into agent_runs (${names})
    select ${picked}
    from json_to_recordset(${jsonParam(records, 'json')}) as v (${typedNames})
    join agents a on a.organization_id = ${org}::uuid and a.id = v.agent_id and a.deleted_at is null
    where a.organization_id = ${org}::uuid and coalesce(v.config_id, a.current_config_id) is not null
    on conflict (organization_id, idempotency_key) do nothing
    returning *`;
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
