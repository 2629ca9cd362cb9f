import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  foreignKey,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { brands } from './brand.ts';
import { tenantPolicy, timestamps } from './columns.ts';
import { embeddingConstraints, embeddingSpaces, halfvec } from './embeddings.ts';
import { reembeddingState, reembeddingTarget } from './enums.ts';
import { organizations } from './organizations.ts';
import { chunks, datasetSpaces, datasets } from './rag.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

const sha256Hex = (column: string) => sql.raw(`${column} ~ '^[0-9a-f]{64}$'`);

/**
 * A move of one dataset's chunks, one brand's voices or one tenant's messages from an embedding
 * space to another (`src/reembedding/reembedding.ts`): its state, the first pass's cursor and the cost.
 */
export const reembeddings = tenantTable(
  'reembeddings',
  {
    target: reembeddingTarget('target').notNull(),
    /** The dataset whose chunks move (target `dataset`). */
    datasetId: uuid('dataset_id'),
    /** The brand whose voices move (target `brand_voices`). */
    brandId: uuid('brand_id'),
    fromSpaceId: uuid('from_space_id').notNull(),
    toSpaceId: uuid('to_space_id').notNull(),
    state: reembeddingState('state').notNull().default('embedding'),
    /** Last row id of the first pass (rows in id order); later rows and stale ones are caught up. */
    cursor: uuid('cursor'),
    /** Rows embedded into the new space (a row changed meanwhile and embedded again counts twice). */
    embeddedRows: integer('embedded_rows').notNull().default(0),
    /** Tokens the embedder reported (else the rows' token counts): what the move cost. */
    embeddedTokens: bigint('embedded_tokens', { mode: 'number' }).notNull().default(0),
    /** The last embedder failure; cleared by the next batch written. */
    lastError: text('last_error'),
    switchedAt: timestamp('switched_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('reembeddings', t, t.datasetId, datasets),
    ...tenantReference('reembeddings', t, t.brandId, brands),
    foreignKey({
      name: 'reembeddings_from_space_id_fkey',
      columns: [t.fromSpaceId],
      foreignColumns: [embeddingSpaces.id],
    }).onDelete('restrict'),
    index('reembeddings_from_space_id_idx').on(t.fromSpaceId),
    foreignKey({
      name: 'reembeddings_to_space_id_fkey',
      columns: [t.toSpaceId],
      foreignColumns: [embeddingSpaces.id],
    }).onDelete('restrict'),
    index('reembeddings_to_space_id_idx').on(t.toSpaceId),
    // One live move per dataset, brand or tenant's messages: starting it again returns it.
    uniqueIndex('reembeddings_organization_id_target_key')
      .on(t.organizationId, t.target, sql`coalesce(${t.datasetId}, ${t.brandId}, ${t.organizationId})`)
      .where(sql`${t.state} in ('embedding', 'switched')`),
    check(
      'reembeddings_target_check',
      sql`(${t.target} = 'dataset') = (${t.datasetId} is not null)
        and (${t.target} = 'brand_voices') = (${t.brandId} is not null)`,
    ),
    check('reembeddings_spaces_check', sql`${t.fromSpaceId} <> ${t.toSpaceId}`),
    check('reembeddings_embedded_check', sql`${t.embeddedRows} >= 0 and ${t.embeddedTokens} >= 0`),
  ],
);

export type Reembedding = typeof reembeddings.$inferSelect;
export type NewReembedding = typeof reembeddings.$inferInsert;

/**
 * A chunk's vector in a space other than the one `chunks` holds for it: a re-embedding writes the
 * new space here, and searches read a dataset's space from both tables (`id` is the chunk's id).
 */
export const chunkEmbeddings = pgTable(
  'chunk_embeddings',
  {
    organizationId: uuid('organization_id').notNull().default(sql`app_current_org_id()`),
    /** The chunk's id, so searches read (id, distance) here as they do from chunks. */
    id: uuid('id').notNull(),
    /** Denormalised from the chunk so filtered search needs no join. */
    datasetId: uuid('dataset_id').notNull(),
    /** sha256 (hex) of the content embedded: a chunk changed since is embedded again. */
    contentHash: text('content_hash').notNull(),
    embeddingSpaceId: uuid('embedding_space_id').notNull(),
    embeddingDimensions: integer('embedding_dimensions').notNull(),
    embedding: halfvec('embedding').notNull(),
  },
  (t) => [
    primaryKey({ name: 'chunk_embeddings_pkey', columns: [t.organizationId, t.id, t.embeddingSpaceId] }),
    foreignKey({
      name: 'chunk_embeddings_organization_id_fkey',
      columns: [t.organizationId],
      foreignColumns: [organizations.id],
    }).onDelete('cascade'),
    tenantPolicy('chunk_embeddings'),
    foreignKey({
      name: 'chunk_embeddings_chunk_fkey',
      columns: [t.organizationId, t.id],
      foreignColumns: [chunks.organizationId, chunks.id],
    }).onDelete('cascade'),
    // A re-embedded vector is in a space of its dataset, as a chunk's own is.
    foreignKey({
      name: 'chunk_embeddings_dataset_space_fkey',
      columns: [t.organizationId, t.datasetId, t.embeddingSpaceId],
      foreignColumns: [datasetSpaces.organizationId, datasetSpaces.datasetId, datasetSpaces.embeddingSpaceId],
    }).onDelete('no action'),
    // The candidate count and exact path of filtered search, as on chunks.
    index('chunk_embeddings_dataset_id_embedding_space_id_idx').on(
      t.datasetId,
      t.embeddingSpaceId,
      t.organizationId,
    ),
    check('chunk_embeddings_content_hash_check', sha256Hex('content_hash')),
    ...embeddingConstraints('chunk_embeddings', t),
  ],
).enableRLS();

export type ChunkEmbedding = typeof chunkEmbeddings.$inferSelect;

/**
 * Brand voices' and messages' vectors of a re-embedding, beside the rows' own: the switch swaps
 * the two in one statement (so the other space is kept here for a rollback), never searched.
 */
export const reembeddingVectors = pgTable(
  'reembedding_vectors',
  {
    organizationId: uuid('organization_id').notNull().default(sql`app_current_org_id()`),
    reembeddingId: uuid('reembedding_id').notNull(),
    /** The brand voice's or message's id. */
    id: uuid('id').notNull(),
    /** sha256 (hex) of the text embedded: a row changed since is embedded again. */
    contentHash: text('content_hash').notNull(),
    spaceId: uuid('space_id').notNull(),
    dimensions: integer('dimensions').notNull(),
    /** Not named `embedding`: per-space search indexes are for searched tables only. */
    vector: halfvec('vector').notNull(),
  },
  (t) => [
    primaryKey({
      name: 'reembedding_vectors_pkey',
      columns: [t.organizationId, t.reembeddingId, t.id],
    }),
    foreignKey({
      name: 'reembedding_vectors_organization_id_fkey',
      columns: [t.organizationId],
      foreignColumns: [organizations.id],
    }).onDelete('cascade'),
    tenantPolicy('reembedding_vectors'),
    foreignKey({
      name: 'reembedding_vectors_reembedding_id_fkey',
      columns: [t.organizationId, t.reembeddingId],
      foreignColumns: [reembeddings.organizationId, reembeddings.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'reembedding_vectors_space_fkey',
      columns: [t.spaceId, t.dimensions],
      foreignColumns: [embeddingSpaces.id, embeddingSpaces.dimensions],
    }).onDelete('restrict'),
    index('reembedding_vectors_space_id_idx').on(t.spaceId, t.dimensions),
    check('reembedding_vectors_content_hash_check', sha256Hex('content_hash')),
    check('reembedding_vectors_dimensions_check', sql`vector_dims(${t.vector}) = ${t.dimensions}`),
  ],
).enableRLS();
