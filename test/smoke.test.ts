import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createOrganization, listUserOrganizations } from '../src/organizations.ts';
import { organizations, roles, users } from '../src/schema/index.ts';
import { withTenant } from '../src/tenant.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

describe('smoke', () => {
  it('creates an organization with roles visible only in its scope', async () => {
    const { db } = database.current;
    const [user] = await db.insert(users).values({ email: 'a@example.com' }).returning();
    if (!user) throw new Error('no user');
    const created = await createOrganization(db, { slug: 'acme', name: 'Acme', ownerUserId: user.id });
    const other = await createOrganization(db, { slug: 'globex', name: 'Globex', ownerUserId: user.id });
    const seen = await withTenant(db, created.organization.id, (tx) => tx.select().from(roles));
    expect(seen.map((r) => r.key).sort()).toEqual(['admin', 'editor', 'owner', 'viewer']);
    const orgs = await withTenant(db, created.organization.id, (tx) => tx.select().from(organizations));
    expect(orgs.map((o) => o.slug)).toEqual(['acme']);
    const none = await withTenant(db, created.organization.id, (tx) =>
      tx.select().from(roles).where(eq(roles.organizationId, other.organization.id)),
    );
    expect(none).toEqual([]);
    expect((await listUserOrganizations(db, user.id)).map((o) => o.slug)).toEqual(['acme', 'globex']);
  });
});
