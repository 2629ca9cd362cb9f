import { sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { TenantScopeError } from '../base/errors.ts';
import { stableId, uuidv7 } from '../base/ids.ts';
import { isUuid, parseInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { type Database, rowsOf } from '../client/client.ts';
import { runtimeOf } from '../client/scope-runtime.ts';
import { assertUuid, withUser } from '../client/tenant.ts';
import {
  type Membership,
  memberships,
  type NewOrganization,
  type Organization,
  organizations,
  type Role,
  roles,
} from '../schema/index.ts';
import { systemRoleKeys, systemRoles } from '../security/permissions.ts';
import { insertOrganizationSchema } from '../validators/identity.ts';
import { rowFromDefinerJson } from './definer-rows.ts';

export interface CreateOrganizationInput
  extends Pick<NewOrganization, 'slug' | 'name' | 'plan' | 'dataRegion' | 'settings'> {
  /** Becomes the owner (active membership with the `owner` role); the organization is founded in their scope. */
  ownerUserId: string;
  /** A fixed id (demo seeds, so seeding twice finds the same organization); default a new UUIDv7. */
  id?: string;
}

export interface CreatedOrganization {
  organization: Organization;
  roles: Record<(typeof systemRoleKeys)[number], Role>;
  ownerMembership: Membership;
}

/**
 * Creates an organization with its system roles (owner, admin, editor, viewer) and their
 * permissions, its first tenant key version and the owner's active membership, in one transaction
 * opened in the owner's scope: all of it or nothing. The key is derived from the key ring
 * (`createDb({ keys })`); the database keeps only what checks its proofs.
 */
export async function createOrganization(
  db: Database,
  input: CreateOrganizationInput,
): Promise<CreatedOrganization> {
  assertUuid(input.ownerUserId, 'ownerUserId');
  const id = input.id ?? uuidv7();
  assertUuid(id, 'id');
  const runtime = runtimeOf(db);
  const values = parseInput(
    insertOrganizationSchema,
    {
      id,
      slug: input.slug,
      name: input.name,
      // The insert schema wants the JSON column even though it has a default.
      settings: input.settings ?? {},
      ...(input.plan !== undefined && { plan: input.plan }),
      ...(input.dataRegion !== undefined && { dataRegion: input.dataRegion }),
    },
    'organizations',
  );
  const systemRoleSpecs = systemRoleKeys.map((key) => ({
    key,
    name: systemRoles[key].name,
    description: systemRoles[key].description,
    permissions: systemRoles[key].permissions,
  }));
  const key = await runtime.keys.firstTenantKey(id);
  // Every founding row in one definer call whose rows are returned: on Citus a scope cannot touch, as
  // neonhub_app, shards a definer function wrote in the same transaction.
  const created = await withUser(db, input.ownerUserId, async (tx) => {
    const [row] = rowsOf<{ organization: unknown; roles: unknown; membership: unknown }>(
      await tx.execute(sql`select organization, roles, membership from app_create_organization(
        ${id}::uuid, ${values.slug}::text, ${values.name}::text,
        ${values.plan ?? organizations.plan.default}::organization_plan,
        ${values.dataRegion ?? organizations.dataRegion.default}::text, ${jsonParam(values.settings ?? {})},
        ${jsonParam(systemRoleSpecs)}, ${key.keyId}::text, ${key.verifier}::bytea,
        ${key.issued}::bigint, ${key.proof}::bytea)`),
    );
    if (!row) throw new Error('app_create_organization returned no row');
    return row;
  });
  runtime.keys.rememberTenantKey(id, 1, key.keyId);
  const createdRoles = (
    typeof created.roles === 'string' ? JSON.parse(created.roles) : created.roles
  ) as unknown[];
  const byKey = Object.fromEntries(
    createdRoles.map((json) => rowFromDefinerJson(db, roles, json)).map((role) => [role.key, role]),
  ) as CreatedOrganization['roles'];
  return {
    organization: rowFromDefinerJson(db, organizations, created.organization),
    roles: byKey,
    ownerMembership: rowFromDefinerJson(db, memberships, created.membership),
  };
}

/** The id the demo seed gives the organization it makes from `seed` (the same on every run). */
export const demoOrganizationId = (seed: string) => stableId('demo-organization', seed);

/**
 * An organization's id, from its id or its live slug, for operators' commands: the slug is read as
 * the login sees organizations (the owner, or a superuser, sees them all).
 */
export async function organizationIdOf(db: Database, idOrSlug: string): Promise<string> {
  if (isUuid(idOrSlug)) return idOrSlug;
  const [row] = rowsOf<{ id: string }>(
    await db.execute(sql`select id from organizations where slug = ${idOrSlug} and deleted_at is null`),
  );
  if (!row) throw new Error(`no live organization with slug "${idOrSlug}" visible to this login`);
  return row.id;
}

/** Whether an organization with this id exists (any scope may ask; ids are not secrets, keys are). */
export async function organizationExists(db: Database, id: string): Promise<boolean> {
  assertUuid(id, 'organizationId');
  const rows = rowsOf<{ version: number | null }>(
    await db.execute(sql`select version from app_tenant_key_version(${id})`),
  );
  return rows.length > 0;
}

export interface RotateTenantKeyOptions {
  /**
   * Seconds the current key version keeps opening the tenant, so every process of the service reads
   * the new one first (they read it again every 5 minutes). Default 600; 0 retires it at once (after
   * a suspected leak: processes still holding it get one refused scope, then read the new version).
   */
  graceSeconds?: number;
}

/**
 * Gives an organization a new tenant key version derived from the ring's active key; its id, rows
 * and shard placement stay. Scopes opened with the older version keep working until the grace
 * period ends. Signed by the service key, so no statement without the key ring can change a key.
 */
export async function rotateTenantKey(
  db: Database,
  organizationId: string,
  options: RotateTenantKeyOptions = {},
): Promise<{ version: number }> {
  assertUuid(organizationId, 'organizationId');
  const graceSeconds = options.graceSeconds ?? 600;
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0) {
    throw new TypeError('graceSeconds must be a whole number of seconds, 0 or more');
  }
  const [row] = rowsOf<{ version: number | null }>(
    await db.execute(sql`select version from app_tenant_key_version(${organizationId})`),
  );
  if (!row) throw new TenantScopeError(`no organization ${organizationId}`);
  const version = (row.version ?? 0) + 1;
  try {
    await runtimeOf(db).keys.addTenantKey(organizationId, version, graceSeconds);
  } catch (error) {
    throw toDatabaseError(error);
  }
  return { version };
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
      await tx.execute(sql`select id, slug, name, role_key as "roleKey" from app_user_organizations()`),
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
