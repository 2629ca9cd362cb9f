import { brands } from '../brand.ts';
import { abTests, abTestVariants, campaignContents, campaignMetrics, campaigns } from '../campaigns.ts';
import { emailSequences, socialPosts } from '../channels.ts';
import { contentItems, contentVersions } from '../content.ts';
import { tasks } from '../work.ts';
import { relations } from './define.ts';

// Campaigns: content used, metrics, A/B tests and their variants.

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
