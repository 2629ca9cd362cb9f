import { and, eq } from 'drizzle-orm';
import { recordAudit } from '../audit/audit.ts';
import type { Database } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import { storeCredential } from '../identity/credentials.ts';
import { acceptInvitation, inviteMember } from '../identity/members.ts';
import { createOrganization, demoOrganizationId, organizationExists } from '../identity/organizations.ts';
import { asAuthRole } from '../identity/users.ts';
import { apiKeys, auditLogs, credentials, memberships, roles, users } from '../schema/index.ts';
import { generateApiKey } from '../security/api-key-format.ts';
import { type DomainSeed, insertNew, type SeedContext, type SeedCounts, stableId } from './context.ts';

export interface TenantSeedInput {
  slug: string;
  name: string;
  ownerEmail: string;
  ownerName: string;
}

/**
 * The organization, its owner and an editor and a viewer: created once, found on later runs.
 * Returns the context every domain seed writes into.
 */
export async function seedOrganization(
  db: Database,
  input: TenantSeedInput,
  ring: SeedContext['ring'],
): Promise<{ ctx: SeedContext; counts: Record<string, number> }> {
  const organizationId = demoOrganizationId(input.slug);
  const id = (...parts: string[]) => stableId(input.slug, ...parts);
  const people = [
    { key: 'owner', email: input.ownerEmail, name: input.ownerName },
    { key: 'editor', email: `editor@${input.slug}.example`, name: `${input.name} Editor` },
    { key: 'viewer', email: `viewer@${input.slug}.example`, name: `${input.name} Viewer` },
  ];
  const counts: Record<string, number> = {};
  // Written as Auth.js writes people, so the migrating login needs no superuser.
  counts.users = await asAuthRole(db, (tx) =>
    insertNew(
      tx,
      users,
      people.map((person) => ({
        id: stableId('user', person.email),
        email: person.email,
        name: person.name,
        emailVerified: new Date('2026-01-01T00:00:00Z'),
      })),
    ),
  );
  const ownerUserId = stableId('user', input.ownerEmail);
  if (!(await organizationExists(db, organizationId))) {
    await createOrganization(db, {
      id: organizationId,
      slug: input.slug,
      name: input.name,
      ownerUserId,
      plan: 'pro',
    });
    counts.organizations = 1;
  }
  const memberUserIds: Record<string, string> = {};
  const membershipIds: Record<string, string> = {};
  counts.memberships = 0;
  // Everyone but the founding owner joins the way people do: invited by address, then accepting.
  for (const person of people) {
    const userId = stableId('user', person.email);
    const find = () =>
      withTenant(db, organizationId, (tx) =>
        tx
          .select({ id: memberships.id })
          .from(memberships)
          .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId))),
      );
    let [membership] = await find();
    if (!membership) {
      const { token } = await withTenant(db, organizationId, async (tx) => {
        const [role] = await tx
          .select({ id: roles.id })
          .from(roles)
          .where(and(eq(roles.organizationId, organizationId), eq(roles.key, person.key)));
        if (!role) throw new Error(`organization ${input.slug} has no ${person.key} role`);
        return inviteMember(tx, { email: person.email, roleId: role.id, invitedByUserId: ownerUserId });
      });
      await acceptInvitation(db, userId, token);
      counts.memberships++;
      [membership] = await find();
    }
    if (!membership) throw new Error(`${person.email} did not join ${input.slug}`);
    memberUserIds[person.key] = userId;
    membershipIds[person.key] = membership.id;
  }
  return {
    ctx: { organizationId, slug: input.slug, ownerUserId, memberUserIds, membershipIds, id, ring },
    counts,
  };
}

export const identitySeed: DomainSeed = {
  name: 'identity',
  tenant: async (tx, ctx) => {
    const counts: SeedCounts = {};
    // A key whose secret nobody keeps: it shows how keys look in a listing, and cannot be used.
    const { hash, prefix } = generateApiKey(ctx.organizationId, 'test');
    counts.api_keys = await insertNew(tx, apiKeys, [
      {
        id: ctx.id('api_key', 'demo'),
        organizationId: ctx.organizationId,
        name: 'Demo integration',
        prefix,
        keyHash: hash,
        scopes: ['brands:read', 'campaigns:read'],
        createdByUserId: ctx.ownerUserId,
      },
    ]);
    const [credential] = await tx
      .select({ id: credentials.id })
      .from(credentials)
      .where(
        and(eq(credentials.organizationId, ctx.organizationId), eq(credentials.label, 'Demo model provider')),
      );
    if (!credential) {
      await storeCredential(tx, ctx.ring, {
        provider: 'openai',
        kind: 'api_key',
        label: 'Demo model provider',
        secret: `sk-demo-${ctx.slug}-not-a-real-key`,
        metadata: { accountLabel: 'demo' },
        createdByUserId: ctx.ownerUserId,
      });
    }
    counts.credentials = credential ? 0 : 1;
    // The trail is append-only, so the seed writes its first entry only into an empty one.
    const [existing] = await tx
      .select({ id: auditLogs.id })
      .from(auditLogs)
      .where(eq(auditLogs.organizationId, ctx.organizationId))
      .limit(1);
    if (!existing) {
      await recordAudit(tx, ctx.ring, {
        actorType: 'system',
        actorLabel: 'seed',
        action: 'organization.seeded',
        targetType: 'organization',
        targetId: ctx.organizationId,
        changes: { after: { slug: ctx.slug } },
      });
    }
    counts.audit_logs = existing ? 0 : 1;
    return counts;
  },
};
