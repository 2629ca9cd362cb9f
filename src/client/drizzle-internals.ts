import type { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgDialect } from 'drizzle-orm/pg-core';
import * as pgCore from 'drizzle-orm/pg-core';
import { PostgresJsSession, PostgresJsTransaction } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { installedVersion } from '../base/packages.ts';
import { drizzleLine } from '../schema/drizzle-line.ts';
import type { Database, Transaction } from './client.ts';

// Every use of Drizzle's non-public API, in one file: the scope runtime builds its own transactions
// on a reserved connection and rebinds prepared queries to them, which Drizzle has no public API
// for. `drizzleInternalsProblems` checks each shape relied on here; createDb runs it, and the
// contract test (test/drizzle-internals.test.ts) runs it on the installed Drizzle.

/** The installed drizzle-orm's version, for messages. */
export const drizzleVersion: string = (() => {
  try {
    return installedVersion('drizzle-orm');
  } catch {
    return 'unknown';
  }
})();

export { drizzleLine };

/** A pg-core class each line names its own way (0.45's name, 1.0's). */
const lineClass = <C>(name045: string, name1: string): C =>
  (pgCore as Record<string, unknown>)[drizzleLine === '1.0' ? name1 : name045] as C;

/** The class every Drizzle transaction (a scope's, a savepoint's) is an instance of. */
const transactionClass = lineClass<abstract new (...args: never[]) => object>(
  'PgTransaction',
  'PgAsyncTransaction',
);

/** The database class, whose instances carry the relational query builders (`db.query`). */
const databaseClass = lineClass<
  new (
    dialect: PgDialect,
    session: object,
    relational: RelationalConfig,
  ) => { query: unknown }
>('PgDatabase', 'PgAsyncDatabase');

/** Whether `db` is a transaction (or savepoint) rather than the database. */
export const isTransaction = (db: unknown): boolean => db instanceof transactionClass;

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
  /** 1.0: how rows come back ('arrays', 'objects', 'raw') and what maps them. */
  mode?: string;
  mapper?: unknown;
};

export const isPreparedQuery = (query: unknown): boolean =>
  typeof (query as PreparedInternals | undefined)?.getQuery === 'function';

/** `query` (prepared on any session) made again on `tx`'s session, from its text and fields. */
export function prepareOnSession<Q>(tx: Transaction, query: Q, name: string): Q {
  const prepared = query as unknown as PreparedInternals;
  const session = (tx as unknown as { session: { prepareQuery(...args: unknown[]): PreparedInternals } })
    .session;
  if (drizzleLine === '1.0')
    return session.prepareQuery(
      prepared.getQuery(),
      prepared.mode,
      name,
      prepared.mapper,
      prepared.queryMetadata,
      prepared.cacheConfig,
    ) as unknown as Q;
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

/**
 * What a scoped transaction is built from: the database's dialect and session, and what its
 * relational queries read (0.45: the session's `schema`; 1.0: the session's `relations`).
 */
type DrizzleInternals = {
  dialect: PgDialect;
  session: { schema?: RelationalConfig; relations?: RelationalConfig; options: object };
};

/** 0.45's `{ schema, fullSchema, tableNamesMap }` or 1.0's relations: passed through, never read here. */
type RelationalConfig = Record<string, unknown>;

const relationalConfigOf = (session: DrizzleInternals['session']): RelationalConfig | undefined =>
  drizzleLine === '1.0' ? session.relations : session.schema;

/**
 * A Drizzle transaction over `client`, a connection on which the caller sent BEGIN itself: every
 * statement of the transaction and of its savepoints goes through `client.unsafe`.
 */
export function transactionOn(
  db: Database,
  client: { unsafe: (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) => unknown },
): Transaction {
  const { dialect, session } = db as unknown as DrizzleInternals;
  const relational = relationalConfigOf(session);
  const scopedSession = new PostgresJsSession(client as never, dialect, relational as never, session.options);
  return new SavepointTransaction(dialect, scopedSession, relational) as unknown as Transaction;
}

/**
 * postgres.js's Drizzle transaction, as both lines construct it: (dialect, session, the relational
 * config, nesting depth). Its type arguments differ between the lines; nothing here reads them.
 */
const PostgresTransaction = PostgresJsTransaction as unknown as abstract new (
  dialect: PgDialect,
  session: object,
  relational: unknown,
  nestedIndex?: number,
) => { transaction<T>(fn: (tx: object) => Promise<T>): Promise<T> };

/** Savepoints written out: a reserved connection has no postgres.js `savepoint()` helper. */
class SavepointTransaction extends PostgresTransaction {
  readonly #relational: RelationalConfig | undefined;

  constructor(
    dialect: PgDialect,
    session: object,
    relational: RelationalConfig | undefined,
    nestedIndex = 0,
  ) {
    // Built without its relational config, the base skips one relational query builder per table on
    // every scope; `tx.query` builds them on first use.
    super(dialect, session, drizzleLine === '1.0' ? {} : undefined, nestedIndex);
    this.#relational = relational;
    if (!relational) return;
    const self = this as unknown as { schema: unknown; _: object };
    if (drizzleLine === '1.0') self._ = { ...self._, relations: relational };
    else {
      self.schema = relational;
      self._ = {
        ...self._,
        schema: relational.schema,
        fullSchema: relational.fullSchema,
        tableNamesMap: relational.tableNamesMap,
      };
    }
    Object.defineProperty(this, 'query', {
      configurable: true,
      enumerable: true,
      get: () => {
        const { query } = new databaseClass(dialect, session, relational);
        Object.defineProperty(this, 'query', { value: query, enumerable: true });
        return query;
      },
    });
  }

  override async transaction<T>(fn: (tx: SavepointTransaction) => Promise<T>): Promise<T> {
    const { dialect, session, nestedIndex } = this as unknown as {
      dialect: PgDialect;
      session: { execute(query: SQL): Promise<unknown> };
      nestedIndex: number;
    };
    const name = sql.raw(`neonhub_sp${nestedIndex + 1}`);
    const nested = new SavepointTransaction(dialect, session, this.#relational, nestedIndex + 1);
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
  if (drizzleLine === '1.0')
    expect(typeof session?.relations === 'object', 'db.session.relations holds the relations');
  else
    expect(
      typeof session?.schema?.tableNamesMap === 'object' && typeof session?.schema?.fullSchema === 'object',
      'db.session.schema holds fullSchema and tableNamesMap',
    );
  expect(typeof session?.options === 'object', 'db.session.options is an object');
  expect(
    typeof session?.prepareQuery === 'function' && session.prepareQuery.length >= 4,
    drizzleLine === '1.0'
      ? 'session.prepareQuery(query, mode, name, mapper, queryMetadata, cacheConfig)'
      : 'session.prepareQuery(query, fields, name, isResponseInArrayMode, customResultMapper, queryMetadata, cacheConfig)',
  );
  const relational = drizzleLine === '1.0' ? 'relations' : 'schema';
  expect(PostgresJsSession.length >= 3, `new PostgresJsSession(client, dialect, ${relational}, options)`);
  expect(
    PostgresJsTransaction.length >= 3,
    `new PostgresJsTransaction(dialect, session, ${relational}, nestedIndex)`,
  );
  expect(
    typeof (PostgresJsTransaction.prototype as { transaction?: unknown }).transaction === 'function',
    'PostgresJsTransaction.prototype.transaction (savepoints)',
  );
  expect(typeof transactionClass === 'function', 'pg-core exports the transaction class');
  expect(typeof databaseClass === 'function', 'pg-core exports the database class');
  if (typeof session?.prepareQuery === 'function' && typeof internals.dialect?.sqlToQuery === 'function') {
    const query = internals.dialect.sqlToQuery(sql`select 1`);
    if (drizzleLine === '1.0') {
      const prepared = session.prepareQuery(query, 'arrays', 'neonhub_contract', undefined) as
        | Partial<PreparedInternals>
        | undefined;
      expect(typeof prepared?.getQuery === 'function', 'a prepared query has getQuery()');
      expect(prepared?.mode === 'arrays', 'a prepared query has mode');
      expect(prepared !== undefined && 'mapper' in prepared, 'a prepared query has mapper');
    } else {
      const prepared = session.prepareQuery(query, undefined, 'neonhub_contract', true) as
        | Partial<PreparedInternals>
        | undefined;
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

/** drizzle-orm 1.0's per-type codecs on its dialect (0.45 has none: columns map their driver values). */
type Codecs = {
  get(
    column: object,
    kind: 'normalize' | 'normalizeInJson',
  ): ((value: unknown, dims?: number) => unknown) | undefined;
};

/**
 * A column's value as the driver (`source: 'row'`) or `to_jsonb` (`'json'`) gave it, as a Drizzle
 * select of the column gives it: 1.0 normalizes through the dialect's codecs before the column maps.
 */
export function decodeColumn(
  db: Database | Transaction,
  column: Pick<PgColumn, 'mapFromDriverValue'>,
  value: unknown,
  source: 'row' | 'json',
): unknown {
  const codecs = (db as unknown as { dialect?: { codecs?: Codecs } }).dialect?.codecs;
  const normalize = codecs?.get(column, source === 'json' ? 'normalizeInJson' : 'normalize');
  const dimensions = (column as { dimensions?: number }).dimensions;
  return column.mapFromDriverValue(normalize ? normalize(value, dimensions) : value);
}
