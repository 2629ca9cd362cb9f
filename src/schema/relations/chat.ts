import { agentRuns } from '../agent-runs.ts';
import { agents } from '../agents.ts';
import { brands } from '../brand.ts';
import { conversations, messages } from '../chat.ts';
import { users } from '../identity.ts';
import { relations } from './define.ts';

// Chat: conversations and messages.

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
