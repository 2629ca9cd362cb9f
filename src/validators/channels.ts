import { z } from 'zod';
import { emailSequenceSteps, emailSequences, socialPosts } from '../schema/channels.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { createInsertSchema, createUpdateSchema, nameText, rule, titleText, withRules } from './storable.ts';

// Shape of the JSON column; the table's `$type<T>()` says the same in TypeScript.
export const emailSequenceTriggerSchema = z
  .object({
    event: z.enum(['signup', 'trial_started', 'purchase', 'abandoned_cart', 'manual', 'segment_joined']),
    segment: z.string().min(1).max(100).optional(),
  })
  .strict()
  .refine((t) => t.event !== 'segment_joined' || t.segment !== undefined, {
    message: 'a `segment_joined` trigger names its segment',
    path: ['segment'],
  });

// ---------------------------------------------------------------------------------------------
// Email sequences
// ---------------------------------------------------------------------------------------------

const emailSequenceRefinements = {
  name: nameText,
  trigger: () => emailSequenceTriggerSchema,
  fromEmail: (s: z.ZodString) => s.regex(/^[^@\s]+@[^@\s]+$/, 'an email address').max(320),
};
export const selectEmailSequenceSchema = createSelectSchema(emailSequences, {
  trigger: emailSequenceTriggerSchema,
});
export const insertEmailSequenceSchema = createInsertSchema(emailSequences, emailSequenceRefinements);
export const updateEmailSequenceSchema = createUpdateSchema(emailSequences, emailSequenceRefinements);

const emailSequenceStepRefinements = {
  ordinal: (s: z.ZodNumber) => s.int().min(1),
  delayMinutes: (s: z.ZodNumber) => s.int().min(0).max(525_600),
  subject: titleText,
};
export const selectEmailSequenceStepSchema = createSelectSchema(emailSequenceSteps);
export const insertEmailSequenceStepSchema = createInsertSchema(
  emailSequenceSteps,
  emailSequenceStepRefinements,
);
export const updateEmailSequenceStepSchema = createUpdateSchema(
  emailSequenceSteps,
  emailSequenceStepRefinements,
);

// ---------------------------------------------------------------------------------------------
// Social posts
// ---------------------------------------------------------------------------------------------

const socialPostRefinements = {
  externalId: (s: z.ZodString) => s.min(1).max(200),
  externalUrl: (s: z.ZodString) => s.url().max(2000),
};
export const selectSocialPostSchema = createSelectSchema(socialPosts);
type SocialPost = typeof socialPosts.$inferSelect;
const socialPostRules = [
  rule<SocialPost>(
    ['status', 'scheduledAt'],
    (v) => v.status !== 'scheduled' || v.scheduledAt != null,
    'a scheduled post has a scheduled time',
  ),
  rule<SocialPost>(
    ['status', 'publishedAt', 'externalId'],
    (v) => v.status !== 'published' || (v.publishedAt != null && v.externalId != null),
    'a published post has its publication time and external id',
    'publishedAt',
  ),
  rule<SocialPost>(
    ['status', 'lastError'],
    (v) => v.status !== 'failed' || v.lastError != null,
    'a failed post says why',
  ),
];
export const insertSocialPostSchema = withRules(
  createInsertSchema(socialPosts, socialPostRefinements),
  socialPostRules,
  'insert',
);
export const updateSocialPostSchema = withRules(
  createUpdateSchema(socialPosts, socialPostRefinements),
  socialPostRules,
  'update',
);
