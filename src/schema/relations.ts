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
import { invoices, subscriptions } from './billing.ts';
import { brands, brandVoices } from './brand.ts';
import {
  abTests,
  abTestVariants,
  campaignContents,
  campaignMetrics,
  campaigns,
  contentItems,
  contentVersions,
  emailSequenceSteps,
  emailSequences,
  socialPosts,
} from './campaigns.ts';
import { conversations, messages } from './chat.ts';
import { embeddingSpaces } from './embeddings.ts';
import {
  accounts,
  apiKeys,
  credentials,
  invitations,
  memberships,
  organizations,
  permissions,
  rolePermissions,
  roles,
  sessions,
  users,
} from './identity.ts';
import { connectors } from './integrations.ts';
import { chunks, datasets, documents, inferenceEndpoints, modelVersions, trainingJobs } from './rag.ts';
import { feedback, tasks } from './work.ts';

export const organizationsRelations = relations(organizations, ({ many }) => ({
  memberships: many(memberships),
  invitations: many(invitations),
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

export const invitationsRelations = relations(invitations, ({ one }) => ({
  organization: one(organizations, {
    fields: [invitations.organizationId],
    references: [organizations.id],
  }),
  role: one(roles, {
    fields: [invitations.organizationId, invitations.roleId],
    references: [roles.organizationId, roles.id],
  }),
  invitedByUser: one(users, { fields: [invitations.invitedByUserId], references: [users.id] }),
  acceptedByUser: one(users, { fields: [invitations.acceptedByUserId], references: [users.id] }),
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
// Content and campaigns, billing, integrations, work
// ---------------------------------------------------------------------------------------------

export const contentItemsRelations = relations(contentItems, ({ one, many }) => ({
  brand: one(brands, {
    fields: [contentItems.organizationId, contentItems.brandId],
    references: [brands.organizationId, brands.id],
  }),
  currentVersion: one(contentVersions, {
    fields: [contentItems.organizationId, contentItems.currentVersionId],
    references: [contentVersions.organizationId, contentVersions.id],
    relationName: 'currentVersion',
  }),
  versions: many(contentVersions, { relationName: 'itemVersions' }),
  campaigns: many(campaignContents),
  tasks: many(tasks),
}));

export const contentVersionsRelations = relations(contentVersions, ({ one, many }) => ({
  contentItem: one(contentItems, {
    fields: [contentVersions.organizationId, contentVersions.contentItemId],
    references: [contentItems.organizationId, contentItems.id],
    relationName: 'itemVersions',
  }),
  brandVoice: one(brandVoices, {
    fields: [contentVersions.organizationId, contentVersions.brandVoiceId],
    references: [brandVoices.organizationId, brandVoices.id],
  }),
  agentRun: one(agentRuns, {
    fields: [contentVersions.organizationId, contentVersions.agentRunId],
    references: [agentRuns.organizationId, agentRuns.id],
  }),
  feedback: many(feedback),
}));

export const campaignsRelations = relations(campaigns, ({ one, many }) => ({
  brand: one(brands, {
    fields: [campaigns.organizationId, campaigns.brandId],
    references: [brands.organizationId, brands.id],
  }),
  contents: many(campaignContents),
  metrics: many(campaignMetrics),
  emailSequences: many(emailSequences),
  socialPosts: many(socialPosts),
  abTests: many(abTests),
  tasks: many(tasks),
}));

export const campaignContentsRelations = relations(campaignContents, ({ one }) => ({
  campaign: one(campaigns, {
    fields: [campaignContents.organizationId, campaignContents.campaignId],
    references: [campaigns.organizationId, campaigns.id],
  }),
  contentItem: one(contentItems, {
    fields: [campaignContents.organizationId, campaignContents.contentItemId],
    references: [contentItems.organizationId, contentItems.id],
  }),
}));

export const campaignMetricsRelations = relations(campaignMetrics, ({ one }) => ({
  campaign: one(campaigns, {
    fields: [campaignMetrics.organizationId, campaignMetrics.campaignId],
    references: [campaigns.organizationId, campaigns.id],
  }),
  contentItem: one(contentItems, {
    fields: [campaignMetrics.organizationId, campaignMetrics.contentItemId],
    references: [contentItems.organizationId, contentItems.id],
  }),
}));

export const emailSequencesRelations = relations(emailSequences, ({ one, many }) => ({
  campaign: one(campaigns, {
    fields: [emailSequences.organizationId, emailSequences.campaignId],
    references: [campaigns.organizationId, campaigns.id],
  }),
  steps: many(emailSequenceSteps),
}));

export const emailSequenceStepsRelations = relations(emailSequenceSteps, ({ one }) => ({
  sequence: one(emailSequences, {
    fields: [emailSequenceSteps.organizationId, emailSequenceSteps.sequenceId],
    references: [emailSequences.organizationId, emailSequences.id],
  }),
  contentItem: one(contentItems, {
    fields: [emailSequenceSteps.organizationId, emailSequenceSteps.contentItemId],
    references: [contentItems.organizationId, contentItems.id],
  }),
}));

export const socialPostsRelations = relations(socialPosts, ({ one }) => ({
  campaign: one(campaigns, {
    fields: [socialPosts.organizationId, socialPosts.campaignId],
    references: [campaigns.organizationId, campaigns.id],
  }),
  contentItem: one(contentItems, {
    fields: [socialPosts.organizationId, socialPosts.contentItemId],
    references: [contentItems.organizationId, contentItems.id],
  }),
}));

export const abTestsRelations = relations(abTests, ({ one, many }) => ({
  campaign: one(campaigns, {
    fields: [abTests.organizationId, abTests.campaignId],
    references: [campaigns.organizationId, campaigns.id],
  }),
  variants: many(abTestVariants),
}));

export const abTestVariantsRelations = relations(abTestVariants, ({ one }) => ({
  abTest: one(abTests, {
    fields: [abTestVariants.organizationId, abTestVariants.abTestId],
    references: [abTests.organizationId, abTests.id],
  }),
  contentVersion: one(contentVersions, {
    fields: [abTestVariants.organizationId, abTestVariants.contentVersionId],
    references: [contentVersions.organizationId, contentVersions.id],
  }),
}));

export const subscriptionsRelations = relations(subscriptions, ({ many }) => ({
  invoices: many(invoices),
}));

export const invoicesRelations = relations(invoices, ({ one }) => ({
  subscription: one(subscriptions, {
    fields: [invoices.organizationId, invoices.subscriptionId],
    references: [subscriptions.organizationId, subscriptions.id],
  }),
}));

export const connectorsRelations = relations(connectors, ({ one }) => ({
  credential: one(credentials, {
    fields: [connectors.organizationId, connectors.credentialId],
    references: [credentials.organizationId, credentials.id],
  }),
}));

export const tasksRelations = relations(tasks, ({ one }) => ({
  assignee: one(memberships, {
    fields: [tasks.organizationId, tasks.assigneeMembershipId],
    references: [memberships.organizationId, memberships.id],
  }),
  campaign: one(campaigns, {
    fields: [tasks.organizationId, tasks.campaignId],
    references: [campaigns.organizationId, campaigns.id],
  }),
  contentItem: one(contentItems, {
    fields: [tasks.organizationId, tasks.contentItemId],
    references: [contentItems.organizationId, contentItems.id],
  }),
  createdByUser: one(users, { fields: [tasks.createdByUserId], references: [users.id] }),
}));

export const feedbackRelations = relations(feedback, ({ one }) => ({
  contentVersion: one(contentVersions, {
    fields: [feedback.organizationId, feedback.contentVersionId],
    references: [contentVersions.organizationId, contentVersions.id],
  }),
  message: one(messages, {
    fields: [feedback.organizationId, feedback.messageId],
    references: [messages.organizationId, messages.id],
  }),
  agentRun: one(agentRuns, {
    fields: [feedback.organizationId, feedback.agentRunId],
    references: [agentRuns.organizationId, agentRuns.id],
  }),
  user: one(users, { fields: [feedback.userId], references: [users.id] }),
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
// Brand and RAG
// ---------------------------------------------------------------------------------------------

export const embeddingSpacesRelations = relations(embeddingSpaces, ({ many }) => ({
  brandVoices: many(brandVoices),
  datasets: many(datasets),
  chunks: many(chunks),
}));

export const brandsRelations = relations(brands, ({ one, many }) => ({
  organization: one(organizations, { fields: [brands.organizationId], references: [organizations.id] }),
  voices: many(brandVoices),
}));

export const brandVoicesRelations = relations(brandVoices, ({ one }) => ({
  brand: one(brands, {
    fields: [brandVoices.organizationId, brandVoices.brandId],
    references: [brands.organizationId, brands.id],
  }),
  embeddingSpace: one(embeddingSpaces, {
    fields: [brandVoices.embeddingSpaceId],
    references: [embeddingSpaces.id],
  }),
}));

export const datasetsRelations = relations(datasets, ({ one, many }) => ({
  organization: one(organizations, { fields: [datasets.organizationId], references: [organizations.id] }),
  embeddingSpace: one(embeddingSpaces, {
    fields: [datasets.embeddingSpaceId],
    references: [embeddingSpaces.id],
  }),
  documents: many(documents),
  chunks: many(chunks),
  trainingJobs: many(trainingJobs),
}));

export const documentsRelations = relations(documents, ({ one, many }) => ({
  dataset: one(datasets, {
    fields: [documents.organizationId, documents.datasetId],
    references: [datasets.organizationId, datasets.id],
  }),
  chunks: many(chunks),
}));

export const chunksRelations = relations(chunks, ({ one }) => ({
  document: one(documents, {
    fields: [chunks.organizationId, chunks.documentId],
    references: [documents.organizationId, documents.id],
  }),
  dataset: one(datasets, {
    fields: [chunks.organizationId, chunks.datasetId],
    references: [datasets.organizationId, datasets.id],
  }),
  embeddingSpace: one(embeddingSpaces, {
    fields: [chunks.embeddingSpaceId],
    references: [embeddingSpaces.id],
  }),
}));

export const modelVersionsRelations = relations(modelVersions, ({ many }) => ({
  trainingJobs: many(trainingJobs),
  inferenceEndpoints: many(inferenceEndpoints),
}));

export const trainingJobsRelations = relations(trainingJobs, ({ one }) => ({
  dataset: one(datasets, {
    fields: [trainingJobs.organizationId, trainingJobs.datasetId],
    references: [datasets.organizationId, datasets.id],
  }),
  outputModelVersion: one(modelVersions, {
    fields: [trainingJobs.organizationId, trainingJobs.outputModelVersionId],
    references: [modelVersions.organizationId, modelVersions.id],
  }),
}));

export const inferenceEndpointsRelations = relations(inferenceEndpoints, ({ one }) => ({
  modelVersion: one(modelVersions, {
    fields: [inferenceEndpoints.organizationId, inferenceEndpoints.modelVersionId],
    references: [modelVersions.organizationId, modelVersions.id],
  }),
}));
