import { createHash, randomBytes } from 'node:crypto';
import { decryptSecret, encryptSecret, type SecretContext } from './crypto.ts';
import type { KeyRing } from './key-ring.ts';

/**
 * Tenant scope keys. An organization's id is the SHA-256 of its 32-byte scope key, cut to a UUID:
 * a scope names its tenant by the key (`app.tenant_key`), and the database's `app_current_org_id()`
 * hashes it back to the id. Knowing an id, or setting any setting mid-scope, therefore opens no
 * tenant: only the key does, and keys live in the database only as envelopes the key ring opens.
 */
export const SCOPE_KEY_BYTES = 32;

/** The organization id a scope key names: `app_tenant_of_key()` in SQL computes the same. */
export function tenantIdOfKey(key: Uint8Array): string {
  const hex = createHash('sha256').update(key).digest('hex').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A version-4/variant-1 UUID is what validators and clients expect; about 1 key in 64 hashes to one. */
const isRfcUuid = (id: string) => id[14] === '4' && '89ab'.includes(id[19] ?? '');

/**
 * A fresh scope key and the organization id it names. With `seed`, the key is derived from that
 * public string, so the same seed gives the same organization (idempotent demo seeds) and anyone
 * who knows it can enter that tenant: never seed a production database.
 */
export function newScopeKey(seed?: string): { key: Buffer; organizationId: string } {
  for (let attempt = 0; ; attempt++) {
    const key = seed
      ? createHash('sha256').update(`neonhub demo tenant\u0000${seed}\u0000${attempt}`).digest()
      : randomBytes(SCOPE_KEY_BYTES);
    const organizationId = tenantIdOfKey(key);
    if (isRfcUuid(organizationId)) return { key, organizationId };
  }
}

const envelopeContext = (organizationId: string): SecretContext => ({
  organizationId,
  table: 'organizations',
  rowId: organizationId,
  column: 'scope_key',
});

/** The envelope stored in `organizations.scope_key`, bound to that organization's row and column. */
export function sealScopeKey(ring: KeyRing, organizationId: string, key: Uint8Array): Buffer {
  return encryptSecret(ring, key, envelopeContext(organizationId)).ciphertext;
}

/** Opens a stored envelope, and checks the key really names this organization. */
export function openScopeKey(ring: KeyRing, organizationId: string, envelope: Uint8Array): Buffer {
  const key = decryptSecret(ring, envelope, envelopeContext(organizationId));
  if (key.length !== SCOPE_KEY_BYTES || tenantIdOfKey(key) !== organizationId) {
    throw new Error(`organizations.scope_key of ${organizationId} does not name that organization`);
  }
  return key;
}
