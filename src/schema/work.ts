import { sql } from 'drizzle-orm';
import { check, index, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { agentRuns } from './agent-runs.ts';
import { campaigns } from './campaigns.ts';
import { messages } from './chat.ts';
import { createdAt, timestamps } from './columns.ts';
import { contentItems, contentVersions } from './content.ts';
import { taskPriority, taskStatus } from './enums.ts';
import { users } from './identity.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

export const tasks = tenantTable(
  'tasks',
  {
    title: text('title').notNull(),
    description: text('description'),
    status: taskStatus('status').notNull().default('todo'),
    priority: taskPriority('priority').notNull().default('medium'),
    /**
     * The member it is assigned to (`memberships`). The composite foreign key (NO ACTION) is written
     * in the shard_safe_guards migration; `removeMember` clears it first, so removing a member unassigns
     * their tasks.
     */
    assigneeMembershipId: uuid('assignee_membership_id'),
    dueAt: timestamp('due_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    /** The campaign the task concerns, if any. */
    campaignId: uuid('campaign_id'),
    /** The content the task concerns, if any. */
    contentItemId: uuid('content_item_id'),
    createdByUserId: uuid('created_by_user_id').references(() => users.id, { onDelete: 'set null' }),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('tasks', t, t.campaignId, campaigns),
    ...tenantReference('tasks', t, t.contentItemId, contentItems),
    // "My open tasks by due date" (also indexes the assignee reference).
    index('tasks_assignee_membership_id_idx').on(t.assigneeMembershipId, t.organizationId, t.status, t.dueAt),
    index('tasks_created_by_user_id_idx').on(t.createdByUserId),
    check('tasks_title_check', sql`length(btrim(${t.title})) between 1 and 300`),
    check('tasks_done_check', sql`(${t.status} = 'done') = (${t.completedAt} is not null)`),
  ],
);

export type Task = typeof tasks.$inferSelect;
export type NewTask = typeof tasks.$inferInsert;

/**
 * A rating and/or comment on exactly one of: a chat message, a content version, an agent run
 * (`feedback_target_check`).
 */
export const feedback = tenantTable(
  'feedback',
  {
    messageId: uuid('message_id'),
    contentVersionId: uuid('content_version_id'),
    agentRunId: uuid('agent_run_id'),
    /** 1 (bad) to 5 (great). */
    rating: smallint('rating'),
    comment: text('comment'),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    ...tenantReference('feedback', t, t.contentVersionId, contentVersions),
    // Feedback is about its target and goes with it.
    ...tenantReference('feedback', t, t.messageId, messages),
    ...tenantReference('feedback', t, t.agentRunId, agentRuns),
    index('feedback_user_id_idx').on(t.userId),
    check(
      'feedback_target_check',
      sql`num_nonnulls(${t.messageId}, ${t.contentVersionId}, ${t.agentRunId}) = 1`,
    ),
    check('feedback_rating_check', sql`${t.rating} between 1 and 5`),
    check('feedback_content_check', sql`${t.rating} is not null or length(btrim(${t.comment})) > 0`),
  ],
);

export type Feedback = typeof feedback.$inferSelect;
export type NewFeedback = typeof feedback.$inferInsert;
