import { createInsertSchema, createSelectSchema, createUpdateSchema } from 'drizzle-zod';
import { z } from 'zod';
import {
  chunks,
  datasets,
  documents,
  inferenceEndpoints,
  modelVersions,
  trainingJobs,
} from '../schema/rag.ts';
import { checkEmbeddingFields, embeddingRefinements } from './embeddings.ts';
import { slugPattern } from './identity.ts';

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
  name: (s: z.ZodString) => s.trim().min(1).max(200),
};
export const selectDatasetSchema = createSelectSchema(datasets);
export const insertDatasetSchema = createInsertSchema(datasets, datasetRefinements);
export const updateDatasetSchema = createUpdateSchema(datasets, datasetRefinements);

const failedNeedsError = (value: { status?: string | null; error?: string | null }, ctx: z.RefinementCtx) => {
  if (value.status === 'failed' && (value.error === null || value.error === undefined))
    ctx.addIssue({ code: 'custom', path: ['error'], message: 'a failed row says why (error)' });
};

const documentRefinements = {
  title: (s: z.ZodString) => s.min(1).max(1000),
  contentHash: (s: z.ZodString) => s.regex(sha256Hex, 'a lowercase hex sha256'),
  mimeType: (s: z.ZodString) => s.regex(/^[\w.+-]+\/[\w.+-]+$/, 'a MIME type such as text/markdown'),
  metadata: documentMetadataSchema.optional(),
};
export const selectDocumentSchema = createSelectSchema(documents, { metadata: documentMetadataSchema });
export const insertDocumentSchema = createInsertSchema(documents, documentRefinements).superRefine(
  failedNeedsError,
);
export const updateDocumentSchema = createUpdateSchema(documents, documentRefinements);

const chunkRefinements = {
  ordinal: (s: z.ZodNumber) => s.int().min(0),
  content: (s: z.ZodString) => s.min(1),
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
  name: (s: z.ZodString) => s.trim().min(1).max(200),
  version: (s: z.ZodNumber) => s.int().min(1),
  provider: (s: z.ZodString) => s.trim().min(1).max(100),
  baseModel: (s: z.ZodString) => s.trim().min(1).max(200),
  metrics: modelMetricsSchema.optional(),
};
const readyNeedsArtifact = (
  value: { status?: string | null; artifactUri?: string | null },
  ctx: z.RefinementCtx,
) => {
  if (value.status === 'ready' && (value.artifactUri === null || value.artifactUri === undefined))
    ctx.addIssue({ code: 'custom', path: ['artifactUri'], message: 'a ready model version has an artifact' });
};
export const selectModelVersionSchema = createSelectSchema(modelVersions, { metrics: modelMetricsSchema });
export const insertModelVersionSchema = createInsertSchema(
  modelVersions,
  modelVersionRefinements,
).superRefine(readyNeedsArtifact);
export const updateModelVersionSchema = createUpdateSchema(modelVersions, modelVersionRefinements);

type JobTimes = {
  status?: string | null;
  error?: string | null;
  queuedAt?: Date | null;
  startedAt?: Date | null;
  finishedAt?: Date | null;
};

/** `training_jobs_status_check` and the timing checks in Zod. */
function checkTrainingJob(job: JobTimes, ctx: z.RefinementCtx): void {
  const status = job.status ?? 'queued';
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (['running', 'succeeded', 'failed'].includes(status) && !job.startedAt)
    issue('startedAt', `a ${status} job has a start time`);
  if (['succeeded', 'failed'].includes(status) && !job.finishedAt)
    issue('finishedAt', `a ${status} job has a finish time`);
  if (!['succeeded', 'failed', 'cancelled'].includes(status) && job.finishedAt)
    issue('finishedAt', `a ${status} job has no finish time`);
  if (status === 'failed' && !job.error) issue('error', 'a failed job says why (error)');
  if (job.finishedAt && !job.startedAt) issue('startedAt', 'a finished job has a start time');
  if (job.startedAt && job.finishedAt && job.finishedAt < job.startedAt)
    issue('finishedAt', 'finishedAt is before startedAt');
  if (job.startedAt && job.queuedAt && job.startedAt < job.queuedAt)
    issue('startedAt', 'startedAt is before queuedAt');
}

const trainingJobRefinements = {
  baseModel: (s: z.ZodString) => s.trim().min(1).max(200),
  hyperparameters: hyperparametersSchema.optional(),
  metrics: modelMetricsSchema.optional(),
};
export const selectTrainingJobSchema = createSelectSchema(trainingJobs, {
  hyperparameters: hyperparametersSchema,
  metrics: modelMetricsSchema,
});
export const insertTrainingJobSchema = createInsertSchema(trainingJobs, trainingJobRefinements).superRefine(
  checkTrainingJob,
);
export const updateTrainingJobSchema = createUpdateSchema(trainingJobs, trainingJobRefinements);

const inferenceEndpointRefinements = {
  name: (s: z.ZodString) => s.trim().min(1).max(200),
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
