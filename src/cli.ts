#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePartitions } from './audit.ts';
import { citusDistributionPlan } from './citus.ts';
import { createDb, type DbHandle, defaultDataDir, openPglite } from './client.ts';
import { ConnectionError, MigrationError, ServerRequirementError } from './errors.ts';
import { defaultMigrationsFolder, migrate, planMigrations, readMigrations } from './migrate.ts';
import * as schema from './schema/index.ts';
import { seed } from './seed/index.ts';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const usage = `neonhub-db <command>

  setup     migrate, then seed the demo organization (the quick start)
  migrate   apply pending migrations under an advisory lock
  seed      insert the demo data (idempotent)
  reset     drop everything, then setup (local databases only, unless --force)
  status    server and pgvector versions, applied and pending migrations
  studio    browse the database with Drizzle Studio
  check     drift check: the schema and drizzle/ agree (drizzle-kit generate + check)
  maintain  create monthly partitions ahead of time (run daily)
  citus     print the SQL that distributes this schema on Citus by organization
  ingest    load a JSONL file of documents into a dataset (bulk path, progress bar): ingest --help

Uses DATABASE_URL when set, else the embedded PostgreSQL in .data/ (NEONHUB_DATA_DIR overrides).`;

const say = (line: string) => process.stdout.write(`${line}\n`);

function describe(handle: DbHandle): string {
  return handle.target.kind === 'server'
    ? `PostgreSQL at ${handle.target.display}`
    : `embedded PostgreSQL in ${path.relative(process.cwd(), handle.target.dataDir) || '.'}`;
}

async function runMigrate(handle: DbHandle): Promise<void> {
  say(`migrating ${describe(handle)}`);
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
}

async function runSeed(handle: DbHandle): Promise<void> {
  say('seeding the demo organization');
  const result = await seed(handle.db, { onDomain: (name) => say(`  ${name}`) });
  const created = Object.entries(result.created).filter(([, count]) => count > 0);
  say(
    created.length === 0
      ? '  nothing new: the demo data is already there'
      : `  created ${created.map(([table, count]) => `${count} ${table}`).join(', ')}`,
  );
  say(`  demo organization ${result.organizationId}, owner user ${result.ownerUserId}`);
}

async function status(handle: DbHandle): Promise<void> {
  const [versions] = await handle.sql.query<{ server: string; vector: string | null }>(
    `select current_setting('server_version') as server, (select extversion from pg_extension where extname = 'vector') as vector`,
  );
  say(describe(handle));
  say(`  server ${versions?.server}, pgvector ${versions?.vector ?? 'not installed'}`);
  const journal = readMigrations();
  const [ledgerTable] = await handle.sql.query<{ exists: boolean }>(
    `select to_regclass('drizzle.__drizzle_migrations') is not null as exists`,
  );
  const ledger = ledgerTable?.exists
    ? await handle.sql.query<{ hash: string; created_at: string }>(
        'select hash, created_at from drizzle.__drizzle_migrations order by created_at',
      )
    : [];
  const pending = planMigrations(journal, ledger);
  say(`  migrations: ${ledger.length} applied, ${pending.length} pending`);
  for (const migration of pending) say(`    pending ${migration.tag}`);
}

const isLocal = (handle: DbHandle) =>
  handle.target.kind === 'embedded' ||
  /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1)[:/]/.test(handle.target.display);

async function reset(force: boolean): Promise<void> {
  let handle = createDb();
  if (!isLocal(handle) && !force) {
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
    handle = createDb({ dataDir });
  } else {
    await handle.sql.exec(
      'drop schema if exists drizzle cascade; drop schema public cascade; create schema public;',
    );
  }
  try {
    await runMigrate(handle);
    await runSeed(handle);
  } finally {
    await handle.close();
  }
}

// drizzle-kit exports no bin subpath: find bin.cjs beside its main entry.
const require = createRequire(import.meta.url);
const drizzleKitBin = () => path.join(path.dirname(require.resolve('drizzle-kit')), 'bin.cjs');

function drizzleKit(args: string[]) {
  return spawnSync(process.execPath, [drizzleKitBin(), ...args], { cwd: packageRoot, encoding: 'utf8' });
}

/** Generates into a copy of drizzle/: a clean checkout must produce no new migration. */
function check(): void {
  const scratch = mkdtempSync(path.join(tmpdir(), 'neonhub-drift-'));
  try {
    const out = path.join(scratch, 'drizzle');
    spawnSync('cp', ['-r', defaultMigrationsFolder, out]);
    const before = readdirSync(out).length;
    // drizzle-kit reads --out relative to the working directory even when it is absolute.
    const relativeOut = path.relative(packageRoot, out);
    const generate = drizzleKit([
      'generate',
      '--dialect',
      'postgresql',
      '--schema',
      './src/schema/index.ts',
      '--out',
      relativeOut,
    ]);
    if (generate.status !== 0)
      throw new Error(`drizzle-kit generate failed: ${(generate.stderr || generate.stdout).trim()}`);
    const added = readdirSync(out).filter((file) => file.endsWith('.sql')).length - (before - 1);
    if (added > 0 || !/No schema changes/.test(generate.stdout)) {
      throw new Error(
        'drift: the schema and drizzle/ disagree; run `npm run db:generate -- --name <verb_noun>` and commit the migration',
      );
    }
    say('  drizzle-kit generate: no schema changes');
    const checked = drizzleKit(['check', '--dialect', 'postgresql', '--out', relativeOut]);
    if (checked.status !== 0)
      throw new Error(`drizzle-kit check failed: ${(checked.stderr || checked.stdout).trim()}`);
    say('  drizzle-kit check: migrations are consistent');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function studio(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const result = spawnSync(process.execPath, [drizzleKitBin(), 'studio'], {
      cwd: packageRoot,
      stdio: 'inherit',
    });
    process.exitCode = result.status ?? 1;
    return;
  }
  // drizzle-kit's own PGlite driver opens the data dir without pgvector, which cannot read it.
  const dataDir = defaultDataDir();
  if (!existsSync(dataDir))
    throw new Error(`no embedded database in ${dataDir}: run \`npm run db:setup\` first`);
  const { startStudioPostgresServer } = require('drizzle-kit/api') as typeof import('drizzle-kit/api');
  const port = Number(process.env.STUDIO_PORT ?? 4983);
  await startStudioPostgresServer(schema, { driver: 'pglite', client: openPglite(dataDir) }, { port });
  say(`Drizzle Studio on the embedded database: https://local.drizzle.studio?port=${port} (Ctrl-C to stop)`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const force = rest.includes('--force');
  switch (command) {
    case 'check':
      say('drift check');
      return check();
    case 'studio':
      return studio();
    case 'reset':
      return reset(force);
    case 'citus': {
      const handle = createDb();
      try {
        for (const step of await citusDistributionPlan(handle.sql)) say(step.sql);
      } finally {
        await handle.close();
      }
      return;
    }
    case 'ingest': {
      const { ingestUsage, runIngest } = await import('./ingest-cli.ts');
      if (rest.includes('--help')) {
        say(ingestUsage);
        return;
      }
      const handle = createDb();
      try {
        return await runIngest(handle, rest, say);
      } finally {
        await handle.close();
      }
    }
    case 'setup':
    case 'migrate':
    case 'seed':
    case 'status':
    case 'maintain': {
      const handle = createDb();
      try {
        if (command === 'status') return await status(handle);
        if (command === 'maintain') {
          say(`maintaining ${describe(handle)}`);
          say(`  ${await ensurePartitions(handle.db)} partitions created`);
          return;
        }
        if (command !== 'seed') await runMigrate(handle);
        if (command !== 'migrate') await runSeed(handle);
      } finally {
        await handle.close();
      }
      return;
    }
    default:
      say(usage);
      if (command && command !== 'help' && command !== '--help') process.exitCode = 2;
  }
}

const known = [ConnectionError, ServerRequirementError, MigrationError];
main(process.argv.slice(2)).catch((error: unknown) => {
  const expected = known.some((kind) => error instanceof kind) || error instanceof Error;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`neonhub-db: ${message.split('\n')[0]}\n`);
  if (process.env.NEONHUB_DEBUG && expected) process.stderr.write(`${(error as Error).stack}\n`);
  process.exitCode = 1;
});
