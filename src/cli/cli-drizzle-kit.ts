import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb } from '../client/client.ts';
import { drizzleLine, drizzleVersion } from '../client/drizzle-internals.ts';
import { btreeIndexBounds, oversizedIndexes } from '../operator/index-bounds.ts';
import { defaultMigrationsFolder, migrate } from '../operator/migrate.ts';
import {
  describeTableHookGaps,
  findTableHookGaps,
  migrationNeedsTableHooks,
  tableHooksMigration,
} from '../operator/table-hooks.ts';

// The neonhub-db commands that drive drizzle-kit: generate (with the tenant hooks step), the drift
// and table-hooks check.

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/**
 * Refuses `command` when drizzle-orm 1.0 is installed: drizzle/ is written by drizzle-kit 0.31 (its
 * snapshots are in 0.31's format), which runs with drizzle-orm 0.45 only and refuses 1.0 with a
 * message that asks for a newer drizzle-kit.
 */
export function assertDrizzleKitLine(command: string): void {
  if (drizzleLine === '1.0')
    throw new Error(
      `${command} drives drizzle-kit 0.31, which runs with drizzle-orm 0.45 only, and drizzle-orm ${drizzleVersion} is installed; ` +
        'migrate, setup, studio and drizzle-kit 1.0\'s migrate work on both (README: "drizzle-orm 0.45 and 1.0")',
    );
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
export function generate(args: string[], name: string | undefined): void {
  assertDrizzleKitLine('generate');
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
  assertDrizzleKitLine('check');
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
