import { agentRuns } from '../agent-runs.ts';
import { campaigns } from '../campaigns.ts';
import { messages } from '../chat.ts';
import { contentItems, contentVersions } from '../content.ts';
import { memberships, users } from '../identity.ts';
import { feedback, tasks } from '../work.ts';
import { relations } from './define.ts';

// Work: tasks and feedback.

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
