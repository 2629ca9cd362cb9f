// The package's public surface. Importing it opens nothing: connections start with the first query.

export * from './agent-runs.ts';
export * from './agents.ts';
export { API_KEY_PATTERN, parseApiKey } from './api-key-format.ts';
export {
  type ApiKeyVerification,
  createApiKey,
  revokeApiKey,
  scopesAllow,
  verifyApiKey,
} from './api-keys.ts';
export {
  type AuditChainBreak,
  type AuditChainReport,
  type AuditCheckpoint,
  dropPartitionsBefore,
  ensurePartitions,
  exportAuditCheckpoint,
  recordAudit,
  verifyAllAuditChains,
  verifyAuditChain,
} from './audit.ts';
export * from './billing.ts';
export * from './brands.ts';
export * from './bulk-ingest.ts';
export * from './chat.ts';
export { citusDistributionPlan, type DistributionStep } from './citus.ts';
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
} from './client.ts';
export { readCredentialSecret, rotateCredentialKeys, storeCredential } from './credentials.ts';
export {
  CredentialDecryptError,
  createKeyRing,
  generateKeyRingEntry,
  isLocalDatabaseUrl,
  type KeyRing,
  type LoadKeyRingOptions,
  loadKeyRing,
} from './crypto.ts';
export * from './datasets.ts';
export { createLocalEmbedder, embedText } from './embedder.ts';
export * from './embedding-spaces.ts';
export {
  ConnectionError,
  DatabaseError,
  type DatabaseErrorKind,
  MigrationError,
  MigrationLedgerError,
  ServerRequirementError,
  TenantScopeError,
  toDatabaseError,
} from './errors.ts';
export * from './ingest.ts';
export { InputError } from './input.ts';
export { createServiceLogin, type ServiceLoginOptions } from './logins.ts';
export * from './members.ts';
export * from './metrics.ts';
export { type MigrateOptions, type MigrateResult, migrate } from './migrate.ts';
export {
  type CreateOrganizationInput,
  createOrganization,
  demoOrganizationId,
  listOrganizationIdsForAdminJob,
  listUserOrganizations,
  organizationExists,
} from './organizations.ts';
export { type PermissionKey, permissionKeys, systemRoles } from './permissions.ts';
export * as schema from './schema/index.ts';
export * from './search.ts';
export { defaultTenantIndexMinRows, ensureTenantIndexes } from './search-indexes.ts';
export { seed, seedTenant } from './seed/index.ts';
export { APP_ROLE, currentTenant, withTenant, withUser } from './tenant.ts';
