import { and, asc, desc, eq, getTableColumns, gte, isNull, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { rowsOf, type Transaction } from './client.ts';
import { toDatabaseError } from './errors.ts';
import { InputError, parseInput } from './input.ts';
import { type Cursor, keysetBefore, microsOf, pageOf } from './keyset.ts';
import {
  type Agent,
  type AgentCapability,
  type AgentConfig,
  type AgentRun,
  type AgentTool,
  agentCapabilities,
  agentConfigs,
  agentRuns,
  agents,
  agentTools,
  type Tool,
  type ToolExecution,
  terminalRunStatuses,
  toolExecutions,
  tools,
} from './schema/index.ts';
import { assertUuid } from './tenant.ts';
import {
  agentToolConfigSchema,
  insertAgentCapabilitySchema,
  insertAgentConfigSchema,
  insertAgentRunBaseSchema,
  insertAgentSchema,
  insertToolBaseSchema,
  insertToolExecutionBaseSchema,
  toolConfigMatchesKind,
  toolConfigMessage,
  updateAgentRunBaseSchema,
} from './validators/agents.ts';

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toDatabaseError(error);
  }
}

function one<T>(rows: T[], what: string): T {
  const [row] = rows;
  if (!row) throw new Error(`${what} returned no row`);
  return row;
}

const notFound = (table: string, column: string, path: string) =>
  new InputError(table, [{ column, path: [path], message: 'not found in this organization' }]);

const configInputSchema = insertAgentConfigSchema
  .pick({
    model: true,
    temperature: true,
    parameters: true,
    systemPrompt: true,
    changeNote: true,
    createdByUserId: true,
  })
  .partial({ temperature: true, parameters: true, changeNote: true, createdByUserId: true });
export type AgentConfigInput = z.input<typeof configInputSchema>;

const createAgentInputSchema = insertAgentSchema
  .pick({ slug: true, name: true, description: true, kind: true, status: true, brandId: true })
  .partial({ description: true, status: true, brandId: true })
  .extend({ config: configInputSchema.optional() });
export type CreateAgentInput = z.input<typeof createAgentInputSchema>;

/**
 * Registers an agent in the current tenant; with `config`, also its version 1, made current, in the
 * same transaction (the deferred current-config reference is checked at commit).
 */
export async function createAgent(
  tx: Transaction,
  input: CreateAgentInput,
): Promise<{ agent: Agent; config: AgentConfig | null }> {
  const { config, ...values } = parseInput(createAgentInputSchema, input, 'agents');
  return guarded(async () => {
    const agent = one(await tx.insert(agents).values(values).returning(), 'agent insert');
    if (!config) return { agent, config: null };
    const created = await publishAgentConfig(tx, agent.id, config);
    return { agent: created.agent, config: created.config };
  });
}

/**
 * Publishes the next immutable config version of an agent (1, 2, 3...) and, unless told otherwise,
 * makes it current. The agent row is locked, so concurrent publishers get consecutive versions.
 */
export async function publishAgentConfig(
  tx: Transaction,
  agentId: string,
  input: AgentConfigInput,
  options: { makeCurrent?: boolean } = {},
): Promise<{ agent: Agent; config: AgentConfig }> {
  assertUuid(agentId, 'agentId');
  const values = parseInput(configInputSchema, input, 'agent_configs');
  return guarded(async () => {
    const [locked] = await tx
      .select({ id: agents.id })
      .from(agents)
      .where(and(eq(agents.id, agentId), isNull(agents.deletedAt)))
      .for('update');
    if (!locked) throw notFound('agent_configs', 'agent_id', 'agentId');
    const config = one(
      await tx
        .insert(agentConfigs)
        .values({
          ...values,
          agentId,
          version: sql`(select coalesce(max(version), 0) + 1 from agent_configs where agent_id = ${agentId}::uuid)`,
        })
        .returning(),
      'config insert',
    );
    const agent =
      options.makeCurrent === false
        ? await tx.select().from(agents).where(eq(agents.id, agentId))
        : await tx
            .update(agents)
            .set({ currentConfigId: config.id })
            .where(eq(agents.id, agentId))
            .returning();
    return { agent: one(agent, 'agent'), config };
  });
}

/** Points an agent at one of its existing config versions (a rollback); checked immediately. */
export async function setCurrentConfig(tx: Transaction, agentId: string, configId: string): Promise<Agent> {
  assertUuid(agentId, 'agentId');
  assertUuid(configId, 'configId');
  return guarded(async () => {
    const [agent] = await tx
      .update(agents)
      .set({ currentConfigId: configId })
      .where(eq(agents.id, agentId))
      .returning();
    if (!agent) throw notFound('agents', 'id', 'agentId');
    // The reference is deferred for creation; a rollback wants its answer now.
    await tx.execute(sql`set constraints agents_current_config_id_fkey immediate`);
    await tx.execute(sql`set constraints agents_current_config_id_fkey deferred`);
    return agent;
  });
}

const capabilityInputSchema = insertAgentCapabilitySchema.pick({
  capability: true,
  enabled: true,
  config: true,
});
export type CapabilityInput = z.input<typeof capabilityInputSchema>;

/** Adds or changes one capability of an agent. */
export async function setAgentCapability(
  tx: Transaction,
  agentId: string,
  input: CapabilityInput,
): Promise<AgentCapability> {
  assertUuid(agentId, 'agentId');
  const values = parseInput(capabilityInputSchema, input, 'agent_capabilities');
  return guarded(async () =>
    one(
      await tx
        .insert(agentCapabilities)
        .values({ ...values, agentId })
        .onConflictDoUpdate({
          target: [agentCapabilities.organizationId, agentCapabilities.agentId, agentCapabilities.capability],
          set: { enabled: values.enabled ?? true, config: values.config ?? {} },
        })
        .returning(),
      'capability upsert',
    ),
  );
}

const toolInputSchema = insertToolBaseSchema
  .pick({
    key: true,
    name: true,
    description: true,
    inputSchema: true,
    kind: true,
    status: true,
    config: true,
  })
  .partial({ status: true, config: true })
  .refine(toolConfigMatchesKind, toolConfigMessage);
export type CreateToolInput = z.input<typeof toolInputSchema>;

/** Adds a tool to the current tenant's catalog. */
export async function createTool(tx: Transaction, input: CreateToolInput): Promise<Tool> {
  const values = parseInput(toolInputSchema, input, 'tools');
  return guarded(async () => one(await tx.insert(tools).values(values).returning(), 'tool insert'));
}

/** Lets an agent use a tool (or changes its per-agent settings). */
export async function grantTool(
  tx: Transaction,
  agentId: string,
  toolId: string,
  config: z.input<typeof agentToolConfigSchema> = {},
): Promise<AgentTool> {
  assertUuid(agentId, 'agentId');
  assertUuid(toolId, 'toolId');
  const parsed = parseInput(agentToolConfigSchema, config, 'agent_tools');
  return guarded(async () =>
    one(
      await tx
        .insert(agentTools)
        .values({ agentId, toolId, config: parsed })
        .onConflictDoUpdate({
          target: [agentTools.organizationId, agentTools.agentId, agentTools.toolId],
          set: { config: parsed },
        })
        .returning(),
      'agent tool upsert',
    ),
  );
}

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
  return guarded(async () => {
    const [agent] = await tx
      .select({ currentConfigId: agents.currentConfigId })
      .from(agents)
      .where(and(eq(agents.id, values.agentId), isNull(agents.deletedAt)));
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
      .values({ ...values, configId: config, status, startedAt: status === 'running' ? sql`now()` : null })
      .onConflictDoNothing({ target: [agentRuns.organizationId, agentRuns.idempotencyKey] })
      .returning();
    if (created) return { run: created, created: true };
    const key = values.idempotencyKey ?? '';
    const existing = await tx.select().from(agentRuns).where(eq(agentRuns.idempotencyKey, key));
    return { run: one(existing, 'idempotent run lookup'), created: false };
  });
}

/** Moves a queued run to running (the transition trigger refuses anything else). */
export async function markRunStarted(tx: Transaction, runId: string): Promise<AgentRun> {
  assertUuid(runId, 'runId');
  return guarded(async () => {
    const rows = await tx
      .update(agentRuns)
      .set({ status: 'running', startedAt: sql`now()` })
      .where(eq(agentRuns.id, runId))
      .returning();
    if (rows.length === 0) throw notFound('agent_runs', 'id', 'runId');
    return one(rows, 'run update');
  });
}

const finishRunInputSchema = updateAgentRunBaseSchema
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
  .extend({ status: z.enum(terminalRunStatuses) });
export type FinishRunInput = z.input<typeof finishRunInputSchema>;

/**
 * Ends a run with a terminal status and its telemetry. `finished_at` is now; `latency_ms` defaults
 * to the time since `started_at`. A run already finished is refused by the transition trigger.
 */
export async function finishRun(tx: Transaction, runId: string, input: FinishRunInput): Promise<AgentRun> {
  assertUuid(runId, 'runId');
  const values = parseInput(finishRunInputSchema, input, 'agent_runs');
  return guarded(async () => {
    const rows = await tx
      .update(agentRuns)
      .set({
        ...values,
        finishedAt: sql`greatest(now(), ${agentRuns.startedAt})`,
        latencyMs:
          values.latencyMs ??
          sql`(extract(epoch from greatest(now(), ${agentRuns.startedAt}) - ${agentRuns.startedAt}) * 1000)::int`,
      })
      .where(eq(agentRuns.id, runId))
      .returning();
    if (rows.length === 0) throw notFound('agent_runs', 'id', 'runId');
    return one(rows, 'run update');
  });
}

const toolExecutionInputSchema = insertToolExecutionBaseSchema
  .pick({
    runId: true,
    toolId: true,
    toolCallId: true,
    status: true,
    input: true,
    output: true,
    error: true,
    latencyMs: true,
    startedAt: true,
    finishedAt: true,
  })
  .partial({
    toolCallId: true,
    status: true,
    input: true,
    output: true,
    error: true,
    latencyMs: true,
    startedAt: true,
    finishedAt: true,
  });
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
  return guarded(async () => {
    const [run] = await tx
      .select({ id: agentRuns.id })
      .from(agentRuns)
      .where(eq(agentRuns.id, values.runId))
      .for('no key update');
    if (!run) throw notFound('tool_executions', 'run_id', 'runId');
    const finished = values.status && values.status !== 'running';
    return one(
      await tx
        .insert(toolExecutions)
        .values({
          ...values,
          finishedAt: values.finishedAt ?? (finished ? sql`now()` : undefined),
          sequence: sql`(select coalesce(max(sequence), 0) + 1 from tool_executions where run_id = ${values.runId}::uuid)`,
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
    .where(eq(toolExecutions.runId, runId))
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
export function agentRunStatsQuery(agentId: string, window: RunWindow) {
  assertUuid(agentId, 'agentId');
  const { from, to } = parseInput(windowSchema, window, 'agent_runs');
  return sql`
    with w as (
      select status, latency_ms, prompt_tokens, completion_tokens, cost_amount, currency
      from agent_runs
      where agent_id = ${agentId}::uuid and created_at >= ${from.toISOString()}::timestamptz
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
  const query = agentRunStatsQuery(agentId, window);
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
