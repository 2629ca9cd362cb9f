import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  CredentialDecryptError,
  decryptSecret,
  decryptSecretText,
  encryptSecret,
  keyIdOf,
  rewrapSecret,
  type SecretContext,
} from '../../src/security/crypto.ts';
import { createKeyRing, DEV_KEY_ID, generateKeyRingEntry, loadKeyRing } from '../../src/security/key-ring.ts';

const SECRET = 'ya29.oauth-refresh-token-DO-NOT-LEAK-7f3a9c';
const ctx: SecretContext = {
  organizationId: '0190a6c2-1111-7000-8000-000000000001',
  table: 'connector_credentials',
  rowId: '0190a6c2-2222-7000-8000-000000000002',
  column: 'refresh_token',
};

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ringA = createKeyRing([{ id: 'key-a', key: keyA }]);

/** Runs `fn`, expecting a CredentialDecryptError, and returns it. */
function decryptError(fn: () => unknown): CredentialDecryptError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialDecryptError);
    return error as CredentialDecryptError;
  }
  throw new Error('expected decryption to fail');
}

/** Asserts that text reveals neither the secret nor any representation of the given keys. */
function expectNoLeak(text: string, keys: Uint8Array[] = [keyA, keyB]): void {
  expect(text).not.toContain(SECRET);
  for (const key of keys) {
    const buf = Buffer.from(key);
    expect(text).not.toContain(buf.toString('base64'));
    expect(text).not.toContain(buf.toString('base64url'));
    expect(text).not.toContain(buf.toString('hex'));
  }
}

describe('encryptSecret / decryptSecret', () => {
  it('round-trips text and binary secrets', () => {
    const { keyId, ciphertext } = encryptSecret(ringA, SECRET, ctx);
    expect(keyId).toBe('key-a');
    expect(keyIdOf(ciphertext)).toBe('key-a');
    expect(decryptSecretText(ringA, ciphertext, ctx)).toBe(SECRET);

    const binary = randomBytes(100);
    const sealed = encryptSecret(ringA, binary, ctx).ciphertext;
    expect(decryptSecret(ringA, sealed, ctx).equals(binary)).toBe(true);

    const unicode = 'clé secrète 🔑';
    expect(decryptSecretText(ringA, encryptSecret(ringA, unicode, ctx).ciphertext, ctx)).toBe(unicode);
    expect(decryptSecretText(ringA, encryptSecret(ringA, '', ctx).ciphertext, ctx)).toBe('');
  });

  it('does not store the plaintext and never repeats a ciphertext', () => {
    const first = encryptSecret(ringA, SECRET, ctx).ciphertext;
    const second = encryptSecret(ringA, SECRET, ctx).ciphertext;
    expect(first.equals(second)).toBe(false);
    expect(first.includes(Buffer.from(SECRET))).toBe(false);
    expect(first.includes(keyA)).toBe(false);
  });

  it('decrypts ciphertexts that come back from the database as a plain Uint8Array or a sliced Buffer', () => {
    const { ciphertext } = encryptSecret(ringA, SECRET, ctx);
    expect(decryptSecretText(ringA, new Uint8Array(ciphertext), ctx)).toBe(SECRET);
    const padded = Buffer.concat([Buffer.from('xxxx'), ciphertext]).subarray(4);
    expect(decryptSecretText(ringA, padded, ctx)).toBe(SECRET);
  });

  it.each([
    ['organizationId', '0190a6c2-1111-7000-8000-000000000099'],
    ['table', 'other_table'],
    ['rowId', '0190a6c2-2222-7000-8000-000000000099'],
    ['column', 'access_token'],
  ] as const)('refuses a ciphertext moved to another %s', (field, value) => {
    const { ciphertext } = encryptSecret(ringA, SECRET, ctx);
    const moved = { ...ctx, [field]: value };
    const error = decryptError(() => decryptSecret(ringA, ciphertext, moved));
    expect(error.code).toBe('tampered_or_wrong_context');
    expect(error.message).toContain(moved.table);
    expect(error.message).toContain(moved.column);
    expect(error.message).toContain(moved.rowId);
    expectNoLeak(error.message);
  });

  it('cannot be confused by fields that shift the separator', () => {
    const { ciphertext } = encryptSecret(ringA, SECRET, { ...ctx, table: 'a', column: 'b' });
    expect(() => decryptSecret(ringA, ciphertext, { ...ctx, table: 'a|b', column: 'c' })).toThrow(TypeError);
  });

  it('fails with a typed error when any single byte is flipped', () => {
    const { ciphertext } = encryptSecret(ringA, 'short secret', ctx);
    const codes = new Map<string, number>();
    for (let i = 0; i < ciphertext.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const tampered = Buffer.from(ciphertext);
        tampered[i] = (tampered[i] ?? 0) ^ mask;
        const error = decryptError(() => decryptSecret(ringA, tampered, ctx));
        expectNoLeak(error.message);
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
    }
    console.log(`flipped ${ciphertext.length} bytes x 2 masks; failures by code:`, Object.fromEntries(codes));
    expect(codes.get('tampered_or_wrong_context')).toBeGreaterThan(0);
  });

  it('rejects truncated, extended and foreign input as malformed or tampered', () => {
    const { ciphertext } = encryptSecret(ringA, SECRET, ctx);
    for (let length = 0; length < ciphertext.length; length += 7) {
      decryptError(() => decryptSecret(ringA, ciphertext.subarray(0, length), ctx));
    }
    expect(decryptError(() => decryptSecret(ringA, Buffer.alloc(0), ctx)).code).toBe('malformed');
    expect(decryptError(() => decryptSecret(ringA, Buffer.from('plaintext!'), ctx)).code).toBe('malformed');
    expect(decryptError(() => keyIdOf(Buffer.from([9, 1, 2, 3]))).code).toBe('malformed');
    const extended = Buffer.concat([ciphertext, Buffer.from([0])]);
    expect(decryptError(() => decryptSecret(ringA, extended, ctx)).code).toBe('tampered_or_wrong_context');
  });

  it('names the missing key id and the variable to set, without leaking anything', () => {
    const { ciphertext } = encryptSecret(ringA, SECRET, ctx);
    const ringB = createKeyRing([{ id: 'key-b', key: keyB }]);
    const error = decryptError(() => decryptSecret(ringB, ciphertext, ctx));
    expect(error.code).toBe('unknown_key');
    expect(error.keyId).toBe('key-a');
    expect(error.message).toContain('"key-a"');
    expect(error.message).toContain('NEONHUB_CREDENTIAL_KEYS');
    expect(error.message).toContain('connector_credentials.refresh_token');
    expectNoLeak(error.message);
    expectNoLeak(inspect(error));
    expectNoLeak(JSON.stringify(error));
    console.log('unknown key message:', error.message);
  });

  it('refuses a key with the same id but different bytes', () => {
    const { ciphertext } = encryptSecret(ringA, SECRET, ctx);
    const impostor = createKeyRing([{ id: 'key-a', key: keyB }]);
    expect(decryptError(() => decryptSecret(impostor, ciphertext, ctx)).code).toBe(
      'tampered_or_wrong_context',
    );
  });
});

describe('KeyRing', () => {
  it('prints only key ids through String, JSON and util.inspect', () => {
    const ring = createKeyRing(
      [
        { id: 'key-a', key: keyA },
        { id: 'key-b', key: keyB },
      ],
      'key-b',
    );
    const renderings = [
      String(ring),
      `${ring}`,
      JSON.stringify(ring),
      JSON.stringify({ nested: { ring } }),
      inspect(ring),
      inspect(ring, { showHidden: true, depth: 10 }),
      inspect({ ring }, { showHidden: true, depth: 10 }),
      Object.keys(ring).join(','),
    ];
    console.log('key ring renderings:', renderings.slice(0, 5));
    for (const text of renderings) expectNoLeak(text);
    expect(String(ring)).toContain('key-a');
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ activeKeyId: 'key-b', keyIds: ['key-a', 'key-b'] });
    expect(inspect(ring)).toContain('key-b');
  });

  it('copies keys so later changes to the caller buffer do not matter', () => {
    const key = randomBytes(32);
    const ring = createKeyRing([{ id: 'k', key }]);
    const { ciphertext } = encryptSecret(ring, SECRET, ctx);
    key.fill(0);
    expect(decryptSecretText(ring, ciphertext, ctx)).toBe(SECRET);
  });

  it('rejects bad key ids, wrong key lengths and duplicates, naming the id but not the key', () => {
    expect(() => createKeyRing([{ id: 'bad id!', key: keyA }])).toThrow(/invalid credential key id/);
    expect(() => createKeyRing([{ id: 'x'.repeat(33), key: keyA }])).toThrow(/invalid credential key id/);
    expect(() => createKeyRing([])).toThrow(/at least one key/);
    const short = randomBytes(31);
    expect(() => createKeyRing([{ id: 'short-key', key: short }])).toThrow(
      /"short-key" must be exactly 32 bytes/,
    );
    expect(() =>
      createKeyRing([
        { id: 'dup', key: keyA },
        { id: 'dup', key: keyB },
      ]),
    ).toThrow(/more than once/);
    expect(() => createKeyRing([{ id: 'a', key: keyA }], 'b')).toThrow(/"b" is not in the key ring/);
  });

  it('cannot be forged by a look-alike object', () => {
    const fake = { activeKeyId: 'key-a', keyIds: ['key-a'] } as unknown as typeof ringA;
    expect(() => encryptSecret(fake, SECRET, ctx)).toThrow(/not a KeyRing/);
  });
});

describe('loadKeyRing', () => {
  const b64A = keyA.toString('base64');
  const b64B = keyB.toString('base64');

  it('reads keyId:base64 entries, defaulting the active key to the first', () => {
    const ring = loadKeyRing({ NEONHUB_CREDENTIAL_KEYS: ` key-a:${b64A} , key-b:${b64B},` });
    expect(ring.keyIds).toEqual(['key-a', 'key-b']);
    expect(ring.activeKeyId).toBe('key-a');
    expect(ring.insecure).toBe(false);
    expect(ringA.insecure).toBe(false);
    // Interoperates with a ring built from the same bytes.
    const { ciphertext } = encryptSecret(ring, SECRET, ctx);
    expect(decryptSecretText(ringA, ciphertext, ctx)).toBe(SECRET);
  });

  it('honours NEONHUB_CREDENTIAL_KEY_ID and refuses an id that is not in the ring', () => {
    const keys = `key-a:${b64A},key-b:${b64B}`;
    const ring = loadKeyRing({ NEONHUB_CREDENTIAL_KEYS: keys, NEONHUB_CREDENTIAL_KEY_ID: 'key-b' });
    expect(ring.activeKeyId).toBe('key-b');
    expect(() => loadKeyRing({ NEONHUB_CREDENTIAL_KEYS: keys, NEONHUB_CREDENTIAL_KEY_ID: 'key-c' })).toThrow(
      /NEONHUB_CREDENTIAL_KEY_ID="key-c" does not name a key/,
    );
  });

  it('reports malformed entries by key id without echoing key material', () => {
    const short = randomBytes(16).toString('base64');
    const cases = [
      `short:${short}`,
      `junk:${b64A}!!`,
      `nocolon${b64A}`,
      `bad id:${b64A}`,
      `${b64A}:swapped`,
      `key-a:${b64A},${b64B}`,
    ];
    // No 12-character run of either key may appear, not even a truncated echo of the entry.
    const windows = [b64A, b64B, short].flatMap((b64) =>
      Array.from({ length: b64.length - 11 }, (_, i) => b64.slice(i, i + 12)),
    );
    for (const value of cases) {
      let message = '';
      try {
        loadKeyRing({ NEONHUB_CREDENTIAL_KEYS: value, NODE_ENV: 'production' });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain('NEONHUB_CREDENTIAL_KEYS');
      for (const window of windows) expect(message).not.toContain(window);
    }
    expect(() => loadKeyRing({ NEONHUB_CREDENTIAL_KEYS: `short:${short}` })).toThrow(
      /key "short" must decode to exactly 32 bytes/,
    );
  });

  const remote = 'postgres://app:secret@db.internal.example:5432/neonhub';
  const quiet = { warn: () => {} };

  // A proxy on this machine (Cloud SQL, AlloyDB, pgbouncer) looks local and is production.
  const loopback = [
    'postgres://app:pw@localhost:5432/neonhub',
    'postgres://app:pw@127.0.0.1:55432/neonhub',
    'postgres://app:pw@[::1]:5432/neonhub',
    'postgres:///neonhub?host=/var/run/postgresql',
  ];

  it('uses the public dev-insecure ring on the embedded database, or a server with NEONHUB_DEVELOPMENT=1, with a warning', () => {
    for (const env of [
      {},
      ...[remote, ...loopback].map((DATABASE_URL) => ({ DATABASE_URL, NEONHUB_DEVELOPMENT: '1' })),
    ]) {
      const warnings: string[] = [];
      const ring = loadKeyRing(
        { ...env, NODE_ENV: 'production', NEONHUB_CREDENTIAL_KEYS: '  ' },
        { warn: (message) => warnings.push(message) },
      );
      expect(ring.keyIds).toEqual([DEV_KEY_ID]);
      expect(ring.insecure).toBe(true);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/public development credential key/);
    }
    expect(() => loadKeyRing({ NEONHUB_CREDENTIAL_KEY_ID: 'key-a' }, quiet)).toThrow(
      /NEONHUB_CREDENTIAL_KEY_ID is set but NEONHUB_CREDENTIAL_KEYS holds no keys/,
    );
    // Stable across processes, so a laptop database stays readable after a restart.
    const { ciphertext } = encryptSecret(loadKeyRing({}, quiet), SECRET, ctx);
    expect(decryptSecretText(loadKeyRing({}, quiet), ciphertext, ctx)).toBe(SECRET);
  });

  it('uses it anywhere when asked for explicitly with NEONHUB_CREDENTIAL_KEYS=dev, still warning', () => {
    const warnings: string[] = [];
    const ring = loadKeyRing(
      { DATABASE_URL: remote, NODE_ENV: 'production', NEONHUB_CREDENTIAL_KEYS: 'dev' },
      { warn: (message) => warnings.push(message) },
    );
    expect(ring.insecure).toBe(true);
    expect(warnings.join('\n')).toMatch(/NEONHUB_CREDENTIAL_KEYS=dev/);
  });

  it('refuses to start without keys for any server, loopback or not, whatever NODE_ENV says', () => {
    const refusals: string[] = [];
    const NODE_ENVS = [undefined, 'production', 'prod', 'Production', 'staging', 'development', 'test'];
    for (const DATABASE_URL of [remote, ...loopback]) {
      for (const NODE_ENV of NODE_ENVS) {
        try {
          loadKeyRing({ DATABASE_URL, NODE_ENV }, quiet);
        } catch (error) {
          refusals.push((error as Error).message);
        }
      }
    }
    const tried = (loopback.length + 1) * NODE_ENVS.length;
    console.log(
      `loadKeyRing: ${refusals.length} of ${tried} servers and NODE_ENV values refused without keys`,
    );
    expect(refusals).toHaveLength(tried);
    expect(refusals[0]).toMatch(
      /NEONHUB_CREDENTIAL_KEYS is not set and the database is not the embedded one/,
    );
    expect(refusals[0]).toMatch(/NEONHUB_DEVELOPMENT=1/);
    expect(refusals[0]).not.toContain('secret');
    // The caller that knows its target decides, whatever DATABASE_URL says.
    expect(() => loadKeyRing({}, { ...quiet, developmentAllowed: false })).toThrow(/not set/);
    expect(loadKeyRing({ DATABASE_URL: remote }, { ...quiet, developmentAllowed: true }).insecure).toBe(true);
  });

  it('refuses the development key listed among the keys of a server that is not a development database', () => {
    const devLine = `${DEV_KEY_ID}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;
    for (const DATABASE_URL of [remote, ...loopback]) {
      expect(() => loadKeyRing({ DATABASE_URL, NEONHUB_CREDENTIAL_KEYS: devLine })).toThrow(
        /public development key "dev-insecure" is refused outside a development database/,
      );
    }
    expect(loadKeyRing({ NEONHUB_CREDENTIAL_KEYS: devLine }).keyIds).toEqual([DEV_KEY_ID]);
  });

  it('accepts lines made by generateKeyRingEntry', () => {
    const line = generateKeyRingEntry('2025-01');
    expect(line).toMatch(/^2025-01:[A-Za-z0-9+/]{43}=$/);
    expect(generateKeyRingEntry('2025-01')).not.toBe(line);
    const ring = loadKeyRing({ DATABASE_URL: remote, NODE_ENV: 'production', NEONHUB_CREDENTIAL_KEYS: line });
    expect(ring.activeKeyId).toBe('2025-01');
    expect(() => generateKeyRingEntry('no spaces')).toThrow(/invalid credential key id/);
  });
});

describe('rewrapSecret (key rotation)', () => {
  const PAYLOAD_BYTES = 12 + 16; // data IV + tag, followed by the data ciphertext

  it('moves rows from key A to key B without touching the data ciphertext', () => {
    const rows = Array.from({ length: 20 }, (_, i) => {
      const rowCtx = { ...ctx, rowId: `row-${i}` };
      const secret = `token-${i}-${randomBytes(8).toString('hex')}`;
      return { rowCtx, secret, ...encryptSecret(ringA, secret, rowCtx) };
    });
    expect(rows.every((row) => row.keyId === 'key-a')).toBe(true);

    const rotating = createKeyRing(
      [
        { id: 'key-a', key: keyA },
        { id: 'key-b', key: keyB },
      ],
      'key-b',
    );
    const onlyB = createKeyRing([{ id: 'key-b', key: keyB }]);

    for (const row of rows) {
      const rewrapped = rewrapSecret(rotating, row.ciphertext, row.rowCtx);
      expect(rewrapped.changed).toBe(true);
      expect(rewrapped.keyId).toBe('key-b');
      expect(keyIdOf(rewrapped.ciphertext)).toBe('key-b');
      // The data part (IV, tag, ciphertext) is carried over byte for byte.
      const tail = row.ciphertext.subarray(row.ciphertext.length - PAYLOAD_BYTES - row.secret.length);
      expect(rewrapped.ciphertext.subarray(rewrapped.ciphertext.length - tail.length).equals(tail)).toBe(
        true,
      );
      expect(rewrapped.ciphertext.length).toBe(row.ciphertext.length);
      // Key A can be retired: B alone decrypts.
      expect(decryptSecretText(onlyB, rewrapped.ciphertext, row.rowCtx)).toBe(row.secret);
      expect(decryptError(() => decryptSecret(ringA, rewrapped.ciphertext, row.rowCtx)).code).toBe(
        'unknown_key',
      );
      // The context binding survives rotation.
      expect(decryptError(() => decryptSecret(onlyB, rewrapped.ciphertext, ctx)).code).toBe(
        'tampered_or_wrong_context',
      );

      const again = rewrapSecret(rotating, rewrapped.ciphertext, row.rowCtx);
      expect(again.changed).toBe(false);
      expect(again.keyId).toBe('key-b');
      expect(again.ciphertext.equals(rewrapped.ciphertext)).toBe(true);
    }
    console.log(`rotated ${rows.length} rows from key-a to key-b`);
  });

  it('refuses to re-wrap a damaged or misplaced ciphertext', () => {
    const rotating = createKeyRing(
      [
        { id: 'key-a', key: keyA },
        { id: 'key-b', key: keyB },
      ],
      'key-b',
    );
    const { ciphertext } = encryptSecret(ringA, SECRET, ctx);
    const damaged = Buffer.from(ciphertext);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 1;
    expect(decryptError(() => rewrapSecret(rotating, damaged, ctx)).code).toBe('tampered_or_wrong_context');
    const elsewhere = { ...ctx, rowId: 'another-row' };
    expect(decryptError(() => rewrapSecret(rotating, ciphertext, elsewhere)).code).toBe(
      'tampered_or_wrong_context',
    );
    const onlyB = createKeyRing([{ id: 'key-b', key: keyB }]);
    expect(decryptError(() => rewrapSecret(onlyB, ciphertext, ctx)).code).toBe('unknown_key');
  });
});
