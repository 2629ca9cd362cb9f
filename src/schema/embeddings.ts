import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  check,
  customType,
  foreignKey,
  index,
  integer,
  type PgTableExtraConfigValue,
  pgTable,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, lengthCheck, primaryId } from './columns.ts';
import { embeddingDistance } from './enums.ts';

/**
 * `halfvec` of any length: each row's length is its space's, checked by the database. Half the
 * size of `vector`, same recall in pgvector's benchmarks, indexable up to 4,000 dimensions.
 */
export const halfvec = customType<{ data: number[]; driverData: string }>({
  dataType: () => 'halfvec',
  toDriver: (value) => `[${value.join(',')}]`,
  fromDriver: (value) => JSON.parse(value) as number[],
});

/**
 * An embedding space: one model's vectors. Every embedding row names its space, so models can change
 * over time and the database can refuse a vector of the wrong length. Global reference data.
 */
export const embeddingSpaces = pgTable(
  'embedding_spaces',
  {
    id: primaryId(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    dimensions: integer('dimensions').notNull(),
    distance: embeddingDistance('distance').notNull().default('cosine'),
    createdAt: createdAt(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('embedding_spaces', t.provider, 100),
    lengthCheck('embedding_spaces', t.model, 200),
    unique('embedding_spaces_provider_model_dimensions_key').on(t.provider, t.model, t.dimensions),
    // Target of every embedding table's (space, dims) reference: the length check needs both.
    unique('embedding_spaces_id_dimensions_key').on(t.id, t.dimensions),
    check('embedding_spaces_dimensions_check', sql`${t.dimensions} between 1 and 4000`),
  ],
);

export type EmbeddingSpace = typeof embeddingSpaces.$inferSelect;
export type NewEmbeddingSpace = typeof embeddingSpaces.$inferInsert;

/** The three columns an embedding needs: its space, that space's length, and the vector. */
export const embeddingColumns = () => ({
  embeddingSpaceId: uuid('embedding_space_id'),
  /** Copied from the space so a composite reference can check the vector's length against it. */
  embeddingDimensions: integer('embedding_dimensions'),
  embedding: halfvec('embedding'),
});

/**
 * Refuses a vector whose length differs from its space's (`<table>_embedding_dimensions_check`),
 * an unknown space (`<table>_embedding_space_fkey`), and half-set embeddings.
 */
export function embeddingConstraints(
  table: string,
  t: { embeddingSpaceId: AnyPgColumn; embeddingDimensions: AnyPgColumn; embedding: AnyPgColumn },
): PgTableExtraConfigValue[] {
  return [
    foreignKey({
      name: `${table}_embedding_space_fkey`,
      columns: [t.embeddingSpaceId, t.embeddingDimensions],
      foreignColumns: [embeddingSpaces.id, embeddingSpaces.dimensions],
    }).onDelete('restrict'),
    index(`${table}_embedding_space_id_idx`).on(t.embeddingSpaceId, t.embeddingDimensions),
    check(
      `${table}_embedding_dimensions_check`,
      sql`(${t.embedding} is null and ${t.embeddingSpaceId} is null and ${t.embeddingDimensions} is null) or (${t.embedding} is not null and ${t.embeddingSpaceId} is not null and vector_dims(${t.embedding}) = ${t.embeddingDimensions})`,
    ),
  ];
}
