import { eq } from 'drizzle-orm';
import { generateApiKey } from '../api-key-format.ts';
import { recordAudit } from '../audit.ts';
import type { Database } from '../client.ts';
import { storeCredential } from '../credentials.ts';
import { createOrganization } from '../organizations.ts';
import {
  apiKeys,
  auditLogs,
  credentials,
  memberships,
  organizations,
  roles,
  users,
} from '../schema/index.ts';
import { withTenant } from '../tenant.ts';
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
  const organizationId = stableId('organization', input.slug);
  const id = (...parts: string[]) => stableId(input.slug, ...parts);
  const people = [
    { key: 'owner', email: input.ownerEmail, name: input.ownerName },
    { key: 'editor', email: `editor@${input.slug}.example`, name: `${input.name} Editor` },
    { key: 'viewer', email: `viewer@${input.slug}.example`, name: `${input.name} Viewer` },
  ];
  const counts: Record<string, number> = {};
  counts.users = await insertNew(
    db,
    users,
    people.map((person) => ({
      id: stableId('user', person.email),
      email: person.email,
      name: person.name,
      emailVerified: new Date('2026-01-01T00:00:00Z'),
    })),
  );
  const ownerUserId = stableId('user', input.ownerEmail);
  const exists = await withTenant(db, organizationId, (tx) =>
    tx.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, organizationId)),
  );
  if (exists.length === 0) {
    await createOrganization(db, {
      id: organizationId,
      slug: input.slug,
      name: input.name,
      ownerUserId,
      plan: 'pro',
    });
    counts.organizations = 1;
  }
  const memberUserIds: Record<string, string> = { owner: ownerUserId };
  counts.memberships = await withTenant(db, organizationId, async (tx) => {
    const roleRows = await tx.select({ id: roles.id, key: roles.key }).from(roles);
    const roleId = (key: string) => roleRows.find((role) => role.key === key)?.id;
    const others = people.slice(1).flatMap((person) => {
      const role = roleId(person.key);
      const userId = stableId('user', person.email);
      memberUserIds[person.key] = userId;
      return role
        ? [
            {
              id: id('membership', person.key),
              userId,
              roleId: role,
              status: 'active' as const,
              joinedAt: new Date(),
            },
          ]
        : [];
    });
    return insertNew(tx, memberships, others);
  });
  return { ctx: { organizationId, slug: input.slug, ownerUserId, memberUserIds, id, ring }, counts };
}

export const identitySeed: DomainSeed = {
  name: 'identity',
  tenant: async (tx, ctx) => {
    const counts: SeedCounts = {};
    // A key whose secret nobody keeps: it shows how keys look in a listing, and cannot be used.
    const { hash, prefix } = generateApiKey('test');
    counts.api_keys = await insertNew(tx, apiKeys, [
      {
        id: ctx.id('api_key', 'demo'),
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
      .where(eq(credentials.label, 'Demo model provider'));
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
    const [existing] = await tx.select({ id: auditLogs.id }).from(auditLogs).limit(1);
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
