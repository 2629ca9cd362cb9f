import { z } from 'zod';
import { contentItems, contentVersions } from '../schema/content.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { createInsertSchema, createUpdateSchema, rule, titleText, withRules } from './storable.ts';

// Shape of the JSON column; the table's `$type<T>()` says the same in TypeScript.
export const contentMetadataSchema = z
  .object({
    locale: z.string().min(2).max(35).optional(),
    tags: z.array(z.string().min(1).max(64)).max(50).optional(),
    seo: z
      .object({
        title: z.string().max(200).optional(),
        description: z.string().max(500).optional(),
        keywords: z.array(z.string().min(1).max(64)).max(50).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const contentItemRefinements = { title: titleText, metadata: () => contentMetadataSchema };
export const selectContentItemSchema = createSelectSchema(contentItems, { metadata: contentMetadataSchema });
const contentItemRules = [
  rule<typeof contentItems.$inferSelect>(
    ['status', 'publishedAt', 'currentVersionId'],
    (v) => v.status !== 'published' || (v.publishedAt != null && v.currentVersionId != null),
    'published content has a publication time and a current version',
    'status',
  ),
];
export const insertContentItemSchema = withRules(
  createInsertSchema(contentItems, contentItemRefinements),
  contentItemRules,
  'insert',
);
export const updateContentItemSchema = withRules(
  createUpdateSchema(contentItems, contentItemRefinements),
  contentItemRules,
  'update',
);

export const selectContentVersionSchema = createSelectSchema(contentVersions);
/** Versions are immutable: there is no update schema. */
export const insertContentVersionSchema = createInsertSchema(contentVersions, {
  version: (s) => s.int().min(1),
  body: (s) => s.min(1).max(1_000_000),
  headline: (s) => s.max(300),
});
