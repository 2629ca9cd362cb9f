import { sql } from 'drizzle-orm';
import { type Database, rowsOf } from '../client.ts';
import { toDatabaseError } from '../errors.ts';
import { parseInput } from '../input.ts';
import { systemRoleKeys, systemRoles } from '../permissions.ts';
import {
  type Membership,
  memberships,
  type NewOrganization,
  type Organization,
  organizations,
  type Role,
  roles,
} from '../schema/index.ts';
import { runtimeOf } from '../scope-runtime.ts';
import { assertUuid, withTenant, withUser } from '../tenant.ts';
import { newScopeKey, sealScopeKey } from '../tenant-keys.ts';
import { insertOrganizationSchema } from '../validators/identity.ts';
import { rowFromDefinerJson } from './definer-rows.ts';

export interface CreateOrganizationInput
  extends Pick<NewOrganization, 'slug' | 'name' | 'plan' | 'dataRegion' | 'settings'> {
  /** Becomes the owner (active membership with the `owner` role). */
  ownerUserId: string;
  /**
   * Demo data only: derive the tenant's scope key from this public string, so seeding twice finds
   * the same organization. Anyone who knows it can open the tenant: never in production.
   */
  demoSeed?: string;
}

export interface CreatedOrganization {
  organization: Organization;
  roles: Record<(typeof systemRoleKeys)[number], Role>;
  ownerMembership: Membership;
}

/**
 * Creates an organization with its system roles (owner, admin, editor, viewer) and their
 * permissions, and the owner's active membership, in one transaction: all of it or nothing.
 * Its id is the hash of a fresh scope key, stored sealed by the key ring (`createDb({ keys })`).
 */
export async function createOrganization(
  db: Database,
  input: CreateOrganizationInput,
): Promise<CreatedOrganization> {
  assertUuid(input.ownerUserId, 'ownerUserId');
  const runtime = runtimeOf(db);
  const { key, organizationId: id } = newScopeKey(input.demoSeed);
  const scopeKey = sealScopeKey(runtime.keyRing(), id, key);
  runtime.rememberKey(id, key);
  const values = parseInput(
    insertOrganizationSchema,
    {
      id,
      scopeKey,
      slug: input.slug,
      name: input.name,
      // The insert schema wants the JSON column even though it has a default.
      settings: input.settings ?? {},
      ...(input.plan !== undefined && { plan: input.plan }),
      ...(input.dataRegion !== undefined && { dataRegion: input.dataRegion }),
    },
    'organizations',
  );
  // Every founding row in one definer call whose rows are returned: on Citus a scope cannot touch, as
  // neonhub_app, shards a definer function wrote in the same transaction.
  const systemRoleSpecs = systemRoleKeys.map((key) => ({
    key,
    name: systemRoles[key].name,
    description: systemRoles[key].description,
    permissions: systemRoles[key].permissions,
  }));
  return withTenant(db, id, async (tx) => {
    const [created] = rowsOf<{ organization: unknown; roles: unknown; membership: unknown }>(
      await tx.execute(sql`select organization, roles, membership from app_create_organization(
        ${id}::uuid, ${values.scopeKey}::bytea, ${values.slug}::text, ${values.name}::text,
        ${values.plan ?? organizations.plan.default}::organization_plan,
        ${values.dataRegion ?? organizations.dataRegion.default}::text, ${JSON.stringify(values.settings ?? {})}::jsonb,
        ${input.ownerUserId}::uuid, ${JSON.stringify(systemRoleSpecs)}::jsonb)`),
    );
    if (!created) throw new Error('app_create_organization returned no row');
    const createdRoles = (
      typeof created.roles === 'string' ? JSON.parse(created.roles) : created.roles
    ) as unknown[];
    const byKey = Object.fromEntries(
      createdRoles.map((json) => rowFromDefinerJson(roles, json)).map((role) => [role.key, role]),
    ) as CreatedOrganization['roles'];
    return {
      organization: rowFromDefinerJson(organizations, created.organization),
      roles: byKey,
      ownerMembership: rowFromDefinerJson(memberships, created.membership),
    };
  });
}

/** The organization a demo seed string names (see `CreateOrganizationInput.demoSeed`). */
export const demoOrganizationId = (demoSeed: string) => newScopeKey(demoSeed).organizationId;

/** Whether an organization with this id exists (ids are key hashes: guessing one is hopeless). */
export async function organizationExists(db: Database, id: string): Promise<boolean> {
  assertUuid(id, 'organizationId');
  const [row] = rowsOf<{ exists: boolean }>(
    await db.execute(sql`select app_organization_scope_key(${id}) is not null as exists`),
  );
  return row?.exists === true;
}

export interface UserOrganization {
  id: string;
  slug: string;
  name: string;
  roleKey: string;
}

/**
 * The organizations a signed-in person is an active member of, with their role: the sign-in
 * screen's list. A sanctioned cross-tenant read (`app_user_organizations`, SECURITY DEFINER).
 */
export function listUserOrganizations(db: Database, userId: string): Promise<UserOrganization[]> {
  return withUser(db, userId, async (tx) =>
    rowsOf<UserOrganization>(
      await tx.execute(
        sql`select id, slug, name, role_key as "roleKey" from app_user_organizations(${userId})`,
      ),
    ),
  );
}

/**
 * The sanctioned enumeration of tenants for admin jobs (credential key rotation, retention,
 * backfills): ids only, through `app_organization_ids` (SECURITY DEFINER); each job then works
 * inside `withTenant` of one organization at a time.
 */
export async function listOrganizationIdsForAdminJob(db: Database): Promise<string[]> {
  try {
    const rows = rowsOf<{ id: string }>(await db.execute(sql`select id from app_organization_ids() as id`));
    return rows.map((row) => row.id);
  } catch (error) {
    throw toDatabaseError(error);
  }
}
