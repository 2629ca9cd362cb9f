import { sql } from 'drizzle-orm';
import {
  check,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { definerAccess, lengthCheck, liveRows, softDelete, tenantPolicy, timestamps } from './columns.ts';
import { embeddingColumns, embeddingConstraints, embeddingSpaces } from './embeddings.ts';
import {
  datasetKind,
  datasetStatus,
  documentStatus,
  inferenceEndpointStatus,
  modelVersionStatus,
  trainStatus,
} from './enums.ts';
import { organizations } from './organizations.ts';
import { tenantReference, tenantTable } from './tenancy.ts';

/** A `tsvector`, written by the database only (generated columns). */
export const tsvector = customType<{ data: string; driverData: string }>({
  dataType: () => 'tsvector',
});

/** The text search configuration of chunk content: the generated column and every query use it. */
export const TEXT_SEARCH_CONFIG = 'english';

const sha256Hex = (column: string) => sql.raw(`${column} ~ '^[0-9a-f]{64}$'`);

export const datasets = tenantTable(
  'datasets',
  {
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    kind: datasetKind('kind').notNull().default('documents'),
    /**
     * The space searches read the dataset in. Its chunks' vectors are in it, in `chunks` or in
     * `chunk_embeddings`; a re-embedding's switch changes it (`src/reembedding/reembedding.ts`).
     */
    embeddingSpaceId: uuid('embedding_space_id').notNull(),
    status: datasetStatus('status').notNull().default('empty'),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    foreignKey({
      name: 'datasets_embedding_space_id_fkey',
      columns: [t.embeddingSpaceId],
      foreignColumns: [embeddingSpaces.id],
    }).onDelete('restrict'),
    index('datasets_embedding_space_id_idx').on(t.embeddingSpaceId),
    // Slugs are unique per organization among live datasets, so a deleted dataset frees its slug.
    uniqueIndex('datasets_organization_id_slug_key').on(t.organizationId, t.slug).where(liveRows),
    check('datasets_slug_format_check', sql`${t.slug} ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'`),
  ],
);

export type Dataset = typeof datasets.$inferSelect;
export type NewDataset = typeof datasets.$inferInsert;

/**
 * The spaces a dataset's vectors may be in: the one it is searched in, and while a re-embedding
 * moves it (`src/reembedding/reembedding.ts`) the other one too, until its old vectors are dropped.
 * `createDataset` writes the first row; chunks and re-embedded vectors reference these rows, so
 * the database refuses a vector in any other space (`chunks_dataset_space_fkey`).
 */
export const datasetSpaces = pgTable(
  'dataset_spaces',
  {
    organizationId: uuid('organization_id').notNull().default(sql`app_current_org_id()`),
    datasetId: uuid('dataset_id').notNull(),
    embeddingSpaceId: uuid('embedding_space_id').notNull(),
  },
  (t) => [
    primaryKey({ name: 'dataset_spaces_pkey', columns: [t.organizationId, t.datasetId, t.embeddingSpaceId] }),
    foreignKey({
      name: 'dataset_spaces_organization_id_fkey',
      columns: [t.organizationId],
      foreignColumns: [organizations.id],
    }).onDelete('cascade'),
    tenantPolicy('dataset_spaces'),
    foreignKey({
      name: 'dataset_spaces_dataset_id_fkey',
      columns: [t.organizationId, t.datasetId],
      foreignColumns: [datasets.organizationId, datasets.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'dataset_spaces_embedding_space_id_fkey',
      columns: [t.embeddingSpaceId],
      foreignColumns: [embeddingSpaces.id],
    }).onDelete('restrict'),
    index('dataset_spaces_embedding_space_id_idx').on(t.embeddingSpaceId),
  ],
).enableRLS();

export type DatasetSpace = typeof datasetSpaces.$inferSelect;

/** What is known about a document's origin; validated by `documentMetadataSchema`. */
export type DocumentMetadata = {
  language?: string;
  author?: string;
  tags?: string[];
  publishedAt?: string;
  byteSize?: number;
};

export const documents = tenantTable(
  'documents',
  {
    datasetId: uuid('dataset_id').notNull(),
    /** Where the document came from (URL, bucket key); the ingest key when the caller gives no id. */
    sourceUri: text('source_uri'),
    title: text('title').notNull(),
    mimeType: text('mime_type').notNull().default('text/plain'),
    /** sha256 (hex) of the document's chunk hashes in order: unchanged documents are recognised. */
    contentHash: text('content_hash'),
    status: documentStatus('status').notNull().default('pending'),
    /** Why the last ingest failed (status `failed`). */
    error: text('error'),
    metadata: jsonb('metadata').$type<DocumentMetadata>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('documents', t.sourceUri, 2000),
    ...tenantReference('documents', t, t.datasetId, datasets, 'cascade', {
      servedBy: 'documents_organization_id_dataset_id_id_key',
    }),
    // Target of chunks' (dataset, document) reference, so a chunk's dataset is its document's; and
    // the index of the dataset reference. No index but the primary key leads with the tenant or
    // the dataset alone: for a tenant or dataset the statistics have not seen, the planner expects
    // one row there and would read all of them to find a document by its key (each chunk written
    // checks its document so).
    unique('documents_organization_id_dataset_id_id_key').on(t.datasetId, t.organizationId, t.id),
    // Re-ingesting the same source updates the document instead of adding a copy.
    unique('documents_organization_id_dataset_id_source_uri_key').on(
      t.sourceUri,
      t.datasetId,
      t.organizationId,
    ),
    // Fuzzy title search (`searchDocumentTitles`, pg_trgm `%` and `<->`).
    index('documents_title_trgm_idx').using('gin', t.title.op('gin_trgm_ops')),
    check('documents_content_hash_check', sha256Hex('content_hash')),
    check('documents_title_check', sql`length(${t.title}) between 1 and 1000`),
    check('documents_failed_error_check', sql`${t.status} <> 'failed' or ${t.error} is not null`),
  ],
);

export type Document = typeof documents.$inferSelect;
export type NewDocument = typeof documents.$inferInsert;

/** Where a chunk sits in its document; validated by `chunkMetadataSchema`. */
export type ChunkMetadata = {
  page?: number;
  heading?: string;
  startOffset?: number;
  endOffset?: number;
};

export const chunks = tenantTable(
  'chunks',
  {
    /** Denormalised from the document so filtered search needs no join. */
    datasetId: uuid('dataset_id').notNull(),
    documentId: uuid('document_id').notNull(),
    /** Position in the document from 0; ingest is idempotent by (document, ordinal). */
    ordinal: integer('ordinal').notNull(),
    content: text('content').notNull(),
    tokenCount: integer('token_count').notNull().default(0),
    /** sha256 (hex) of `content`: ingest re-embeds only chunks whose hash changed. */
    contentHash: text('content_hash').notNull(),
    /** Full-text vector of `content`, maintained by the database. */
    searchVector: tsvector('search_vector')
      .notNull()
      .generatedAlwaysAs(sql.raw(`to_tsvector('${TEXT_SEARCH_CONFIG}'::regconfig, content)`)),
    metadata: jsonb('metadata').$type<ChunkMetadata>().notNull().default({}),
    ...embeddingColumns(),
    ...timestamps(),
  },
  (t) => [
    // Bounded so its tsvector stays under PostgreSQL's 1 MB limit.
    lengthCheck('chunks', t.content, 100000),
    foreignKey({
      name: 'chunks_document_fkey',
      columns: [t.organizationId, t.datasetId, t.documentId],
      foreignColumns: [documents.organizationId, documents.datasetId, documents.id],
    }).onDelete('cascade'),
    index('chunks_dataset_id_document_id_idx').on(t.datasetId, t.documentId, t.organizationId),
    // A chunk's vector is in a space of its dataset (MATCH SIMPLE: a chunk not embedded yet is not
    // checked); a space is let go only once no chunk holds a vector in it.
    foreignKey({
      name: 'chunks_dataset_space_fkey',
      columns: [t.organizationId, t.datasetId, t.embeddingSpaceId],
      foreignColumns: [datasetSpaces.organizationId, datasetSpaces.datasetId, datasetSpaces.embeddingSpaceId],
    }).onDelete('no action'),
    // Also the candidate count and exact path of filtered search (tenant, datasets, space).
    index('chunks_dataset_id_embedding_space_id_idx').on(t.datasetId, t.embeddingSpaceId, t.organizationId),
    // A re-embedding's walk through one dataset in id order from its cursor, a batch at a time
    // (without it each batch read every row of the dataset after the cursor); led by the dataset,
    // as every index but the primary key is (drizzle/0038), so no lookup by id takes it.
    index('chunks_dataset_id_id_idx').on(t.datasetId, t.organizationId, t.id),
    uniqueIndex('chunks_organization_id_document_id_ordinal_key').on(
      t.documentId,
      t.ordinal,
      t.organizationId,
    ),
    // Full-text half of hybrid search, read through app_chunk_text_matches: under the tenant's
    // policy no index condition that is not leakproof (`@@` is not) runs ahead of it. The tenant
    // beside the words (btree_gin), so a search reads its own tenant's matches (drizzle/0044).
    index('chunks_organization_id_search_vector_idx').using('gin', t.organizationId, t.searchVector),
    definerAccess('chunks'),
    check('chunks_ordinal_check', sql`${t.ordinal} >= 0`),
    check('chunks_token_count_check', sql`${t.tokenCount} >= 0`),
    check('chunks_content_check', sql`length(${t.content}) > 0`),
    check('chunks_content_hash_check', sha256Hex('content_hash')),
    ...embeddingConstraints('chunks', t),
  ],
);

export type Chunk = typeof chunks.$inferSelect;
export type NewChunk = typeof chunks.$inferInsert;

/** Evaluation figures of a model version or a training run, by metric name (loss, bleu, ...). */
export type ModelMetrics = Record<string, number>;

export const modelVersions = tenantTable(
  'model_versions',
  {
    name: text('name').notNull(),
    version: integer('version').notNull().default(1),
    /** Who serves the weights (`openai`, `together`, `self-hosted`, ...). */
    provider: text('provider').notNull(),
    baseModel: text('base_model').notNull(),
    /** Where the weights or the provider's fine-tune id live. */
    artifactUri: text('artifact_uri'),
    status: modelVersionStatus('status').notNull().default('training'),
    metrics: jsonb('metrics').$type<ModelMetrics>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('model_versions', t.name, 200),
    uniqueIndex('model_versions_organization_id_name_version_key').on(t.organizationId, t.name, t.version),
    check('model_versions_version_check', sql`${t.version} >= 1`),
    check('model_versions_ready_artifact_check', sql`${t.status} <> 'ready' or ${t.artifactUri} is not null`),
  ],
);

export type ModelVersion = typeof modelVersions.$inferSelect;
export type NewModelVersion = typeof modelVersions.$inferInsert;

/** Training settings; validated by `hyperparametersSchema`. */
export type Hyperparameters = {
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  loraRank?: number;
  extra?: Record<string, string | number | boolean>;
};

export const trainingJobs = tenantTable(
  'training_jobs',
  {
    datasetId: uuid('dataset_id').notNull(),
    baseModel: text('base_model').notNull(),
    /**
     * The model version the job produced. Its reference
     * `(organization_id, output_model_version_id) -> model_versions` (NO ACTION) is written in the
     * shard_safe_guards migration; `deleteModelVersion` clears it before the version goes.
     */
    outputModelVersionId: uuid('output_model_version_id'),
    status: trainStatus('status').notNull().default('queued'),
    hyperparameters: jsonb('hyperparameters').$type<Hyperparameters>().notNull().default({}),
    metrics: jsonb('metrics').$type<ModelMetrics>().notNull().default({}),
    error: text('error'),
    queuedAt: timestamp('queued_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    ...tenantReference('training_jobs', t, t.datasetId, datasets),
    // Serves the reference to model_versions (cleared by deleteModelVersion).
    index('training_jobs_output_model_version_id_idx').on(t.outputModelVersionId, t.organizationId),
    // The job queue: the oldest queued jobs of a tenant first.
    index('training_jobs_organization_id_status_queued_at_idx').on(t.organizationId, t.status, t.queuedAt),
    check('training_jobs_started_check', sql`${t.startedAt} is null or ${t.startedAt} >= ${t.queuedAt}`),
    check(
      'training_jobs_finished_check',
      sql`${t.finishedAt} is null or (${t.startedAt} is not null and ${t.finishedAt} >= ${t.startedAt})`,
    ),
    check(
      'training_jobs_status_check',
      sql`(${t.status} not in ('running', 'succeeded', 'failed') or ${t.startedAt} is not null)
        and (${t.status} not in ('succeeded', 'failed') or ${t.finishedAt} is not null)
        and (${t.status} in ('succeeded', 'failed', 'cancelled') or ${t.finishedAt} is null)
        and (${t.status} <> 'failed' or ${t.error} is not null)`,
    ),
  ],
);

export type TrainingJob = typeof trainingJobs.$inferSelect;
export type NewTrainingJob = typeof trainingJobs.$inferInsert;

/** How an endpoint serves its model; validated by `inferenceEndpointConfigSchema`. */
export type InferenceEndpointConfig = {
  maxTokens?: number;
  temperature?: number;
  timeoutMs?: number;
  minReplicas?: number;
  maxReplicas?: number;
  /** Name of the connector credential holding the endpoint's key (never the key itself). */
  credentialName?: string;
};

export const inferenceEndpoints = tenantTable(
  'inference_endpoints',
  {
    modelVersionId: uuid('model_version_id').notNull(),
    name: text('name').notNull(),
    url: text('url').notNull(),
    status: inferenceEndpointStatus('status').notNull().default('provisioning'),
    config: jsonb('config').$type<InferenceEndpointConfig>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [
    // Characters for people; the bytes its index holds are bounded in byte-limits.ts.
    lengthCheck('inference_endpoints', t.name, 200),
    // A model version that is being served cannot be deleted (checked at statement end).
    ...tenantReference('inference_endpoints', t, t.modelVersionId, modelVersions, 'no action'),
    uniqueIndex('inference_endpoints_organization_id_name_key').on(t.organizationId, t.name),
    check('inference_endpoints_url_check', sql`${t.url} ~ '^https?://[^\\s/]+'`),
  ],
);

export type InferenceEndpoint = typeof inferenceEndpoints.$inferSelect;
export type NewInferenceEndpoint = typeof inferenceEndpoints.$inferInsert;
