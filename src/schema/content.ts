import { sql } from 'drizzle-orm';
import {
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  type PgTableExtraConfigValue,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { agentRuns } from './agent-runs.ts';
import { brands, brandVoices } from './brand.ts';
import { createdAt, liveRows, softDelete, timestamps } from './columns.ts';
import { contentKind, contentStatus } from './enums.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

// Content: an item and its immutable versions. Its own domain: campaigns, channels (email steps,
// social posts), A/B test variants and feedback all point at it; it points at none of them.

export type ContentMetadata = {
  locale?: string;
  tags?: string[];
  seo?: { title?: string; description?: string; keywords?: string[] };
};

export const contentItems = tenantTable(
  'content_items',
  {
    brandId: uuid('brand_id').notNull(),
    kind: contentKind('kind').notNull(),
    title: text('title').notNull(),
    status: contentStatus('status').notNull().default('draft'),
    /**
     * The version shown and published; always one of this item's versions (composite FK
     * `(organization_id, id, current_version_id) -> content_versions(organization_id, content_item_id, id)`).
     */
    currentVersionId: uuid('current_version_id'),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    metadata: jsonb('metadata').$type<ContentMetadata>().notNull().default({}),
    ...timestamps(),
    ...softDelete(),
  },
  (t): PgTableExtraConfigValue[] => [
    ...tenantReference('content_items', t, t.brandId, brands),
    foreignKey({
      name: 'content_items_current_version_fkey',
      columns: [t.organizationId, t.id, t.currentVersionId],
      foreignColumns: [contentVersions.organizationId, contentVersions.contentItemId, contentVersions.id],
    }).onDelete('no action'),
    index('content_items_current_version_idx').on(t.organizationId, t.id, t.currentVersionId),
    // The content library: a brand's live items by status, newest first.
    index('content_items_organization_id_brand_id_status_idx')
      .on(t.organizationId, t.brandId, t.status, t.updatedAt)
      .where(liveRows),
    check('content_items_title_check', sql`length(btrim(${t.title})) between 1 and 300`),
    check(
      'content_items_published_check',
      sql`${t.status} <> 'published' or (${t.publishedAt} is not null and ${t.currentVersionId} is not null)`,
    ),
  ],
);

export type ContentItem = typeof contentItems.$inferSelect;
export type NewContentItem = typeof contentItems.$inferInsert;

/**
 * One immutable version of a content item: UPDATE is refused by a trigger, DELETE too unless it
 * is the cascade of deleting its item or organization. Lineage: the brand voice and the agent run
 * that produced it.
 */
export const contentVersions = tenantTable(
  'content_versions',
  {
    contentItemId: uuid('content_item_id').notNull(),
    /** 1, 2, 3... per item. */
    version: integer('version').notNull(),
    /** Markdown (or plain text for short formats such as ad copy). */
    body: text('body').notNull(),
    /** Subject line, headline or title of this version, when the format has one. */
    headline: text('headline'),
    /** The brand voice the text was written in. */
    brandVoiceId: uuid('brand_voice_id'),
    /** The agent run that produced this version; null for text written by a person. */
    agentRunId: uuid('agent_run_id'),
    /** Free-form notes of the author or the run (model, prompt id, reviewer remarks). */
    notes: text('notes'),
    createdAt: createdAt(),
  },
  (t): PgTableExtraConfigValue[] => [
    ...tenantReference('content_versions', t, t.contentItemId, contentItems),
    // A voice that wrote published text is kept (checked at the end of the statement, so deleting
    // a whole brand, whose items go with it, still works).
    ...tenantReference('content_versions', t, t.brandVoiceId, brandVoices, 'no action'),
    unique('content_versions_organization_id_content_item_id_version_key').on(
      t.organizationId,
      t.contentItemId,
      t.version,
    ),
    // Target of content_items' current-version reference: the version must belong to the item.
    unique('content_versions_organization_id_content_item_id_id_key').on(
      t.organizationId,
      t.contentItemId,
      t.id,
    ),
    // Lineage from content back to the run that wrote it (and "what did this run write?"). The run
    // is kept while its text is: checked at the end of the statement, so deleting a whole
    // organization still works, and never SET NULL, which the immutable versions refuse.
    ...tenantReference('content_versions', t, t.agentRunId, agentRuns, 'no action'),
    check('content_versions_version_check', sql`${t.version} >= 1`),
    check('content_versions_body_check', sql`length(${t.body}) between 1 and 1000000`),
  ],
);

export type ContentVersion = typeof contentVersions.$inferSelect;
export type NewContentVersion = typeof contentVersions.$inferInsert;
