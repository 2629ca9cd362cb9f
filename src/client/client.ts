import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { vector } from '@electric-sql/pglite-pgvector';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { connectionFailure as connectionFailureOf, describeServer } from '../base/errors.ts';
import { EmbeddedLog, guardEmbedded, takeDataDir } from '../embedded/embedded-guard.ts';
import { pgliteStartParams, templatedFs } from '../embedded/embedded-template.ts';
import * as schema from '../schema/index.ts';
import { relationsForDrizzle1 } from '../schema/relations/define.ts';
import type { KeyRing } from '../security/key-ring.ts';
import { drizzleLine } from './drizzle-internals.ts';
import type { LineDatabase, LineTransaction } from './drizzle-types.ts';
import { registerScopeRuntime } from './scope-runtime.ts';
import { wireTypedClient } from './wire-types.ts';

export type Schema = typeof schema;
/** A typed Drizzle database over either target (server or embedded), of the installed Drizzle line. */
export type Database = LineDatabase;
export type Transaction = LineTransaction;

/** What drizzle() reads the relational queries (`db.query`) from: 0.45 the schema, 1.0 its relations. */
const relationalOptions = (
  drizzleLine === '1.0' ? { relations: relationsForDrizzle1(schema) } : { schema }
) as { schema: Schema };

/** Plain SQL on the same target, for what Drizzle does not model (migrations, catalog checks). */
export interface RawSql {
  query<T extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<T[]>;
  /** One or more statements without parameters. */
  exec(text: string): Promise<void>;
}

/** A raw session that stays on one connection until released (advisory locks need that). */
export interface DedicatedSession extends RawSql {
  release(): Promise<void>;
}

export type DbTarget =
  | {
      kind: 'server';
      /** host:port/database, never the password */
      display: string;
      /** The pool's size, where `createDb` made the pool. */
      connections?: number;
    }
  | { kind: 'embedded'; dataDir: string };

/** The embedded database, or a loopback or socket server: where development shortcuts are tolerated. */
export const isLocalTarget = (target: DbTarget) =>
  target.kind === 'embedded' ||
  /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1|\/[^:]*)[:/]/.test(target.display);

export interface DbHandle {
  db: Database;
  target: DbTarget;
  sql: RawSql;
  /** A session pinned to one connection (the embedded database only has one). */
  dedicated(): Promise<DedicatedSession>;
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** A `postgres://` URL. Default: `DATABASE_URL`; when that is unset too, the embedded database. */
  url?: string;
  /** Embedded data directory (`memory://` for a throwaway one). Default: `NEONHUB_DATA_DIR` or `.data/pglite`. */
  dataDir?: string;
  /** An embedded instance already open (tests load migrated data dirs this way). */
  pglite?: PGlite;
  /** Server pool size. */
  max?: number;
  /**
   * Seconds a call waits for a server connection (refused, slots exhausted, a restart) before it
   * fails with a retryable `ConnectionError`. Default 30.
   */
  connectTimeout?: number;
  /** Seconds a statement may wait for a connection and run before the client cancels it. Default: no limit. */
  queryTimeout?: number;
  /** Opens organizations' tenant scope keys. Default: `loadKeyRing()` when a scope first needs it. */
  keys?: KeyRing;
  /**
   * Called with the text of every statement sent to the database (tests audit them), and on a
   * server its parameters (tests EXPLAIN the statement as sent; never log them).
   */
  onStatement?: (text: string, parameters?: unknown[]) => void;
}

export const defaultDataDir = () =>
  process.env.NEONHUB_DATA_DIR ?? path.join(process.cwd(), '.data', 'pglite');

/** The extensions every embedded database is opened with: a data dir using vector cannot be read without it. */
export const pgliteExtensions = { vector, pg_trgm, btree_gin };

// The scope runtime reads results too, and the client registers it: the helper lives below both.
export { rowsOf } from './drizzle-internals.ts';
export { pgliteStartParams };

/**
 * An embedded instance, guarded (src/embedded/embedded-guard.ts): storage faults and failed starts come back
 * typed. A new one starts as a copy of an initialised cluster (src/embedded/embedded-template.ts), not initdb.
 */
export function openPglite(dataDir: string): PGlite {
  const open = () => {
    const log = new EmbeddedLog();
    const fs = templatedFs(dataDir);
    const pglite = new PGlite({
      dataDir,
      fs,
      extensions: pgliteExtensions,
      startParams: pgliteStartParams,
      onStderr: log.record,
    });
    guardEmbedded(pglite, dataDir, log);
    return pglite;
  };
  if (dataDir.startsWith('memory://')) return open();
  // A second process on the same files would corrupt them: refused, naming the holder's pid.
  const lock = takeDataDir(dataDir);
  const pglite = open();
  const close = pglite.close.bind(pglite);
  pglite.close = async () => {
    try {
      await close();
    } finally {
      lock.release();
    }
  };
  return pglite;
}

/**
 * Opens nothing until the first query: postgres.js connects lazily and PGlite starts in the
 * background. With `DATABASE_URL` (or `url`) it talks to that server; without, to the embedded
 * PostgreSQL under `.data/`.
 */
export function createDb(options: CreateDbOptions = {}): DbHandle {
  const handle = openHandle(options);
  registerScopeRuntime(handle.db, { target: handle.target, keys: options.keys });
  return handle;
}

function openHandle(options: CreateDbOptions): DbHandle {
  const { onStatement } = options;
  if (options.pglite)
    return embeddedHandle(options.pglite, options.pglite.dataDir ?? 'memory://', onStatement);
  const url = options.url ?? process.env.DATABASE_URL;
  if (url) return serverHandle(url, options);
  const dataDir = options.dataDir ?? defaultDataDir();
  return embeddedHandle(openPglite(dataDir), dataDir, onStatement);
}

const DEFAULT_POOL_SIZE = 10;

function serverHandle(url: string, options: CreateDbOptions): DbHandle {
  const { onStatement } = options;
  const display = describeServer(url);
  // Typed once here: Drizzle, the raw handle and scopes' reserved connections all send through it.
  const client = wireTypedClient(
    postgres(url, {
      max: options.max ?? DEFAULT_POOL_SIZE,
      connect_timeout: options.connectTimeout ?? 30,
      // After failed connects postgres.js refuses calls until its next attempt, by default up to 20 s
      // later: retry within 2 s, so the pool is back soon after the server is.
      backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 2),
      ...(options.queryTimeout && { query_timeout: options.queryTimeout }),
      onnotice: () => {},
      ...(onStatement && {
        debug: (_connection: number, text: string, parameters: unknown[]) => onStatement(text, parameters),
      }),
      connection: { application_name: 'neonhub-db' },
    }),
  );
  const db = drizzlePostgres({ client, ...relationalOptions }) as unknown as Database;
  const rawOf = (session: postgres.Sql | postgres.ReservedSql): RawSql => ({
    query: async <T>(text: string, params: unknown[] = []) =>
      (await session
        .unsafe(text, params as postgres.ParameterOrJSON<never>[])
        .catch(connectionFailure(display))) as unknown as T[],
    exec: async (text: string) => {
      await session.unsafe(text).simple().catch(connectionFailure(display));
    },
  });
  return {
    db,
    target: { kind: 'server', display, connections: options.max ?? DEFAULT_POOL_SIZE },
    sql: rawOf(client),
    dedicated: async () => {
      const reserved = await client.reserve().catch(connectionFailure(display));
      // postgres.js answers every call on a connection that died with the loss, and does not pool it again.
      return { ...rawOf(reserved), release: async () => reserved.release() };
    },
    close: () => client.end({ timeout: 5 }),
  };
}

function embeddedHandle(pglite: PGlite, dataDir: string, onStatement?: (text: string) => void): DbHandle {
  guardEmbedded(pglite, dataDir);
  if (onStatement) observeStatements(pglite, onStatement);
  const db = drizzlePglite({ client: pglite, ...relationalOptions }) as unknown as Database;
  const raw: RawSql = {
    query: async <T>(text: string, params: unknown[] = []) => (await pglite.query(text, params)).rows as T[],
    exec: async (text: string) => {
      await pglite.exec(text);
    },
  };
  return {
    db,
    target: { kind: 'embedded', dataDir },
    sql: raw,
    dedicated: async () => ({ ...raw, release: async () => {} }),
    close: async () => {
      if (!pglite.closed) await pglite.close();
    },
  };
}

/** Reports every statement an embedded instance runs, its transactions' included. */
function observeStatements(pglite: PGlite, onStatement: (text: string) => void): void {
  const wrap = <T extends { query: PGlite['query']; exec: PGlite['exec'] }>(target: T): T => {
    const query = target.query.bind(target);
    const exec = target.exec.bind(target);
    target.query = ((text: string, ...rest: unknown[]) => {
      onStatement(text);
      return (query as (...args: unknown[]) => unknown)(text, ...rest);
    }) as T['query'];
    target.exec = ((text: string, ...rest: unknown[]) => {
      onStatement(text);
      return (exec as (...args: unknown[]) => unknown)(text, ...rest);
    }) as T['exec'];
    return target;
  };
  wrap(pglite);
  const transaction = pglite.transaction.bind(pglite);
  type TransactionCallback = Parameters<PGlite['transaction']>[0];
  pglite.transaction = ((callback: TransactionCallback) =>
    transaction((tx) => callback(wrap(tx)))) as PGlite['transaction'];
}

function connectionFailure(display: string) {
  return (error: unknown): never => {
    throw connectionFailureOf(error, display) ?? error;
  };
}
