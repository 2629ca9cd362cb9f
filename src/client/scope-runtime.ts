import type { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { connectionFailure, hasCode, TenantScopeError } from '../base/errors.ts';
import { DEVELOPMENT_ENV, developmentOptedIn } from '../security/development.ts';
import type { KeyRing } from '../security/key-ring.ts';
import { tenantScopeProof, userScopeProof } from '../security/tenant-keys.ts';
import type { Database, DbTarget, Transaction } from './client.ts';
import {
  driverOf,
  drizzleInternalsProblems,
  drizzleVersion,
  pgliteTransactionOf,
  rowsOf,
} from './drizzle-internals.ts';
import { ScopeKeys } from './scope-keys.ts';
import { attachScope, type Scope } from './scope-sessions.ts';
import { runServerScope, type ScopeOpening, SESSION_RESET } from './server-scope.ts';

/** The role tenant and user scopes run as: no ownership, no BYPASSRLS, DML grants only. */
export const APP_ROLE = 'neonhub_app';

/** Whether development conveniences apply to this target. */
export const developmentTarget = (target: DbTarget, env = process.env) =>
  target.kind === 'embedded' || developmentOptedIn(env);

/**
 * How scopes reach the database for one `Database`: the driver, the key ring the scope keys are
 * derived from, the keys already derived, and what the login role may do. `createDb` registers
 * one; a Drizzle database made elsewhere gets one on first use.
 */
export interface ScopeRuntimeOptions {
  target: DbTarget;
  /** The ring scope keys are derived from. Default: `loadKeyRing()` on first use. */
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
  const client = driverOf(db);
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
  /** A member of neonhub_app: what a scope switches to. */
  member: boolean;
}

/**
 * Every statement of the scope's opening names the schema of what it calls. The role and
 * `search_path` come first (left to right), then the proof; no value of the key ever leaves.
 */
export const OPEN_TENANT = `select pg_catalog.set_config('role', '${APP_ROLE}', true) as role,
       pg_catalog.set_config('search_path', 'public, pg_temp', true) as path,
       public.app_open_scope($1::uuid, $2::integer, $3::bigint, $4::bytea) as newest`;
const OPEN_USER = `select pg_catalog.set_config('role', '${APP_ROLE}', true) as role,
       pg_catalog.set_config('search_path', 'public, pg_temp', true) as path,
       public.app_open_user_scope($1::uuid, $2::bigint, $3::bytea) as opened`;

/** What opens a scope, with the tenant key version a tenant scope opened with. */
interface Opening extends ScopeOpening {
  version?: number;
}

let warned = false;

/** Said once per process; NEONHUB_QUIET_DEVELOPMENT_WARNINGS silences it (the test runner, where every file would repeat it). */
function warnDevelopmentLogin(login: Login, target: DbTarget): void {
  if (warned || process.env.NEONHUB_QUIET_DEVELOPMENT_WARNINGS) return;
  warned = true;
  process.emitWarning(
    `tenant scopes run as "${login.name}", which can leave neonhub_app with RESET ROLE and see every tenant; ` +
      `tolerated on ${target.kind === 'embedded' ? 'the embedded database' : `a server with ${DEVELOPMENT_ENV}=1`} for development only`,
    { code: 'NEONHUB_DEVELOPMENT_LOGIN' },
  );
}

export class ScopeRuntime {
  private readonly client: Client;
  /** The keys its scopes open with and its workers prove calls with. */
  readonly keys: ScopeKeys;
  private login: Promise<Login> | undefined;
  private checked: Login | undefined;

  constructor(
    db: Database,
    private readonly options: ScopeRuntimeOptions,
  ) {
    this.client = clientOf(db);
    // Scopes are built from Drizzle internals (src/client/drizzle-internals.ts): a release that changed one fails here, by name.
    const problems = drizzleInternalsProblems(db);
    if (problems.length > 0)
      throw new TenantScopeError(
        `drizzle-orm ${drizzleVersion} lacks what tenant scopes are built from (this package supports ^0.45): ${problems.join('; ')}`,
      );
    this.keys = new ScopeKeys(
      (text, params) => this.query(text, params),
      () => developmentTarget(options.target),
      options.keys,
    );
  }

  /** Where this runtime's scopes go. */
  get target(): DbTarget {
    return this.options.target;
  }

  private display(): string {
    const { target } = this.options;
    return target.kind === 'server' ? target.display : target.dataDir;
  }

  async run<T>(db: Database, scope: Scope, fn: (tx: Transaction) => Promise<T>): Promise<T> {
    // The login first: a refused login is the error to report, whatever else is missing.
    // Known after the first scope, as are the keys: no await for them then.
    try {
      if (!this.checked) await this.checkLogin();
      const opening =
        scope.kind === 'tenant'
          ? await this.tenantOpening(scope.organizationId)
          : await this.userOpening(scope.userId);
      return this.client.kind === 'server'
        ? await runServerScope(
            {
              client: this.client.sql,
              db,
              scope,
              opening,
              display: this.display(),
              onOpened: (answers) => this.noteNewest(scope, opening, answers),
            },
            fn,
          )
        : await this.runEmbedded(db, scope, opening, fn);
    } catch (error) {
      // A retired or unknown key version: the next scope reads the organization's keys again.
      if (scope.kind === 'tenant' && refusedOpening(error)) this.keys.forgetTenantKey(scope.organizationId);
      // No connection, or a lost one, before the scope began or while it ran: one kind of error.
      throw (this.client.kind === 'server' && connectionFailure(error, this.display())) || error;
    }
  }

  private async tenantOpening(organizationId: string): Promise<Opening> {
    const { key, version } = await this.keys.tenantKey(organizationId);
    return {
      text: OPEN_TENANT,
      version,
      params: () => {
        const issued = Date.now();
        return [organizationId, version, issued, tenantScopeProof(key, organizationId, version, issued)];
      },
    };
  }

  private async userOpening(userId: string): Promise<Opening> {
    const { key } = await this.keys.serviceKey();
    return {
      text: OPEN_USER,
      params: () => {
        const issued = Date.now();
        return [userId, issued, userScopeProof(key, userId, issued)];
      },
    };
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
              pg_catalog.pg_has_role(session_user, '${APP_ROLE}', 'MEMBER') as member
         from pg_catalog.pg_roles r, pg_catalog.pg_class c
        where r.rolname = session_user and c.oid = 'public.organizations'::regclass`,
      [],
    ).then(([login]) => {
      if (!login) throw new TenantScopeError('cannot read the login role: is the database migrated?');
      if (!login.member) {
        throw new TenantScopeError(
          `tenant and user scopes run as ${APP_ROLE}, and the login "${login.name}" is not a member of it: ` +
            'log in as a role made by `neonhub-db create-login <name>`',
        );
      }
      if (login.privileged) {
        if (!developmentTarget(this.options.target)) {
          throw new TenantScopeError(
            `tenant scopes refuse to run as "${login.name}": a superuser, BYPASSRLS or owner login sees every ` +
              'tenant after RESET ROLE. Log in as a role that is only a member of neonhub_app ' +
              `(\`neonhub-db create-login <name>\`), or set ${DEVELOPMENT_ENV}=1 on a development database`,
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

  /** After a rotation the opening reports a newer version: the next scope reads it. */
  private noteNewest(scope: Scope, opening: Opening, answers: unknown): void {
    if (scope.kind !== 'tenant' || opening.version === undefined) return;
    const newest = (answers as [unknown, { newest?: number }[]])[1]?.[0]?.newest;
    if (typeof newest === 'number' && newest > opening.version)
      this.keys.forgetTenantKey(scope.organizationId);
  }

  private async runEmbedded<T>(
    db: Database,
    scope: Scope,
    opening: Opening,
    fn: (tx: Transaction) => Promise<T>,
  ): Promise<T> {
    try {
      return await db.transaction(async (tx) => {
        const pgliteTx = pgliteTransactionOf(tx);
        if (!pgliteTx)
          throw new TenantScopeError(
            `drizzle-orm ${drizzleVersion} keeps no PGlite transaction on its session`,
          );
        attachScope(
          tx,
          scope,
          async (text, params, rowMode) => (await pgliteTx.query(text, params, { rowMode })).rows,
        );
        // Awaited before fn runs: nothing of fn's can reach the database ahead of the ticket.
        const answers = rowsOf<{ newest?: number }>(await tx.execute(bound(opening.text, opening.params())));
        this.noteNewest(scope, opening, [[], answers]);
        const result = await fn(tx);
        // Deferred checks run now, while the ticket is in force: at COMMIT they would see no tenant.
        // In a transaction fn left aborted they cannot: COMMIT reports the rollback below.
        await tx.execute(sql`set constraints all immediate`).catch((error: unknown) => {
          if (!inAbortedTransaction(error)) throw error;
        });
        return result;
      });
    } finally {
      // The embedded database has one session for everyone, and a failed scope leaves state too.
      if (this.client.kind === 'embedded') await this.client.pglite.exec(SESSION_RESET);
    }
  }
}

/** PostgreSQL refused a statement because an earlier one aborted the transaction (25P02). */
const inAbortedTransaction = (error: unknown) => hasCode(error, '25P02');

/** A statement with `$n` placeholders as a Drizzle query binding `params`. */
function bound(text: string, params: unknown[]): SQL {
  const parts = text.split(/\$(\d+)/);
  return sql.join(
    parts.map((part, index) => (index % 2 === 0 ? sql.raw(part) : sql`${params[Number(part) - 1]}`)),
  );
}

/** The database refused the scope's proof (unknown organization, retired key version, wrong proof). */
const refusedOpening = (error: unknown) => hasCode(error, '28000');
