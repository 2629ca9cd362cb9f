import { agentRuns, toolExecutions } from '../agent-runs.ts';
import { agentCapabilities, agentConfigs, agents, agentTools, tools } from '../agents.ts';
import { brands } from '../brand.ts';
import { conversations, messages } from '../chat.ts';
import { users } from '../identity.ts';
import { relations } from './define.ts';

// Agents: configurations, capabilities, tools, runs and tool executions.

export const agentsRelations = relations(agents, ({ one, many }) => ({
  brand: one(brands, {
    fields: [agents.organizationId, agents.brandId],
    references: [brands.organizationId, brands.id],
  }),
  currentConfig: one(agentConfigs, {
    fields: [agents.organizationId, agents.currentConfigId],
    references: [agentConfigs.organizationId, agentConfigs.id],
    relationName: 'currentConfig',
  }),
  configs: many(agentConfigs, { relationName: 'agentConfigs' }),
  capabilities: many(agentCapabilities),
  tools: many(agentTools),
  runs: many(agentRuns),
  conversations: many(conversations),
}));

export const agentConfigsRelations = relations(agentConfigs, ({ one, many }) => ({
  agent: one(agents, {
    fields: [agentConfigs.organizationId, agentConfigs.agentId],
    references: [agents.organizationId, agents.id],
    relationName: 'agentConfigs',
  }),
  createdByUser: one(users, { fields: [agentConfigs.createdByUserId], references: [users.id] }),
  runs: many(agentRuns),
}));

export const agentCapabilitiesRelations = relations(agentCapabilities, ({ one }) => ({
  agent: one(agents, {
    fields: [agentCapabilities.organizationId, agentCapabilities.agentId],
    references: [agents.organizationId, agents.id],
  }),
}));

export const toolsRelations = relations(tools, ({ many }) => ({
  agents: many(agentTools),
  executions: many(toolExecutions),
}));

export const agentToolsRelations = relations(agentTools, ({ one }) => ({
  agent: one(agents, {
    fields: [agentTools.organizationId, agentTools.agentId],
    references: [agents.organizationId, agents.id],
  }),
  tool: one(tools, {
    fields: [agentTools.organizationId, agentTools.toolId],
    references: [tools.organizationId, tools.id],
  }),
}));

export const agentRunsRelations = relations(agentRuns, ({ one, many }) => ({
  agent: one(agents, {
    fields: [agentRuns.organizationId, agentRuns.agentId],
    references: [agents.organizationId, agents.id],
  }),
  config: one(agentConfigs, {
    fields: [agentRuns.organizationId, agentRuns.configId],
    references: [agentConfigs.organizationId, agentConfigs.id],
  }),
  conversation: one(conversations, {
    fields: [agentRuns.organizationId, agentRuns.conversationId],
    references: [conversations.organizationId, conversations.id],
  }),
  parentRun: one(agentRuns, {
    fields: [agentRuns.organizationId, agentRuns.parentRunId],
    references: [agentRuns.organizationId, agentRuns.id],
    relationName: 'subRuns',
  }),
  subRuns: many(agentRuns, { relationName: 'subRuns' }),
  toolExecutions: many(toolExecutions),
  messages: many(messages),
}));

export const toolExecutionsRelations = relations(toolExecutions, ({ one }) => ({
  run: one(agentRuns, {
    fields: [toolExecutions.organizationId, toolExecutions.runId],
    references: [agentRuns.organizationId, agentRuns.id],
  }),
  tool: one(tools, {
    fields: [toolExecutions.organizationId, toolExecutions.toolId],
    references: [tools.organizationId, tools.id],
  }),
}));
