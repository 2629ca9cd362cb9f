import { campaigns } from '../campaigns.ts';
import { emailSequenceSteps, emailSequences, socialPosts } from '../channels.ts';
import { contentItems } from '../content.ts';
import { relations } from './define.ts';

// Channels: email sequences and their steps, social posts.

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
