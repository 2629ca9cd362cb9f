import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Column, eq, type InferSelectModel, type Table } from 'drizzle-orm';
import { installedVersion } from '../../src/base/packages.ts';
import { drizzleLine } from '../../src/client/drizzle-internals.ts';

// What differs for the tests between the Drizzle lines the package runs on (0.45 and 1.0).

/** @auth/drizzle-adapter 1.11 imports drizzle-orm 0.45's `BaseSQLiteDatabase`, which 1.0 does not export. */
export const authAdapterLoads = drizzleLine === '0.45';

/** Statement capture (the tenant check) patches drizzle-orm 0.45's query builders; 1.0 renamed them. */
export const statementCaptureRuns = drizzleLine === '0.45';

/** drizzle/ is written by drizzle-kit 0.31 (generate, check), which runs with drizzle-orm 0.45 only. */
export const drizzleKitGenerates = drizzleLine === '0.45';

/** The drizzle-kit installed where the tests run. */
export const drizzleKitEntry = createRequire(import.meta.url).resolve('drizzle-kit');
export const drizzleKitVersion = installedVersion('drizzle-kit', import.meta.url);

/** drizzle-kit pairs with one drizzle-orm line: 0.31 with 0.45, 1.0 with 1.0 (each refuses the other). */
export const drizzleKitPaired = drizzleKitVersion.startsWith('0.') === (drizzleLine === '0.45');

export const drizzleKitBin = path.join(path.dirname(drizzleKitEntry), 'bin.cjs');
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

/** `drizzle-kit migrate` on `url` with the package's drizzle.config.ts (or `config`), as a deploy runs it. */
export const runDrizzleKitMigrate = (url: string, config = path.join(packageRoot, 'drizzle.config.ts')) =>
  spawnSync(process.execPath, [drizzleKitBin, 'migrate', '--config', config], {
    cwd: packageRoot,
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });

// Relational queries (`tx.query.x.findMany`) filter and order in each line's own syntax: 0.45 takes
// SQL (`eq(column, value)`, a column), 1.0 objects keyed by field (`{ id: value }`).

type Field<T extends Table> = keyof InferSelectModel<T> & string;

const columnOf = <T extends Table>(table: T, field: Field<T>) =>
  (table as unknown as Record<string, Column>)[field] as Column;

/** `where` for "field equals value". */
export const whereEquals = <T extends Table>(table: T, field: Field<T>, value: unknown): never =>
  (drizzleLine === '1.0' ? { [field]: value } : eq(columnOf(table, field), value)) as never;

/** `orderBy` for "field ascending". */
export const orderByField = <T extends Table>(table: T, field: Field<T>): never =>
  (drizzleLine === '1.0' ? { [field]: 'asc' } : columnOf(table, field)) as never;
