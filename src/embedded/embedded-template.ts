import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { MemoryFS, PGlite } from '@electric-sql/pglite';
import type { Filesystem } from '@electric-sql/pglite/basefs';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import { installedVersion } from '../base/packages.ts';

// A new embedded database starts as a copy of an initialised, empty cluster (what initdb writes)
// instead of running initdb: initdb takes 3 to 20 seconds and more on a busy machine, a copy well
// under one. The cluster is made once per PGlite version, by the first new database, and kept in
// the user's cache directory (NEONHUB_CACHE_DIR, else $XDG_CACHE_HOME/neonhub-db or
// ~/.cache/neonhub-db); without a writable one, a new database runs initdb as before.

/** What a cached cluster was made with. */
export const pgliteVersion = installedVersion('@electric-sql/pglite');

/**
 * PostgreSQL's arguments for every embedded start: PGlite's, with 32 MB of shared buffers instead of
 * 128 MB, since each start allocates and clears all of them (128 MB cost 0.7 s of CPU per start, a
 * CLI command or a test file's database; 32 MB still holds the demo data and a test's rows).
 */
export const pgliteStartParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

/** The directory cached clusters are kept in: NEONHUB_CACHE_DIR, else the user's cache directory. */
export function cacheDir(): string {
  return (
    process.env.NEONHUB_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'neonhub-db')
  );
}

/** Where the initialised cluster of this PGlite version is kept. */
export function clusterTemplateDir(): string {
  return path.join(cacheDir(), `pglite-${pgliteVersion}-cluster`);
}

const making = new Map<string, Promise<string | undefined>>();

/**
 * The cached cluster `dir`, made first by `build` (given a directory of its own) if need be:
 * undefined when it cannot be kept. Concurrent callers in one process share one build.
 */
export function cachedCluster(
  dir: string,
  build: (partial: string) => Promise<void>,
): Promise<string | undefined> {
  if (existsSync(path.join(dir, 'PG_VERSION'))) return Promise.resolve(dir);
  let made = making.get(dir);
  if (!made) {
    made = makeCached(dir, build).finally(() => making.delete(dir));
    making.set(dir, made);
  }
  return made;
}

/** Built in a directory of its own and shut down cleanly by `build`, then renamed into place whole. */
async function makeCached(
  dir: string,
  build: (partial: string) => Promise<void>,
): Promise<string | undefined> {
  const partial = `${dir}.${randomBytes(4).toString('hex')}.partial`;
  try {
    await mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
    await build(partial);
    // Another process may have put one there meanwhile: either is as good.
    await rename(partial, dir).catch(() => rm(partial, { recursive: true, force: true }));
    return existsSync(path.join(dir, 'PG_VERSION')) ? dir : undefined;
  } catch {
    await rm(partial, { recursive: true, force: true }).catch(() => {});
    return undefined;
  }
}

/** The initialised cluster's directory, made first (initdb) if need be; undefined when it cannot be kept. */
export function clusterTemplate(): Promise<string | undefined> {
  return cachedCluster(clusterTemplateDir(), async (partial) => {
    await (await PGlite.create({ dataDir: partial })).close();
  });
}

/** A data dir on disk that starts, when new, as a copy of the initialised cluster. */
class TemplatedNodeFS extends NodeFS {
  override async init(...args: Parameters<NodeFS['init']>) {
    if (!existsSync(path.join(this.rootDir, 'PG_VERSION'))) {
      const template = await clusterTemplate();
      if (template) await cp(template, this.rootDir, { recursive: true });
    }
    return super.init(...args);
  }
}

/** A data dir in memory that starts as a copy of a data dir on disk, when `source` gives one. */
class CopiedMemoryFS extends MemoryFS {
  constructor(private readonly source: () => Promise<string | undefined>) {
    super();
  }

  override async initialSyncFs() {
    await super.initialSyncFs();
    const from = await this.source();
    const fs = this.pg?.Module.FS;
    if (!from || !fs) return;
    // One write per file, of its whole size: a tar (loadDataDir) is read in pieces and grows every file.
    const copy = (source: string, to: string) => {
      fs.mkdirTree(to);
      for (const entry of readdirSync(source, { withFileTypes: true })) {
        const file = path.join(source, entry.name);
        if (entry.isDirectory()) copy(file, `${to}/${entry.name}`);
        else fs.writeFile(`${to}/${entry.name}`, readFileSync(file));
      }
    };
    copy(from, PGlite.paths.PGDATA);
  }
}

/**
 * A data dir in memory that starts as a copy of the data dir `from` (closed, on disk): tests open
 * their migrated template this way, in half the time of loading its dump.
 */
export const memoryCopyOf = (from: string): Filesystem => new CopiedMemoryFS(async () => from);

/** PGlite's file system for `dataDir` (`memory://` or a directory), new ones copied from the cluster. */
export const templatedFs = (dataDir: string): Filesystem =>
  dataDir.startsWith('memory://') ? new CopiedMemoryFS(clusterTemplate) : new TemplatedNodeFS(dataDir);
