import { z } from 'zod';
import { embeddingSpaces } from '../schema/embeddings.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { createInsertSchema } from './storable.ts';

/** Largest finite half-precision float: halfvec cannot store a component beyond it. */
const HALFVEC_MAX = 65504;

/** A vector as `halfvec` stores it: 1..4000 finite components within ±65504 (zod 4 numbers refuse NaN and infinities). */
export const embeddingVectorSchema = z.array(z.number().min(-HALFVEC_MAX).max(HALFVEC_MAX)).min(1).max(4000);

export const selectEmbeddingSpaceSchema = createSelectSchema(embeddingSpaces);
export const insertEmbeddingSpaceSchema = createInsertSchema(embeddingSpaces, {
  provider: (s) => s.trim().min(1).max(100),
  model: (s) => s.trim().min(1).max(200),
  dimensions: (s) => s.int().min(1).max(4000),
});

type EmbeddingFields = {
  embeddingSpaceId?: string | null;
  embeddingDimensions?: number | null;
  embedding?: unknown;
};

/**
 * The `<table>_embedding_dimensions_check` rule in Zod: the space, its length and the vector are
 * all set or all null, and the vector's length is the space's. The reference to the space itself
 * (unknown space) is the database's to check.
 */
export function checkEmbeddingFields(value: EmbeddingFields, ctx: z.RefinementCtx): void {
  const set = [value.embeddingSpaceId, value.embeddingDimensions, value.embedding].filter(
    (field) => field !== null && field !== undefined,
  ).length;
  if (set !== 0 && set !== 3) {
    ctx.addIssue({
      code: 'custom',
      path: ['embedding'],
      message: 'embedding, embeddingSpaceId and embeddingDimensions are set together or not at all',
    });
    return;
  }
  if (set === 3 && Array.isArray(value.embedding) && value.embedding.length !== value.embeddingDimensions) {
    ctx.addIssue({
      code: 'custom',
      path: ['embedding'],
      message: `embedding has ${value.embedding.length} dimensions but its space has ${value.embeddingDimensions}`,
    });
  }
}

/** Column refinements every embedding table's insert and update schemas share. */
export const embeddingRefinements = {
  embedding: () => embeddingVectorSchema,
  embeddingDimensions: (s: z.ZodNumber) => s.int().min(1).max(4000),
};
