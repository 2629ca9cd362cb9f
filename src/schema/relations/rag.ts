import { embeddingSpaces } from '../embeddings.ts';
import { organizations } from '../identity.ts';
import { chunks, datasets, documents, inferenceEndpoints, modelVersions, trainingJobs } from '../rag.ts';
import { relations } from './define.ts';

// RAG: datasets, documents, chunks; models, training and inference.

export const datasetsRelations = relations(datasets, ({ one, many }) => ({
  organization: one(organizations, { fields: [datasets.organizationId], references: [organizations.id] }),
  embeddingSpace: one(embeddingSpaces, {
    fields: [datasets.embeddingSpaceId],
    references: [embeddingSpaces.id],
  }),
  documents: many(documents),
  chunks: many(chunks),
  trainingJobs: many(trainingJobs),
}));

export const documentsRelations = relations(documents, ({ one, many }) => ({
  dataset: one(datasets, {
    fields: [documents.organizationId, documents.datasetId],
    references: [datasets.organizationId, datasets.id],
  }),
  chunks: many(chunks),
}));

export const chunksRelations = relations(chunks, ({ one }) => ({
  document: one(documents, {
    fields: [chunks.organizationId, chunks.documentId],
    references: [documents.organizationId, documents.id],
  }),
  dataset: one(datasets, {
    fields: [chunks.organizationId, chunks.datasetId],
    references: [datasets.organizationId, datasets.id],
  }),
  embeddingSpace: one(embeddingSpaces, {
    fields: [chunks.embeddingSpaceId],
    references: [embeddingSpaces.id],
  }),
}));

export const modelVersionsRelations = relations(modelVersions, ({ many }) => ({
  trainingJobs: many(trainingJobs),
  inferenceEndpoints: many(inferenceEndpoints),
}));

export const trainingJobsRelations = relations(trainingJobs, ({ one }) => ({
  dataset: one(datasets, {
    fields: [trainingJobs.organizationId, trainingJobs.datasetId],
    references: [datasets.organizationId, datasets.id],
  }),
  outputModelVersion: one(modelVersions, {
    fields: [trainingJobs.organizationId, trainingJobs.outputModelVersionId],
    references: [modelVersions.organizationId, modelVersions.id],
  }),
}));

export const inferenceEndpointsRelations = relations(inferenceEndpoints, ({ one }) => ({
  modelVersion: one(modelVersions, {
    fields: [inferenceEndpoints.organizationId, inferenceEndpoints.modelVersionId],
    references: [modelVersions.organizationId, modelVersions.id],
  }),
}));
