import { z } from 'zod';
import { brands, brandVoices, readingLevels } from '../schema/brand.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { checkEmbeddingFields, embeddingRefinements } from './embeddings.ts';
import { slugPattern } from './identity.ts';
import { createInsertSchema, createUpdateSchema, nameText } from './storable.ts';

const phrase = z.string().trim().min(1).max(200);

/** How a brand writes (`brand_voices.style_rules`). A word cannot be both preferred and banned. */
export const styleRulesSchema = z
  .object({
    tone: z.array(z.string().trim().min(1).max(60)).max(20),
    do: z.array(phrase).max(50),
    dont: z.array(phrase).max(50),
    preferredVocabulary: z.array(z.string().trim().min(1).max(100)).max(200),
    bannedVocabulary: z.array(z.string().trim().min(1).max(100)).max(200),
    readingLevel: z.enum(readingLevels).optional(),
  })
  .strict()
  .superRefine((rules, ctx) => {
    const banned = new Set(rules.bannedVocabulary.map((word) => word.toLowerCase()));
    for (const word of rules.preferredVocabulary) {
      if (banned.has(word.toLowerCase()))
        ctx.addIssue({
          code: 'custom',
          path: ['preferredVocabulary'],
          message: `"${word}" is both preferred and banned`,
        });
    }
  });

/** One sample of the voice: an optional prompt and the copy written in the voice. */
export const brandVoiceExampleSchema = z
  .object({
    input: z.string().max(4000).optional(),
    output: z.string().trim().min(1).max(8000),
    channel: z.string().trim().min(1).max(50).optional(),
  })
  .strict();

export const brandVoiceExamplesSchema = z.array(brandVoiceExampleSchema).max(50);

const brandRefinements = {
  slug: (s: z.ZodString) =>
    s.regex(slugPattern, 'lowercase letters, digits and inner hyphens, 1-63 characters'),
  name: nameText,
  website: (s: z.ZodString) => s.regex(/^https?:\/\/\S+$/, 'an http(s) URL').max(2000),
};
export const selectBrandSchema = createSelectSchema(brands);
export const insertBrandSchema = createInsertSchema(brands, brandRefinements);
export const updateBrandSchema = createUpdateSchema(brands, brandRefinements);

const brandVoiceRefinements = {
  name: (s: z.ZodString) => s.trim().min(1).max(100),
  version: (s: z.ZodNumber) => s.int().min(1),
  promptTemplate: (s: z.ZodString) => s.min(1).max(20000),
  styleRules: styleRulesSchema,
  examples: brandVoiceExamplesSchema.optional(),
  ...embeddingRefinements,
};
/** What an API may show of a voice: everything but the embedding. */
export const selectBrandVoiceSchema = createSelectSchema(brandVoices, {
  styleRules: styleRulesSchema,
  examples: brandVoiceExamplesSchema,
}).omit({ embedding: true });
export const insertBrandVoiceSchema = createInsertSchema(brandVoices, brandVoiceRefinements).superRefine(
  checkEmbeddingFields,
);
export const updateBrandVoiceSchema = createUpdateSchema(brandVoices, {
  ...brandVoiceRefinements,
  styleRules: styleRulesSchema.optional(),
}).superRefine(checkEmbeddingFields);
