import { and, asc, desc, eq, getTableColumns, gte, isNull, lt, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { RunLeaseLostError } from '../base/errors.ts';
import { firstRow, guarded, InputError, notFound, parseInput } from '../base/input.ts';
import { type Cursor, keysetBefore, microsOf, pageOf } from '../base/keyset.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';
import {
  type AgentRun,
  agentRuns,
  agents,
  type ToolExecution,
  terminalRunStatuses,
  toolExecutions,
} from '../schema/index.ts';
import {
  insertAgentRunBaseSchema,
  insertToolExecutionBaseSchema,
  updateAgentRunBaseSchema,
} from '../validators/agents.ts';

// Agent runs and tool executions: the telemetry behind cost, latency and error dashboards, and the
// hot paths that read it (an agent's runs over a window, a run's tool calls, run statistics).

const startRunInputSchema = insertAgentRunBaseSchema
  .pick({
    agentId: true,
    trigger: true,
    input: true,
    conversationId: true,
    parentRunId: true,
    idempotencyKey: true,
  })
  .partial({ input: true, conversationId: true, parentRunId: true, idempotencyKey: true })
  .extend({
    configId: z.uuid().optional(),
    /** `running` for a run that starts at once (then `started_at` is now). */
    status: z.enum(['queued', 'running']).optional(),
  });
export type StartRunInput = z.input<typeof startRunInputSchema>;

/**
 * Queues (or starts) a run of an agent with its current config unless `configId` says otherwise.
 * Idempotent: a second call with the same `idempotencyKey` returns the first run, `created: false`.
 */
export async function startRun(
  tx: Transaction,
  input: StartRunInput,
): Promise<{ run: AgentRun; created: boolean }> {
  const { configId, status = 'queued', ...values } = parseInput(startRunInputSchema, input, 'agent_runs');
  const org = currentTenant(tx);
  return guarded(async () => {
    const [agent] = await tx
      .select({ currentConfigId: agents.currentConfigId })
      .from(agents)
      .where(and(eq(agents.organizationId, org), eq(agents.id, values.agentId), isNull(agents.deletedAt)));
    if (!agent) throw notFound('agent_runs', 'agent_id', 'agentId');
    const config = configId ?? agent.currentConfigId;
    if (!config) {
      throw new InputError('agent_runs', [
        {
          column: 'config_id',
          path: ['configId'],
          message: 'the agent has no current config; publish one first',
        },
      ]);
    }
    const [created] = await tx
      .insert(agentRuns)
      .values({
        ...values,
        organizationId: org,
        configId: config,
        status,
        startedAt: status === 'running' ? sql`now()` : null,
      })
      .onConflictDoNothing({ target: [agentRuns.organizationId, agentRuns.idempotencyKey] })
      .returning();
    if (created) {
      // A queued run is the queue's: claimRuns finds it (enqueueRuns adds priority, runAt, retries).
      if (created.status === 'queued') await tx.execute(runQueueWake(created.runAt));
      return { run: created, created: true };
    }
    const key = values.idempotencyKey ?? '';
    const existing = await tx
      .select()
      .from(agentRuns)
      .where(and(eq(agentRuns.organizationId, org), eq(agentRuns.idempotencyKey, key)));
    return { run: firstRow(existing, 'idempotent run lookup'), created: false };
  });
}

/** Moves a queued run to running (the transition trigger refuses anything else). */
export async function markRunStarted(tx: Transaction, runId: string): Promise<AgentRun> {
  assertUuid(runId, 'runId');
  return updateRun(tx, runId, { status: 'running', startedAt: sql`now()` });
}

/**
 * Updates one run of the current tenant; an unknown id is refused naming `runId`. With `attempt`
 * (a claimed run), only while that attempt still holds it: else `RunLeaseLostError`, nothing written.
 */
export function updateRun(
  tx: Transaction,
  runId: string,
  values: PgUpdateSetSource<typeof agentRuns>,
  attempt?: number,
) {
  return guarded(async () => {
    const rows = await tx
      .update(agentRuns)
      .set(values)
      .where(
        and(
          eq(agentRuns.organizationId, currentTenant(tx)),
          eq(agentRuns.id, runId),
          attempt === undefined
            ? undefined
            : and(eq(agentRuns.status, 'running'), eq(agentRuns.attempts, attempt)),
        ),
      )
      .returning();
    if (rows.length === 0) {
      if (attempt !== undefined) throw new RunLeaseLostError(runId, attempt);
      throw notFound('agent_runs', 'id', 'runId');
    }
    return firstRow(rows, 'run update');
  });
}

/** The attempt a worker holds a run under (1 to 100), as `claimRuns` gave it. */
export const runAttemptSchema = z.int().min(1).max(100);

export const finishRunInputSchema = updateAgentRunBaseSchema
  .pick({
    output: true,
    error: true,
    model: true,
    promptTokens: true,
    completionTokens: true,
    costAmount: true,
    currency: true,
    latencyMs: true,
    timeToFirstTokenMs: true,
  })
  .partial()
  .extend({
    status: z.enum(terminalRunStatuses),
    /** The attempt a worker claimed (`claimRuns`): the finish is refused once another claim took the run over. */
    attempt: runAttemptSchema.optional(),
  });
export type FinishRunInput = z.input<typeof finishRunInputSchema>;

/**
 * Ends a run with a terminal status and its telemetry. `finished_at` is now; `latency_ms` defaults
 * to the time since `started_at`. A run already finished is refused by the transition trigger.
 * A worker passes the `attempt` it claimed: if its lease was taken over, `RunLeaseLostError`.
 */
export async function finishRun(tx: Transaction, runId: string, input: FinishRunInput): Promise<AgentRun> {
  assertUuid(runId, 'runId');
  const { attempt, ...values } = parseInput(finishRunInputSchema, input, 'agent_runs');
  const changes = {
    ...values,
    leaseExpiresAt: null,
    finishedAt: sql`greatest(now(), ${agentRuns.startedAt})`,
    latencyMs:
      values.latencyMs ??
      sql`(extract(epoch from greatest(now(), ${agentRuns.startedAt}) - ${agentRuns.startedAt}) * 1000)::int`,
  };
  if (attempt === undefined) return updateRun(tx, runId, changes, attempt);
  // The queue row first, awaited (the claim's lock order); then the update and, in the same round
  // trip, a tenant held at its concurrency limit is ready again.
  await guarded(() => tx.execute(RUN_QUEUE_HOLD));
  const [run] = await Promise.all([
    updateRun(tx, runId, changes, attempt),
    guarded(() => tx.execute(RUN_SLOT_FREED)),
  ]);
  return run;
}

/** The current tenant may have a run to claim from `due` on: `app_run_queue_wake` tells the queue, and listening workers. */
export const runQueueWake = (due?: Date) =>
  due
    ? sql`select public.app_run_queue_wake(${due.toISOString()}::timestamptz)`
    : sql`select public.app_run_queue_wake(now())`;

/** A worker changes runs it claimed: `app_run_queue_hold` locks the tenant's queue row before the runs, as a claim does. */
export const RUN_QUEUE_HOLD = sql`select public.app_run_queue_hold()`;

/** A claimed run ended: `app_run_queue_slot_freed` makes a tenant that waited at its concurrency limit ready again. */
export const RUN_SLOT_FREED = sql`select public.app_run_queue_slot_freed()`;

/** What a caller may set on a tool execution besides its run and tool; each is optional. */
const toolExecutionOptions = {
  toolCallId: true,
  status: true,
  input: true,
  output: true,
  error: true,
  latencyMs: true,
  startedAt: true,
  finishedAt: true,
} as const;

const toolExecutionInputSchema = insertToolExecutionBaseSchema
  .pick({ runId: true, toolId: true, ...toolExecutionOptions })
  .partial(toolExecutionOptions);
export type RecordToolExecutionInput = z.input<typeof toolExecutionInputSchema>;

/**
 * Records a tool call of a run as its next step (sequence 1, 2, 3...). The run row is locked so
 * parallel calls of one run get distinct, gap-free sequence numbers.
 */
export async function recordToolExecution(
  tx: Transaction,
  input: RecordToolExecutionInput,
): Promise<ToolExecution> {
  const values = parseInput(toolExecutionInputSchema, input, 'tool_executions');
  const org = currentTenant(tx);
  return guarded(async () => {
    const [run] = await tx
      .select({ id: agentRuns.id })
      .from(agentRuns)
      .where(and(eq(agentRuns.organizationId, org), eq(agentRuns.id, values.runId)))
      .for('no key update');
    if (!run) throw notFound('tool_executions', 'run_id', 'runId');
    const finished = values.status && values.status !== 'running';
    // Read apart from the insert (Citus refuses a subquery in an INSERT); the run's row lock keeps it atomic.
    const [last] = await tx
      .select({ sequence: sql<number>`coalesce(max(${toolExecutions.sequence}), 0)::int` })
      .from(toolExecutions)
      .where(and(eq(toolExecutions.organizationId, org), eq(toolExecutions.runId, values.runId)));
    return firstRow(
      await tx
        .insert(toolExecutions)
        .values({
          ...values,
          organizationId: org,
          finishedAt: values.finishedAt ?? (finished ? sql`now()` : undefined),
          sequence: Number(last?.sequence ?? 0) + 1,
        })
        .returning(),
      'tool execution insert',
    );
  });
}

/** The statement behind `listToolExecutions`, served by `tool_executions_organization_id_run_id_sequence_key`. */
export function toolExecutionsQuery(tx: Transaction, runId: string) {
  assertUuid(runId, 'runId');
  return tx
    .select()
    .from(toolExecutions)
    .where(and(eq(toolExecutions.organizationId, currentTenant(tx)), eq(toolExecutions.runId, runId)))
    .orderBy(asc(toolExecutions.sequence));
}

/** A run's tool executions in the order it made them. */
export function listToolExecutions(tx: Transaction, runId: string): Promise<ToolExecution[]> {
  return guarded(() => toolExecutionsQuery(tx, runId));
}

export interface RunWindow {
  /** Inclusive start of the window (on `created_at`, when the run was queued). */
  from: Date;
  /** Exclusive end of the window. */
  to: Date;
}

const windowSchema = z
  .object({ from: z.date(), to: z.date() })
  .refine((w) => w.to > w.from, { message: 'to must be after from', path: ['to'] });

/** The statement behind `listAgentRuns`, served by `agent_runs_agent_id_created_at_idx`. */
export function agentRunsQuery(
  tx: Transaction,
  agentId: string,
  window: RunWindow,
  options: { limit?: number; before?: Cursor } = {},
) {
  assertUuid(agentId, 'agentId');
  const { from, to } = parseInput(windowSchema, window, 'agent_runs');
  const limit = parseInput(z.int().min(1).max(500), options.limit ?? 50, 'limit');
  return tx
    .select({ ...getTableColumns(agentRuns), cursorMicros: microsOf(agentRuns.createdAt) })
    .from(agentRuns)
    .where(
      and(
        eq(agentRuns.organizationId, currentTenant(tx)),
        eq(agentRuns.agentId, agentId),
        gte(agentRuns.createdAt, from),
        lt(agentRuns.createdAt, to),
        options.before
          ? keysetBefore(agentRuns.createdAt, agentRuns.id, options.before, 'agent_runs')
          : undefined,
      ),
    )
    .orderBy(desc(agentRuns.createdAt), desc(agentRuns.id))
    .limit(limit + 1);
}

/** An agent's runs queued in a time window, newest first, keyset-paginated. */
export async function listAgentRuns(
  tx: Transaction,
  agentId: string,
  window: RunWindow,
  options: { limit?: number; before?: Cursor } = {},
): Promise<{ runs: AgentRun[]; nextCursor: Cursor | null }> {
  const rows = await guarded(() => agentRunsQuery(tx, agentId, window, options));
  const page = pageOf(rows, options.limit ?? 50);
  return { runs: page.rows, nextCursor: page.nextCursor };
}

export interface AgentRunStats {
  runs: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  cancelled: number;
  /** Runs still queued or running. */
  inFlight: number;
  /** (failed + timed out) / finished runs; 0 when none finished. */
  errorRate: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  promptTokens: number;
  completionTokens: number;
  /** Total cost per currency, as exact decimal strings. */
  cost: Record<string, string>;
}

/** The statement behind `agentRunStats`: one pass over the window through `agent_runs_agent_id_created_at_idx`. */
export function agentRunStatsQuery(tx: Transaction, agentId: string, window: RunWindow) {
  assertUuid(agentId, 'agentId');
  const { from, to } = parseInput(windowSchema, window, 'agent_runs');
  return sql`
    with w as (
      select status, latency_ms, prompt_tokens, completion_tokens, cost_amount, currency
      from agent_runs
      where organization_id = ${currentTenant(tx)}::uuid and agent_id = ${agentId}::uuid
        and created_at >= ${from.toISOString()}::timestamptz
        and created_at < ${to.toISOString()}::timestamptz
    )
    select count(*)::int as runs,
      count(*) filter (where status = 'succeeded')::int as succeeded,
      count(*) filter (where status = 'failed')::int as failed,
      count(*) filter (where status = 'timed_out')::int as timed_out,
      count(*) filter (where status = 'cancelled')::int as cancelled,
      count(*) filter (where status in ('queued', 'running'))::int as in_flight,
      coalesce(count(*) filter (where status in ('failed', 'timed_out'))::float8
        / nullif(count(*) filter (where status not in ('queued', 'running')), 0), 0) as error_rate,
      percentile_cont(0.5) within group (order by latency_ms) as p50,
      percentile_cont(0.95) within group (order by latency_ms) as p95,
      coalesce(sum(prompt_tokens), 0)::bigint::text as prompt_tokens,
      coalesce(sum(completion_tokens), 0)::bigint::text as completion_tokens,
      (select coalesce(jsonb_object_agg(currency, total::text), '{}'::jsonb)
         from (select currency, sum(cost_amount) as total from w group by currency) c) as cost
    from w`;
}

/** Run statistics of an agent over a window, computed in SQL: counts, error rate, p50/p95 latency, tokens, cost. */
export async function agentRunStats(
  tx: Transaction,
  agentId: string,
  window: RunWindow,
): Promise<AgentRunStats> {
  const query = agentRunStatsQuery(tx, agentId, window);
  const [row] = rowsOf<Record<string, unknown>>(await guarded(() => tx.execute(query)));
  const n = (key: string) => Number(row?.[key] ?? 0);
  const cost = row?.cost;
  return {
    runs: n('runs'),
    succeeded: n('succeeded'),
    failed: n('failed'),
    timedOut: n('timed_out'),
    cancelled: n('cancelled'),
    inFlight: n('in_flight'),
    errorRate: n('error_rate'),
    p50LatencyMs: row?.p50 == null ? null : Number(row.p50),
    p95LatencyMs: row?.p95 == null ? null : Number(row.p95),
    promptTokens: n('prompt_tokens'),
    completionTokens: n('completion_tokens'),
    cost: (typeof cost === 'string' ? JSON.parse(cost) : (cost ?? {})) as Record<string, string>,
  };
}
