import { and, eq } from 'drizzle-orm';
import { currentTenant } from '../client/tenant.ts';
import { storeCredential } from '../identity/credentials.ts';
import { connectors } from '../schema/index.ts';
import type { DomainSeed } from './context.ts';

export const integrationsSeed: DomainSeed = {
  name: 'integrations',
  // A connected HubSpot account with its token encrypted by the key ring; written once.
  tenant: async (tx, ctx) => {
    const connectorId = ctx.id('connector', 'hubspot');
    const org = currentTenant(tx);
    const [existing] = await tx
      .select({ id: connectors.id })
      .from(connectors)
      .where(and(eq(connectors.organizationId, org), eq(connectors.id, connectorId)));
    if (existing) return { credentials: 0, connectors: 0 };
    const credential = await storeCredential(tx, ctx.ring, {
      provider: 'hubspot',
      kind: 'oauth2',
      label: 'HubSpot (seed)',
      secret: `seed-hubspot-token-${ctx.slug}`,
      metadata: { scopes: ['crm.objects.contacts.read'], accountLabel: `${ctx.slug} portal` },
      createdByUserId: ctx.ownerUserId,
    });
    await tx.insert(connectors).values({
      id: connectorId,
      organizationId: org,
      provider: 'hubspot',
      name: 'HubSpot CRM',
      status: 'connected',
      config: { accountId: `portal-${ctx.slug}`, syncIntervalMinutes: 60, settings: { syncContacts: true } },
      credentialId: credential.id,
      lastSyncedAt: new Date(Date.now() - 3_600_000),
    });
    return { credentials: 1, connectors: 1 };
  },
};
