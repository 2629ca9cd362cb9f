import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { TenantScopeError } from '../src/base/errors.ts';
import { InputError } from '../src/base/input.ts';
import { withTenant } from '../src/client/tenant.ts';
import { readCredentialSecret, rotateCredentialKeys, storeCredential } from '../src/identity/credentials.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { credentials, users } from '../src/schema/index.ts';
import { CredentialDecryptError, keyIdOf } from '../src/security/crypto.ts';
import { createKeyRing } from '../src/security/key-ring.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';

const database = useTestDatabase();
let acmeId: string;
let globexId: string;
const keyA = new Uint8Array(32).fill(7);
const keyB = new Uint8Array(32).fill(9);
const ringA = createKeyRing([{ id: 'k1', key: keyA }]);
const rotating = createKeyRing(
  [
    { id: 'k2', key: keyB },
    { id: 'k1', key: keyA },
  ],
  'k2',
);
const onlyB = createKeyRing([{ id: 'k2', key: keyB }]);
const moved: string[] = [];

beforeAll(async () => {
  const { db } = database.current;
  const [owner] = await db.insert(users).values({ email: 'ann@acme.example' }).returning();
  if (!owner) throw new Error('no owner');
  acmeId = (await createOrganization(db, { slug: 'acme', name: 'Acme', ownerUserId: owner.id })).organization
    .id;
  globexId = (await createOrganization(db, { slug: 'globex', name: 'Globex', ownerUserId: owner.id }))
    .organization.id;
});

describe('credentials', () => {
  it('encrypts at rest, decrypts in place, and refuses a ciphertext moved to another row or tenant', async () => {
    const { db, sql: raw } = database.current;
    const plaintext = 'xoxb-super-secret-token';
    const first = await withTenant(db, acmeId, (tx) =>
      storeCredential(tx, ringA, {
        provider: 'slack',
        kind: 'oauth2',
        label: 'workspace',
        secret: plaintext,
      }),
    );
    const second = await withTenant(db, acmeId, (tx) =>
      storeCredential(tx, ringA, { provider: 'slack', kind: 'oauth2', label: 'other', secret: 'another' }),
    );
    const theirs = await withTenant(db, globexId, (tx) =>
      storeCredential(tx, ringA, { provider: 'slack', kind: 'oauth2', label: 'workspace', secret: 'theirs' }),
    );
    const [row] = await raw.query<{ secret: Buffer }>(`select secret from credentials where id = $1`, [
      first.id,
    ]);
    expect(Buffer.from(row?.secret ?? []).toString('latin1')).not.toContain(plaintext);
    expect(await withTenant(db, acmeId, (tx) => readCredentialSecret(tx, ringA, first.id))).toBe(plaintext);
    // Another tenant's scope does not find the row at all.
    expect(await withTenant(db, globexId, (tx) => readCredentialSecret(tx, ringA, first.id))).toBeUndefined();

    await raw.query(
      `update credentials set secret = (select secret from credentials where id = $1) where id in ($2, $3)`,
      [first.id, second.id, theirs.id],
    );
    for (const [org, id] of [
      [acmeId, second.id],
      [globexId, theirs.id],
    ] as const) {
      moved.push(id);
      const error = await withTenant(db, org, (tx) => readCredentialSecret(tx, ringA, id)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CredentialDecryptError);
      expect(String((error as Error).message)).not.toContain(plaintext);
    }
  });

  it('validates input before encrypting, limits provider and label lengths in the database too, and needs a tenant scope', async () => {
    const { db, sql: raw } = database.current;
    const count = async () =>
      (await raw.query<{ n: number }>(`select count(*)::int as n from credentials`))[0]?.n ?? -1;
    const before = await count();
    const error = await failure(
      withTenant(db, acmeId, (tx) =>
        storeCredential(tx, ringA, {
          provider: 'p'.repeat(100_000),
          kind: 'api_key',
          label: 'long',
          secret: 's',
        }),
      ),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/table credentials, column provider/);
    const empty = await failure(
      withTenant(db, acmeId, (tx) =>
        storeCredential(tx, ringA, { provider: 'x', kind: 'api_key', label: 'x', secret: '' }),
      ),
    );
    expect(empty.message).toMatch(/column secret/);
    expect(await count()).toBe(before);
    const stored = await failure(
      raw.query(
        `insert into credentials (organization_id, provider, kind, label, key_id, secret) values ($1, repeat('p', 101), 'api_key', 'l', 'k1', '\\x00')`,
        [acmeId],
      ),
    );
    expect(stored.constraint).toBe('credentials_provider_length_check');
    await expect(
      storeCredential(db as never, ringA, { provider: 'x', kind: 'api_key', label: 'x', secret: 's' }),
    ).rejects.toBeInstanceOf(TenantScopeError);
  });

  it('rotation picks rows by the envelope’s own key id, so a row whose key_id column lies is still re-wrapped', async () => {
    const { db, sql: raw } = database.current;
    await withTenant(db, globexId, (tx) =>
      storeCredential(tx, ringA, { provider: 'hubspot', kind: 'api_key', label: 'crm', secret: 'pat-123' }),
    );
    const liar = await withTenant(db, acmeId, (tx) =>
      storeCredential(tx, ringA, { provider: 'openai', kind: 'api_key', label: 'liar', secret: 'sk-liar' }),
    );
    // The column claims the new key already; the envelope is still under k1.
    await raw.query(`update credentials set key_id = 'k2' where id = $1`, [liar.id]);

    const { rewrapped, corrected, failed } = await rotateCredentialKeys(db, rotating);
    const rows = await raw.query<{ id: string; key_id: string; secret: Buffer }>(
      `select id, key_id, secret from credentials`,
    );
    const underRetiredKey = rows.filter((row) => keyIdOf(row.secret) !== 'k2');
    console.log(
      `rotation: ${rewrapped} re-wrapped (1 with a lying key_id), ${corrected} columns corrected, ${failed.length} refused (moved ciphertexts), ${underRetiredKey.length} envelopes left under k1`,
    );
    expect(rewrapped).toBe(3);
    expect(failed.map((row) => row.credentialId).sort()).toEqual([...moved].sort());
    expect(failed.every((row) => row.reason === 'tampered_or_wrong_context')).toBe(true);
    expect(underRetiredKey.map((row) => row.id).sort()).toEqual([...moved].sort());
    expect(rows.filter((row) => !moved.includes(row.id)).every((row) => row.key_id === 'k2')).toBe(true);
    // With k1 retired, the liar still reads.
    expect(await withTenant(db, acmeId, (tx) => readCredentialSecret(tx, onlyB, liar.id))).toBe('sk-liar');
    const [crm] = await withTenant(db, globexId, (tx) =>
      tx.select().from(credentials).where(eq(credentials.label, 'crm')),
    );
    expect(await withTenant(db, globexId, (tx) => readCredentialSecret(tx, onlyB, crm?.id ?? ''))).toBe(
      'pat-123',
    );

    // A column that lies the other way (says k1, envelope under k2) is corrected without re-wrapping.
    await raw.query(`update credentials set key_id = 'k1' where id = $1`, [liar.id]);
    const again = await rotateCredentialKeys(db, rotating);
    expect({ rewrapped: again.rewrapped, corrected: again.corrected }).toEqual({
      rewrapped: 0,
      corrected: 1,
    });
  });
});
