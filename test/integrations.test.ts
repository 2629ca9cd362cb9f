import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { deleteCredential } from '../src/domains/deletions.ts';
import { readCredentialSecret, storeCredential } from '../src/identity/credentials.ts';
import { connectors, credentials } from '../src/schema/index.ts';
import { loadKeyRing } from '../src/security/key-ring.ts';
import { stableId } from '../src/seed/context.ts';
import { insertConnectorSchema, selectConnectorSchema } from '../src/validators/index.ts';
import { useTestDatabase } from './support/database.ts';
import { whereEquals } from './support/drizzle-line.ts';
import { failure } from './support/errors.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

const database = useTestDatabase();
const ring = loadKeyRing({});
let orgId = '';
let otherOrgId = '';
const inOrg = <T>(fn: (tx: Transaction) => Promise<T>) => withTenant(database.current.db, orgId, fn);

beforeAll(async () => {
  const { acme, globex } = await seedAcmeAndGlobex(database.current.db, { ring });
  orgId = acme.organizationId;
  otherOrgId = globex.organizationId;
});

describe('connectors', () => {
  it('seeds a connected connector whose credential is encrypted at rest and decrypts in its tenant', async () => {
    const connector = await inOrg((tx) =>
      tx.query.connectors.findFirst({
        where: whereEquals(connectors, 'id', stableId('acme', 'connector', 'hubspot')),
        with: { credential: true },
      }),
    );
    expect(connector?.status).toBe('connected');
    expect(selectConnectorSchema.safeParse(connector).success).toBe(true);
    const stored = connector?.credential?.secret;
    expect(stored?.toString('utf8')).not.toContain('seed-hubspot-token');
    const secret = await inOrg((tx) => readCredentialSecret(tx, ring, connector?.credentialId ?? ''));
    expect(secret).toBe('seed-hubspot-token-acme');
  });

  it("refuses another tenant's credential", async () => {
    const foreign = await withTenant(database.current.db, otherOrgId, (tx) =>
      tx.select({ id: credentials.id }).from(credentials),
    );
    const error = await failure(
      inOrg((tx) =>
        tx.insert(connectors).values({
          provider: 'hubspot',
          name: 'Stolen',
          status: 'connected',
          credentialId: foreign[0]?.id,
        }),
      ),
    );
    expect(error.kind).toBe('foreign_key_violation');
    expect(error.constraint).toBe('connectors_credential_id_fkey');
  });

  it('disconnects, not deletes, a connector whose credential is removed', async () => {
    const id = await inOrg(async (tx) => {
      const credential = await storeCredential(tx, ring, {
        provider: 'google_ads',
        kind: 'oauth2',
        label: 'Ads',
        secret: 'token',
      });
      const [row] = await tx
        .insert(connectors)
        .values({ provider: 'google_ads', name: 'Ads', status: 'connected', credentialId: credential.id })
        .returning();
      expect(await deleteCredential(tx, credential.id)).toBe(true);
      return row?.id ?? '';
    });
    const [row] = await inOrg((tx) => tx.select().from(connectors).where(eq(connectors.id, id)));
    expect(row).toMatchObject({ credentialId: null, status: 'error', lastError: 'credential removed' });
    expect(row?.organizationId).toBe(orgId);
  });

  it('checks provider format, status sanity and unique names, in the database and the validator', async () => {
    const cases: [typeof connectors.$inferInsert, string][] = [
      [{ provider: 'Google Ads', name: 'x' }, 'connectors_provider_format_check'],
      [{ provider: 'linkedin', name: 'x', status: 'error' }, 'connectors_error_check'],
      [{ provider: 'linkedin', name: 'x', status: 'connected' }, 'connectors_connected_check'],
    ];
    for (const [values, constraint] of cases) {
      const error = await failure(inOrg((tx) => tx.insert(connectors).values(values)));
      expect(error.constraint).toBe(constraint);
      expect(insertConnectorSchema.safeParse(values).success, constraint).toBe(false);
    }
    const duplicate = await failure(
      inOrg((tx) => tx.insert(connectors).values({ provider: 'hubspot', name: 'HubSpot CRM' })),
    );
    expect(duplicate.constraint).toBe('connectors_organization_id_provider_name_key');
    expect(
      insertConnectorSchema.safeParse({ provider: 'hubspot', name: 'x', config: { syncIntervalMinutes: 1 } })
        .success,
    ).toBe(false);
  });
});
