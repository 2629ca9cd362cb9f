import { relations } from 'drizzle-orm';
import {
  agentCapabilities,
  agentConfigs,
  agentRuns,
  agents,
  agentTools,
  toolExecutions,
  tools,
} from './agents.ts';
import { brands } from './brand.ts';
import { conversations, messages } from './chat.ts';
import {
  accounts,
  apiKeys,
  credentials,
  memberships,
  organizations,
  permissions,
  rolePermissions,
  roles,
  sessions,
  users,
} from './identity.ts';

export const organizationsRelations = relations(organizations, ({ many }) => ({
  memberships: many(memberships),
  roles: many(roles),
  apiKeys: many(apiKeys),
  credentials: many(credentials),
}));

export const usersRelations = relations(users, ({ many }) => ({
  memberships: many(memberships, { relationName: 'memberUser' }),
  accounts: many(accounts),
  sessions: many(sessions),
}));

export const accountsRelations = relations(accounts, ({ one }) => ({
  user: one(users, { fields: [accounts.userId], references: [users.id] }),
}));

export const sessionsRelations = relations(sessions, ({ one }) => ({
  user: one(users, { fields: [sessions.userId], references: [users.id] }),
}));

export const rolesRelations = relations(roles, ({ one, many }) => ({
  organization: one(organizations, { fields: [roles.organizationId], references: [organizations.id] }),
  permissions: many(rolePermissions),
  memberships: many(memberships),
}));

export const rolePermissionsRelations = relations(rolePermissions, ({ one }) => ({
  role: one(roles, {
    fields: [rolePermissions.organizationId, rolePermissions.roleId],
    references: [roles.organizationId, roles.id],
  }),
  permission: one(permissions, { fields: [rolePermissions.permissionKey], references: [permissions.key] }),
}));

export const membershipsRelations = relations(memberships, ({ one }) => ({
  organization: one(organizations, {
    fields: [memberships.organizationId],
    references: [organizations.id],
  }),
  user: one(users, { fields: [memberships.userId], references: [users.id], relationName: 'memberUser' }),
  invitedByUser: one(users, { fields: [memberships.invitedByUserId], references: [users.id] }),
  role: one(roles, {
    fields: [memberships.organizationId, memberships.roleId],
    references: [roles.organizationId, roles.id],
  }),
}));

export const apiKeysRelations = relations(apiKeys, ({ one }) => ({
  organization: one(organizations, { fields: [apiKeys.organizationId], references: [organizations.id] }),
  createdByUser: one(users, { fields: [apiKeys.createdByUserId], references: [users.id] }),
}));

export const credentialsRelations = relations(credentials, ({ one }) => ({
  organization: one(organizations, {
    fields: [credentials.organizationId],
    references: [organizations.id],
  }),
  createdByUser: one(users, { fields: [credentials.createdByUserId], references: [users.id] }),
}));

// ---------------------------------------------------------------------------------------------
// Agents and chat
// ---------------------------------------------------------------------------------------------

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

export const conversationsRelations = relations(conversations, ({ one, many }) => ({
  brand: one(brands, {
    fields: [conversations.organizationId, conversations.brandId],
    references: [brands.organizationId, brands.id],
  }),
  agent: one(agents, {
    fields: [conversations.organizationId, conversations.agentId],
    references: [agents.organizationId, agents.id],
  }),
  createdByUser: one(users, { fields: [conversations.createdByUserId], references: [users.id] }),
  messages: many(messages),
  runs: many(agentRuns),
}));

export const messagesRelations = relations(messages, ({ one, many }) => ({
  conversation: one(conversations, {
    fields: [messages.organizationId, messages.conversationId],
    references: [conversations.organizationId, conversations.id],
  }),
  run: one(agentRuns, {
    fields: [messages.organizationId, messages.runId],
    references: [agentRuns.organizationId, agentRuns.id],
  }),
  parentMessage: one(messages, {
    fields: [messages.organizationId, messages.parentMessageId],
    references: [messages.organizationId, messages.id],
    relationName: 'branches',
  }),
  branches: many(messages, { relationName: 'branches' }),
}));
