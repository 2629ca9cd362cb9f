import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { createDb, type DbHandle, defaultDataDir, openPglite } from './client.ts';
import { btreeIndexBounds, oversizedIndexes } from './index-bounds.ts';
import { isUuid } from './input.ts';
import { defaultMigrationsFolder, migrate } from './migrate.ts';
import * as schema from './schema/index.ts';
import { runtimeOf } from './scope-runtime.ts';
import {
  describeTableHookGaps,
  findTableHookGaps,
  migrationNeedsTableHooks,
  tableHooksMigration,
} from './table-hooks.ts';

// The neonhub-db commands that drive drizzle-kit: generate (with the tenant hooks step), the drift
// and table-hooks check, and studio (scoped to one tenant with --org).

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

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
export function generate(args: string[], name: string | undefined): void {
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
  const hooksName = `${name || 'tables'}_hooks`;
  const withHooks = migrationFiles();
  const custom = drizzleKit(['generate', '--custom', '--name', hooksName]);
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
export function check(): void {
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

/**
 * Applies drizzle/ to a throwaway embedded database and checks what the tenant hooks give each tenant
 * table, and that every btree index's entries are bounded in bytes within btree's limit.
 */
export async function checkMigratedCatalog(): Promise<void> {
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
    const bounds = await btreeIndexBounds(handle.sql);
    const oversized = oversizedIndexes(bounds);
    if (oversized.length > 0) {
      process.stderr.write(`${oversized.join('\n')}\n`);
      throw new Error(
        `${oversized.length} btree index(es) whose entries could outgrow btree's limit: ${oversized.map((line) => line.split(' ')[0]).join(', ')}`,
      );
    }
    say(`  btree indexes: ${bounds.length} holding text, every entry bounded in bytes within btree's limit`);
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
export async function studio(port: number, org: string | undefined): Promise<void> {
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
