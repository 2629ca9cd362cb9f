import { sql } from 'drizzle-orm';
import { check, index, jsonb, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { timestamps } from './columns.ts';
import { connectorStatus } from './enums.ts';
import { tenantTable } from './tenancy.ts';

/** Non-secret connector settings; secrets live in `credentials`, encrypted. */
export type ConnectorConfig = {
  /** The account, page or property on the provider's side. */
  accountId?: string;
  scopes?: string[];
  syncIntervalMinutes?: number;
  settings?: Record<string, string | number | boolean>;
};

/** Provider keys (`hubspot`, `google_ads`, `linkedin`...), also the validators' pattern. */
export const providerPattern = '^[a-z][a-z0-9_]{1,62}$';

export const connectors = tenantTable(
  'connectors',
  {
    provider: text('provider').notNull(),
    name: text('name').notNull(),
    status: connectorStatus('status').notNull().default('pending'),
    config: jsonb('config').$type<ConnectorConfig>().notNull().default({}),
    /**
     * The credential it authenticates with (`credentials`). The composite foreign key
     * `(organization_id, credential_id)` (NO ACTION) is written in the shard_safe_guards migration;
     * `deleteCredential` clears it first, so removing a credential disconnects the connector.
     */
    credentialId: uuid('credential_id'),
    lastSyncedAt: timestamp('last_synced_at', { withTimezone: true }),
    /** The last sync failure as the provider reported it; cleared by a successful sync. */
    lastError: text('last_error'),
    lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    index('connectors_credential_id_idx').on(t.credentialId, t.organizationId),
    unique('connectors_organization_id_provider_name_key').on(t.organizationId, t.provider, t.name),
    // The sync scheduler walks connected connectors, least recently synced first.
    index('connectors_last_synced_at_idx')
      .on(t.organizationId, t.lastSyncedAt)
      .where(sql`status = 'connected'`),
    check('connectors_provider_format_check', sql`${t.provider} ~ '^[a-z][a-z0-9_]{1,62}$'`),
    check('connectors_name_check', sql`length(btrim(${t.name})) between 1 and 200`),
    check('connectors_error_check', sql`${t.status} <> 'error' or ${t.lastError} is not null`),
    check('connectors_connected_check', sql`${t.status} <> 'connected' or ${t.credentialId} is not null`),
  ],
);

export type Connector = typeof connectors.$inferSelect;
export type NewConnector = typeof connectors.$inferInsert;
