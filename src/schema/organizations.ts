import { sql } from 'drizzle-orm';
import { check, jsonb, pgPolicy, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { liveRows, primaryId, softDelete, tenantPolicy, timestamps } from './columns.ts';
import { organizationPlan, organizationPlans } from './enums.ts';

export type OrganizationSettings = {
  defaultLocale?: string;
  defaultTimezone?: string;
  features?: Record<string, boolean>;
};

/**
 * The tenant root: every tenant-owned table references it. In a tenant scope only the current
 * organization is visible; creating one goes through `createOrganization`.
 */
export const organizations = pgTable(
  'organizations',
  {
    id: primaryId(),
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
    // Admin jobs (key rotation, retention) enumerate tenants, then work inside each one's scope.
    pgPolicy('organizations_enumeration', {
      as: 'permissive',
      for: 'select',
      to: 'public',
      using: sql`current_setting('app.enumerate_organizations', true) = 'on'`,
    }),
    // A user scope lists the organizations its person is an active member of.
    pgPolicy('organizations_member_visibility', {
      as: 'permissive',
      for: 'select',
      to: 'public',
      using: sql`exists (select 1 from memberships m where m.organization_id = organizations.id and m.user_id = app_current_user_id() and m.status = 'active')`,
    }),
  ],
).enableRLS();

export type Organization = typeof organizations.$inferSelect;
export type NewOrganization = typeof organizations.$inferInsert;
