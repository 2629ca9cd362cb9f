import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { DEVELOPMENT_ENV, developmentOptedIn } from './development.ts';

/** Environment variable holding the key ring: comma-separated `keyId:base64key` entries. */
export const CREDENTIAL_KEYS_ENV = 'NEONHUB_CREDENTIAL_KEYS';
/** Environment variable naming the key id used for new encryptions (default: the first entry). */
export const CREDENTIAL_KEY_ID_ENV = 'NEONHUB_CREDENTIAL_KEY_ID';
/** Key id of the built-in development key ring; only for the embedded database, a local URL or an explicit opt-in. */
export const DEV_KEY_ID = 'dev-insecure';

const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;
/** Length of every AES-256 key: the ring's key-encryption keys and the envelope's data keys. */
export const KEY_BYTES = 32;

// Derived from a public string on purpose: anyone can read it, so it only protects laptop data.
const DEV_KEY = createHash('sha256').update('neonhub development credential key (insecure, public)').digest();

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

export interface LoadKeyRingOptions {
  /**
   * Whether the target database may fall back to the public development ring when no keys are
   * set: the embedded database, or a server with `NEONHUB_DEVELOPMENT=1` (never judged from its
   * address). Default: judged from the environment the way `createDb` picks its target.
   */
  developmentAllowed?: boolean;
  /** Where the development-ring warning goes (default: `console.warn`). */
  warn?: (message: string) => void;
}

const NO_KEYS_HELP =
  'set it to comma-separated keyId:base64key entries of 32 bytes (generate one with generateKeyRingEntry), ' +
  `or to "${DEV_KEYS_OPT_IN}" (or set ${DEVELOPMENT_ENV}=1) to use the public development key on purpose`;

/**
 * Reads the key ring from `NEONHUB_CREDENTIAL_KEYS` / `NEONHUB_CREDENTIAL_KEY_ID`. The public
 * `dev-insecure` ring is used only when asked for (`NEONHUB_CREDENTIAL_KEYS=dev`) or when no keys
 * are set and the target is the embedded database or `NEONHUB_DEVELOPMENT=1` is set, always with a
 * warning; every other case without keys throws, whatever `NODE_ENV` or the database's address says.
 */
export function loadKeyRing(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: LoadKeyRingOptions = {},
): KeyRing {
  const developmentAllowed =
    options.developmentAllowed ?? ((env.DATABASE_URL ?? '').trim() === '' || developmentOptedIn(env));
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const raw = env[CREDENTIAL_KEYS_ENV]?.trim() ?? '';
  const activeId = env[CREDENTIAL_KEY_ID_ENV]?.trim() || undefined;
  const optedIn = raw.toLowerCase() === DEV_KEYS_OPT_IN;
  if (raw === '' || optedIn) {
    if (!optedIn && !developmentAllowed) {
      throw new Error(
        `${CREDENTIAL_KEYS_ENV} is not set and the database is not the embedded one: refusing to start without credential keys; ${NO_KEYS_HELP}`,
      );
    }
    if (activeId !== undefined && activeId !== DEV_KEY_ID) {
      throw new Error(`${CREDENTIAL_KEY_ID_ENV} is set but ${CREDENTIAL_KEYS_ENV} holds no keys`);
    }
    warn(
      `warning: using the public development credential key "${DEV_KEY_ID}" (${
        optedIn ? `${CREDENTIAL_KEYS_ENV}=${DEV_KEYS_OPT_IN}` : 'no keys set, development database'
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
      `${CREDENTIAL_KEYS_ENV}: the public development key "${DEV_KEY_ID}" is refused outside a development database ` +
        `(set ${CREDENTIAL_KEYS_ENV}=${DEV_KEYS_OPT_IN} or ${DEVELOPMENT_ENV}=1 to use it on purpose)`,
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

/** Whether `id` is a well-formed key id (the envelope checks the one it reads back). */
export function isKeyId(id: string): boolean {
  return KEY_ID_PATTERN.test(id);
}

/** The key bytes for `keyId`, or undefined when the ring lacks it; the one way out of this module for key material. */
export function keyOf(ring: KeyRing, keyId: string): Buffer | undefined {
  const keys = keyMaterial.get(ring);
  if (!keys) throw new TypeError('not a KeyRing: build one with loadKeyRing() or createKeyRing()');
  return keys.get(keyId);
}
