import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { DatabaseError } from '../src/base/errors.ts';
import { withTenant } from '../src/client/tenant.ts';
import { acceptInvitation, inviteMember, memberPermissions } from '../src/identity/members.ts';
import { createOrganization, listUserOrganizations } from '../src/identity/organizations.ts';
import { memberships, organizations, roles, users } from '../src/schema/index.ts';
import { systemRoles } from '../src/security/permissions.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();
let ownerId: string;
let acmeId: string;
let globexId: string;

beforeAll(async () => {
  const { db } = database.current;
  const [owner] = await db.insert(users).values({ email: 'Owner@Acme.example', name: 'Ann' }).returning();
  if (!owner) throw new Error('no owner');
  ownerId = owner.id;
  acmeId = (await createOrganization(db, { slug: 'acme', name: 'Acme', ownerUserId: ownerId })).organization
    .id;
  globexId = (await createOrganization(db, { slug: 'globex', name: 'Globex', ownerUserId: ownerId }))
    .organization.id;
});

describe('users and organizations', () => {
  it('refuses a second user whose email differs only in case', async () => {
    const { db } = database.current;
    const error = await db
      .insert(users)
      .values({ email: 'owner@acme.EXAMPLE' })
      .catch((e: unknown) => e);
    expect((error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code).toBe(
      '23505',
    );
  });

  it('creates an organization with its system roles, their permissions and the owner, or nothing at all', async () => {
    const { db } = database.current;
    const permissions = await withTenant(db, acmeId, (tx) => memberPermissions(tx, ownerId));
    expect(permissions).toHaveLength(systemRoles.owner.permissions.length);
    // A taken slug fails the whole creation: no half-made organization is left behind.
    const error = await createOrganization(db, {
      slug: 'acme',
      name: 'Acme again',
      ownerUserId: ownerId,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).constraint).toBe('organizations_slug_key');
    expect((error as DatabaseError).message).toContain('organizations_slug_key');
    const [count] = await database.current.sql.query<{ n: number }>(
      `select count(*)::int as n from organizations`,
    );
    expect(count?.n).toBe(2);
  });

  it('returns the founding rows exactly as a select of them reads', async () => {
    const { db } = database.current;
    const [founder] = await db.insert(users).values({ email: 'founder@initech.example' }).returning();
    const created = await createOrganization(db, {
      slug: 'initech',
      name: 'Initech',
      ownerUserId: founder?.id ?? '',
      dataRegion: 'eu',
      settings: { defaultLocale: 'en-GB' },
    });
    const id = created.organization.id;
    const read = await withTenant(db, id, async (tx) => ({
      organization: (await tx.select().from(organizations).where(eq(organizations.id, id)))[0],
      roles: await tx.select().from(roles).where(eq(roles.organizationId, id)),
      membership: (await tx.select().from(memberships).where(eq(memberships.organizationId, id)))[0],
    }));
    expect(created.organization).toEqual(read.organization);
    expect(created.organization).toMatchObject({
      plan: 'free',
      dataRegion: 'eu',
      settings: { defaultLocale: 'en-GB' },
    });
    expect(Object.values(created.roles).sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      read.roles.sort((a, b) => a.key.localeCompare(b.key)),
    );
    expect(created.ownerMembership).toEqual(read.membership);
    expect(created.ownerMembership).toMatchObject({
      userId: founder?.id,
      roleId: created.roles.owner.id,
      status: 'active',
    });
  });

  it('frees the slug of a soft-deleted organization', async () => {
    const { db } = database.current;
    const [user] = await db.insert(users).values({ email: 'temp@example.com' }).returning();
    const temp = await createOrganization(db, { slug: 'temp', name: 'Temp', ownerUserId: user?.id ?? '' });
    await withTenant(db, temp.organization.id, (tx) =>
      tx
        .update(organizations)
        .set({ deletedAt: new Date() })
        .where(eq(organizations.id, temp.organization.id)),
    );
    const again = await createOrganization(db, { slug: 'temp', name: 'Temp 2', ownerUserId: user?.id ?? '' });
    expect(again.organization.slug).toBe('temp');
  });

  it('lists a person’s active organizations with their role, and nothing else', async () => {
    const { db } = database.current;
    const listed = await listUserOrganizations(db, ownerId);
    expect(listed.map((org) => [org.slug, org.roleKey])).toEqual([
      ['acme', 'owner'],
      ['globex', 'owner'],
    ]);
    await withTenant(db, globexId, (tx) =>
      tx.update(memberships).set({ status: 'suspended' }).where(eq(memberships.userId, ownerId)),
    );
    expect((await listUserOrganizations(db, ownerId)).map((org) => org.slug)).toEqual(['acme']);
    await withTenant(db, globexId, (tx) =>
      tx.update(memberships).set({ status: 'active' }).where(eq(memberships.userId, ownerId)),
    );
  });

  it('bumps updated_at on raw SQL updates too', async () => {
    const { sql: raw } = database.current;
    const [before] = await raw.query<{ updated_at: Date }>(`select updated_at from users where id = $1`, [
      ownerId,
    ]);
    await raw.query(`select pg_sleep(0.01)`);
    await raw.query(`update users set name = 'Ann B' where id = $1`, [ownerId]);
    const [after] = await raw.query<{ updated_at: Date }>(`select updated_at from users where id = $1`, [
      ownerId,
    ]);
    expect(new Date(after?.updated_at ?? 0).getTime()).toBeGreaterThan(
      new Date(before?.updated_at ?? 0).getTime(),
    );
  });
});

describe('invitations', () => {
  it('carry their organization in the token; a token naming another organization or not ours is refused like an unknown one', async () => {
    const { db } = database.current;
    const [guest] = await db.insert(users).values({ email: 'guest@elsewhere.example' }).returning();
    const invite = () =>
      withTenant(db, acmeId, async (tx) => {
        const [viewer] = await tx.select().from(roles).where(eq(roles.key, 'viewer'));
        return inviteMember(tx, { email: 'guest@elsewhere.example', roleId: viewer?.id ?? '' });
      });
    const { token } = await invite();
    expect(token.slice('nh_inv_'.length, 'nh_inv_'.length + 32)).toBe(acmeId.replaceAll('-', ''));
    const unknown = /the invitation is unknown, already accepted or expired/;
    const elsewhere = `nh_inv_${globexId.replaceAll('-', '')}${token.slice(-43)}`;
    for (const presented of [elsewhere, 'nh_inv_not-a-token', token.slice(0, -1), '']) {
      await expect(acceptInvitation(db, guest?.id ?? '', presented), presented).rejects.toThrow(unknown);
    }
    // Positive control: the token as issued joins the guest to its organization, once.
    expect(await acceptInvitation(db, guest?.id ?? '', token)).toBe(acmeId);
    await expect(acceptInvitation(db, guest?.id ?? '', token)).rejects.toThrow(unknown);
  });
});
