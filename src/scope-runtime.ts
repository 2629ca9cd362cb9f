import type { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import { PgDatabase, type PgDialect } from 'drizzle-orm/pg-core';
import { PostgresJsSession, PostgresJsTransaction } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { type Database, type DbTarget, isLocalTarget, type Transaction } from './client.ts';
import { ConnectionError, TenantScopeError } from './errors.ts';
import { type KeyRing, loadKeyRing } from './key-ring.ts';
import { openScopeKey } from './tenant-keys.ts';

/** The role tenant and user scopes run as: no ownership, no BYPASSRLS, DML grants only. */
export const APP_ROLE = 'neonhub_app';

/** What a scope is for: one tenant, or a signed-in person before a tenant is chosen. */
export type Scope = { kind: 'tenant'; organizationId: string } | { kind: 'user'; userId: string };

/** The scope each transaction's Drizzle session belongs to; its savepoints share the session. */
const scopes = new WeakMap<object, Scope>();

const sessionOf = (tx: Database | Transaction): object => (tx as unknown as { session: object }).session;

/** The scope `db` runs in, when it is a transaction a scope opened (or one of its savepoints). */
export const scopeOf = (db: Database | Transaction): Scope | undefined => scopes.get(sessionOf(db));

/** What a Drizzle prepared query is remade from (PgPreparedQuery's fields, stable across drizzle-orm 0.3x–0.45). */
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

/**
 * A query prepared on the database, made again on `tx`'s session: on a server it sends through the
 * scope's reserved connection (refused once the scope ends), embedded through the scope's
 * transaction. Remade from its text and fields rather than copied, so nothing that wraps the
 * query can keep it on the pool.
 */
export function boundToScope<Q>(tx: Transaction, query: Q): Q {
  const prepared = query as unknown as PreparedInternals;
  if (typeof prepared?.getQuery !== 'function') {
    throw new TenantScopeError("runPrepared takes a query made with Drizzle's .prepare(name)");
  }
  const session = (tx as unknown as { session: { prepareQuery(...args: unknown[]): PreparedInternals } })
    .session;
  const bound = session.prepareQuery(
    prepared.getQuery(),
    prepared.fields,
    'neonhub_scoped',
    prepared._isResponseInArrayMode ?? true,
    prepared.customResultMapper,
    prepared.queryMetadata,
    prepared.cacheConfig,
  );
  bound.joinsNotNullableMap = prepared.joinsNotNullableMap;
  bound.authToken = prepared.authToken;
  return bound as unknown as Q;
}

export const describeScope = (scope: Scope) =>
  scope.kind === 'tenant' ? `tenant ${scope.organizationId}` : `user ${scope.userId}`;

/**
 * How scopes reach the database for one `Database`: the driver, the key ring that opens tenant
 * scope keys, a cache of opened keys, and what the login role may do. `createDb` registers one;
 * a Drizzle database made elsewhere gets one on first use.
 */
export interface ScopeRuntimeOptions {
  target: DbTarget;
  /** Opens organizations' scope keys. Default: `loadKeyRing()` on first use. */
  keys?: KeyRing;
}

const runtimes = new WeakMap<object, ScopeRuntime>();

export function registerScopeRuntime(db: Database, options: ScopeRuntimeOptions): void {
  runtimes.set(db, new ScopeRuntime(db, options));
}

export function runtimeOf(db: Database): ScopeRuntime {
  let runtime = runtimes.get(db);
  if (!runtime) {
    runtime = new ScopeRuntime(db, { target: targetOf(clientOf(db)) });
    runtimes.set(db, runtime);
  }
  return runtime;
}

type Client = { kind: 'server'; sql: postgres.Sql } | { kind: 'embedded'; pglite: PGlite };

function clientOf(db: Database): Client {
  const client = (db as unknown as { $client: unknown }).$client;
  if (typeof client === 'function' && 'reserve' in client)
    return { kind: 'server', sql: client as postgres.Sql };
  if (client && typeof client === 'object' && 'transaction' in client && 'exec' in client) {
    return { kind: 'embedded', pglite: client as PGlite };
  }
  throw new TenantScopeError('scopes need a database from createDb() (postgres.js or PGlite)');
}

function targetOf(client: Client): DbTarget {
  if (client.kind === 'embedded') return { kind: 'embedded', dataDir: client.pglite.dataDir ?? 'memory://' };
  const { host, port, database } = client.sql.options as unknown as {
    host: string[];
    port: number[];
    database: string;
  };
  return { kind: 'server', display: `${host[0] ?? 'localhost'}:${port[0] ?? 5432}/${database}` };
}

/** The login role, as the first scope finds it. */
interface Login {
  name: string;
  /** Superuser, BYPASSRLS, or able to become the tables' owner: RESET ROLE would open every tenant. */
  privileged: boolean;
  /** Citus forwards `SET LOCAL` to its workers, never `set_config`. */
  citus: boolean;
}

const RESET_SESSION =
  "RESET ROLE; RESET search_path; SELECT pg_catalog.set_config('app.tenant_key', '', false), pg_catalog.pg_advisory_unlock_all(); DISCARD TEMP";

/** The scope's settings; the key goes as a parameter, so it never shows in statement text, logs or pg_stat_activity. */
const OPEN_SCOPE = `select pg_catalog.set_config('role', '${APP_ROLE}', true),
       pg_catalog.set_config('search_path', 'public, pg_temp', true),
       pg_catalog.set_config('app.tenant_key', $1, true)`;

let warned = false;

/** Said once per process; NEONHUB_QUIET_DEVELOPMENT_WARNINGS silences it (the test runner, where every file would repeat it). */
function warnDevelopmentLogin(login: Login, target: DbTarget): void {
  if (warned || process.env.NEONHUB_QUIET_DEVELOPMENT_WARNINGS) return;
  warned = true;
  process.emitWarning(
    `tenant scopes run as "${login.name}", which can leave neonhub_app with RESET ROLE and see every tenant; ` +
      `tolerated on ${target.kind === 'embedded' ? 'the embedded database' : 'a local server'} for development only`,
    { code: 'NEONHUB_DEVELOPMENT_LOGIN' },
  );
}

export class ScopeRuntime {
  private readonly client: Client;
  private readonly keys = new Map<string, string>();
  private ring: KeyRing | undefined;
  private login: Promise<Login> | undefined;
  private checked: Login | undefined;

  constructor(
    db: Database,
    private readonly options: ScopeRuntimeOptions,
  ) {
    this.client = clientOf(db);
    this.ring = options.keys;
  }

  /** The ring of `createDb({ keys })`, else the environment's; the public development ring only for a local target. */
  private display(): string {
    const { target } = this.options;
    return target.kind === 'server' ? target.display : target.dataDir;
  }

  keyRing(): KeyRing {
    this.ring ??= loadKeyRing(process.env, {
      developmentAllowed: isLocalTarget(this.options.target),
      ...(process.env.NEONHUB_QUIET_DEVELOPMENT_WARNINGS && { warn: () => {} }),
    });
    return this.ring;
  }

  /** Keeps a key this process just made (createOrganization), so its first scope needs no lookup. */
  rememberKey(organizationId: string, key: Uint8Array): void {
    this.keys.set(organizationId, Buffer.from(key).toString('hex'));
  }

  async run<T>(db: Database, scope: Scope, fn: (tx: Transaction) => Promise<T>): Promise<T> {
    // The login first: a refused login is the error to report, whatever else is missing.
    // Both are known after the first scope: no await for them then.
    const login = this.checked ?? (await this.checkLogin());
    const key =
      scope.kind === 'tenant'
        ? (this.keys.get(scope.organizationId) ?? (await this.keyOf(scope.organizationId)))
        : '';
    return this.client.kind === 'server'
      ? this.runOnServer(this.client.sql, db, scope, key, login, fn)
      : this.runEmbedded(db, scope, key, fn);
  }

  private query<T>(text: string, params: unknown[]): Promise<T[]> {
    return this.client.kind === 'server'
      ? (this.client.sql.unsafe(text, params as never[]) as unknown as Promise<T[]>)
      : this.client.pglite.query<T>(text, params).then((result) => result.rows);
  }

  private checkLogin(): Promise<Login> {
    this.login ??= this.query<Login>(
      `select session_user as name,
              r.rolsuper or r.rolbypassrls or pg_catalog.pg_has_role(session_user, c.relowner, 'MEMBER') as privileged,
              exists (select from pg_catalog.pg_extension where extname = 'citus') as citus
         from pg_catalog.pg_roles r, pg_catalog.pg_class c
        where r.rolname = session_user and c.oid = 'public.organizations'::regclass`,
      [],
    ).then(([login]) => {
      if (!login) throw new TenantScopeError('cannot read the login role: is the database migrated?');
      if (login.privileged) {
        const allowed =
          isLocalTarget(this.options.target) || process.env.NEONHUB_ALLOW_PRIVILEGED_LOGIN === '1';
        if (!allowed) {
          throw new TenantScopeError(
            `tenant scopes refuse to run as "${login.name}": a superuser, BYPASSRLS or owner login sees every ` +
              'tenant after RESET ROLE. Log in as a role that is only a member of neonhub_app ' +
              '(`neonhub-db create-login <name>`), or set NEONHUB_ALLOW_PRIVILEGED_LOGIN=1 on a development machine',
          );
        }
        warnDevelopmentLogin(login, this.options.target);
      }
      this.checked = login;
      return login;
    });
    this.login.catch(() => {
      this.login = undefined;
    });
    return this.login;
  }

  /** The organization's scope key (hex), opened from its envelope once per process. */
  async keyOf(organizationId: string): Promise<string> {
    const known = this.keys.get(organizationId);
    if (known) return known;
    const [row] = await this.query<{ envelope: Uint8Array | null }>(
      'select public.app_organization_scope_key($1) as envelope',
      [organizationId],
    );
    if (!row?.envelope) throw new TenantScopeError(`no organization ${organizationId}`);
    const key = openScopeKey(this.keyRing(), organizationId, row.envelope).toString('hex');
    this.keys.set(organizationId, key);
    return key;
  }

  /**
   * A connection of the pool's own, for one scope. A connection that dies while the pool hands it
   * over rejects the wait with the server's error; nothing was sent for the scope yet, so another try is safe.
   */
  private async reserve(client: postgres.Sql, attempts = 3): Promise<postgres.ReservedSql> {
    try {
      return await client.reserve();
    } catch (error) {
      if (!connectionLost(error)) throw error;
      if (attempts > 1) return this.reserve(client, attempts - 1);
      throw new ConnectionError(this.display(), 'the server closed the connection', error);
    }
  }

  private async runOnServer<T>(
    client: postgres.Sql,
    db: Database,
    scope: Scope,
    key: string,
    login: Login,
    fn: (tx: Transaction) => Promise<T>,
  ): Promise<T> {
    const connection = await this.reserve(client);
    let lost = false;
    let endTransaction = () => {};
    // A dead connection must never go back to the pool (postgres.js would hand it out again), and
    // nothing more is sent on it: its queue would never drain.
    const noteLoss = (error: unknown) => {
      if (connectionLost(error)) lost = true;
      return lost ? new ConnectionError(this.display(), 'the server closed the connection', error) : error;
    };
    const fail = (error: unknown): never => {
      throw noteLoss(error);
    };
    const send = <R>(query: Promise<R>): Promise<R> => query.catch(fail);
    try {
      // BEGIN and the scope are handed to the connection before fn runs, so fn's statements leave
      // behind them in the same write: the server reads a connection's messages in order, and a
      // refused scope aborts the transaction, so none of fn's statements can run without it.
      const opening = this.open(connection, key, login, send);
      opening.catch(() => {});
      const scoped = scopedTransaction(db, connection);
      endTransaction = scoped.end;
      const { tx } = scoped;
      scopes.set(sessionOf(tx), scope);
      let result: T;
      try {
        result = await fn(tx);
        await opening;
      } catch (error) {
        // A refused scope makes fn's statements fail too ("transaction is aborted"): report the cause.
        const reported = await opening.then(
          () => noteLoss(error),
          (refusal: unknown) => refusal,
        );
        if (!lost) await settle(connection, 'ROLLBACK', send).catch(() => {});
        throw reported;
      }
      await settle(connection, 'COMMIT', send).catch(async (error: unknown) => {
        // A refused COMMIT (a deferred constraint) skipped the cleanup that follows it in the message.
        if (!lost) await send(connection.unsafe(RESET_SESSION).simple()).catch(() => {});
        throw error;
      });
      return result;
    } finally {
      endTransaction();
      if (!lost) connection.release();
    }
  }

  /** Sends BEGIN and the scope's settings now (one write); the promise settles with their answers. */
  private open(
    connection: postgres.ReservedSql,
    key: string,
    login: Login,
    send: <R>(query: Promise<R>) => Promise<R>,
  ): Promise<unknown> {
    if (login.citus) {
      // Citus replays each SET LOCAL's whole message on its worker connections: one SET per message,
      // and the role before propagation starts (a replayed SET ROLE fails on a definer function's connections).
      return Promise.all(
        [
          `BEGIN; SET LOCAL ROLE ${APP_ROLE}; SET LOCAL citus.propagate_set_commands = 'local'`,
          'SET LOCAL search_path = public, pg_temp',
          `SET LOCAL app.tenant_key = '${key}'`,
        ].map((text) => send(connection.unsafe(text).simple().execute())),
      );
    }
    // Prepared once per connection: afterwards BEGIN and the settings take one round trip, no describe first.
    return Promise.all([
      send(connection.unsafe('BEGIN').execute()),
      send(connection.unsafe(OPEN_SCOPE, [key], { prepare: true }).execute()),
    ]);
  }

  private async runEmbedded<T>(
    db: Database,
    scope: Scope,
    key: string,
    fn: (tx: Transaction) => Promise<T>,
  ): Promise<T> {
    try {
      return await db.transaction(async (tx) => {
        scopes.set(sessionOf(tx), scope);
        // Awaited before fn runs: nothing of fn's can reach the database ahead of the scope.
        await tx.execute(
          sql`select pg_catalog.set_config('role', ${APP_ROLE}, true),
                     pg_catalog.set_config('search_path', 'public, pg_temp', true),
                     pg_catalog.set_config('app.tenant_key', ${key}, true)`,
        );
        const result = await fn(tx);
        // Deferred checks run now, while the scope is in force: at COMMIT, after the reset, they would see no tenant.
        await tx.execute(sql`set constraints all immediate`);
        // The embedded database has one session for everyone: leave nothing in it.
        for (const statement of RESET_SESSION.split('; ')) await tx.execute(sql.raw(statement));
        return result;
      });
    } finally {
      // Session advisory locks outlive a rollback.
      if (this.client.kind === 'embedded') await this.client.pglite.query('select pg_advisory_unlock_all()');
    }
  }
}

/** The connection is gone: the driver says so, or the server ended the session (FATAL, 57P0x, 08xxx). */
function connectionLost(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const { code, severity, cause } = current as { code?: unknown; severity?: unknown; cause?: unknown };
    // An ERROR with a connection code is the server's own link failing (a Citus worker): this one lives.
    if (
      typeof code === 'string' &&
      (code.startsWith('CONNECTION_') || (/^(57P0[123]|08...)$/.test(code) && severity !== 'ERROR'))
    )
      return true;
    if (severity === 'FATAL' || severity === 'PANIC') return true;
    current = cause;
  }
  return false;
}

/** Ends the transaction and, in the same message, clears what a statement may have left on the session. */
function settle(
  connection: postgres.ReservedSql,
  command: 'COMMIT' | 'ROLLBACK',
  send: <R>(query: Promise<R>) => Promise<R>,
): Promise<unknown> {
  return send(connection.unsafe(`${command}; ${RESET_SESSION}`).simple());
}

/** Drizzle internals a scoped transaction is built from (stable across drizzle-orm 0.3x–0.45). */
type DrizzleInternals = {
  dialect: PgDialect;
  session: { schema: ConstructorParameters<typeof PostgresJsTransaction>[2]; options: object };
};

/**
 * A Drizzle transaction on a reserved connection whose BEGIN the scope sent itself. Once the scope
 * ends (`end()`), its `tx` refuses every statement: the connection may already be serving another
 * tenant's scope, and a `tx` kept past its scope must not reach it.
 */
function scopedTransaction(db: Database, connection: postgres.ReservedSql): { tx: Transaction; end(): void } {
  const { dialect, session } = db as unknown as DrizzleInternals;
  let ended = false;
  const client = {
    unsafe: (...args: Parameters<postgres.ReservedSql['unsafe']>) => {
      if (ended) throw new TenantScopeError('this transaction belongs to a scope that has ended');
      return connection.unsafe(...args);
    },
  };
  const scopedSession = new PostgresJsSession(client as never, dialect, session.schema, session.options);
  const tx = new ScopedPostgresTransaction(dialect, scopedSession as never, session.schema as never);
  return {
    tx: tx as unknown as Transaction,
    end: () => {
      ended = true;
    },
  };
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
class ScopedPostgresTransaction extends PostgresJsTransaction<Record<string, unknown>, never> {
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
    const nested = new ScopedPostgresTransaction(dialect, session as never, schema as never, nestedIndex + 1);
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
