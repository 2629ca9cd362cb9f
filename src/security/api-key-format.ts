import { createHash, randomBytes } from 'node:crypto';

/** Environment an API key belongs to. */
export type ApiKeyEnv = 'live' | 'test';

export type ParsedApiKey =
  | { ok: true; env: ApiKeyEnv; hash: Buffer; prefix: string; organizationId: string }
  | { ok: false; reason: 'malformed' | 'bad_checksum' };

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_BYTES = 32;
/** 62^43 > 2^256, so 43 base62 characters always hold 32 bytes. */
const BODY_LENGTH = 43;
/** 62^22 > 2^128, so 22 base62 characters always hold the organization's UUID. */
const ORGANIZATION_LENGTH = 22;
/** 62^6 > 2^32, so 6 base62 characters always hold a CRC32. */
const CHECKSUM_LENGTH = 6;
const DISPLAY_BODY_CHARS = 8;

/** Total length of an API key: `nh_live_` (8) + body (43) + organization (22) + checksum (6). */
export const API_KEY_LENGTH = 'nh_live_'.length + BODY_LENGTH + ORGANIZATION_LENGTH + CHECKSUM_LENGTH;

/**
 * Finds NeonHub API keys in arbitrary text (for secret scanners); candidates should then be
 * confirmed offline with {@link parseApiKey}, which checks the CRC32 checksum.
 */
export const API_KEY_PATTERN = /\bnh_(live|test)_[0-9A-Za-z]{71}\b/;

const EXACT_PATTERN = /^nh_(live|test)_[0-9A-Za-z]{71}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as in zlib), as an unsigned 32-bit integer. Strings are hashed as UTF-8. */
export function crc32(data: Uint8Array | string): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function toBase62(value: bigint, length: number): string {
  let out = '';
  let n = value;
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(length, '0');
}

function fromBase62(digits: string): bigint {
  let n = 0n;
  for (const digit of digits) n = n * 62n + BigInt(BASE62.indexOf(digit));
  return n;
}

/** The organization's UUID as 22 base62 characters, and back (undefined past 128 bits). */
function encodeOrganization(organizationId: string): string {
  return toBase62(BigInt(`0x${organizationId.replaceAll('-', '')}`), ORGANIZATION_LENGTH);
}

function decodeOrganization(digits: string): string | undefined {
  const n = fromBase62(digits);
  if (n >= 1n << 128n) return undefined;
  const hex = n.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function checksumOf(keyWithoutChecksum: string): string {
  return toBase62(BigInt(crc32(keyWithoutChecksum)), CHECKSUM_LENGTH);
}

/** SHA-256 of the full key string: the only form stored in the database. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The part of a key that is safe to show and store in clear, e.g. `nh_live_AbCd1234`. */
export function displayPrefix(key: string): string {
  if (!EXACT_PATTERN.test(key)) throw new TypeError('not a NeonHub API key');
  return key.slice(0, 'nh_live_'.length + DISPLAY_BODY_CHARS);
}

/**
 * Generates a new API key `nh_<env>_<body><organization><checksum>` for an organization. The key
 * carries its organization so verification reads that tenant's keys only (one shard on Citus).
 * Show `key` once; store `hash` and `prefix`.
 */
export function generateApiKey(
  organizationId: string,
  env: ApiKeyEnv = 'live',
): { key: string; hash: Buffer; prefix: string } {
  if (env !== 'live' && env !== 'test')
    throw new TypeError(`API key env must be "live" or "test", got ${env}`);
  if (typeof organizationId !== 'string' || !UUID_PATTERN.test(organizationId))
    throw new TypeError('an API key needs the UUID of its organization');
  const body = toBase62(BigInt(`0x${randomBytes(BODY_BYTES).toString('hex')}`), BODY_LENGTH);
  const unchecked = `nh_${env}_${body}${encodeOrganization(organizationId)}`;
  const key = unchecked + checksumOf(unchecked);
  return { key, hash: hashApiKey(key), prefix: displayPrefix(key) };
}

/**
 * Validates a candidate key offline: `malformed` for a wrong prefix, charset or length,
 * `bad_checksum` for a well-formed string whose checksum does not match (a typo or a fake).
 */
export function parseApiKey(candidate: string): ParsedApiKey {
  if (typeof candidate !== 'string') return { ok: false, reason: 'malformed' };
  const match = EXACT_PATTERN.exec(candidate);
  if (!match) return { ok: false, reason: 'malformed' };
  const split = candidate.length - CHECKSUM_LENGTH;
  if (checksumOf(candidate.slice(0, split)) !== candidate.slice(split)) {
    return { ok: false, reason: 'bad_checksum' };
  }
  const organizationId = decodeOrganization(candidate.slice(split - ORGANIZATION_LENGTH, split));
  if (!organizationId) return { ok: false, reason: 'malformed' };
  const env = match[1] === 'test' ? 'test' : 'live';
  return { ok: true, env, hash: hashApiKey(candidate), prefix: displayPrefix(candidate), organizationId };
}
