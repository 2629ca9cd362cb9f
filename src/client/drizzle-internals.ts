import { createRequire } from 'node:module';
import type { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { PgDatabase, type PgDialect } from 'drizzle-orm/pg-core';
import { PostgresJsSession, PostgresJsTransaction } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import type { Database, Transaction } from './client.ts';

// Every use of Drizzle's non-public API, in one file: the scope runtime builds its own transactions
// on a reserved connection and rebinds prepared queries to them, which Drizzle has no public API
// for. `drizzleInternalsProblems` checks each shape relied on here; createDb runs it, and the
// contract test (test/drizzle-internals.test.ts) runs it on the installed Drizzle.

/** The installed drizzle-orm's version, for messages. */
export const drizzleVersion: string = (() => {
  try {
    return (createRequire(import.meta.url)('drizzle-orm/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** The driver under a database made by drizzle(): postgres.js's `Sql`, or a PGlite. */
export const driverOf = (db: Database | Transaction): unknown =>
  (db as unknown as { $client?: unknown }).$client;

/** A database's or transaction's session: scopes are keyed by it, and savepoints share it. */
export const sessionOf = (db: Database | Transaction): object =>
  (db as unknown as { session: object }).session;

/** The driver's transaction under a Drizzle transaction (postgres.js's for COPY, PGlite's for raw statements). */
export const transactionDriverOf = (tx: Transaction): unknown =>
  (tx as unknown as { session?: { client?: unknown } }).session?.client;

/** What a Drizzle prepared query is remade from (PgPreparedQuery's fields). */
type PreparedInternals = {
  getQuery(): { sql: string; params: unknown[] };
  fields?: unknown;
  _isResponseInArrayMode?: boolean;
  customResultMapper?: unknown;
  joinsNotNullableMap?: unknown;
  queryMetadata?: unknown;
  cacheConfig?: unknown;
  authToken?: unknown;
};

export const isPreparedQuery = (query: unknown): boolean =>
  typeof (query as PreparedInternals | undefined)?.getQuery === 'function';

/** `query` (prepared on any session) made again on `tx`'s session, from its text and fields. */
export function prepareOnSession<Q>(tx: Transaction, query: Q, name: string): Q {
  const prepared = query as unknown as PreparedInternals;
  const session = (tx as unknown as { session: { prepareQuery(...args: unknown[]): PreparedInternals } })
    .session;
  const bound = session.prepareQuery(
    prepared.getQuery(),
    prepared.fields,
    name,
    prepared._isResponseInArrayMode ?? true,
    prepared.customResultMapper,
    prepared.queryMetadata,
    prepared.cacheConfig,
  );
  bound.joinsNotNullableMap = prepared.joinsNotNullableMap;
  bound.authToken = prepared.authToken;
  return bound as unknown as Q;
}

/** What a scoped transaction is built from: the database's dialect and session (schema, options). */
type DrizzleInternals = {
  dialect: PgDialect;
  session: { schema: ConstructorParameters<typeof PostgresJsTransaction>[2]; options: object };
};

/**
 * A Drizzle transaction over `client`, a connection on which the caller sent BEGIN itself: every
 * statement of the transaction and of its savepoints goes through `client.unsafe`.
 */
export function transactionOn(
  db: Database,
  client: { unsafe: (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) => unknown },
): Transaction {
  const { dialect, session } = db as unknown as DrizzleInternals;
  const scopedSession = new PostgresJsSession(client as never, dialect, session.schema, session.options);
  return new SavepointTransaction(
    dialect,
    scopedSession as never,
    session.schema as never,
  ) as unknown as Transaction;
}

/** What a nested savepoint is built from (PgTransaction's protected fields). */
type TransactionInternals = {
  dialect: PgDialect;
  session: { execute(query: SQL): Promise<unknown> };
  schema: DrizzleInternals['session']['schema'];
  nestedIndex: number;
};

type TransactionArgs = ConstructorParameters<typeof PostgresJsTransaction<Record<string, unknown>, never>>;

/** Savepoints written out: a reserved connection has no postgres.js `savepoint()` helper. */
class SavepointTransaction extends PostgresJsTransaction<Record<string, unknown>, never> {
  constructor(dialect: PgDialect, session: TransactionArgs[1], schema: TransactionArgs[2], nestedIndex = 0) {
    // Built without the schema, the base skips one relational query builder per table on every
    // scope; `tx.query` builds them on first use.
    super(dialect, session, undefined, nestedIndex);
    const self = this as unknown as { schema: TransactionArgs[2]; _: object };
    self.schema = schema;
    if (!schema) return;
    self._ = {
      ...self._,
      schema: schema.schema,
      fullSchema: schema.fullSchema,
      tableNamesMap: schema.tableNamesMap,
    };
    Object.defineProperty(this, 'query', {
      configurable: true,
      enumerable: true,
      get: () => {
        const { query } = new PgDatabase(dialect, session, schema);
        Object.defineProperty(this, 'query', { value: query, enumerable: true });
        return query;
      },
    });
  }

  override async transaction<T>(
    fn: (tx: PostgresJsTransaction<Record<string, unknown>, never>) => Promise<T>,
  ): Promise<T> {
    const { dialect, session, schema, nestedIndex } = this as unknown as TransactionInternals;
    const name = sql.raw(`neonhub_sp${nestedIndex + 1}`);
    const nested = new SavepointTransaction(dialect, session as never, schema as never, nestedIndex + 1);
    await session.execute(sql`savepoint ${name}`);
    try {
      const result = await fn(nested);
      await session.execute(sql`release savepoint ${name}`);
      return result;
    } catch (error) {
      await session.execute(sql`rollback to savepoint ${name}`);
      throw error;
    }
  }
}

/**
 * What is missing of the internals this file relies on, on `db` (a database from createDb) and the
 * installed Drizzle: one line per shape, empty when all hold.
 */
export function drizzleInternalsProblems(db: Database): string[] {
  const problems: string[] = [];
  const expect = (holds: boolean, what: string) => {
    if (!holds) problems.push(what);
  };
  const internals = db as unknown as Partial<DrizzleInternals> & { $client?: unknown };
  const client = internals.$client;
  expect(
    (typeof client === 'function' && 'reserve' in client) ||
      (typeof client === 'object' && client !== null && 'exec' in client),
    'db.$client is the postgres.js Sql or the PGlite it was made with',
  );
  expect(typeof internals.dialect?.sqlToQuery === 'function', 'db.dialect is a PgDialect (sqlToQuery)');
  const session = internals.session as
    | (DrizzleInternals['session'] & { prepareQuery?: (...args: unknown[]) => unknown })
    | undefined;
  expect(
    typeof session?.schema?.tableNamesMap === 'object' && typeof session?.schema?.fullSchema === 'object',
    'db.session.schema holds fullSchema and tableNamesMap',
  );
  expect(typeof session?.options === 'object', 'db.session.options is an object');
  expect(
    typeof session?.prepareQuery === 'function' && session.prepareQuery.length >= 4,
    'session.prepareQuery(query, fields, name, isResponseInArrayMode, customResultMapper, queryMetadata, cacheConfig)',
  );
  expect(PostgresJsSession.length >= 3, 'new PostgresJsSession(client, dialect, schema, options)');
  expect(
    PostgresJsTransaction.length >= 3,
    'new PostgresJsTransaction(dialect, session, schema, nestedIndex)',
  );
  expect(
    typeof (PostgresJsTransaction.prototype as { transaction?: unknown }).transaction === 'function',
    'PostgresJsTransaction.prototype.transaction (savepoints)',
  );
  if (typeof session?.prepareQuery === 'function' && typeof internals.dialect?.sqlToQuery === 'function') {
    const prepared = session.prepareQuery(
      internals.dialect.sqlToQuery(sql`select 1`),
      undefined,
      'neonhub_contract',
      true,
    ) as Partial<PreparedInternals> | undefined;
    expect(typeof prepared?.getQuery === 'function', 'a prepared query has getQuery()');
    expect(
      typeof prepared?._isResponseInArrayMode === 'boolean',
      'a prepared query has _isResponseInArrayMode',
    );
    expect(
      prepared !== undefined && 'joinsNotNullableMap' in prepared,
      'a prepared query has joinsNotNullableMap',
    );
  }
  return problems;
}

/** The PGlite transaction a Drizzle transaction on the embedded database runs on. */
export const pgliteTransactionOf = (tx: Transaction): Pick<PGlite, 'query'> | undefined => {
  const driver = transactionDriverOf(tx) as Partial<Pick<PGlite, 'query'>> | undefined;
  return typeof driver?.query === 'function' ? (driver as Pick<PGlite, 'query'>) : undefined;
};

/** Rows of `db.execute(...)`, which postgres.js returns as an array and PGlite as `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
