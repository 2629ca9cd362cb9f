import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { migrate, readMigrations } from '../src/operator/migrate.ts';
import {
  migratedCluster,
  migratedClusterDir,
  startFromMigratedCluster,
} from '../src/operator/migrated-cluster.ts';
import { roles, users } from '../src/schema/index.ts';
import { warmEmbeddedEngine } from './support/database.ts';

// Every case runs on a cache of its own (NEONHUB_CACHE_DIR), never the user's.
const scratch = mkdtempSync(path.join(tmpdir(), 'neonhub-migrated-cluster-'));
const cache = path.join(scratch, 'cache');
const savedCacheDir = process.env.NEONHUB_CACHE_DIR;
const journal = readMigrations();
const opened: DbHandle[] = [];

beforeAll(async () => {
  process.env.NEONHUB_CACHE_DIR = cache;
  await warmEmbeddedEngine();
});
afterAll(async () => {
  await Promise.all(opened.map((handle) => handle.close()));
  if (savedCacheDir === undefined) delete process.env.NEONHUB_CACHE_DIR;
  else process.env.NEONHUB_CACHE_DIR = savedCacheDir;
  rmSync(scratch, { recursive: true, force: true });
});

/** A new data dir started from the cluster, opened, and the secrets of its rows read. */
async function startedDatabase(name: string) {
  const dataDir = path.join(scratch, name, 'pglite');
  const copiedFrom = await startFromMigratedCluster(dataDir);
  const handle = createDb({ dataDir });
  opened.push(handle);
  return { dataDir, copiedFrom, handle };
}

const secretsOf = (handle: DbHandle) =>
  handle.sql.query<{ name: string; verifier: Uint8Array }>(
    'select name, verifier from scope_secrets order by name',
  );

describe('the migrated cluster new embedded databases start from', () => {
  it('is made once in an empty cache, and the two most recently used of the others are kept', async () => {
    // Clusters of other migration sets, used three, two and one days ago.
    const day = 86_400_000;
    const others = [3, 2, 1].map((daysAgo) => {
      const dir = path.join(cache, `pglite-0.0.0-migrated-${'0'.repeat(15)}${daysAgo}`);
      mkdirSync(dir, { recursive: true });
      const when = new Date(Date.now() - daysAgo * day);
      utimesSync(dir, when, when);
      return path.basename(dir);
    });

    const dir = await migratedCluster();
    expect(dir).toBe(migratedClusterDir());
    expect(
      readdirSync(cache)
        .filter((name) => name.includes('-migrated-'))
        .sort(),
    ).toEqual([path.basename(migratedClusterDir()), others[1], others[2]].sort());
    const made = statSync(dir ?? '').ino;
    expect(await migratedCluster()).toBe(dir);
    expect(statSync(dir ?? '').ino).toBe(made);
  });

  it('starts a new data dir with every migration applied and no secret', async () => {
    const { copiedFrom, handle } = await startedDatabase('first');
    expect(copiedFrom).toBe(migratedClusterDir());
    const ledger = await handle.sql.query<{ hash: string }>(
      'select hash from drizzle.__drizzle_migrations order by created_at',
    );
    expect(ledger.map((row) => row.hash)).toEqual(journal.map((migration) => migration.hash));
    expect(await secretsOf(handle)).toEqual([]);
  });

  it('gives each database started from it a ticket secret of its own and its key ring service key, once migrated', async () => {
    const first = opened[0] as DbHandle;
    const { handle: second } = await startedDatabase('second');
    for (const handle of [first, second])
      expect(await migrate(handle)).toEqual({
        applied: [],
        alreadyApplied: journal.length,
        serviceKey: 'registered',
      });
    const [firstSecrets, secondSecrets] = [await secretsOf(first), await secretsOf(second)];
    expect(firstSecrets.map((row) => row.name)).toEqual(['service', 'ticket']);
    expect(secondSecrets.map((row) => row.name)).toEqual(['service', 'ticket']);
    expect(
      Buffer.from(secondSecrets[1]?.verifier ?? []).equals(Buffer.from(firstSecrets[1]?.verifier ?? [])),
    ).toBe(false);
    // A second migrate keeps the ticket secret: tickets in flight stay valid.
    await migrate(second);
    expect(await secretsOf(second)).toEqual(secondSecrets);

    // Tenant scopes, sealed with the new ticket secret, work.
    const [owner] = await second.db.insert(users).values({ email: 'owner@started.example' }).returning();
    const { organization } = await createOrganization(second.db, {
      slug: 'started',
      name: 'Started',
      ownerUserId: owner?.id ?? '',
    });
    const keys = await withTenant(second.db, organization.id, (tx) => tx.select().from(roles));
    expect(keys.length).toBeGreaterThan(0);
  });

  it('leaves a data dir that exists to migrate, and starts nothing without a cache it can keep', async () => {
    expect(await startFromMigratedCluster(path.join(scratch, 'first', 'pglite'))).toBeUndefined();

    const notADirectory = path.join(scratch, 'a-file');
    writeFileSync(notADirectory, '');
    process.env.NEONHUB_CACHE_DIR = notADirectory;
    try {
      expect(await migratedCluster()).toBeUndefined();
      const dataDir = path.join(scratch, 'uncached', 'pglite');
      expect(await startFromMigratedCluster(dataDir)).toBeUndefined();
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      process.env.NEONHUB_CACHE_DIR = cache;
    }
  });

  it('is named by every migration: an edited one gets a cluster of its own', () => {
    const edited = journal.map((migration, index) =>
      index === journal.length - 1 ? { ...migration, hash: `${migration.hash}0` } : migration,
    );
    expect(migratedClusterDir(edited)).not.toBe(migratedClusterDir(journal));
    expect(migratedClusterDir([...journal])).toBe(migratedClusterDir(journal));
  });
});
