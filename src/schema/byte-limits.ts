import { getTableName, type Table } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { agentRuns } from './agent-runs.ts';
import { agentCapabilities, agents, tools } from './agents.ts';
import { auditLogs } from './audit.ts';
import { invoices, subscriptions, usageRecords } from './billing.ts';
import { brands, brandVoices } from './brand.ts';
import { abTests, abTestVariants, campaignMetrics, campaigns } from './campaigns.ts';
import { emailSequences, socialPosts } from './channels.ts';
import { embeddingSpaces } from './embeddings.ts';
import {
  accounts,
  authenticators,
  credentials,
  invitations,
  organizations,
  permissions,
  rolePermissions,
  roles,
  scopeSecrets,
  sessions,
  users,
  verificationTokens,
} from './identity.ts';
import { connectors } from './integrations.ts';
import { datasets, documents, inferenceEndpoints, modelVersions } from './rag.ts';

/**
 * The longest value, in UTF-8 bytes, of every text column a btree index holds (unique keys and
 * primary keys included). A btree entry holds at most 2,704 bytes (a third of an 8 kB page, all its
 * columns together) and a character limit does not bound bytes: 1,990 CJK characters are 5,970
 * bytes, refused by the index in the middle of a load. The database enforces each limit with
 * `<table>_<column>_bytes_check` (`octet_length`, the add_byte_limits migration), every validator
 * refuses a longer value first, and test/index-bytes.test.ts finds the btree indexes in the catalog
 * and checks that these limits keep every entry within btree's.
 */
export const textByteLimits: ReadonlyMap<PgColumn, number> = new Map<PgColumn, number>([
  // Four bytes for each character the column allows: every value its character limit lets through fits.
  [abTests.name, 800],
  [agentRuns.idempotencyKey, 1020],
  [auditLogs.targetType, 400],
  [auditLogs.targetId, 800],
  [brandVoices.name, 400],
  [connectors.name, 800],
  [credentials.provider, 400],
  [credentials.label, 800],
  [emailSequences.name, 800],
  [embeddingSpaces.provider, 400],
  [embeddingSpaces.model, 800],
  [inferenceEndpoints.name, 800],
  [invoices.number, 256],
  [modelVersions.name, 800],
  [socialPosts.externalId, 800],
  [subscriptions.provider, 200],
  [subscriptions.providerSubscriptionId, 800],
  [usageRecords.idempotencyKey, 800],

  // ASCII by their format CHECK: the longest value the pattern matches.
  [abTestVariants.key, 40],
  [agentCapabilities.capability, 63],
  [agents.slug, 63],
  [brands.slug, 63],
  [campaignMetrics.metric, 63],
  [campaigns.slug, 63],
  [connectors.provider, 63],
  [datasets.slug, 63],
  [organizations.slug, 63],
  [roles.key, 63],
  [tools.key, 64],
  [usageRecords.meter, 63],
  // `resource:action` keys of the permission catalog (the pattern alone has no length).
  [permissions.key, 100],
  // `ticket` or `service`.
  [scopeSecrets.name, 16],
  [rolePermissions.permissionKey, 100],

  // No character limit of their own: values from Auth.js, OAuth providers and the key ring.
  [accounts.provider, 200],
  [accounts.providerAccountId, 1000],
  // WebAuthn credential ids are at most 1,023 bytes: 1,364 characters of base64url.
  [authenticators.credentialID, 2000],
  [credentials.keyId, 200],
  [sessions.sessionToken, 1000],
  [verificationTokens.identifier, 1000],
  [verificationTokens.token, 1000],

  // Fewer bytes than four a character, to fit their index.
  // Beside the tenant and dataset ids: 2,600 of the 2,652 bytes left (at most 2,000 characters).
  [documents.sourceUri, 2600],
  // RFC 5321 counts an address in octets (320 at most); the index holds lower(email).
  [users.email, 320],
  [invitations.email, 320],
]);

/** The table a column belongs to (both Drizzle lines keep it on the column; 1.0's type does not say so). */
const tableOfColumn = (column: PgColumn): Table => (column as unknown as { table: Table }).table;

/** The CHECK that holds `column` to its byte limit: `<table>_<column>_bytes_check`. */
export const textBytesCheckName = (column: PgColumn) =>
  `${getTableName(tableOfColumn(column))}_${column.name}_bytes_check`;
