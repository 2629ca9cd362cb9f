import type * as orm from 'drizzle-orm';
import type * as pgCore from 'drizzle-orm/pg-core';
import type { OnDrizzle1 } from '../schema/drizzle-line.ts';
import type * as schema from '../schema/index.ts';

// The database and transaction types of the installed drizzle-orm line: 0.45's classes, typed by the
// schema (its `db.query` included), or 1.0's, whose `db.query` reads relations made at run time.
// Each line lacks the other's names: those aliases are unresolved there (the @ts-ignore above each)
// and never chosen.

type S = typeof schema;
type H = pgCore.PgQueryResultHKT;
/** The schema's tables: 1.0's `db.query` has a builder for each. */
type TableKeys = { [K in keyof S]: S[K] extends pgCore.PgTable ? K : never }[keyof S];
// biome-ignore lint/suspicious/noExplicitAny: 1.0's relations are made at run time (relationsForDrizzle1)
type RuntimeRelations = { [K in TableKeys]: any };

// @ts-ignore: drizzle-orm 0.45 only
type Database045 = pgCore.PgDatabase<H, S, orm.ExtractTablesWithRelations<S>>;
// @ts-ignore: drizzle-orm 0.45 only
type Transaction045 = pgCore.PgTransaction<H, S, orm.ExtractTablesWithRelations<S>>;
// @ts-ignore: drizzle-orm 1.0 only
type Database1 = pgCore.PgAsyncDatabase<H, RuntimeRelations>;
// @ts-ignore: drizzle-orm 1.0 only
type Transaction1 = pgCore.PgAsyncTransaction<H, RuntimeRelations>;

/**
 * Whether the schema's tables carry the installed line's types. The published declarations are the
 * 0.45 build's: a service on 1.0 reads 0.45-shaped tables, which 1.0's query builders refuse, so
 * there the database and transaction stay untyped rather than reject every query. (Checking the
 * source against 1.0 infers the tables with 1.0 and gets its classes.)
 */
type TablesFitLine = S['organizations'] extends pgCore.PgTable ? true : false;
// biome-ignore lint/suspicious/noExplicitAny: a database typed for tables of another Drizzle line
type Untyped = any;

export type LineDatabase = OnDrizzle1 extends true
  ? TablesFitLine extends true
    ? Database1
    : Untyped
  : Database045;
export type LineTransaction = OnDrizzle1 extends true
  ? TablesFitLine extends true
    ? Transaction1
    : Untyped
  : Transaction045;

// @ts-ignore: drizzle-orm 0.45 only
type Prepared045<C extends pgCore.PreparedQueryConfig> = pgCore.PgPreparedQuery<C>;
// @ts-ignore: drizzle-orm 1.0 only
type Prepared1<C extends pgCore.PreparedQueryConfig> = pgCore.PgAsyncPreparedQuery<C>;

/** A query made with `.prepare(name)`, on the installed line. */
export type LinePreparedQuery<C extends pgCore.PreparedQueryConfig> = OnDrizzle1 extends true
  ? Prepared1<C>
  : Prepared045<C>;
