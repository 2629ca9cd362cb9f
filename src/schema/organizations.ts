import { sql } from 'drizzle-orm';
import {
  check,
  foreignKey,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import {
  bytea,
  createdAt,
  definerAccess,
  liveRows,
  softDelete,
  tenantPolicy,
  timestamps,
} from './columns.ts';
import { organizationPlan, organizationPlans } from './enums.ts';

export type OrganizationSettings = {
  defaultLocale?: string;
  defaultTimezone?: string;
  features?: Record<string, boolean>;
};

/**
 * The tenant root: every tenant-owned table references it. In a tenant scope only the current
 * organization is visible; creating one goes through `createOrganization`, which registers its first
 * tenant key version (`tenant_scope_keys`).
 */
export const organizations = pgTable(
  'organizations',
  {
    id: uuid('id').primaryKey(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    plan: organizationPlan('plan').notNull().default(organizationPlans[0]),
    /** Where the tenant's data must live (compliance); an ISO-like region code such as `eu` or `us`. */
    dataRegion: text('data_region').notNull().default('us'),
    settings: jsonb('settings').$type<OrganizationSettings>().notNull().default({}),
    ...timestamps(),
    ...softDelete(),
  },
  (t) => [
    // Slugs are unique among live organizations so a deleted one frees its slug.
    uniqueIndex('organizations_slug_key').on(t.slug).where(liveRows),
    check('organizations_slug_format_check', sql`${t.slug} ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'`),
    check('organizations_data_region_format_check', sql`${t.dataRegion} ~ '^[a-z]{2}(-[a-z0-9]+)*$'`),
    tenantPolicy('organizations', sql`id = app_current_org_id()`),
    // Scope-key lookup, a person's organizations, tenant enumeration for admin jobs.
    definerAccess('organizations'),
    // createOrganization writes the founding rows through one definer function (app_create_organization).
    definerAccess('organizations', 'insert'),
  ],
).enableRLS();

export type Organization = typeof organizations.$inferSelect;
export type NewOrganization = typeof organizations.$inferInsert;

/**
 * What the database checks a tenant scope's opening proof with: per organization and key version,
 * the HMAC pads of the tenant key the application derives from its key ring (never the key, never
 * readable by `neonhub_app`). A rotation adds a version; the older one is accepted until `retires_at`.
 */
export const tenantScopeKeys = pgTable(
  'tenant_scope_keys',
  {
    organizationId: uuid('organization_id').notNull(),
    version: integer('version').notNull(),
    /** The key-ring key the tenant key is derived from. */
    keyId: text('key_id').notNull(),
    /** HMAC-SHA256 inner and outer pads of the tenant key (128 bytes). */
    verifier: bytea('verifier').notNull(),
    createdAt: createdAt(),
    /** After a rotation, when this older version stops opening the tenant. */
    retiresAt: timestamp('retires_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ name: 'tenant_scope_keys_pkey', columns: [t.organizationId, t.version] }),
    foreignKey({
      name: 'tenant_scope_keys_organization_id_fkey',
      columns: [t.organizationId],
      foreignColumns: [organizations.id],
    }).onDelete('cascade'),
    check('tenant_scope_keys_version_check', sql`${t.version} > 0`),
    check('tenant_scope_keys_key_id_length_check', sql`octet_length(${t.keyId}) between 1 and 32`),
    check('tenant_scope_keys_verifier_length_check', sql`octet_length(${t.verifier}) = 128`),
    // Only the scope's definer functions read and write it: a scope never sees its own tenant's pads.
    definerAccess('tenant_scope_keys'),
    definerAccess('tenant_scope_keys', 'insert'),
    definerAccess('tenant_scope_keys', 'update'),
  ],
).enableRLS();

export type TenantScopeKey = typeof tenantScopeKeys.$inferSelect;

/**
 * The database's own scope secrets, global: `ticket` (random, made by the migration, never leaves
 * the database) seals each scope's transaction-bound ticket; `service` holds the pads of the key the
 * application derives from its key ring (`key_id`) to prove person scopes and key changes.
 */
export const scopeSecrets = pgTable(
  'scope_secrets',
  {
    name: text('name').primaryKey(),
    /** The key-ring key the `service` secret is derived from; null for `ticket`. */
    keyId: text('key_id'),
    /** HMAC-SHA256 inner and outer pads (128 bytes). */
    verifier: bytea('verifier').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    check('scope_secrets_name_check', sql`${t.name} in ('ticket', 'service')`),
    check(
      'scope_secrets_key_id_check',
      sql`(${t.name} = 'ticket') = (${t.keyId} is null) and coalesce(octet_length(${t.keyId}), 1) between 1 and 32`,
    ),
    check('scope_secrets_verifier_length_check', sql`octet_length(${t.verifier}) = 128`),
    definerAccess('scope_secrets'),
  ],
).enableRLS();
