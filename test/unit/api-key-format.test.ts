import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_LENGTH,
  API_KEY_PATTERN,
  crc32,
  displayPrefix,
  generateApiKey,
  hashApiKey,
  parseApiKey,
} from '../../src/security/api-key-format.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const sha256 = (text: string) => createHash('sha256').update(text).digest();
const ORG = '0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b';
const toBase62 = (value: bigint, length: number) => {
  let out = '';
  for (let n = value; n > 0n; n /= 62n) out = BASE62[Number(n % 62n)] + out;
  return out.padStart(length, '0');
};

describe('crc32', () => {
  it('matches the standard check value and zlib', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
    expect(crc32(new Uint8Array([0xff, 0x00, 0x80]))).toBe(crc32(Buffer.from([0xff, 0x00, 0x80])));
    // zlib.crc32 exists from Node 22 on; compare against it where available.
    const native = (zlib as { crc32?: (data: string | Uint8Array) => number }).crc32;
    if (native) {
      for (const sample of ['nh_live_abc', 'héllo wörld', generateApiKey(ORG).key]) {
        expect(crc32(sample)).toBe(native(sample));
      }
    }
  });
});

describe('generateApiKey', () => {
  it('generates 1,000 unique keys that match the pattern and parse back with the right hash', () => {
    const keys = new Set<string>();
    const prefixes = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const env = i % 2 === 0 ? 'live' : 'test';
      const { key, hash, prefix } = generateApiKey(ORG, env);
      keys.add(key);
      prefixes.add(prefix);
      expect(key).toHaveLength(API_KEY_LENGTH);
      expect(key.startsWith(`nh_${env}_`)).toBe(true);
      expect(API_KEY_PATTERN.test(key)).toBe(true);
      expect(hash.equals(sha256(key))).toBe(true);
      expect(hash).toHaveLength(32);
      expect(prefix).toBe(key.slice(0, 16));
      expect(prefix).toMatch(/^nh_(live|test)_[0-9A-Za-z]{8}$/);
      const parsed = parseApiKey(key);
      expect(parsed).toEqual({ ok: true, env, hash, prefix, organizationId: ORG });
    }
    expect(keys.size).toBe(1000);
    console.log(
      `1000 keys: ${keys.size} unique, ${prefixes.size} unique display prefixes, length ${API_KEY_LENGTH}`,
    );
  });

  it('defaults to live and rejects other environments', () => {
    expect(generateApiKey(ORG).key.startsWith('nh_live_')).toBe(true);
    expect(() => generateApiKey(ORG, 'prod' as 'live')).toThrow(/live.*test/);
  });

  it('carries its organization, and refuses keys without a UUID organization', () => {
    const other = '00000000-0000-4000-8000-000000000000';
    expect(parseApiKey(generateApiKey(other).key)).toMatchObject({ ok: true, organizationId: other });
    expect(() => generateApiKey('acme')).toThrow(/UUID of its organization/);
    // Well-formed and checksummed, but its organization part is past 128 bits.
    const unchecked = `nh_live_${'A'.repeat(43)}${'z'.repeat(22)}`;
    const forged = unchecked + toBase62(BigInt(crc32(unchecked)), 6);
    expect(parseApiKey(forged)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('uses the whole base62 alphabet in the body (no bias to a few characters)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of generateApiKey(ORG).key.slice(8, 51)) seen.add(c);
    expect(seen.size).toBe(62);
  });
});

describe('parseApiKey', () => {
  it('reports bad_checksum for every single-character change in the body and checksum', () => {
    const { key } = generateApiKey(ORG, 'live');
    let checked = 0;
    for (let i = 'nh_live_'.length; i < key.length; i++) {
      for (const replacement of BASE62) {
        if (replacement === key[i]) continue;
        const changed = key.slice(0, i) + replacement + key.slice(i + 1);
        expect(parseApiKey(changed)).toEqual({ ok: false, reason: 'bad_checksum' });
        checked++;
      }
    }
    expect(checked).toBe(71 * 61);
    console.log(
      `single-character changes rejected by the checksum: ${checked}/${checked} (71 positions x 61)`,
    );
  });

  it('reports bad_checksum for swapped neighbouring characters', () => {
    const { key } = generateApiKey(ORG, 'test');
    for (let i = 8; i < key.length - 1; i++) {
      if (key[i] === key[i + 1]) continue;
      const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2);
      expect(parseApiKey(swapped)).toEqual({ ok: false, reason: 'bad_checksum' });
    }
  });

  it('reports malformed for wrong prefix, length or charset', () => {
    const { key } = generateApiKey(ORG, 'live');
    const body = key.slice(8);
    const cases = [
      '',
      'nh_live_',
      key.slice(0, -1),
      `${key}0`,
      `xx_live_${body}`,
      `nh_prod_${body}`,
      `NH_LIVE_${body}`,
      `nh-live-${body}`,
      `nh_live_${body.slice(0, -1)}-`,
      `nh_live_${body.slice(0, -1)}_`,
      `nh_live_${body.slice(0, -1)}é`,
      ` ${key}`,
      `${key}\n`,
      'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
    ];
    for (const candidate of cases) {
      expect(parseApiKey(candidate), JSON.stringify(candidate)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(parseApiKey(undefined as unknown as string)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('switching the environment invalidates the checksum', () => {
    const { key } = generateApiKey(ORG, 'live');
    expect(parseApiKey(key.replace('nh_live_', 'nh_test_'))).toEqual({ ok: false, reason: 'bad_checksum' });
  });
});

describe('API_KEY_PATTERN, hashApiKey and displayPrefix', () => {
  it('lets a scanner find keys embedded in text', () => {
    const { key } = generateApiKey(ORG, 'test');
    const text = `config:\n  NEONHUB_API_KEY="${key}"\n  other=nh_live_tooShort\n`;
    const found = text.match(new RegExp(API_KEY_PATTERN.source, 'g')) ?? [];
    expect(found).toEqual([key]);
    expect(parseApiKey(found[0] ?? '').ok).toBe(true);
    expect(API_KEY_PATTERN.test(`${key}X`)).toBe(false);
    // Repeated use is safe (no global flag, so no lastIndex state).
    expect(API_KEY_PATTERN.test(key)).toBe(true);
    expect(API_KEY_PATTERN.test(key)).toBe(true);
  });

  it('hashes with SHA-256 and shows only the prefix', () => {
    const { key, hash } = generateApiKey(ORG);
    expect(hashApiKey(key).equals(hash)).toBe(true);
    expect(hashApiKey(key).toString('hex')).toBe(sha256(key).toString('hex'));
    expect(displayPrefix(key)).toBe(key.slice(0, 16));
    expect(displayPrefix(key).length).toBeLessThan(key.length / 3);
    expect(() => displayPrefix('not a key')).toThrow(/not a NeonHub API key/);
  });
});
