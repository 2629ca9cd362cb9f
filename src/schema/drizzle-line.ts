import * as pgCore from 'drizzle-orm/pg-core';

/**
 * Which drizzle-orm line is installed: 0.45, or 1.0 (asynchronous databases, relations made by
 * `defineRelations`, zod schemas in drizzle-orm/zod). Read from what pg-core exports, not a version.
 */
export const drizzleLine: '0.45' | '1.0' = 'PgAsyncDatabase' in pgCore ? '1.0' : '0.45';

/** The same, for types: true when drizzle-orm 1.0 is installed. */
export type OnDrizzle1 = typeof pgCore extends { PgAsyncDatabase: unknown } ? true : false;

// Each line lacks the other's names: the alias naming them is unresolved there (the @ts-ignore
// above it) and never chosen.
// @ts-ignore: drizzle-orm 0.45 only
type ColumnBuilder045 = pgCore.PgColumnBuilderBase;
// @ts-ignore: drizzle-orm 1.0 only
type ColumnBuilder1 = pgCore.AnyPgColumnBuilder;

/** What pgTable takes for a column, on the installed line. */
export type LineColumnBuilder = OnDrizzle1 extends true ? ColumnBuilder1 : ColumnBuilder045;
