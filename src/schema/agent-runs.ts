import { sql } from 'drizzle-orm';
import {
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { agentConfigs, agents, type JsonObject, type JsonValue, tools } from './agents.ts';
import { definerAccess, timestamps } from './columns.ts';
import { agentRunStatus, agentRunTrigger, toolExecutionStatus } from './enums.ts';
import { organizations } from './identity.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

// An agent's runs, their queue and their tool calls: what agents do, beside what they are (agents.ts).

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
    // Only the primary key and the queue's partial indexes lead with organization_id. A tenant the
    // statistics have not seen yet is estimated at one row, and a key lookup (a claim, a finish, a
    // heartbeat, a foreign-key check from tool_executions) then took any smaller index that leads
    // with it and read every run of the tenant through it; the indexes below lead with their own
    // column, so such a lookup has the primary key alone.
    // An agent's runs over a time window (listAgentRuns, agentRunStats); also serves the agent FK.
    index('agent_runs_agent_id_created_at_idx').on(t.agentId, t.organizationId, t.createdAt, t.id),
    // Serves the config FK and "runs of this config version" when comparing versions.
    index('agent_runs_config_id_idx').on(t.configId, t.organizationId, t.agentId),
    // Serves the conversation FK (cleared by deleteConversation) and "runs answering in this conversation".
    index('agent_runs_conversation_id_idx').on(t.conversationId, t.organizationId),
    ...tenantReference('agent_runs', t, t.parentRunId, t),
    unique('agent_runs_organization_id_idempotency_key_key').on(t.idempotencyKey, t.organizationId),
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
    // The same pick for workers of some agent kinds only, agent by agent: a claim for one kind then
    // reads none of the tenant's backlog of other kinds.
    index('agent_runs_agent_queue_idx')
      .on(t.organizationId, t.agentId, t.priority.desc(), t.runAt, t.id)
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
    unique('tool_executions_organization_id_run_id_sequence_key').on(t.runId, t.organizationId, t.sequence),
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
