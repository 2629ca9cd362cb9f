import { sql } from 'drizzle-orm';
import { check, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { bytea, definerAccess, liveRows, softDelete, tenantPolicy, timestamps } from './columns.ts';
import { organizationPlan, organizationPlans } from './enums.ts';

export type OrganizationSettings = {
  defaultLocale?: string;
  defaultTimezone?: string;
  features?: Record<string, boolean>;
};

/**
 * The tenant root: every tenant-owned table references it. In a tenant scope only the current
 * organization is visible; creating one goes through `createOrganization`, which picks the scope
 * key the id is the hash of (src/tenant-keys.ts).
 */
export const organizations = pgTable(
  'organizations',
  {
    /** SHA-256 of the scope key, cut to a UUID: only the key opens the tenant. */
    id: uuid('id').primaryKey(),
    /** The scope key, sealed by the key ring (AES-256-GCM bound to this row and column). */
    scopeKey: bytea('scope_key').notNull(),
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
