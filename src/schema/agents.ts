import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  real,
  text,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, definerAccess, liveRows, softDelete, timestamps } from './columns.ts';
import { agentKind, agentStatus, toolKind, toolStatus } from './enums.ts';
import { users } from './identity.ts';
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
    index('agents_brand_id_idx').on(t.brandId, t.organizationId),
    // Serves the deferred current-config FK.
    index('agents_current_config_id_idx').on(t.currentConfigId, t.organizationId, t.id),
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
