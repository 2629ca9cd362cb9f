import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { campaigns } from './campaigns.ts';
import { lengthCheck, timestamps } from './columns.ts';
import { contentItems } from './content.ts';
import { campaignStatus, socialPlatform, socialPostStatus } from './enums.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

// Channels: how a campaign's content goes out (email sequences and their steps, social posts).

// ---------------------------------------------------------------------------------------------
// Email sequences
// ---------------------------------------------------------------------------------------------

export type EmailSequenceTrigger = {
  event: 'signup' | 'trial_started' | 'purchase' | 'abandoned_cart' | 'manual' | 'segment_joined';
  /** For `segment_joined`: the audience segment's key. */
  segment?: string;
};

export const emailSequences = tenantTable(
  'email_sequences',
  {
    /** The campaign the sequence belongs to, if any. */
    campaignId: uuid('campaign_id'),
    name: text('name').notNull(),
    /** Same lifecycle as campaigns: draft, scheduled, active, paused, completed, archived. */
    status: campaignStatus('status').notNull().default('draft'),
    trigger: jsonb('trigger').$type<EmailSequenceTrigger>().notNull().default({ event: 'manual' }),
    fromName: text('from_name'),
    fromEmail: text('from_email'),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('email_sequences', t, t.campaignId, campaigns),
    unique('email_sequences_organization_id_name_key').on(t.organizationId, t.name),
    check('email_sequences_name_check', sql`length(btrim(${t.name})) between 1 and 200`),
    check('email_sequences_from_email_check', sql`${t.fromEmail} ~ '^[^@\\s]+@[^@\\s]+$'`),
  ],
);

export type EmailSequence = typeof emailSequences.$inferSelect;
export type NewEmailSequence = typeof emailSequences.$inferInsert;

export const emailSequenceSteps = tenantTable(
  'email_sequence_steps',
  {
    sequenceId: uuid('sequence_id').notNull(),
    /** 1, 2, 3... within the sequence. */
    ordinal: integer('ordinal').notNull(),
    /** Wait after the previous step (after the trigger for the first step). */
    delayMinutes: integer('delay_minutes').notNull().default(0),
    subject: text('subject').notNull(),
    /** The content the step sends; kept while a step uses it. */
    contentItemId: uuid('content_item_id').notNull(),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('email_sequence_steps', t, t.sequenceId, emailSequences),
    ...tenantReference('email_sequence_steps', t, t.contentItemId, contentItems, 'no action'),
    unique('email_sequence_steps_organization_id_sequence_id_ordinal_key').on(
      t.organizationId,
      t.sequenceId,
      t.ordinal,
    ),
    check('email_sequence_steps_ordinal_check', sql`${t.ordinal} >= 1`),
    check('email_sequence_steps_delay_check', sql`${t.delayMinutes} between 0 and 525600`),
    check('email_sequence_steps_subject_check', sql`length(btrim(${t.subject})) between 1 and 300`),
  ],
);

export type EmailSequenceStep = typeof emailSequenceSteps.$inferSelect;
export type NewEmailSequenceStep = typeof emailSequenceSteps.$inferInsert;

// ---------------------------------------------------------------------------------------------
// Social posts
// ---------------------------------------------------------------------------------------------

export const socialPosts = tenantTable(
  'social_posts',
  {
    campaignId: uuid('campaign_id'),
    /** The content posted; kept while a post uses it. */
    contentItemId: uuid('content_item_id').notNull(),
    platform: socialPlatform('platform').notNull(),
    status: socialPostStatus('status').notNull().default('draft'),
    scheduledAt: timestamp('scheduled_at', { withTimezone: true }),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    /** The platform's id of the published post. */
    externalId: text('external_id'),
    externalUrl: text('external_url'),
    /** Why publishing failed, as the platform said it. */
    lastError: text('last_error'),
    ...timestamps(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('social_posts', t.externalId, 200),
    ...tenantReference('social_posts', t, t.campaignId, campaigns),
    ...tenantReference('social_posts', t, t.contentItemId, contentItems, 'no action'),
    // Webhooks from a platform find the post by its id there.
    unique('social_posts_organization_id_platform_external_id_key').on(
      t.organizationId,
      t.platform,
      t.externalId,
    ),
    // The publisher picks due posts: scheduled, oldest first.
    index('social_posts_scheduled_at_idx')
      .on(t.organizationId, t.scheduledAt)
      .where(sql`status = 'scheduled'`),
    check('social_posts_scheduled_check', sql`${t.status} <> 'scheduled' or ${t.scheduledAt} is not null`),
    check(
      'social_posts_published_check',
      sql`${t.status} <> 'published' or (${t.publishedAt} is not null and ${t.externalId} is not null)`,
    ),
    check('social_posts_failed_check', sql`${t.status} <> 'failed' or ${t.lastError} is not null`),
  ],
);

export type SocialPost = typeof socialPosts.$inferSelect;
export type NewSocialPost = typeof socialPosts.$inferInsert;
