import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, definerAccess, liveRows, softDelete, timestamps } from './columns.ts';
import {
  agentKind,
  agentRunStatus,
  agentRunTrigger,
  agentStatus,
  toolExecutionStatus,
  toolKind,
  toolStatus,
} from './enums.ts';
import { organizations, users } from './identity.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

/** Any JSON value: what tool inputs, outputs and free-form settings hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * An agent in the registry. Its behaviour lives in immutable `agent_configs` versions;
 * `current_config_id` names the one new runs use.
 */
export const agents = tenantTable(
  'agents',
  {
    /**
     * Optional: the brand whose voice the agent writes in. The composite FK
     * `(organization_id, brand_id) -> brands` (NO ACTION) lives in the `shard_safe_guards` migration;
     * `deleteBrand` clears it before the brand goes (Citus refuses SET NULL on it).
     */
    brandId: uuid('brand_id'),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    kind: agentKind('kind').notNull(),
    status: agentStatus('status').notNull().default('draft'),
    /**
     * The config version new runs use; null until the first version is published. The composite FK
     * `(organization_id, current_config_id, id) -> agent_configs (organization_id, id, agent_id)`
     * (so it can only name one of this agent's own versions) is DEFERRABLE INITIALLY DEFERRED and
     * lives in the `agents_guards` migration: agents and agent_configs reference each other, and a
     * deferred check lets one transaction create both in either order.
     */
    currentConfigId: uuid('current_config_id'),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    // Slugs are unique per organization among live agents, so a deleted agent frees its slug.
    uniqueIndex('agents_organization_id_slug_key').on(t.organizationId, t.slug).where(liveRows),
    check('agents_slug_format_check', sql`${t.slug} ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'`),
    // Serves the brand FK (cleared by deleteBrand) and "this brand's agents".
    index('agents_brand_id_idx').on(t.organizationId, t.brandId),
    // Serves the deferred current-config FK.
    index('agents_current_config_id_idx').on(t.organizationId, t.currentConfigId, t.id),
    // Claims for some agent kinds only, and the queue's depth per agent, read the agent of a run.
    definerAccess('agents'),
  ],
);

export type Agent = typeof agents.$inferSelect;
export type NewAgent = typeof agents.$inferInsert;

/** Sampling and output settings of a config version; validated by `agentConfigParametersSchema`. */
export type AgentConfigParameters = {
  topP?: number;
  maxOutputTokens?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  stop?: string[];
  seed?: number;
  responseFormat?: 'text' | 'json';
};

/**
 * Immutable versions of an agent's behaviour: UPDATE and DELETE are refused by a trigger
 * (`agents_guards`); rows leave only with their agent or organization. A change is a new version.
 */
export const agentConfigs = tenantTable(
  'agent_configs',
  {
    agentId: uuid('agent_id').notNull(),
    /** 1, 2, 3... per agent. */
    version: integer('version').notNull(),
    model: text('model').notNull(),
    temperature: real('temperature').notNull().default(0.7),
    parameters: jsonb('parameters').$type<AgentConfigParameters>().notNull().default({}),
    systemPrompt: text('system_prompt').notNull(),
    /** Why this version exists, shown in the version history. */
    changeNote: text('change_note'),
    createdByUserId: uuid('created_by_user_id'),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey({
      name: 'agent_configs_created_by_user_id_fkey',
      columns: [t.createdByUserId],
      foreignColumns: [users.id],
    }).onDelete('set null'),
    foreignKey({
      name: 'agent_configs_agent_id_fkey',
      columns: [t.organizationId, t.agentId],
      foreignColumns: [agents.organizationId, agents.id],
    }).onDelete('cascade'),
    // Serves the agent FK and "an agent's versions, newest first".
    unique('agent_configs_organization_id_agent_id_version_key').on(t.organizationId, t.agentId, t.version),
    // Target of the agents.current_config_id and agent_runs.config_id FKs: a config of that very agent.
    unique('agent_configs_organization_id_id_agent_id_key').on(t.organizationId, t.id, t.agentId),
    index('agent_configs_created_by_user_id_idx').on(t.createdByUserId),
    check('agent_configs_version_check', sql`${t.version} >= 1`),
    check('agent_configs_temperature_check', sql`${t.temperature} between 0 and 2`),
    check('agent_configs_model_check', sql`length(${t.model}) between 1 and 200`),
  ],
);

export type AgentConfig = typeof agentConfigs.$inferSelect;
export type NewAgentConfig = typeof agentConfigs.$inferInsert;

/** What an agent can do (`web_search`, `image_generation`...), with per-capability settings. */
export const agentCapabilities = tenantTable(
  'agent_capabilities',
  {
    agentId: uuid('agent_id').notNull(),
    /** Machine name of the capability: lowercase letters, digits and underscores. */
    capability: text('capability').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    config: jsonb('config').$type<JsonObject>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'agent_capabilities_agent_id_fkey',
      columns: [t.organizationId, t.agentId],
      foreignColumns: [agents.organizationId, agents.id],
    }).onDelete('cascade'),
    // Serves the agent FK and "this agent's capabilities".
    unique('agent_capabilities_organization_id_agent_id_capability_key').on(
      t.organizationId,
      t.agentId,
      t.capability,
    ),
    check('agent_capabilities_capability_format_check', sql`${t.capability} ~ '^[a-z][a-z0-9_]{1,62}$'`),
  ],
);

export type AgentCapability = typeof agentCapabilities.$inferSelect;
export type NewAgentCapability = typeof agentCapabilities.$inferInsert;

/** A JSON Schema object describing a tool's input (what a model is shown). */
export type ToolInputSchema = {
  type: 'object';
  properties?: Record<string, JsonObject>;
  required?: string[];
  additionalProperties?: boolean;
  description?: string;
};

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** How a non-built-in tool is reached: the key matching the tool's kind must be present. */
export type ToolConfig = {
  http?: { url: string; method: HttpMethod; timeoutMs?: number };
  mcp?: { serverUrl: string; toolName?: string };
};

/** An organization's tool catalog: what agents may call. */
export const tools = tenantTable(
  'tools',
  {
    /** The function name a model calls (`search_web`): unique per organization. */
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull(),
    inputSchema: jsonb('input_schema').$type<ToolInputSchema>().notNull(),
    kind: toolKind('kind').notNull(),
    status: toolStatus('status').notNull().default('active'),
    config: jsonb('config').$type<ToolConfig>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    unique('tools_organization_id_key_key').on(t.organizationId, t.key),
    check('tools_key_format_check', sql`${t.key} ~ '^[a-z][a-z0-9_]{0,63}$'`),
    check('tools_input_schema_check', sql`${t.inputSchema}->>'type' = 'object'`),
    // An HTTP tool needs its endpoint, an MCP tool its server.
    check(
      'tools_config_check',
      sql`(${t.kind} <> 'http' or ${t.config} ? 'http') and (${t.kind} <> 'mcp' or ${t.config} ? 'mcp')`,
    ),
  ],
);

export type Tool = typeof tools.$inferSelect;
export type NewTool = typeof tools.$inferInsert;

/** Per-agent settings of a tool it may use; validated by `agentToolConfigSchema`. */
export type AgentToolConfig = {
  /** A person approves each call before it runs. */
  requiresApproval?: boolean;
  maxCallsPerRun?: number;
  /** Input values fixed for this agent, merged under what the model sends. */
  defaults?: JsonObject;
};

/** Which agent may use which tool. */
export const agentTools = tenantTable(
  'agent_tools',
  {
    agentId: uuid('agent_id').notNull(),
    toolId: uuid('tool_id').notNull(),
    config: jsonb('config').$type<AgentToolConfig>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey({
      name: 'agent_tools_agent_id_fkey',
      columns: [t.organizationId, t.agentId],
      foreignColumns: [agents.organizationId, agents.id],
    }).onDelete('cascade'),
    // Serves the agent FK and "the tools this agent may call".
    unique('agent_tools_organization_id_agent_id_tool_id_key').on(t.organizationId, t.agentId, t.toolId),
    ...tenantReference('agent_tools', t, t.toolId, tools),
  ],
);

export type AgentTool = typeof agentTools.$inferSelect;
export type NewAgentTool = typeof agentTools.$inferInsert;

/** What went wrong in a run or a tool call. */
export type ExecutionError = { code: string; message: string; details?: JsonObject };

/** Statuses after which a run never changes status again. */
export const terminalRunStatuses = ['succeeded', 'failed', 'cancelled', 'timed_out'] as const;

/**
 * One execution of an agent: the telemetry behind cost, latency and error dashboards. Status moves
 * queued -> running -> succeeded | failed | cancelled | timed_out (or queued -> cancelled | failed |
 * timed_out); any other change is refused by the `agent_runs_status_transition` trigger.
 */
export const agentRuns = tenantTable(
  'agent_runs',
  {
    agentId: uuid('agent_id').notNull(),
    /** The config version the run used (one of this agent's). */
    configId: uuid('config_id').notNull(),
    /**
     * The conversation the run answered in, if any. The composite FK `-> conversations` (NO ACTION)
     * lives in the `shard_safe_guards` migration (chat.ts imports this file, not the reverse);
     * `deleteConversation` clears it, so telemetry outlives the conversation.
     */
    conversationId: uuid('conversation_id'),
    /** The run that started this one, for sub-agents. */
    parentRunId: uuid('parent_run_id'),
    trigger: agentRunTrigger('trigger').notNull(),
    status: agentRunStatus('status').notNull().default('queued'),
    input: jsonb('input').$type<JsonObject>().notNull().default({}),
    output: jsonb('output').$type<JsonObject>(),
    error: jsonb('error').$type<ExecutionError>(),
    /** The model actually called (may differ from the config's, e.g. after a fallback). */
    model: text('model'),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    costAmount: numeric('cost_amount', { precision: 14, scale: 6 }).notNull().default('0'),
    /** ISO 4217 code of `cost_amount`. */
    currency: text('currency').notNull().default('USD'),
    /** Wall time from start to finish, in milliseconds. */
    latencyMs: integer('latency_ms'),
    timeToFirstTokenMs: integer('time_to_first_token_ms'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** A caller's retry key: the same key in one organization yields the same run. */
    idempotencyKey: text('idempotency_key'),
    /** Within its tenant, a queued run of higher priority is claimed first (then the earliest `run_at`). */
    priority: integer('priority').notNull().default(0),
    /** A queued run is not claimed before this instant (scheduled runs, and the backoff after a failed attempt). */
    runAt: timestamp('run_at', { withTimezone: true }).notNull().defaultNow(),
    /** Attempts started so far: a claim counts one; a run released at a worker's shutdown gets it back. */
    attempts: integer('attempts').notNull().default(0),
    /** After this many attempts a failed or abandoned run is `failed` instead of queued again. */
    maxAttempts: integer('max_attempts').notNull().default(3),
    /** The wait before the second attempt; it doubles with each further attempt (capped at a day). */
    backoffSeconds: integer('backoff_seconds').notNull().default(10),
    /** Until when the claiming worker holds a running run; past it, the next claim takes the run back. */
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    /** `cancelRun` on a running run: its worker learns it at the next heartbeat. */
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'agent_runs_agent_id_fkey',
      columns: [t.organizationId, t.agentId],
      foreignColumns: [agents.organizationId, agents.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'agent_runs_config_id_fkey',
      columns: [t.organizationId, t.configId, t.agentId],
      foreignColumns: [agentConfigs.organizationId, agentConfigs.id, agentConfigs.agentId],
    }).onDelete('cascade'),
    // An agent's runs over a time window (listAgentRuns, agentRunStats); also serves the agent FK.
    index('agent_runs_agent_id_created_at_idx').on(t.organizationId, t.agentId, t.createdAt, t.id),
    // Serves the config FK and "runs of this config version" when comparing versions.
    index('agent_runs_config_id_idx').on(t.organizationId, t.configId, t.agentId),
    // Serves the conversation FK (cleared by deleteConversation) and "runs answering in this conversation".
    index('agent_runs_conversation_id_idx').on(t.organizationId, t.conversationId),
    ...tenantReference('agent_runs', t, t.parentRunId, t),
    unique('agent_runs_organization_id_idempotency_key_key').on(t.organizationId, t.idempotencyKey),
    check('agent_runs_tokens_check', sql`${t.promptTokens} >= 0 and ${t.completionTokens} >= 0`),
    check('agent_runs_cost_check', sql`${t.costAmount} >= 0`),
    check('agent_runs_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    check(
      'agent_runs_latency_check',
      sql`(${t.latencyMs} is null or ${t.latencyMs} >= 0) and (${t.timeToFirstTokenMs} is null or ${t.timeToFirstTokenMs} >= 0)`,
    ),
    check('agent_runs_finished_after_started_check', sql`${t.finishedAt} >= ${t.startedAt}`),
    // Status and timing agree: queued has not started, running has started and not finished,
    // a terminal run has finished; a failed run says why.
    check(
      'agent_runs_status_check',
      sql`(${t.status} = 'queued' and ${t.startedAt} is null and ${t.finishedAt} is null)
        or (${t.status} = 'running' and ${t.startedAt} is not null and ${t.finishedAt} is null)
        or (${t.status} in ('succeeded', 'failed', 'cancelled', 'timed_out') and ${t.finishedAt} is not null)`,
    ),
    check('agent_runs_error_check', sql`${t.status} <> 'failed' or ${t.error} is not null`),
    check('agent_runs_idempotency_key_check', sql`length(${t.idempotencyKey}) between 1 and 255`),
    check('agent_runs_parent_run_id_check', sql`${t.parentRunId} <> ${t.id}`),
    // A claim's pick inside one tenant: ready runs by priority, then by when they became due.
    index('agent_runs_queue_idx')
      .on(t.organizationId, t.priority.desc(), t.runAt, t.id)
      .where(sql`${t.status} = 'queued'`),
    // A tenant's next due run (claims set its ready_at from it) and the oldest due run (neonhub-db runs).
    index('agent_runs_due_idx').on(t.organizationId, t.runAt).where(sql`${t.status} = 'queued'`),
    // Running runs of a tenant: the per-tenant limit counts them, claims take back expired leases.
    index('agent_runs_lease_idx').on(t.organizationId, t.leaseExpiresAt).where(sql`${t.status} = 'running'`),
    check('agent_runs_priority_check', sql`${t.priority} between -1000 and 1000`),
    check('agent_runs_attempts_check', sql`${t.attempts} between 0 and 100`),
    check('agent_runs_max_attempts_check', sql`${t.maxAttempts} between 1 and 100`),
    check('agent_runs_backoff_seconds_check', sql`${t.backoffSeconds} between 0 and 86400`),
    // The queue's claim path (SECURITY DEFINER, owned by neonhub_definer) reads and updates runs of the tenants it visits.
    definerAccess('agent_runs'),
    definerAccess('agent_runs', 'update'),
  ],
);

export type AgentRun = typeof agentRuns.$inferSelect;
export type NewAgentRun = typeof agentRuns.$inferInsert;

/**
 * The run queue's index of tenants: one row per organization that has had runs queued, saying when
 * it may next have a run to claim. Claims read it to find ready tenants (least recently visited
 * first, so a tenant's backlog never holds another tenant's runs back) and then touch only those
 * tenants' rows of `agent_runs`; on Citus it is a table of one shard, so a claim reads that shard
 * and one shard per tenant it visits. Only the queue's definer functions read and write it: a
 * tenant cannot move itself ahead of others.
 */
export const agentRunQueues = pgTable(
  'agent_run_queues',
  {
    organizationId: uuid('organization_id').notNull(),
    /**
     * When the tenant may next have a claimable run: lowered by every enqueue (to its `run_at`),
     * recomputed by each claim that visits it (next due run, next lease to expire); infinity when idle.
     */
    readyAt: timestamp('ready_at', { withTimezone: true }).notNull().defaultNow(),
    /** When a claim last visited the tenant (null: never); claims visit ready tenants oldest first. */
    visitedAt: timestamp('visited_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ name: 'agent_run_queues_pkey', columns: [t.organizationId] }),
    foreignKey({
      name: 'agent_run_queues_organization_id_fkey',
      columns: [t.organizationId],
      foreignColumns: [organizations.id],
    }).onDelete('cascade'),
    // Claims look for tenants whose ready_at has come; idle tenants (infinity) stay out of the way.
    index('agent_run_queues_ready_at_idx').on(t.readyAt),
    definerAccess('agent_run_queues'),
    definerAccess('agent_run_queues', 'insert'),
    definerAccess('agent_run_queues', 'update'),
  ],
).enableRLS();

export type AgentRunQueue = typeof agentRunQueues.$inferSelect;

/** One tool call inside a run, in the order the run made them. */
export const toolExecutions = tenantTable(
  'tool_executions',
  {
    runId: uuid('run_id').notNull(),
    /** A tool with execution history cannot be deleted (disable it instead). */
    toolId: uuid('tool_id').notNull(),
    /** 1, 2, 3... within the run. */
    sequence: integer('sequence').notNull(),
    /** The model's id for the call, which the tool-result message part repeats. */
    toolCallId: text('tool_call_id'),
    status: toolExecutionStatus('status').notNull().default('running'),
    input: jsonb('input').$type<JsonObject>().notNull().default({}),
    output: jsonb('output').$type<JsonValue>(),
    error: jsonb('error').$type<ExecutionError>(),
    latencyMs: integer('latency_ms'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    foreignKey({
      name: 'tool_executions_run_id_fkey',
      columns: [t.organizationId, t.runId],
      foreignColumns: [agentRuns.organizationId, agentRuns.id],
    }).onDelete('cascade'),
    // A run's tool executions in order (listToolExecutions); also serves the run FK.
    unique('tool_executions_organization_id_run_id_sequence_key').on(t.organizationId, t.runId, t.sequence),
    ...tenantReference('tool_executions', t, t.toolId, tools, 'restrict'),
    check('tool_executions_sequence_check', sql`${t.sequence} >= 1`),
    check('tool_executions_latency_check', sql`${t.latencyMs} is null or ${t.latencyMs} >= 0`),
    check('tool_executions_finished_after_started_check', sql`${t.finishedAt} >= ${t.startedAt}`),
    check(
      'tool_executions_status_check',
      sql`(${t.status} = 'running' and ${t.finishedAt} is null) or (${t.status} <> 'running' and ${t.finishedAt} is not null)`,
    ),
    check('tool_executions_error_check', sql`${t.status} <> 'failed' or ${t.error} is not null`),
  ],
);

export type ToolExecution = typeof toolExecutions.$inferSelect;
export type NewToolExecution = typeof toolExecutions.$inferInsert;
