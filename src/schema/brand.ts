import { sql } from 'drizzle-orm';
import { boolean, check, integer, jsonb, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { lengthCheck, liveRows, softDelete, timestamps } from './columns.ts';
import { embeddingColumns, embeddingConstraints } from './embeddings.ts';
import { brandStatus } from './enums.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

export const brands = tenantTable(
  'brands',
  {
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    website: text('website'),
    industry: text('industry'),
    status: brandStatus('status').notNull().default('active'),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    // Slugs are unique per organization among live brands, so a deleted brand frees its slug.
    uniqueIndex('brands_organization_id_slug_key').on(t.organizationId, t.slug).where(liveRows),
    check('brands_slug_format_check', sql`${t.slug} ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'`),
  ],
);

export type Brand = typeof brands.$inferSelect;
export type NewBrand = typeof brands.$inferInsert;

export const readingLevels = [
  'elementary',
  'middle_school',
  'high_school',
  'college',
  'professional',
] as const;
export type ReadingLevel = (typeof readingLevels)[number];

/** How a brand writes; validated by `styleRulesSchema` (src/validators/brand.ts). */
export type StyleRules = {
  tone: string[];
  do: string[];
  dont: string[];
  preferredVocabulary: string[];
  bannedVocabulary: string[];
  readingLevel?: ReadingLevel;
};

export type BrandVoiceExample = { input?: string; output: string; channel?: string };

export const brandVoices = tenantTable(
  'brand_voices',
  {
    brandId: uuid('brand_id').notNull(),
    name: text('name').notNull(),
    version: integer('version').notNull().default(1),
    /** The voice the brand's agents use unless told otherwise; at most one per brand. */
    isDefault: boolean('is_default').notNull().default(false),
    promptTemplate: text('prompt_template').notNull(),
    styleRules: jsonb('style_rules').$type<StyleRules>().notNull(),
    examples: jsonb('examples').$type<BrandVoiceExample[]>().notNull().default([]),
    /** Embedding of the voice's description and examples, for "which voice sounds like this text". */
    ...embeddingColumns(),
    ...timestamps(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('brand_voices', t.name, 100),
    ...tenantReference('brand_voices', t, t.brandId, brands),
    uniqueIndex('brand_voices_organization_id_brand_id_name_version_key').on(
      t.organizationId,
      t.brandId,
      t.name,
      t.version,
    ),
    // One default voice per brand, enforced by the database.
    uniqueIndex('brand_voices_organization_id_brand_id_default_key')
      .on(t.organizationId, t.brandId)
      .where(sql`is_default`),
    check('brand_voices_version_check', sql`${t.version} >= 1`),
    ...embeddingConstraints('brand_voices', t),
  ],
);

export type BrandVoice = typeof brandVoices.$inferSelect;
export type NewBrandVoice = typeof brandVoices.$inferInsert;
