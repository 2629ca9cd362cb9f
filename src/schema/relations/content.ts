import { agentRuns } from '../agent-runs.ts';
import { brands, brandVoices } from '../brand.ts';
import { campaignContents } from '../campaigns.ts';
import { contentItems, contentVersions } from '../content.ts';
import { feedback, tasks } from '../work.ts';
import { relations } from './define.ts';

// Content: items and their immutable versions.

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
