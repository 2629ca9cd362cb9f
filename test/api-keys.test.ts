import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/base/input.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createApiKey, revokeApiKey, scopesAllow, verifyApiKey } from '../src/identity/api-keys.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { apiKeys, users } from '../src/schema/index.ts';
import { crc32, hashApiKey, parseApiKey } from '../src/security/api-key-format.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';

const database = useTestDatabase();
let ownerId: string;
let editorId: string;
let viewerId: string;
let outsiderId: string;
let acmeId: string;
let globexId: string;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const toBase62 = (value: bigint, length: number) => {
  let out = '';
  for (let n = value; n > 0n; n /= 62n) out = BASE62[Number(n % 62n)] + out;
  return out.padStart(length, '0');
};

/** The same secret with another organization in it, checksummed: a well-formed key. */
function rerouted(key: string, organizationId: string): string {
  const unchecked = key.slice(0, 51) + toBase62(BigInt(`0x${organizationId.replaceAll('-', '')}`), 22);
  return unchecked + toBase62(BigInt(crc32(unchecked)), 6);
}

/** Adds an active member with one of the organization's system roles. */
async function addMember(org: string, email: string, role: string): Promise<string> {
  const { db, sql: raw } = database.current;
  const [user] = await db.insert(users).values({ email }).returning();
  if (!user) throw new Error('no user');
  await raw.query(
    `insert into memberships (organization_id, user_id, role_id, status)
     select $1, $2, id, 'active' from roles where organization_id = $1 and key = $3`,
    [org, user.id, role],
  );
  return user.id;
}

beforeAll(async () => {
  const { db } = database.current;
  const [owner] = await db.insert(users).values({ email: 'ann@acme.example', name: 'Ann' }).returning();
  if (!owner) throw new Error('no owner');
  ownerId = owner.id;
  acmeId = (await createOrganization(db, { slug: 'acme', name: 'Acme', ownerUserId: ownerId })).organization
    .id;
  globexId = (await createOrganization(db, { slug: 'globex', name: 'Globex', ownerUserId: ownerId }))
    .organization.id;
  editorId = await addMember(acmeId, 'ed@acme.example', 'editor');
  viewerId = await addMember(acmeId, 'vi@acme.example', 'viewer');
  outsiderId = await addMember(globexId, 'gus@globex.example', 'admin');
});

describe('API keys', () => {
  it('is shown once, stored as a hash, verified to its tenant and scopes, and refused with distinct reasons', async () => {
    const { db, sql: raw } = database.current;
    const { key, apiKey } = await withTenant(db, acmeId, (tx) =>
      createApiKey(tx, { name: 'CI', scopes: ['campaigns:read'], createdByUserId: ownerId }),
    );
    expect(apiKey).not.toHaveProperty('keyHash');
    const stored = await raw.query<{ key_hash: Buffer; prefix: string }>(
      `select key_hash, prefix from api_keys where id = $1`,
      [apiKey.id],
    );
    expect(Buffer.from(stored[0]?.key_hash ?? []).equals(hashApiKey(key))).toBe(true);
    expect(key.startsWith(stored[0]?.prefix ?? '-')).toBe(true);
    expect(JSON.stringify(stored)).not.toContain(key);

    const verified = await verifyApiKey(db, key);
    expect(verified).toEqual({
      ok: true,
      organizationId: acmeId,
      apiKeyId: apiKey.id,
      scopes: ['campaigns:read'],
    });
    if (verified.ok) expect(scopesAllow(verified.scopes, 'campaigns:read')).toBe(true);
    const [used] = await raw.query<{ last_used_at: Date | null }>(
      `select last_used_at from api_keys where id = $1`,
      [apiKey.id],
    );
    expect(used?.last_used_at).not.toBeNull();

    const tampered = `${key.slice(0, 20)}${key[20] === 'A' ? 'B' : 'A'}${key.slice(21)}`;
    expect(await verifyApiKey(db, tampered)).toEqual({ ok: false, reason: 'bad_checksum' });
    expect(await verifyApiKey(db, 'sk-not-ours')).toEqual({ ok: false, reason: 'malformed' });
    const unknown = await withTenant(db, globexId, (tx) =>
      createApiKey(tx, { name: 'deleted', createdByUserId: ownerId }),
    );
    await withTenant(db, globexId, (tx) => tx.delete(apiKeys).where(eq(apiKeys.id, unknown.apiKey.id)));
    expect(await verifyApiKey(db, unknown.key)).toEqual({ ok: false, reason: 'unknown' });

    const expiring = await withTenant(db, acmeId, (tx) =>
      createApiKey(tx, { name: 'old', expiresAt: new Date(Date.now() - 1000), createdByUserId: ownerId }),
    );
    expect(await verifyApiKey(db, expiring.key)).toEqual({ ok: false, reason: 'expired' });
    expect(await withTenant(db, acmeId, (tx) => revokeApiKey(tx, apiKey.id))).toBe(true);
    expect(await verifyApiKey(db, key)).toEqual({ ok: false, reason: 'revoked' });
    // Another tenant cannot revoke it: its scope does not see the row.
    const other = await withTenant(db, acmeId, (tx) =>
      createApiKey(tx, { name: 'acme only', createdByUserId: ownerId }),
    );
    expect(await withTenant(db, globexId, (tx) => revokeApiKey(tx, other.apiKey.id))).toBe(false);
    expect((await verifyApiKey(db, other.key)).ok).toBe(true);
    // The key carries its organization: the same secret naming another one finds nothing there.
    const moved = rerouted(other.key, globexId);
    expect(parseApiKey(moved)).toMatchObject({ ok: true, organizationId: globexId });
    expect(parseApiKey(other.key)).toMatchObject({ ok: true, organizationId: acmeId });
    expect(await verifyApiKey(db, moved)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('lets a tenant scope read only its own keys, never another tenant’s list', async () => {
    const { db } = database.current;
    await withTenant(db, globexId, (tx) => createApiKey(tx, { name: 'globex', createdByUserId: ownerId }));
    const listed = await withTenant(db, globexId, (tx) =>
      tx.select({ org: apiKeys.organizationId }).from(apiKeys),
    );
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((row) => row.org === globexId)).toBe(true);
  });

  it('grants only catalog permissions the creating member holds, never wildcards, and writes nothing otherwise', async () => {
    const { db, sql: raw } = database.current;
    const count = async () =>
      (await raw.query<{ n: number }>(`select count(*)::int as n from api_keys`))[0]?.n ?? -1;
    const before = await count();
    const refusals: [string, string[], string][] = [
      ['everything', ['*'], ownerId],
      ['all campaigns', ['campaigns:*'], ownerId],
      ['made up', ['not-a-permission'], ownerId],
      ['made up, well formed', ['rockets:launch'], ownerId],
      ['more than the admin', ['billing:manage'], editorId],
      ['no api_keys:manage', ['brands:read'], viewerId],
      ['from another organization', ['brands:read'], outsiderId],
      ['nobody', ['brands:read'], '0190a6c2-0000-7000-8000-000000000000'],
    ];
    const messages: string[] = [];
    for (const [name, scopes, createdByUserId] of refusals) {
      const error = await failure(
        withTenant(db, acmeId, (tx) => createApiKey(tx, { name, scopes, createdByUserId })),
      );
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).table).toBe('api_keys');
      messages.push(error.message);
    }
    console.log(
      `api keys: ${messages.length} of ${refusals.length} over-reaching keys refused, e.g. ${messages[3]}`,
    );
    expect(messages[0]).toMatch(/column scopes.*wildcard/);
    expect(messages[2]).toMatch(/column scopes/);
    expect(messages[3]).toMatch(/"rockets:launch" is not in the permission catalog/);
    expect(messages[4]).toMatch(/does not hold "billing:manage"/);
    expect(messages[5]).toMatch(/created_by_user_id.*api_keys:manage/);
    expect(await count()).toBe(before);
    // Positive control: the owner may grant what it holds; the creator is required.
    const ok = await withTenant(db, acmeId, (tx) =>
      createApiKey(tx, {
        name: 'reporting',
        scopes: ['billing:read', 'campaigns:read'],
        createdByUserId: ownerId,
      }),
    );
    expect(ok.apiKey.scopes).toEqual(['billing:read', 'campaigns:read']);
    const anonymous = await failure(
      withTenant(db, acmeId, (tx) =>
        createApiKey(tx, { name: 'anonymous' } as unknown as Parameters<typeof createApiKey>[1]),
      ),
    );
    expect(anonymous.message).toMatch(/created_by_user_id/);
  });

  it('limits the name length in the validator and in the database', async () => {
    const { db, sql: raw } = database.current;
    const error = await failure(
      withTenant(db, acmeId, (tx) =>
        createApiKey(tx, { name: 'x'.repeat(100_000), createdByUserId: ownerId }),
      ),
    );
    expect(error.message).toMatch(/api_keys.*name/);
    const stored = await failure(
      raw.query(
        `insert into api_keys (organization_id, name, prefix, key_hash) values ($1, repeat('x', 101), 'nh_live_x', sha256('x'))`,
        [acmeId],
      ),
    );
    expect(stored.constraint).toBe('api_keys_name_length_check');
  });
});
