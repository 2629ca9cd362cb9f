import { z } from 'zod';
import {
  chunks,
  datasets,
  documents,
  inferenceEndpoints,
  modelVersions,
  trainingJobs,
} from '../schema/rag.ts';
import { createSelectSchema } from './drizzle-zod.ts';
import { checkEmbeddingFields, embeddingRefinements } from './embeddings.ts';
import { slugPattern } from './identity.ts';
import { createInsertSchema, createUpdateSchema, nameText, rule, withRules } from './storable.ts';

// Shapes of the JSON columns; the tables' `$type<T>()` say the same in TypeScript. A schema given
// to drizzle-zod replaces the column's, so columns with a default take it `.optional()` on insert.
export const documentMetadataSchema = z
  .object({
    language: z.string().min(2).max(35).optional(),
    author: z.string().max(200).optional(),
    tags: z.array(z.string().trim().min(1).max(50)).max(50).optional(),
    publishedAt: z.iso.datetime({ offset: true }).optional(),
    byteSize: z.number().int().min(0).optional(),
  })
  .strict();

export const chunkMetadataSchema = z
  .object({
    page: z.number().int().min(1).optional(),
    heading: z.string().max(500).optional(),
    startOffset: z.number().int().min(0).optional(),
    endOffset: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((m) => m.startOffset === undefined || m.endOffset === undefined || m.endOffset >= m.startOffset, {
    message: 'endOffset must not be before startOffset',
    path: ['endOffset'],
  });

export const modelMetricsSchema = z.record(z.string().min(1).max(100), z.number());

export const hyperparametersSchema = z
  .object({
    epochs: z.number().int().min(1).max(1000).optional(),
    learningRate: z.number().positive().max(1).optional(),
    batchSize: z.number().int().min(1).max(65536).optional(),
    loraRank: z.number().int().min(1).max(1024).optional(),
    extra: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .strict();

export const inferenceEndpointConfigSchema = z
  .object({
    maxTokens: z.number().int().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
    timeoutMs: z.number().int().min(1).optional(),
    minReplicas: z.number().int().min(0).optional(),
    maxReplicas: z.number().int().min(0).optional(),
    credentialName: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine(
    (c) => c.minReplicas === undefined || c.maxReplicas === undefined || c.maxReplicas >= c.minReplicas,
    {
      message: 'maxReplicas must be at least minReplicas',
      path: ['maxReplicas'],
    },
  );

// The same patterns the tables' CHECK constraints enforce.
const sha256Hex = /^[0-9a-f]{64}$/;
const httpUrl = /^https?:\/\/[^\s/]+/;

const datasetRefinements = {
  slug: (s: z.ZodString) =>
    s.regex(slugPattern, 'lowercase letters, digits and inner hyphens, 1-63 characters'),
  name: nameText,
};
export const selectDatasetSchema = createSelectSchema(datasets);
export const insertDatasetSchema = createInsertSchema(datasets, datasetRefinements);
export const updateDatasetSchema = createUpdateSchema(datasets, datasetRefinements);

const documentRefinements = {
  title: (s: z.ZodString) => s.min(1).max(1000),
  contentHash: (s: z.ZodString) => s.regex(sha256Hex, 'a lowercase hex sha256'),
  mimeType: (s: z.ZodString) => s.regex(/^[\w.+-]+\/[\w.+-]+$/, 'a MIME type such as text/markdown'),
  sourceUri: (s: z.ZodString) => s.min(1).max(2000),
  metadata: documentMetadataSchema.optional(),
};
export const selectDocumentSchema = createSelectSchema(documents, { metadata: documentMetadataSchema });
const documentRules = [
  rule<typeof documents.$inferSelect>(
    ['status', 'error'],
    (v) => v.status !== 'failed' || v.error != null,
    'a failed row says why (error)',
  ),
];
/** The fields of a document a caller gives to ingest (the rest the package fills in). */
export const documentInputFieldsSchema = createInsertSchema(documents, documentRefinements).pick({
  title: true,
  sourceUri: true,
  mimeType: true,
});
export const insertDocumentSchema = withRules(
  createInsertSchema(documents, documentRefinements),
  documentRules,
  'insert',
);
export const updateDocumentSchema = withRules(
  createUpdateSchema(documents, documentRefinements),
  documentRules,
  'update',
);

const chunkRefinements = {
  ordinal: (s: z.ZodNumber) => s.int().min(0),
  content: (s: z.ZodString) => s.min(1).max(100_000),
  tokenCount: (s: z.ZodNumber) => s.int().min(0),
  contentHash: (s: z.ZodString) => s.regex(sha256Hex, 'a lowercase hex sha256'),
  metadata: chunkMetadataSchema.optional(),
  ...embeddingRefinements,
};
/** What search and APIs show of a chunk: never the embedding nor the search vector. */
export const selectChunkSchema = createSelectSchema(chunks, { metadata: chunkMetadataSchema }).omit({
  embedding: true,
  searchVector: true,
});
export const insertChunkSchema = createInsertSchema(chunks, chunkRefinements).superRefine(
  checkEmbeddingFields,
);
export const updateChunkSchema = createUpdateSchema(chunks, chunkRefinements).superRefine(
  checkEmbeddingFields,
);

const modelVersionRefinements = {
  name: nameText,
  version: (s: z.ZodNumber) => s.int().min(1),
  provider: (s: z.ZodString) => s.trim().min(1).max(100),
  baseModel: nameText,
  metrics: modelMetricsSchema.optional(),
};
const modelVersionRules = [
  rule<typeof modelVersions.$inferSelect>(
    ['status', 'artifactUri'],
    (v) => v.status !== 'ready' || v.artifactUri != null,
    'a ready model version has an artifact',
  ),
];
export const selectModelVersionSchema = createSelectSchema(modelVersions, { metrics: modelMetricsSchema });
export const insertModelVersionSchema = withRules(
  createInsertSchema(modelVersions, modelVersionRefinements),
  modelVersionRules,
  'insert',
);
export const updateModelVersionSchema = withRules(
  createUpdateSchema(modelVersions, modelVersionRefinements),
  modelVersionRules,
  'update',
);

type TrainingJob = typeof trainingJobs.$inferSelect;
/** `training_jobs_status_check` and the timing checks. */
const trainingJobRules = [
  rule<TrainingJob>(
    ['status', 'startedAt'],
    (v) => !['running', 'succeeded', 'failed'].includes(v.status ?? 'queued') || v.startedAt != null,
    'a running, succeeded or failed job has a start time',
  ),
  rule<TrainingJob>(
    ['status', 'finishedAt'],
    (v) =>
      v.status === 'cancelled' ||
      ['succeeded', 'failed'].includes(v.status ?? 'queued') === (v.finishedAt != null),
    'a job has a finish time exactly when it succeeded or failed (a cancelled one may have one)',
  ),
  rule<TrainingJob>(
    ['status', 'error'],
    (v) => v.status !== 'failed' || v.error != null,
    'a failed job says why (error)',
  ),
  rule<TrainingJob>(
    ['startedAt', 'finishedAt'],
    (v) => v.finishedAt == null || (v.startedAt != null && v.finishedAt >= v.startedAt),
    'a finished job has a start time, not after its finish',
  ),
  // queued_at defaults to now(): an insert without it is checked against the current time.
  rule<TrainingJob>(
    ['queuedAt', 'startedAt'],
    (v) => v.startedAt == null || v.startedAt >= (v.queuedAt ?? new Date()),
    'startedAt is before queuedAt',
    'startedAt',
  ),
];

const trainingJobRefinements = {
  baseModel: nameText,
  hyperparameters: hyperparametersSchema.optional(),
  metrics: modelMetricsSchema.optional(),
};
export const selectTrainingJobSchema = createSelectSchema(trainingJobs, {
  hyperparameters: hyperparametersSchema,
  metrics: modelMetricsSchema,
});
export const insertTrainingJobSchema = withRules(
  createInsertSchema(trainingJobs, trainingJobRefinements),
  trainingJobRules,
  'insert',
);
export const updateTrainingJobSchema = withRules(
  createUpdateSchema(trainingJobs, trainingJobRefinements),
  trainingJobRules,
  'update',
);

const inferenceEndpointRefinements = {
  name: nameText,
  url: (s: z.ZodString) => s.regex(httpUrl, 'an http(s) URL').max(2000),
  config: inferenceEndpointConfigSchema.optional(),
};
export const selectInferenceEndpointSchema = createSelectSchema(inferenceEndpoints, {
  config: inferenceEndpointConfigSchema,
});
export const insertInferenceEndpointSchema = createInsertSchema(
  inferenceEndpoints,
  inferenceEndpointRefinements,
);
export const updateInferenceEndpointSchema = createUpdateSchema(
  inferenceEndpoints,
  inferenceEndpointRefinements,
);
