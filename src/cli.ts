#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { ensurePartitions, verifyAllAuditChains } from './api/audit.ts';
import { citusDistributionPlan } from './citus.ts';
import { createDb, type DbHandle, defaultDataDir, openPglite } from './client.ts';
import { isLocalDatabaseUrl, loadKeyRing } from './crypto.ts';
import { ConnectionError, MigrationError, ServerRequirementError } from './errors.ts';
import { isUuid } from './input.ts';
import { createServiceLogin } from './logins.ts';
import { defaultMigrationsFolder, migrate, planMigrations, readMigrations } from './migrate.ts';
import * as schema from './schema/index.ts';
import { runtimeOf } from './scope-runtime.ts';
import { seed } from './seed/index.ts';
import {
  describeTableHookGaps,
  findTableHookGaps,
  migrationNeedsTableHooks,
  tableHooksMigration,
} from './table-hooks.ts';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const usage = `neonhub-db <command>

  setup     migrate, then seed the demo organization (the quick start)
  migrate   apply pending migrations under an advisory lock
  seed      insert the demo data (idempotent)
  reset     drop everything, then setup (local databases only, unless --force)
  status    server and pgvector versions, applied and pending migrations
  studio    browse the database with Drizzle Studio (--port <n>, default 4983); --org <slug or id>
            shows one tenant as its scope sees it, whatever the login
  generate  drizzle-kit generate (--name <verb_noun>), plus the tenant hooks step for new tables
  check     drift check (drizzle-kit generate + check), then every tenant table of the migrations
            has forced RLS, its policy, its updated_at trigger and its neonhub_app grants
  maintain  create monthly partitions ahead of time (run daily)
  citus     print the SQL that distributes this schema on Citus by organization
  create-login <name> [--auth]
            create the role API services log in as (LOGIN, member of neonhub_app, nothing else);
            --auth: the Auth.js pool's login instead (member of neonhub_auth only);
            prints its password once (NEONHUB_LOGIN_PASSWORD sets it instead)
  ingest    load a JSONL file of documents into a dataset (bulk path, progress bar): ingest --help
  audit verify
            check every organization's audit trail against the key ring (exit 1 on any finding)

setup and seed also run an app's own seeds: --seed <module> (or NEONHUB_SEED), a module whose
default export receives { db, organizationId, ownerUserId } after the demo data.

Uses DATABASE_URL when set, else the embedded PostgreSQL in .data/ (NEONHUB_DATA_DIR overrides).`;

const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

function describe(handle: DbHandle): string {
  return handle.target.kind === 'server'
    ? `PostgreSQL at ${handle.target.display}`
    : `embedded PostgreSQL in ${path.relative(process.cwd(), handle.target.dataDir) || '.'}`;
}

async function runMigrate(handle: DbHandle): Promise<void> {
  say(`migrating ${describe(handle)}`);
  if (handle.target.kind === 'embedded' && !existsSync(path.join(handle.target.dataDir, 'PG_VERSION')))
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
}

/** What an app's seed module (`--seed <module>` or NEONHUB_SEED) receives as its default export's argument. */
interface AppSeedContext {
  db: DbHandle['db'];
  organizationId: string;
  ownerUserId: string;
}

async function runSeed(handle: DbHandle, appSeed?: string): Promise<void> {
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

// `public` as CREATE DATABASE makes it on PostgreSQL 15+: owned by pg_database_owner, usage for everyone.
const FRESH_PUBLIC_SCHEMA = [
  'drop schema if exists drizzle cascade',
  'drop schema public cascade',
  'create schema public authorization pg_database_owner',
  'grant usage on schema public to public',
  "comment on schema public is 'standard public schema'",
].join('; ');

async function reset(force: boolean, appSeed?: string): Promise<void> {
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
    await handle.sql.exec(FRESH_PUBLIC_SCHEMA);
  }
  try {
    await runMigrate(handle);
    await runSeed(handle, appSeed);
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

const migrationFiles = () =>
  new Set(readdirSync(defaultMigrationsFolder).filter((file) => file.endsWith('.sql')));

/**
 * `drizzle-kit generate` with the given arguments; when the new migration adds tables (or RLS,
 * policies, `updated_at`/`organization_id` columns), a custom migration after it runs
 * `SELECT app_install_table_hooks();`, which forces RLS and adds the trigger and grants.
 */
function generate(args: string[]): void {
  const before = migrationFiles();
  const result = spawnSync(process.execPath, [drizzleKitBin(), 'generate', ...args], {
    cwd: packageRoot,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`drizzle-kit generate failed (exit ${result.status ?? 'signal'})`);
  if (args.includes('--custom')) return;
  const added = [...migrationFiles()].filter((file) => !before.has(file)).sort();
  const needingHooks = added.filter((file) =>
    migrationNeedsTableHooks(readFileSync(path.join(defaultMigrationsFolder, file), 'utf8')),
  );
  const last = needingHooks.at(-1);
  if (!last) return;
  const name = `${option(args, 'name') || 'tables'}_hooks`;
  const withHooks = migrationFiles();
  const custom = drizzleKit(['generate', '--custom', '--name', name]);
  const hooksFile = [...migrationFiles()].find((file) => !withHooks.has(file));
  if (custom.status !== 0 || !hooksFile)
    throw new Error(`drizzle-kit generate --custom failed: ${(custom.stderr || custom.stdout).trim()}`);
  writeFileSync(
    path.join(defaultMigrationsFolder, hooksFile),
    tableHooksMigration(last.replace(/\.sql$/, '')),
  );
  say(`[✓] ${hooksFile}: SELECT app_install_table_hooks() for the tables of ${last}`);
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

async function auditVerify(handle: DbHandle): Promise<void> {
  const ring = loadKeyRing(process.env, {
    developmentAllowed: handle.target.kind === 'embedded' || isLocalDatabaseUrl(process.env.DATABASE_URL),
    warn: (message) => process.stderr.write(`${message}\n`),
  });
  say(`verifying audit trails in ${describe(handle)} with key ring ${ring}`);
  const results = await verifyAllAuditChains(handle.db, ring);
  for (const { organizationId, report } of results) {
    say(
      report.reason === null
        ? `  ${organizationId}: ${report.checked} rows verified up to head ${report.head.seq}`
        : `  ${organizationId}: BROKEN at sequence ${report.firstBrokenSeq} (${report.reason}), ${report.checked} rows verified before it`,
    );
  }
  const structural = results[0]?.report.structural ?? [];
  for (const problem of structural) say(`  structure: ${problem}`);
  const failed = results.filter(({ report }) => !report.intact).length;
  say(
    failed === 0 ? `  ${results.length} trails intact` : `  ${failed} of ${results.length} trails not intact`,
  );
  if (failed > 0) process.exitCode = 1;
}

/** Applies drizzle/ to a throwaway embedded database and checks what the tenant hooks give each tenant table. */
async function checkTableHooks(): Promise<void> {
  const started = performance.now();
  const handle = createDb({ dataDir: 'memory://' });
  try {
    await migrate(handle);
    const gaps = await findTableHookGaps(handle.sql);
    if (gaps.length > 0) {
      process.stderr.write(`${describeTableHookGaps(gaps)}\n`);
      throw new Error(
        `${gaps.length} tenant table(s) a tenant scope cannot use safely: ${gaps.map((gap) => gap.table).join(', ')}; end the migration that adds them with SELECT app_install_table_hooks(); (\`npm run db:generate\` adds that step)`,
      );
    }
    say(`  tenant tables: forced RLS, policy, updated_at trigger, neonhub_app grants (${seconds(started)})`);
  } finally {
    await handle.close();
  }
}

/** An organization by id, or by live slug (the owner reads organizations through neonhub_definer). */
async function organizationIdOf(handle: DbHandle, idOrSlug: string): Promise<string> {
  if (isUuid(idOrSlug)) return idOrSlug;
  const [row] = await handle.sql.query<{ id: string }>(
    'select id from organizations where slug = $1 and deleted_at is null',
    [idOrSlug],
  );
  if (!row) throw new Error(`no live organization with slug "${idOrSlug}" visible to this login`);
  return row.id;
}

/**
 * Drizzle Studio. With `--org`, every connection it makes runs as neonhub_app inside that
 * tenant's scope (role and scope key set for the session), so it shows what the tenant sees to
 * any login, superuser or not; without it, what the login itself may see.
 */
async function studio(port: number, org: string | undefined): Promise<void> {
  const url = process.env.DATABASE_URL;
  const handle = createDb();
  let scope: { organizationId: string; key: string } | undefined;
  try {
    if (org) {
      const organizationId = await organizationIdOf(handle, org);
      scope = { organizationId, key: await runtimeOf(handle.db).keyOf(organizationId) };
    }
  } finally {
    if (url || !scope) await handle.close();
  }
  if (url) {
    const scoped = new URL(url);
    if (scope) scoped.searchParams.set('options', `-c role=neonhub_app -c app.tenant_key=${scope.key}`);
    const result = spawnSync(process.execPath, [drizzleKitBin(), 'studio', '--port', String(port)], {
      cwd: packageRoot,
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: scoped.toString() },
    });
    process.exitCode = result.status ?? 1;
    return;
  }
  // drizzle-kit's own PGlite driver opens the data dir without pgvector, which cannot read it.
  const dataDir = defaultDataDir();
  if (!existsSync(dataDir))
    throw new Error(`no embedded database in ${dataDir}: run \`npm run db:setup\` first`);
  const { startStudioPostgresServer } = require('drizzle-kit/api') as typeof import('drizzle-kit/api');
  const pglite = scope ? (handle.db as unknown as { $client: PGlite }).$client : openPglite(dataDir);
  if (scope) {
    // One session for everything studio sends: scoped for its whole life.
    await pglite.query(
      `select set_config('role', 'neonhub_app', false), set_config('app.tenant_key', $1, false)`,
      [scope.key],
    );
  }
  await startStudioPostgresServer(schema, { driver: 'pglite', client: pglite }, { port });
  say(
    `Drizzle Studio on the embedded database${scope ? `, scoped to organization ${scope.organizationId}` : ''}: https://local.drizzle.studio?port=${port} (Ctrl-C to stop)`,
  );
}

/** The value after `--<name>` (or `--<name>=value`), if given. */
function option(args: string[], name: string): string | undefined {
  const inline = args.find((arg) => arg.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

function studioPort(args: string[]): number {
  const value = option(args, 'port') ?? process.env.STUDIO_PORT ?? '4983';
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`--port ${value}: not a TCP port (1 to 65535)`);
  return port;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const force = rest.includes('--force');
  const appSeed = option(rest, 'seed') ?? process.env.NEONHUB_SEED;
  switch (command) {
    case 'check':
      say('drift check');
      check();
      return checkTableHooks();
    case 'generate':
      return generate(rest);
    case 'studio':
      return studio(studioPort(rest), option(rest, 'org'));
    case 'reset':
      return reset(force, appSeed);
    case 'citus': {
      const handle = createDb();
      try {
        for (const step of await citusDistributionPlan(handle.sql)) say(step.sql);
      } finally {
        await handle.close();
      }
      return;
    }
    case 'create-login': {
      const name = rest.find((arg) => !arg.startsWith('--'));
      if (!name) {
        say(usage);
        process.exitCode = 2;
        return;
      }
      const handle = createDb();
      try {
        const role = rest.includes('--auth') ? 'auth' : 'app';
        const password = await createServiceLogin(handle, name, process.env.NEONHUB_LOGIN_PASSWORD, { role });
        say(`created login ${name} on ${describe(handle)}: a member of neonhub_${role}, nothing else`);
        if (!process.env.NEONHUB_LOGIN_PASSWORD) say(`  password (shown once): ${password}`);
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
    case 'audit': {
      if (rest[0] !== 'verify') {
        say(usage);
        process.exitCode = 2;
        return;
      }
      const handle = createDb();
      try {
        return await auditVerify(handle);
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
        if (command !== 'migrate') await runSeed(handle, appSeed);
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
