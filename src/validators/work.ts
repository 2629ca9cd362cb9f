import type { z } from 'zod';
import { feedback, tasks } from '../schema/work.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { createInsertSchema, createUpdateSchema, rule, titleText, withRules } from './storable.ts';

const taskRefinements = {
  title: titleText,
  description: (s: z.ZodString) => s.max(20_000),
};
export const selectTaskSchema = createSelectSchema(tasks);
const taskRules = [
  rule<typeof tasks.$inferSelect>(
    ['status', 'completedAt'],
    (v) => (v.status === 'done') === (v.completedAt != null),
    'a task has a completion time exactly when it is done',
  ),
];
export const insertTaskSchema = withRules(createInsertSchema(tasks, taskRefinements), taskRules, 'insert');
export const updateTaskSchema = withRules(createUpdateSchema(tasks, taskRefinements), taskRules, 'update');

export const selectFeedbackSchema = createSelectSchema(feedback);
export const insertFeedbackSchema = createInsertSchema(feedback, {
  rating: (s) => s.int().min(1).max(5),
  comment: (s) => s.max(10_000),
})
  .refine((v) => [v.messageId, v.contentVersionId, v.agentRunId].filter((x) => x != null).length === 1, {
    message: 'feedback is about exactly one message, content version or agent run',
    path: ['contentVersionId'],
  })
  .refine((v) => v.rating != null || (v.comment != null && v.comment.trim().length > 0), {
    message: 'feedback has a rating or a comment',
    path: ['rating'],
  });
