import { z } from 'zod';
import { agentRuns, toolExecutions } from '../schema/agent-runs.ts';
import {
  agentCapabilities,
  agentConfigs,
  agents,
  agentTools,
  type JsonObject,
  type JsonValue,
  tools,
} from '../schema/agents.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { slugPattern } from './identity.ts';
import { createInsertSchema, createUpdateSchema, rule, withRules } from './storable.ts';

// Shapes of the JSON columns; the tables' `$type<T>()` say the same in TypeScript.
export const jsonValueSchema: z.ZodType<JsonValue> = z.json();
export const jsonObjectSchema: z.ZodType<JsonObject> = z.record(z.string(), jsonValueSchema);

export const agentConfigParametersSchema = z
  .object({
    topP: z.number().min(0).max(1).optional(),
    maxOutputTokens: z.int().min(1).max(1_000_000).optional(),
    presencePenalty: z.number().min(-2).max(2).optional(),
    frequencyPenalty: z.number().min(-2).max(2).optional(),
    stop: z.array(z.string().min(1)).max(16).optional(),
    seed: z.int().optional(),
    responseFormat: z.enum(['text', 'json']).optional(),
  })
  .strict();

export const toolInputSchemaSchema = z
  .object({
    type: z.literal('object'),
    properties: z.record(z.string(), jsonObjectSchema).optional(),
    required: z.array(z.string()).optional(),
    additionalProperties: z.boolean().optional(),
    description: z.string().optional(),
  })
  .strict();

export const toolConfigSchema = z
  .object({
    http: z
      .object({
        url: z.url({ protocol: /^https?$/ }),
        method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
        timeoutMs: z.int().min(1).max(600_000).optional(),
      })
      .strict()
      .optional(),
    mcp: z
      .object({ serverUrl: z.url(), toolName: z.string().min(1).optional() })
      .strict()
      .optional(),
  })
  .strict();

export const agentToolConfigSchema = z
  .object({
    requiresApproval: z.boolean().optional(),
    maxCallsPerRun: z.int().min(1).max(1000).optional(),
    defaults: jsonObjectSchema.optional(),
  })
  .strict();

export const executionErrorSchema = z
  .object({
    code: z.string().min(1).max(100),
    message: z.string().min(1),
    details: jsonObjectSchema.optional(),
  })
  .strict();

// The same patterns and bounds the tables' CHECK constraints enforce.
const capabilityPattern = /^[a-z][a-z0-9_]{1,62}$/;
const toolKeyPattern = /^[a-z][a-z0-9_]{0,63}$/;
const currencyPattern = /^[A-Z]{3}$/;
const nonNegativeInt = (s: z.ZodInt) => s.min(0);

const agentRefinements = {
  slug: (s: z.ZodString) =>
    s.regex(slugPattern, 'lowercase letters, digits and inner hyphens, 1-63 characters'),
  name: (s: z.ZodString) => s.trim().min(1).max(200),
};
export const selectAgentSchema = createSelectSchema(agents);
export const insertAgentSchema = createInsertSchema(agents, agentRefinements);
export const updateAgentSchema = createUpdateSchema(agents, agentRefinements);

const agentConfigRefinements = {
  version: (s: z.ZodInt) => s.min(1),
  model: (s: z.ZodString) => s.trim().min(1).max(200),
  temperature: (s: z.ZodNumber) => s.min(0).max(2),
  systemPrompt: (s: z.ZodString) => s.min(1),
  parameters: () => agentConfigParametersSchema,
};
export const selectAgentConfigSchema = createSelectSchema(agentConfigs, {
  parameters: () => agentConfigParametersSchema,
});
/** Config versions are immutable: there is an insert schema and no update schema. */
export const insertAgentConfigSchema = createInsertSchema(agentConfigs, agentConfigRefinements);

const capabilityRefinements = {
  capability: (s: z.ZodString) =>
    s.regex(capabilityPattern, 'lowercase letters, digits and underscores, starting with a letter'),
  config: () => jsonObjectSchema,
};
export const selectAgentCapabilitySchema = createSelectSchema(agentCapabilities, {
  config: () => jsonObjectSchema,
});
export const insertAgentCapabilitySchema = createInsertSchema(agentCapabilities, capabilityRefinements);
export const updateAgentCapabilitySchema = createUpdateSchema(agentCapabilities, capabilityRefinements);

const toolRefinements = {
  key: (s: z.ZodString) =>
    s.regex(toolKeyPattern, 'a function name: lowercase letters, digits and underscores, up to 64'),
  name: (s: z.ZodString) => s.trim().min(1).max(200),
  description: (s: z.ZodString) => s.trim().min(1),
  inputSchema: () => toolInputSchemaSchema,
  config: () => toolConfigSchema,
};
/** An http tool needs `config.http`, an mcp tool `config.mcp` (what `tools_config_check` says). */
export const toolConfigMatchesKind = (tool: { kind?: string; config?: z.infer<typeof toolConfigSchema> }) =>
  (tool.kind !== 'http' || tool.config?.http !== undefined) &&
  (tool.kind !== 'mcp' || tool.config?.mcp !== undefined);
export const toolConfigMessage = {
  message: 'an http tool needs config.http, an mcp tool config.mcp',
  path: ['config'],
};
export const selectToolSchema = createSelectSchema(tools, {
  inputSchema: () => toolInputSchemaSchema,
  config: () => toolConfigSchema,
});
/** The insert shape without the kind/config rule, to pick API inputs from. */
export const insertToolBaseSchema = createInsertSchema(tools, toolRefinements);
export const insertToolSchema = insertToolBaseSchema.refine(toolConfigMatchesKind, toolConfigMessage);
export const updateToolSchema = createUpdateSchema(tools, toolRefinements).refine(
  toolConfigMatchesKind,
  toolConfigMessage,
);

export const selectAgentToolSchema = createSelectSchema(agentTools, { config: () => agentToolConfigSchema });
export const insertAgentToolSchema = createInsertSchema(agentTools, { config: () => agentToolConfigSchema });
export const updateAgentToolSchema = createUpdateSchema(agentTools, { config: () => agentToolConfigSchema });

const runRefinements = {
  input: () => jsonObjectSchema,
  output: () => jsonObjectSchema,
  error: () => executionErrorSchema,
  promptTokens: nonNegativeInt,
  completionTokens: nonNegativeInt,
  costAmount: (s: z.ZodString) =>
    s.regex(/^\d{1,8}(\.\d{1,6})?$/, 'a non-negative amount, 6 decimals at most'),
  currency: (s: z.ZodString) => s.regex(currencyPattern, 'an ISO 4217 code such as USD'),
  latencyMs: nonNegativeInt,
  timeToFirstTokenMs: nonNegativeInt,
  idempotencyKey: (s: z.ZodString) => s.min(1).max(255),
  priority: (s: z.ZodInt) => s.min(-1000).max(1000),
  attempts: (s: z.ZodInt) => s.min(0).max(100),
  maxAttempts: (s: z.ZodInt) => s.min(1).max(100),
  backoffSeconds: (s: z.ZodInt) => s.min(0).max(86400),
};
const runTimingIsOrdered = (run: { startedAt?: Date | null; finishedAt?: Date | null }) =>
  !run.startedAt || !run.finishedAt || run.finishedAt >= run.startedAt;
const runTimingMessage = 'finishedAt must not be before startedAt';
type AgentRun = typeof agentRuns.$inferSelect;
/** `agent_runs_status_check` and its neighbours: what each status says about the timing and error. */
const agentRunRules = [
  rule<AgentRun>(['startedAt', 'finishedAt'], runTimingIsOrdered, runTimingMessage),
  rule<AgentRun>(
    ['status', 'startedAt', 'finishedAt'],
    (v) => {
      const status = v.status ?? 'queued';
      if (status === 'queued') return v.startedAt == null && v.finishedAt == null;
      if (status === 'running') return v.startedAt != null && v.finishedAt == null;
      return v.finishedAt != null;
    },
    'a queued run has no start nor finish, a running one a start and no finish, a finished one a finish',
    'status',
  ),
  rule<AgentRun>(
    ['status', 'error'],
    (v) => v.status !== 'failed' || v.error != null,
    'a failed run says why',
  ),
  rule<AgentRun>(
    ['id', 'parentRunId'],
    (v) => v.parentRunId == null || v.parentRunId !== v.id,
    'a run is not its own parent',
  ),
];
type ToolExecution = typeof toolExecutions.$inferSelect;
const toolExecutionRules = [
  rule<ToolExecution>(['startedAt', 'finishedAt'], runTimingIsOrdered, runTimingMessage),
  rule<ToolExecution>(
    ['status', 'finishedAt'],
    (v) => ((v.status ?? 'running') === 'running') === (v.finishedAt == null),
    'an execution has a finish time exactly when it is no longer running',
  ),
  rule<ToolExecution>(
    ['status', 'error'],
    (v) => v.status !== 'failed' || v.error != null,
    'a failed execution says why',
  ),
];
export const selectAgentRunSchema = createSelectSchema(agentRuns, {
  input: () => jsonObjectSchema,
  output: () => jsonObjectSchema,
  error: () => executionErrorSchema,
});
/** The insert and update shapes without the row rules, to pick API inputs from. */
export const insertAgentRunBaseSchema = createInsertSchema(agentRuns, runRefinements);
export const updateAgentRunBaseSchema = createUpdateSchema(agentRuns, runRefinements);
export const insertAgentRunSchema = withRules(insertAgentRunBaseSchema, agentRunRules, 'insert');
export const updateAgentRunSchema = withRules(updateAgentRunBaseSchema, agentRunRules, 'update');

const toolExecutionRefinements = {
  sequence: (s: z.ZodInt) => s.min(1),
  input: () => jsonObjectSchema,
  output: () => jsonValueSchema,
  error: () => executionErrorSchema,
  latencyMs: nonNegativeInt,
};
export const selectToolExecutionSchema = createSelectSchema(toolExecutions, {
  input: () => jsonObjectSchema,
  output: () => jsonValueSchema,
  error: () => executionErrorSchema,
});
/** The insert shape without the row rules, to pick API inputs from. */
export const insertToolExecutionBaseSchema = createInsertSchema(toolExecutions, toolExecutionRefinements);
export const insertToolExecutionSchema = withRules(
  insertToolExecutionBaseSchema,
  toolExecutionRules,
  'insert',
);
export const updateToolExecutionSchema = withRules(
  createUpdateSchema(toolExecutions, toolExecutionRefinements),
  toolExecutionRules,
  'update',
);
