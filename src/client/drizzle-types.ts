import type * as orm from 'drizzle-orm';
import type * as pgCore from 'drizzle-orm/pg-core';
import type * as schema from '../schema/index.ts';

// The database and transaction types of the installed drizzle-orm line: 0.45's classes, typed by the
// schema (its `db.query` included), or 1.0's, whose `db.query` reads relations made at run time.
// Each line lacks the other's names: those aliases are unresolved there (the @ts-ignore above each)
// and never chosen.

type OnDrizzle1 = typeof pgCore extends { PgAsyncDatabase: unknown } ? true : false;
type S = typeof schema;
type H = pgCore.PgQueryResultHKT;
// biome-ignore lint/suspicious/noExplicitAny: 1.0's relations are made at run time (relationsForDrizzle1)
type RuntimeRelations = any;

// @ts-ignore: drizzle-orm 0.45 only
type Database045 = pgCore.PgDatabase<H, S, orm.ExtractTablesWithRelations<S>>;
// @ts-ignore: drizzle-orm 0.45 only
type Transaction045 = pgCore.PgTransaction<H, S, orm.ExtractTablesWithRelations<S>>;
// @ts-ignore: drizzle-orm 1.0 only
type Database1 = pgCore.PgAsyncDatabase<H, RuntimeRelations>;
// @ts-ignore: drizzle-orm 1.0 only
type Transaction1 = pgCore.PgAsyncTransaction<H, RuntimeRelations>;

export type LineDatabase = OnDrizzle1 extends true ? Database1 : Database045;
export type LineTransaction = OnDrizzle1 extends true ? Transaction1 : Transaction045;
