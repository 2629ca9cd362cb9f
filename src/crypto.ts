import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { inspect } from 'node:util';

/** Environment variable holding the key ring: comma-separated `keyId:base64key` entries. */
export const CREDENTIAL_KEYS_ENV = 'NEONHUB_CREDENTIAL_KEYS';
/** Environment variable naming the key id used for new encryptions (default: the first entry). */
export const CREDENTIAL_KEY_ID_ENV = 'NEONHUB_CREDENTIAL_KEY_ID';
/** Key id of the built-in development key ring; only for the embedded database, a local URL or an explicit opt-in. */
export const DEV_KEY_ID = 'dev-insecure';

const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 1;
const AAD_PREFIX = 'neonhub:v1';

// Derived from a public string on purpose: anyone can read it, so it only protects laptop data.
const DEV_KEY = createHash('sha256').update('neonhub development credential key (insecure, public)').digest();

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

const constructing = Symbol('KeyRing');

// Key bytes live outside the ring object so no enumeration, serialization or inspection can reach them.
const keyMaterial = new WeakMap<KeyRing, ReadonlyMap<string, Buffer>>();

/** A set of key-encryption keys by id, plus the active id used for new encryptions. Prints only key ids. */
export class KeyRing {
  readonly activeKeyId: string;
  readonly keyIds: readonly string[];
  /** True for the built-in development ring, whose key is public. */
  readonly insecure: boolean;

  /** Not for direct use: build rings with {@link createKeyRing} or {@link loadKeyRing}. */
  constructor(token: symbol, keys: ReadonlyMap<string, Buffer>, activeKeyId: string) {
    if (token !== constructing) throw new TypeError('build a KeyRing with createKeyRing() or loadKeyRing()');
    this.activeKeyId = activeKeyId;
    this.keyIds = Object.freeze([...keys.keys()]);
    this.insecure = [...keys.values()].some((key) => key.equals(DEV_KEY));
    keyMaterial.set(this, keys);
    Object.freeze(this);
  }

  /** Whether the ring can unwrap data keys wrapped under `keyId`. */
  has(keyId: string): boolean {
    return this.keyIds.includes(keyId);
  }

  toString(): string {
    return `KeyRing(active=${this.activeKeyId}; keys=${this.keyIds.join(',')})`;
  }

  toJSON(): { activeKeyId: string; keyIds: string[] } {
    return { activeKeyId: this.activeKeyId, keyIds: [...this.keyIds] };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Quotes a key id for a message, or hides it when it is not a valid id (it may be a misplaced key). */
function showKeyId(id: string): string {
  return KEY_ID_PATTERN.test(id) ? `"${id}"` : '(not a valid key id)';
}

/** Validates a key id. Never echoes an invalid id: a misplaced key could sit in its place. */
function assertKeyId(id: string, where: string): void {
  if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
    throw new Error(`invalid credential key id ${where}: expected 1-32 characters of A-Z a-z 0-9 _ . -`);
  }
}

/**
 * Builds a key ring from raw 32-byte keys. `activeId` defaults to the first entry.
 * Throws (naming the key id, never the key) on a bad id, a wrong key length or a duplicate id.
 */
export function createKeyRing(entries: { id: string; key: Uint8Array }[], activeId?: string): KeyRing {
  if (entries.length === 0) throw new Error('a credential key ring needs at least one key');
  const keys = new Map<string, Buffer>();
  for (const [index, { id, key }] of entries.entries()) {
    assertKeyId(id, `in entry ${index + 1}`);
    if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
      throw new Error(`credential key "${id}" must be exactly ${KEY_BYTES} bytes`);
    }
    if (keys.has(id)) throw new Error(`credential key id "${id}" appears more than once`);
    // Copy so later changes to the caller's buffer cannot alter the ring.
    keys.set(id, Buffer.from(key));
  }
  const active = activeId ?? entries[0]?.id ?? '';
  if (!keys.has(active)) {
    throw new Error(
      `active credential key id ${showKeyId(active)} is not in the key ring (${[...keys.keys()].join(', ')})`,
    );
  }
  return new KeyRing(constructing, keys, active);
}

function parseKeyEntry(entry: string, index: number): { id: string; key: Uint8Array } {
  const colon = entry.indexOf(':');
  if (colon === -1) {
    throw new Error(`${CREDENTIAL_KEYS_ENV}: entry ${index + 1} must look like keyId:base64key`);
  }
  const id = entry.slice(0, colon).trim();
  assertKeyId(id, `in ${CREDENTIAL_KEYS_ENV} entry ${index + 1}`);
  const encoded = entry.slice(colon + 1).trim();
  // Buffer's decoder silently skips junk, so check the alphabet first (standard or URL-safe base64).
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
    throw new Error(`${CREDENTIAL_KEYS_ENV}: key "${id}" is not valid base64`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`${CREDENTIAL_KEYS_ENV}: key "${id}" must decode to exactly ${KEY_BYTES} bytes`);
  }
  return { id, key };
}

/** The value of `NEONHUB_CREDENTIAL_KEYS` that asks for the public development ring explicitly. */
export const DEV_KEYS_OPT_IN = 'dev';

/**
 * Whether a database URL points at this machine (or is unset, meaning the embedded database):
 * the only targets where the public development ring may stand in for missing keys.
 */
export function isLocalDatabaseUrl(url: string | undefined): boolean {
  if (url === undefined || url.trim() === '') return true;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  // No host means a Unix socket, which is local by construction.
  const socket = host === '' && (parsed.searchParams.get('host') ?? '/').startsWith('/');
  return socket || host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

export interface LoadKeyRingOptions {
  /**
   * Whether the target database may fall back to the public development ring when no keys are
   * set: true for the embedded database or a local URL. Default: judged from `DATABASE_URL` the way
   * `createDb` picks its target (unset means the embedded database).
   */
  developmentAllowed?: boolean;
  /** Where the development-ring warning goes (default: `console.warn`). */
  warn?: (message: string) => void;
}

const NO_KEYS_HELP =
  'set it to comma-separated keyId:base64key entries of 32 bytes (generate one with generateKeyRingEntry), ' +
  `or to "${DEV_KEYS_OPT_IN}" to use the public development key on purpose`;

/**
 * Reads the key ring from `NEONHUB_CREDENTIAL_KEYS` / `NEONHUB_CREDENTIAL_KEY_ID`. The public
 * `dev-insecure` ring is used only when asked for (`NEONHUB_CREDENTIAL_KEYS=dev`) or when no keys
 * are set and the target is the embedded database or a local URL, always with a warning; every
 * other case without keys throws, whatever `NODE_ENV` says.
 */
export function loadKeyRing(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: LoadKeyRingOptions = {},
): KeyRing {
  const developmentAllowed = options.developmentAllowed ?? isLocalDatabaseUrl(env.DATABASE_URL);
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const raw = env[CREDENTIAL_KEYS_ENV]?.trim() ?? '';
  const activeId = env[CREDENTIAL_KEY_ID_ENV]?.trim() || undefined;
  const optedIn = raw.toLowerCase() === DEV_KEYS_OPT_IN;
  if (raw === '' || optedIn) {
    if (!optedIn && !developmentAllowed) {
      throw new Error(
        `${CREDENTIAL_KEYS_ENV} is not set and the database is not local: refusing to start without credential keys; ${NO_KEYS_HELP}`,
      );
    }
    if (activeId !== undefined && activeId !== DEV_KEY_ID) {
      throw new Error(`${CREDENTIAL_KEY_ID_ENV} is set but ${CREDENTIAL_KEYS_ENV} holds no keys`);
    }
    warn(
      `warning: using the public development credential key "${DEV_KEY_ID}" (${
        optedIn ? `${CREDENTIAL_KEYS_ENV}=${DEV_KEYS_OPT_IN}` : 'no keys set, local database'
      }); secrets and audit seals it protects are readable and forgeable by anyone`,
    );
    return createKeyRing([{ id: DEV_KEY_ID, key: DEV_KEY }]);
  }
  const entries = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseKeyEntry);
  if (!developmentAllowed && entries.some((e) => e.id === DEV_KEY_ID || Buffer.from(e.key).equals(DEV_KEY))) {
    throw new Error(
      `${CREDENTIAL_KEYS_ENV}: the public development key "${DEV_KEY_ID}" is refused for a database that is not local ` +
        `(set ${CREDENTIAL_KEYS_ENV}=${DEV_KEYS_OPT_IN} to use it on purpose)`,
    );
  }
  if (activeId !== undefined && !entries.some((e) => e.id === activeId)) {
    throw new Error(
      `${CREDENTIAL_KEY_ID_ENV}=${showKeyId(activeId)} does not name a key in ${CREDENTIAL_KEYS_ENV}`,
    );
  }
  return createKeyRing(entries, activeId);
}

/** Generates a fresh random key as an `id:base64` line to append to `NEONHUB_CREDENTIAL_KEYS`. */
export function generateKeyRingEntry(id: string): string {
  assertKeyId(id, 'for generateKeyRingEntry');
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
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

function keyFor(ring: KeyRing, keyId: string): Buffer | undefined {
  const keys = keyMaterial.get(ring);
  if (!keys) throw new TypeError('not a KeyRing: build one with loadKeyRing() or createKeyRing()');
  return keys.get(keyId);
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
  if (!KEY_ID_PATTERN.test(keyId)) throw new CredentialDecryptError('malformed', 'invalid key id', ctx);
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
  const kek = keyFor(ring, ring.activeKeyId);
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
  const kek = keyFor(ring, env.keyId);
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
  const kek = keyFor(ring, keyId);
  return kek && createHmac('sha256', kek).update(`${AAD_PREFIX}|seal|${purpose}`, 'utf8').digest();
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
