import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDb, type DbHandle, defaultDataDir, isLocalTarget } from '../client/client.ts';
import { describe, say, seconds } from './output.ts';

// The commands that make a database ready to use: migrate, seed (the demo and an app's own), status, reset.

/**
 * `migrate`, then `seed` when asked: on the database the environment names, where a new embedded
 * data dir starts as a copy of the cached migrated cluster (src/operator/migrated-cluster.ts).
 */
export async function setUp(seed: false | { appSeed?: string }, dataDir?: string): Promise<void> {
  const embedded = dataDir ?? (process.env.DATABASE_URL ? undefined : defaultDataDir());
  let copiedFrom: string | undefined;
  if (embedded) {
    const { startFromMigratedCluster } = await import('../operator/migrated-cluster.ts');
    copiedFrom = await startFromMigratedCluster(embedded);
  }
  const handle = createDb(embedded ? { dataDir: embedded } : {});
  try {
    await runMigrate(handle, copiedFrom);
    if (seed) await runSeed(handle, seed.appSeed);
  } finally {
    await handle.close();
  }
}

async function runMigrate(handle: DbHandle, copiedFrom?: string): Promise<void> {
  const { migrate } = await import('../operator/migrate.ts');
  say(`migrating ${describe(handle)}`);
  if (copiedFrom) say(`  created as a copy of the migrated cluster in ${copiedFrom}`);
  else if (handle.target.kind === 'embedded' && !existsSync(path.join(handle.target.dataDir, 'PG_VERSION')))
    say('  creating the embedded database (first run: a few seconds)');
  const result = await migrate(handle, {
    onProgress: (progress) => {
      if (progress.event === 'applied') {
        say(
          `  applied ${progress.migration} (${(progress.index ?? 0) + 1}/${progress.total}, ${Math.round(progress.ms ?? 0)} ms)`,
        );
      }
    },
  });
  say(
    result.applied.length === 0
      ? `  up to date (${result.alreadyApplied} migrations applied earlier)`
      : `  ${result.applied.length} applied, ${result.alreadyApplied} already there`,
  );
  const serviceKey = {
    registered: '  service key registered (person scopes and tenant key changes are proved with it)',
    present: '  service key present',
    'other key ring':
      '  warning: the service key was registered with another key ring: person scopes and key changes will be refused with this one',
    'no key ring':
      '  no key ring (NEONHUB_CREDENTIAL_KEYS): the service key is not registered yet; run migrate again with the ring before the first person scope',
    'no table yet': '  the service key waits for the migration that makes its table',
  }[result.serviceKey];
  say(serviceKey);
}

/** What an app's seed module (`--seed <module>` or NEONHUB_SEED) receives as its default export's argument. */
interface AppSeedContext {
  db: DbHandle['db'];
  organizationId: string;
  ownerUserId: string;
}

export async function runSeed(handle: DbHandle, appSeed?: string): Promise<void> {
  const { seed } = await import('../seed/index.ts');
  say('seeding the demo organization');
  const started = performance.now();
  let domainStarted = started;
  let current = '';
  // Each domain's line is printed when it finishes, with its time, so a slow one shows which.
  const finishDomain = () => {
    if (current) say(`  ${current} (${seconds(domainStarted)})`);
  };
  const result = await seed(handle.db, {
    onDomain: (name) => {
      finishDomain();
      current = name;
      domainStarted = performance.now();
    },
  });
  finishDomain();
  const created = Object.entries(result.created).filter(([, count]) => count > 0);
  say(
    created.length === 0
      ? '  nothing new: the demo data is already there'
      : `  created ${created.map(([table, count]) => `${count} ${table}`).join(', ')}`,
  );
  say(`  demo organization ${result.organizationId}, owner user ${result.ownerUserId} (${seconds(started)})`);
  if (appSeed) {
    const appStarted = performance.now();
    say(`seeding the app: ${appSeed}`);
    const module = (await importAppModule(appSeed)) as { default?: unknown };
    if (typeof module.default !== 'function')
      throw new Error(
        `${appSeed} has no default export function (it receives { db, organizationId, ownerUserId })`,
      );
    const context: AppSeedContext = {
      db: handle.db,
      organizationId: result.organizationId,
      ownerUserId: result.ownerUserId,
    };
    await module.default(context);
    say(`  done (${seconds(appStarted)})`);
  }
}

/** Imports an app's module; a TypeScript one under the built CLI goes through the app's own tsx. */
async function importAppModule(file: string): Promise<unknown> {
  const url = pathToFileURL(path.resolve(file)).href;
  try {
    return await import(url);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    let tsxLoader: string;
    try {
      tsxLoader = createRequire(path.join(process.cwd(), 'package.json')).resolve('tsx/esm');
    } catch {
      throw new Error(
        `${file} is TypeScript: install tsx in the app (npm install -D tsx), or pass a .js module`,
      );
    }
    // Importing tsx/esm registers its loader hooks, as `node --import tsx/esm` does.
    await import(pathToFileURL(tsxLoader).href);
    // A new URL: the loader remembers the failed import of the first one.
    return import(`${url}?tsx`);
  }
}

export async function status(handle: DbHandle): Promise<void> {
  const { planMigrations, readLedger, readMigrations } = await import('../operator/migrate.ts');
  const [versions] = await handle.sql.query<{ server: string; vector: string | null }>(
    `select current_setting('server_version') as server, (select extversion from pg_extension where extname = 'vector') as vector`,
  );
  say(describe(handle));
  say(`  server ${versions?.server}, pgvector ${versions?.vector ?? 'not installed'}`);
  const journal = readMigrations();
  const { rows: ledger } = await readLedger(handle.sql);
  const pending = planMigrations(journal, ledger);
  say(`  migrations: ${ledger.length} applied, ${pending.length} pending`);
  for (const migration of pending) say(`    pending ${migration.tag}`);
}

// `public` as CREATE DATABASE makes it on PostgreSQL 15+: owned by pg_database_owner, usage for everyone.
const FRESH_PUBLIC_SCHEMA = [
  'drop schema if exists drizzle cascade',
  'drop schema public cascade',
  'create schema public authorization pg_database_owner',
  'grant usage on schema public to public',
  "comment on schema public is 'standard public schema'",
].join('; ');

export async function reset(force: boolean, appSeed?: string): Promise<void> {
  const handle = createDb();
  if (!isLocalTarget(handle.target) && !force) {
    await handle.close();
    throw new Error(
      `refusing to reset ${describe(handle)}: not a local database (pass --force if you mean it)`,
    );
  }
  say(`resetting ${describe(handle)}`);
  if (handle.target.kind === 'embedded') {
    const { dataDir } = handle.target;
    await handle.close();
    rmSync(dataDir, { recursive: true, force: true });
    return setUp({ appSeed }, dataDir);
  }
  try {
    await handle.sql.exec(FRESH_PUBLIC_SCHEMA);
  } finally {
    await handle.close();
  }
  return setUp({ appSeed });
}
