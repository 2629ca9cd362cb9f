import { relations } from 'drizzle-orm';
import { brands, brandVoices } from './brand.ts';
import { embeddingSpaces } from './embeddings.ts';
import {
  accounts,
  apiKeys,
  credentials,
  memberships,
  organizations,
  permissions,
  rolePermissions,
  roles,
  sessions,
  users,
} from './identity.ts';
import { chunks, datasets, documents, inferenceEndpoints, modelVersions, trainingJobs } from './rag.ts';

export const organizationsRelations = relations(organizations, ({ many }) => ({
  memberships: many(memberships),
  roles: many(roles),
  apiKeys: many(apiKeys),
  credentials: many(credentials),
}));

export const usersRelations = relations(users, ({ many }) => ({
  memberships: many(memberships, { relationName: 'memberUser' }),
  accounts: many(accounts),
  sessions: many(sessions),
}));

export const accountsRelations = relations(accounts, ({ one }) => ({
  user: one(users, { fields: [accounts.userId], references: [users.id] }),
}));

export const sessionsRelations = relations(sessions, ({ one }) => ({
  user: one(users, { fields: [sessions.userId], references: [users.id] }),
}));

export const rolesRelations = relations(roles, ({ one, many }) => ({
  organization: one(organizations, { fields: [roles.organizationId], references: [organizations.id] }),
  permissions: many(rolePermissions),
  memberships: many(memberships),
}));

export const rolePermissionsRelations = relations(rolePermissions, ({ one }) => ({
  role: one(roles, {
    fields: [rolePermissions.organizationId, rolePermissions.roleId],
    references: [roles.organizationId, roles.id],
  }),
  permission: one(permissions, { fields: [rolePermissions.permissionKey], references: [permissions.key] }),
}));

export const membershipsRelations = relations(memberships, ({ one }) => ({
  organization: one(organizations, {
    fields: [memberships.organizationId],
    references: [organizations.id],
  }),
  user: one(users, { fields: [memberships.userId], references: [users.id], relationName: 'memberUser' }),
  invitedByUser: one(users, { fields: [memberships.invitedByUserId], references: [users.id] }),
  role: one(roles, {
    fields: [memberships.organizationId, memberships.roleId],
    references: [roles.organizationId, roles.id],
  }),
}));

export const apiKeysRelations = relations(apiKeys, ({ one }) => ({
  organization: one(organizations, { fields: [apiKeys.organizationId], references: [organizations.id] }),
  createdByUser: one(users, { fields: [apiKeys.createdByUserId], references: [users.id] }),
}));

export const credentialsRelations = relations(credentials, ({ one }) => ({
  organization: one(organizations, {
    fields: [credentials.organizationId],
    references: [organizations.id],
  }),
  createdByUser: one(users, { fields: [credentials.createdByUserId], references: [users.id] }),
}));

// ---------------------------------------------------------------------------------------------
// Brand and RAG
// ---------------------------------------------------------------------------------------------

export const embeddingSpacesRelations = relations(embeddingSpaces, ({ many }) => ({
  brandVoices: many(brandVoices),
  datasets: many(datasets),
  chunks: many(chunks),
}));

export const brandsRelations = relations(brands, ({ one, many }) => ({
  organization: one(organizations, { fields: [brands.organizationId], references: [organizations.id] }),
  voices: many(brandVoices),
}));

export const brandVoicesRelations = relations(brandVoices, ({ one }) => ({
  brand: one(brands, {
    fields: [brandVoices.organizationId, brandVoices.brandId],
    references: [brands.organizationId, brands.id],
  }),
  embeddingSpace: one(embeddingSpaces, {
    fields: [brandVoices.embeddingSpaceId],
    references: [embeddingSpaces.id],
  }),
}));

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
