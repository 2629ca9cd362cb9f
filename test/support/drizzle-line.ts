import { type Column, eq, type InferSelectModel, type Table } from 'drizzle-orm';
import { drizzleLine } from '../../src/client/drizzle-internals.ts';

// What differs for the tests between the Drizzle lines the package runs on (0.45 and 1.0).

/** @auth/drizzle-adapter 1.11 imports drizzle-orm 0.45's `BaseSQLiteDatabase`, which 1.0 does not export. */
export const authAdapterLoads = drizzleLine === '0.45';

/** Statement capture (the tenant check) patches drizzle-orm 0.45's query builders; 1.0 renamed them. */
export const statementCaptureRuns = drizzleLine === '0.45';

/**
 * drizzle-kit 0.31 (generate, check, Studio) runs with drizzle-orm 0.45 only; drizzle-kit 1.0 refuses
 * this package's migrations folder until it is converted to its own format.
 */
export const drizzleKitRuns = drizzleLine === '0.45';

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
