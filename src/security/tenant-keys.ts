import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { deriveRingKey } from './crypto.ts';
import type { KeyRing } from './key-ring.ts';

/**
 * The keys scopes are opened with. Nothing here is ever sent to the database: the application
 * derives each organization's tenant key (per key version) and the service key from its key ring,
 * and sends only proofs, the HMAC of what it asks for and when. The database holds the keys' HMAC
 * pads (`tenant_scope_keys`, `scope_secrets`), readable by its definer functions only, checks each
 * proof once, and answers with a ticket bound to the transaction (migration scope_tickets).
 */

/** A key the application holds, with the key-ring key it is derived from. */
export interface DerivedKey {
  keyId: string;
  key: Buffer;
}

function derive(ring: KeyRing, keyId: string, label: string): Buffer {
  const key = deriveRingKey(ring, keyId, label);
  if (!key)
    throw new Error(`the key ring lacks key "${keyId}", which scope keys of this database are derived from`);
  return key;
}

/** The tenant key of one organization at one version, derived from the ring key `keyId`. */
export const tenantKey = (ring: KeyRing, keyId: string, organizationId: string, version: number): Buffer =>
  derive(ring, keyId, `tenant-scope-key|${organizationId}|${version}`);

/** The service key: proves person scopes and tenant key changes. */
export const serviceKey = (ring: KeyRing, keyId: string): Buffer => derive(ring, keyId, 'service-scope-key');

/** HMAC-SHA256's inner and outer pads of a key (128 bytes): what the database verifies proofs with. */
export function hmacPads(key: Uint8Array): Buffer {
  const block = Buffer.alloc(64);
  Buffer.from(key.length > 64 ? createHash('sha256').update(key).digest() : key).copy(block);
  return Buffer.concat([block.map((byte) => byte ^ 0x36), block.map((byte) => byte ^ 0x5c)]);
}

const mac = (key: Uint8Array, message: string) => createHmac('sha256', key).update(message, 'utf8').digest();

/** Opens a tenant scope (`app_open_scope`): the organization, the key version and the issue time. */
export const tenantScopeProof = (
  key: Uint8Array,
  organizationId: string,
  version: number,
  issuedMs: number,
) => mac(key, `neonhub/tenant-scope/v1:${organizationId}:${version}:${issuedMs}`);

/** Opens a person's scope (`app_open_user_scope`), under the service key. */
export const userScopeProof = (service: Uint8Array, userId: string, issuedMs: number) =>
  mac(service, `neonhub/user-scope/v1:${userId}:${issuedMs}`);

/** A worker's cross-tenant call to the run queue (`app_claim_runs` and its neighbours), under the service key. */
export const runQueueProof = (service: Uint8Array, purpose: string, issuedMs: number) =>
  mac(service, `neonhub/run-queue/v1:${purpose}:${issuedMs}`);

/**
 * Adds a tenant key version (`app_add_tenant_key`, or version 1 in `app_create_organization` with a
 * grace of 0), under the service key: a statement without the key ring cannot choose a tenant's key.
 */
export function tenantKeyChangeProof(
  service: Uint8Array,
  change: {
    organizationId: string;
    version: number;
    keyId: string;
    verifier: Uint8Array;
    graceSeconds: number;
  },
  issuedMs: number,
): Buffer {
  const verifierHash = createHash('sha256').update(change.verifier).digest('hex');
  return mac(
    service,
    `neonhub/tenant-key/v1:${change.organizationId}:${change.version}:${change.keyId}:${verifierHash}:${change.graceSeconds}:${issuedMs}`,
  );
}

/** Whether `pads` are the pads of `key` (the service key a database registered, checked against the ring). */
export const padsMatch = (pads: Uint8Array, key: Uint8Array) => {
  const expected = hmacPads(key);
  return pads.length === expected.length && timingSafeEqual(expected, pads);
};
