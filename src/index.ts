// The package's public surface. Importing it opens nothing: connections start with the first query.

export * from './agents/agent-runs.ts';
export * from './agents/agents.ts';
export * from './agents/run-claims.ts';
export * from './agents/run-leases.ts';
export * from './agents/run-queue.ts';
export * from './agents/run-worker.ts';
export {
  type AuditChainBreak,
  type AuditChainReport,
  type AuditCheckpoint,
  exportAuditCheckpoint,
  recordAudit,
  verifyAllAuditChains,
  verifyAuditChain,
} from './audit/audit.ts';
export { toDatabaseError } from './base/database-errors.ts';
export {
  type BulkCommitted,
  BulkLoadError,
  ConnectionError,
  DatabaseError,
  type DatabaseErrorKind,
  EmbeddedDatabaseError,
  type EmbeddedFault,
  isRetryable,
  MigrationError,
  MigrationLedgerError,
  ReembeddingError,
  type ReembeddingErrorKind,
  RunLeaseLostError,
  ServerRequirementError,
  TenantScopeError,
} from './base/errors.ts';
export { InputError } from './base/input.ts';
export {
  type CreateDbOptions,
  createDb,
  type Database,
  type DbHandle,
  type DbTarget,
  type RawSql,
  rowsOf,
  type Schema,
  type Transaction,
} from './client/client.ts';
export { APP_ROLE, currentTenant, runPrepared, withTenant, withUser } from './client/tenant.ts';
export * from './domains/billing.ts';
export * from './domains/brands.ts';
export * from './domains/chat.ts';
export * from './domains/deletions.ts';
export * from './domains/metrics.ts';
export {
  type ApiKeyVerification,
  createApiKey,
  revokeApiKey,
  scopesAllow,
  verifyApiKey,
} from './identity/api-keys.ts';
export { readCredentialSecret, rotateCredentialKeys, storeCredential } from './identity/credentials.ts';
export * from './identity/members.ts';
export {
  type CreateOrganizationInput,
  createOrganization,
  demoOrganizationId,
  listOrganizationIdsForAdminJob,
  listUserOrganizations,
  organizationExists,
  type RotateTenantKeyOptions,
  rotateTenantKey,
} from './identity/organizations.ts';
export { asAuthRole, createUser } from './identity/users.ts';
export {
  COLOCATION_GROUPS,
  checkWorkerLogins,
  citusDistributionPlan,
  type DistributionReport,
  type DistributionStep,
  distribute,
  SERVICE_ROLES,
} from './operator/citus.ts';
export { createServiceLogin, type ServiceLoginOptions } from './operator/logins.ts';
export { type MigrateOptions, type MigrateResult, migrate } from './operator/migrate.ts';
export { dropPartitionsBefore, ensurePartitions } from './operator/partitions.ts';
export * from './rag/bulk-ingest.ts';
export * from './rag/datasets.ts';
export { createLocalEmbedder, embedText } from './rag/embedder.ts';
export * from './rag/embedding-spaces.ts';
export * from './rag/ingest.ts';
export * from './rag/search.ts';
export { type TenantIndexWatch, watchTenantIndexes } from './rag/tenant-index-watch.ts';
export {
  defaultMaxTenantIndexes,
  defaultTenantIndexMinRows,
  ensureTenantIndexes,
  maintainTenantIndexes,
  type TenantIndexChanges,
} from './rag/tenant-indexes.ts';
export * from './reembedding/reembed-many.ts';
export * from './reembedding/reembedding.ts';
export * from './reembedding/reembedding-index.ts';
export * from './reembedding/reembedding-overlap.ts';
export * from './reembedding/reembedding-run.ts';
export * from './reembedding/reembedding-switch.ts';
export * as schema from './schema/index.ts';
export { API_KEY_PATTERN, parseApiKey } from './security/api-key-format.ts';
export { CredentialDecryptError } from './security/crypto.ts';
export { DEVELOPMENT_ENV } from './security/development.ts';
export {
  createKeyRing,
  generateKeyRingEntry,
  type KeyRing,
  type LoadKeyRingOptions,
  loadKeyRing,
} from './security/key-ring.ts';
export { type PermissionKey, permissionKeys, systemRoles } from './security/permissions.ts';
export { seed, seedTenant } from './seed/index.ts';
