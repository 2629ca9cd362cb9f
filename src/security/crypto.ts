import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CREDENTIAL_KEYS_ENV, isKeyId, KEY_BYTES, type KeyRing, keyOf } from './key-ring.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 1;
const AAD_PREFIX = 'neonhub:v1';

/** Where a secret lives; bound into the ciphertext so it cannot be moved to another row, column or tenant. */
export type SecretContext = { organizationId: string; table: string; rowId: string; column: string };

export type CredentialDecryptErrorCode = 'unknown_key' | 'tampered_or_wrong_context' | 'malformed';

/** Decryption failure. Messages name the table, column, row and key id, never secret material. */
export class CredentialDecryptError extends Error {
  override readonly name = 'CredentialDecryptError';
  readonly code: CredentialDecryptErrorCode;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly rowId: string | undefined;
  readonly keyId: string | undefined;

  constructor(
    code: CredentialDecryptErrorCode,
    detail: string,
    ctx?: Partial<SecretContext>,
    keyId?: string,
  ) {
    const where = ctx?.table ? ` ${ctx.table}.${ctx.column ?? '?'} (row ${ctx.rowId ?? '?'})` : '';
    super(`cannot decrypt credential${where}: ${detail}`);
    this.code = code;
    this.table = ctx?.table;
    this.column = ctx?.column;
    this.rowId = ctx?.rowId;
    this.keyId = keyId;
  }
}

function associatedData(ctx: SecretContext): Buffer {
  for (const field of ['organizationId', 'table', 'rowId', 'column'] as const) {
    const value: unknown = ctx?.[field];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`secret context needs a non-empty string ${field}`);
    }
  }
  // rowId is last, so forbidding the separator in the other fields keeps the encoding unambiguous.
  for (const field of ['organizationId', 'table', 'column'] as const) {
    if (ctx[field].includes('|')) throw new TypeError(`secret context ${field} must not contain "|"`);
  }
  return Buffer.from(`${AAD_PREFIX}|${ctx.table}|${ctx.column}|${ctx.organizationId}|${ctx.rowId}`, 'utf8');
}

function seal(key: Buffer, iv: Buffer, plaintext: Uint8Array, aad: Buffer): { body: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { body, tag: cipher.getAuthTag() };
}

/** Returns null when authentication fails (tampering, wrong key or wrong context). */
function open(key: Buffer, iv: Buffer, tag: Buffer, body: Buffer, aad: Buffer): Buffer | null {
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
}

/** Parsed envelope. Layout: version | keyIdLen | keyId | wrapIv | wrapTag | wrappedKey | dataIv | dataTag | data. */
type Envelope = {
  keyId: string;
  wrapIv: Buffer;
  wrapTag: Buffer;
  wrappedKey: Buffer;
  /** dataIv | dataTag | data, carried over byte for byte by rewrap. */
  payload: Buffer;
  dataIv: Buffer;
  dataTag: Buffer;
  data: Buffer;
};

function parseEnvelope(bytes: Uint8Array, ctx?: SecretContext): Envelope {
  if (!(bytes instanceof Uint8Array)) {
    throw new CredentialDecryptError('malformed', 'ciphertext is not a byte array', ctx);
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 2 || buf[0] !== FORMAT_VERSION) {
    throw new CredentialDecryptError('malformed', 'unknown envelope version', ctx);
  }
  const idLen = buf[1] ?? 0;
  const headerEnd = 2 + idLen;
  const payloadStart = headerEnd + IV_BYTES + TAG_BYTES + KEY_BYTES;
  if (buf.length < payloadStart + IV_BYTES + TAG_BYTES) {
    throw new CredentialDecryptError('malformed', 'envelope is truncated', ctx);
  }
  const keyId = buf.subarray(2, headerEnd).toString('latin1');
  if (!isKeyId(keyId)) throw new CredentialDecryptError('malformed', 'invalid key id', ctx);
  const payload = buf.subarray(payloadStart);
  return {
    keyId,
    wrapIv: buf.subarray(headerEnd, headerEnd + IV_BYTES),
    wrapTag: buf.subarray(headerEnd + IV_BYTES, headerEnd + IV_BYTES + TAG_BYTES),
    wrappedKey: buf.subarray(headerEnd + IV_BYTES + TAG_BYTES, payloadStart),
    payload,
    dataIv: payload.subarray(0, IV_BYTES),
    dataTag: payload.subarray(IV_BYTES, IV_BYTES + TAG_BYTES),
    data: payload.subarray(IV_BYTES + TAG_BYTES),
  };
}

type WrappedKey = { wrapIv: Buffer; wrapTag: Buffer; wrappedKey: Buffer };

function serialize(keyId: string, wrapped: WrappedKey, payload: Buffer): Buffer {
  const id = Buffer.from(keyId, 'latin1');
  const header = Buffer.from([FORMAT_VERSION, id.length]);
  return Buffer.concat([header, id, wrapped.wrapIv, wrapped.wrapTag, wrapped.wrappedKey, payload]);
}

function wrapDataKey(ring: KeyRing, dataKey: Buffer, aad: Buffer): WrappedKey {
  const kek = keyOf(ring, ring.activeKeyId);
  if (!kek) throw new TypeError('key ring has no active key');
  const wrapIv = randomBytes(IV_BYTES);
  const { body, tag } = seal(kek, wrapIv, dataKey, aad);
  return { wrapIv, wrapTag: tag, wrappedKey: body };
}

function authFailure(ctx: SecretContext, keyId: string): CredentialDecryptError {
  return new CredentialDecryptError(
    'tampered_or_wrong_context',
    'authentication failed (ciphertext altered, or it belongs to another organization, table, row or column)',
    ctx,
    keyId,
  );
}

function unwrapDataKey(ring: KeyRing, env: Envelope, aad: Buffer, ctx: SecretContext): Buffer {
  const kek = keyOf(ring, env.keyId);
  if (!kek) {
    throw new CredentialDecryptError(
      'unknown_key',
      `key id "${env.keyId}" is not in the key ring; add it to ${CREDENTIAL_KEYS_ENV}`,
      ctx,
      env.keyId,
    );
  }
  const dataKey = open(kek, env.wrapIv, env.wrapTag, env.wrappedKey, aad);
  if (!dataKey || dataKey.length !== KEY_BYTES) throw authFailure(ctx, env.keyId);
  return dataKey;
}

function openData(dataKey: Buffer, env: Envelope, aad: Buffer, ctx: SecretContext): Buffer {
  const plaintext = open(dataKey, env.dataIv, env.dataTag, env.data, aad);
  if (!plaintext) throw authFailure(ctx, env.keyId);
  return plaintext;
}

/**
 * Envelope-encrypts a secret for one organization/table/row/column under the ring's active key.
 * Store `ciphertext` in a bytea column and `keyId` in its own column for rotation.
 */
export function encryptSecret(
  ring: KeyRing,
  plaintext: string | Uint8Array,
  ctx: SecretContext,
): { keyId: string; ciphertext: Buffer } {
  const aad = associatedData(ctx);
  const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const dataKey = randomBytes(KEY_BYTES);
  const dataIv = randomBytes(IV_BYTES);
  const { body, tag } = seal(dataKey, dataIv, bytes, aad);
  const wrapped = wrapDataKey(ring, dataKey, aad);
  dataKey.fill(0);
  const payload = Buffer.concat([dataIv, tag, body]);
  return { keyId: ring.activeKeyId, ciphertext: serialize(ring.activeKeyId, wrapped, payload) };
}

/** Decrypts a secret produced by {@link encryptSecret}; throws {@link CredentialDecryptError} on any failure. */
export function decryptSecret(ring: KeyRing, ciphertext: Uint8Array, ctx: SecretContext): Buffer {
  const aad = associatedData(ctx);
  const env = parseEnvelope(ciphertext, ctx);
  const dataKey = unwrapDataKey(ring, env, aad, ctx);
  try {
    return openData(dataKey, env, aad, ctx);
  } finally {
    dataKey.fill(0);
  }
}

/** Like {@link decryptSecret}, decoding the plaintext as UTF-8. */
export function decryptSecretText(ring: KeyRing, ciphertext: Uint8Array, ctx: SecretContext): string {
  const plaintext = decryptSecret(ring, ciphertext, ctx);
  const text = plaintext.toString('utf8');
  plaintext.fill(0);
  return text;
}

/**
 * Re-wraps the data key under the ring's active key, keeping the data IV, tag and ciphertext byte for byte.
 * The secret is authenticated first, so rotation never re-wraps a damaged or misplaced value.
 * Already under the active key: returns the same bytes with `changed: false`.
 */
export function rewrapSecret(
  ring: KeyRing,
  ciphertext: Uint8Array,
  ctx: SecretContext,
): { keyId: string; ciphertext: Buffer; changed: boolean } {
  const aad = associatedData(ctx);
  const env = parseEnvelope(ciphertext, ctx);
  const dataKey = unwrapDataKey(ring, env, aad, ctx);
  try {
    openData(dataKey, env, aad, ctx).fill(0);
    if (env.keyId === ring.activeKeyId) {
      return { keyId: env.keyId, ciphertext: Buffer.from(ciphertext), changed: false };
    }
    const wrapped = wrapDataKey(ring, dataKey, aad);
    return {
      keyId: ring.activeKeyId,
      ciphertext: serialize(ring.activeKeyId, wrapped, env.payload),
      changed: true,
    };
  } finally {
    dataKey.fill(0);
  }
}

/** The id of the key that wraps this ciphertext's data key (throws `malformed` if it is not an envelope). */
export function keyIdOf(ciphertext: Uint8Array): string {
  return parseEnvelope(ciphertext).keyId;
}

/** What a ring-keyed MAC seals; each purpose gets its own derived key, never the raw key-encryption key. */
export type SealPurpose = 'audit-chain' | 'audit-checkpoint';

function sealKey(ring: KeyRing, keyId: string, purpose: SealPurpose): Buffer | undefined {
  const kek = keyOf(ring, keyId);
  return kek && createHmac('sha256', kek).update(`${AAD_PREFIX}|seal|${purpose}`, 'utf8').digest();
}

/**
 * A key derived from the ring key `keyId` for one purpose (HMAC-SHA256 of the label), or undefined
 * when the ring lacks that key: the raw key-encryption key never serves two purposes.
 */
export function deriveRingKey(ring: KeyRing, keyId: string, label: string): Buffer | undefined {
  const kek = keyOf(ring, keyId);
  return kek && createHmac('sha256', kek).update(`${AAD_PREFIX}|derive|${label}`, 'utf8').digest();
}

/** HMAC-SHA256 of `data` under the ring's active key (derived per purpose): the seal plus the key id to store beside it. */
export function sealWithRing(
  ring: KeyRing,
  purpose: SealPurpose,
  data: Uint8Array,
): { keyId: string; mac: Buffer } {
  const key = sealKey(ring, ring.activeKeyId, purpose);
  if (!key) throw new TypeError('key ring has no active key');
  return { keyId: ring.activeKeyId, mac: createHmac('sha256', key).update(data).digest() };
}

/** Checks a seal made by {@link sealWithRing}: `unknown_key` when the ring lacks `keyId`, `mismatch` when the bytes differ. */
export function checkSeal(
  ring: KeyRing,
  purpose: SealPurpose,
  keyId: string,
  data: Uint8Array,
  mac: Uint8Array,
): 'ok' | 'unknown_key' | 'mismatch' {
  const key = sealKey(ring, keyId, purpose);
  if (!key) return 'unknown_key';
  const expected = createHmac('sha256', key).update(data).digest();
  return mac.length === expected.length && timingSafeEqual(expected, mac) ? 'ok' : 'mismatch';
}
