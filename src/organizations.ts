import { and, eq, sql } from 'drizzle-orm';
import { type Database, rowsOf, type Transaction } from './client.ts';
import { toDatabaseError } from './errors.ts';
import { systemRoleKeys, systemRoles } from './permissions.ts';
import {
  type Membership,
  memberships,
  type NewOrganization,
  type Organization,
  organizations,
  type Role,
  rolePermissions,
  roles,
} from './schema/index.ts';
import { assertUuid, withTenant, withUser } from './tenant.ts';

export interface CreateOrganizationInput
  extends Pick<NewOrganization, 'slug' | 'name' | 'plan' | 'dataRegion' | 'settings'> {
  /** Becomes the owner (active membership with the `owner` role). */
  ownerUserId: string;
  /** Fixed id, for seeds; normally the database picks a UUIDv7. */
  id?: string;
}

export interface CreatedOrganization {
  organization: Organization;
  roles: Record<(typeof systemRoleKeys)[number], Role>;
  ownerMembership: Membership;
}

/**
 * Creates an organization with its system roles (owner, admin, editor, viewer) and their
 * permissions, and the owner's active membership, in one transaction: all of it or nothing.
 */
export async function createOrganization(
  db: Database,
  input: CreateOrganizationInput,
): Promise<CreatedOrganization> {
  assertUuid(input.ownerUserId, 'ownerUserId');
  const id = input.id ?? (await newId(db));
  return withTenant(db, id, async (tx) => {
    const [organization] = await tx
      .insert(organizations)
      .values({
        id,
        slug: input.slug,
        name: input.name,
        plan: input.plan,
        dataRegion: input.dataRegion,
        settings: input.settings,
      })
      .returning();
    const created = await tx
      .insert(roles)
      .values(
        systemRoleKeys.map((key) => ({
          organizationId: id,
          key,
          name: systemRoles[key].name,
          description: systemRoles[key].description,
          isSystem: true,
        })),
      )
      .returning();
    const byKey = Object.fromEntries(created.map((role) => [role.key, role])) as CreatedOrganization['roles'];
    await tx.insert(rolePermissions).values(
      systemRoleKeys.flatMap((key) =>
        systemRoles[key].permissions.map((permissionKey) => ({
          organizationId: id,
          roleId: byKey[key].id,
          permissionKey,
        })),
      ),
    );
    const [ownerMembership] = await tx
      .insert(memberships)
      .values({
        organizationId: id,
        userId: input.ownerUserId,
        roleId: byKey.owner.id,
        status: 'active',
        joinedAt: new Date(),
      })
      .returning();
    if (!organization || !ownerMembership) throw new Error('organization insert returned no row');
    return { organization, roles: byKey, ownerMembership };
  });
}

export async function newId(db: Database | Transaction): Promise<string> {
  const [row] = rowsOf<{ id: string }>(await db.execute(sql`select uuidv7()::text as id`));
  if (!row) throw new Error('uuidv7() returned nothing');
  return row.id;
}

export interface UserOrganization {
  id: string;
  slug: string;
  name: string;
  roleKey: string;
}

/** The organizations a signed-in person is an active member of, with their role: the sign-in screen's list. */
export function listUserOrganizations(db: Database, userId: string): Promise<UserOrganization[]> {
  return withUser(db, userId, (tx) =>
    tx
      .select({
        id: organizations.id,
        slug: organizations.slug,
        name: organizations.name,
        roleKey: roles.key,
      })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .innerJoin(
        roles,
        and(eq(roles.organizationId, memberships.organizationId), eq(roles.id, memberships.roleId)),
      )
      .where(
        and(
          eq(memberships.userId, userId),
          eq(memberships.status, 'active'),
          sql`${organizations.deletedAt} is null`,
        ),
      )
      .orderBy(organizations.name),
  );
}

/** Permission keys a member holds in the current tenant (empty for a non-member or a suspended one). */
export async function memberPermissions(tx: Transaction, userId: string): Promise<string[]> {
  assertUuid(userId, 'userId');
  const rows = await tx
    .select({ key: rolePermissions.permissionKey })
    .from(memberships)
    .innerJoin(
      rolePermissions,
      and(
        eq(rolePermissions.organizationId, memberships.organizationId),
        eq(rolePermissions.roleId, memberships.roleId),
      ),
    )
    .where(and(eq(memberships.userId, userId), eq(memberships.status, 'active')))
    .orderBy(rolePermissions.permissionKey);
  return rows.map((row) => row.key);
}

/**
 * The sanctioned enumeration of tenants for admin jobs (credential key rotation, retention,
 * backfills): ids only; each job then works inside `withTenant` of one organization at a time.
 */
export async function listOrganizationIdsForAdminJob(db: Database): Promise<string[]> {
  try {
    return await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.enumerate_organizations', 'on', true)`);
      const rows = await tx.select({ id: organizations.id }).from(organizations).orderBy(organizations.id);
      return rows.map((row) => row.id);
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}
