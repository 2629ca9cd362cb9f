import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cp, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { installedVersion } from '../base/packages.ts';
import { createDb } from '../client/client.ts';
import { takeDataDir } from '../embedded/embedded-guard.ts';
import { cacheDir, cachedCluster, pgliteVersion } from '../embedded/embedded-template.ts';
import { type Migration, migrateSchema, readMigrations } from './migrate.ts';

// A new embedded database about to be migrated starts as a copy of the cluster these migrations
// make, cached next to the initialised one (src/embedded/embedded-template.ts): applying every
// migration costs seconds of CPU, many more on a busy machine, and a copy a fraction of one. The
// cluster holds no secret of any database: `migrate` gives each copy its own ticket secret and
// registers its own key ring's service key.

/** Migrated clusters kept besides the newest (checkouts of other commits, other branches). */
const KEEP_OTHERS = 2;
const MIGRATED = /^pglite-.+-migrated-[0-9a-f]+$/;

/** Where the cluster of these migrations is kept: named by PGlite, pgvector and every migration's hash. */
export function migratedClusterDir(journal: Migration[] = readMigrations()): string {
  const key = createHash('sha256').update(`pgvector ${installedVersion('@electric-sql/pglite-pgvector')}`);
  for (const migration of journal) key.update(`\n${migration.tag} ${migration.hash}`);
  return path.join(cacheDir(), `pglite-${pgliteVersion}-migrated-${key.digest('hex').slice(0, 16)}`);
}

/** The migrated cluster's directory, made first if need be; undefined when it cannot be kept. */
export function migratedCluster(): Promise<string | undefined> {
  const dir = migratedClusterDir();
  return cachedCluster(dir, async (partial) => {
    const handle = createDb({ dataDir: partial });
    try {
      await migrateSchema(handle);
    } finally {
      await handle.close();
    }
    await pruneOtherClusters(dir);
  });
}

/** The least recently used migrated clusters go, so a cache does not grow with every new migration. */
async function pruneOtherClusters(newest: string): Promise<void> {
  const root = path.dirname(newest);
  const others = readdirSync(root)
    .filter((name) => MIGRATED.test(name) && name !== path.basename(newest))
    .map((name) => ({ dir: path.join(root, name), used: statSync(path.join(root, name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const { dir } of others.slice(KEEP_OTHERS)) await rm(dir, { recursive: true, force: true });
}

/**
 * A new data dir on disk becomes a copy of the migrated cluster (made first if need be), put in
 * place whole under the data dir's lock; returns the cluster's directory when it did. A data dir
 * that exists, or a cache that cannot be kept, is left to `migrate`, which then applies everything.
 */
export async function startFromMigratedCluster(dataDir: string): Promise<string | undefined> {
  if (dataDir.startsWith('memory://') || !isNew(dataDir)) return undefined;
  const cluster = await migratedCluster();
  if (!cluster) return undefined;
  // Creates the data dir (and its parents) empty, and takes its lock.
  const lock = takeDataDir(dataDir);
  const partial = `${dataDir}.${randomBytes(4).toString('hex')}.partial`;
  try {
    if (!isNew(dataDir)) return undefined;
    await cp(cluster, partial, { recursive: true });
    await rm(dataDir, { recursive: true, force: true });
    await rename(partial, dataDir);
    // Its modification time says when it was last used: what pruning keeps.
    const now = new Date();
    await utimes(cluster, now, now).catch(() => {});
    return cluster;
  } catch {
    await rm(partial, { recursive: true, force: true }).catch(() => {});
    return undefined;
  } finally {
    lock.release();
  }
}

const isNew = (dataDir: string) => !existsSync(dataDir) || readdirSync(dataDir).length === 0;
