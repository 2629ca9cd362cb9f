import type postgres from 'postgres';
import { type ConnectionError, connectionFailure, TenantScopeError } from '../base/errors.ts';
import type { Database, Transaction } from './client.ts';
import { transactionOn } from './drizzle-internals.ts';
import { attachScope, type RawScopeQuery, type Scope } from './scope-sessions.ts';
import { wireTyped } from './wire-types.ts';

// A scope on a server: a connection of its own for the scope, BEGIN and the opening sent ahead of
// fn's statements, COMMIT with the session reset in one message, and a connection that was
// tampered with closed rather than pooled again. What the scope opens with is scope-runtime.ts's.

/**
 * Clears what a scope may leave on its session for the next scope on the connection (settings,
 * held cursors, listens, advisory locks, temp objects, sequence state, statements prepared with SQL
 * PREPARE): `app_reset_session()` counts what it found, and a connection that had any is closed.
 */
export const SESSION_RESET = 'SELECT public.app_reset_session() AS residue';

/** The statement that opens a scope, and its parameters, made at the moment it is sent. */
export interface ScopeOpening {
  text: string;
  params(): unknown[];
}

export interface ServerScope {
  client: postgres.Sql;
  db: Database;
  scope: Scope;
  opening: ScopeOpening;
  /** Where the scope goes (host:port/database), for the errors of a lost connection. */
  display: string;
  /** The opening's answers, once fn is done. */
  onOpened(answers: unknown): void;
}

/** Runs fn in `scope` on a connection reserved from `client`, opened with `opening`. */
export async function runServerScope<T>(
  { client, db, scope, opening, display, onOpened }: ServerScope,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const connection = await reserve(client, display);
  let lost: ConnectionError | undefined;
  let endTransaction = () => {};
  // Once the connection is gone, every error of this scope is that loss; nothing more is sent on it.
  const noteLoss = (error: unknown) => {
    lost ??= connectionFailure(error, display);
    return lost ?? error;
  };
  const fail = (error: unknown): never => {
    throw noteLoss(error);
  };
  const send = <R>(query: Promise<R>): Promise<R> => query.catch(fail);
  try {
    // BEGIN and the opening are handed to the connection before fn runs, so fn's statements leave
    // behind them: the server reads a connection's messages in order, and a refused opening aborts
    // the transaction, so none of fn's statements can run without its ticket.
    const opened = Promise.all([
      send(connection.unsafe('BEGIN').execute()),
      // Unnamed: no statement a scope could DEALLOCATE and PREPARE again under the same name. Its
      // values are the package's own, never JSON: typed on either Drizzle line (src/client/wire-types.ts).
      send(
        connection
          .unsafe(opening.text, wireTyped(connection, opening.params(), { strings: true }) as never[], {
            prepare: false,
          })
          .execute(),
      ),
    ]);
    opened.catch(() => {});
    const scoped = scopedTransaction(db, connection);
    endTransaction = scoped.end;
    const { tx } = scoped;
    attachScope(tx, scope, scoped.raw);
    let result: T;
    try {
      result = await fn(tx);
      onOpened(await opened);
    } catch (error) {
      // A refused opening makes fn's statements fail too ("transaction is aborted"): report the cause.
      const reported = await opened.then(
        () => noteLoss(error),
        (refusal: unknown) => refusal,
      );
      if (!lost) await settle(connection, 'ROLLBACK', send).catch(() => {});
      throw reported;
    }
    const lostBefore = lost;
    await settle(connection, 'COMMIT', send).catch(async (error: unknown) => {
      // A refused COMMIT (a deferred constraint) skipped the session reset that follows it in the message.
      if (!lost) await resetSession(connection, send).catch(() => {});
      // Lost with the COMMIT on its way: the server may have committed before the connection went.
      throw lost && !lostBefore ? lost.whileCommitting() : error;
    });
    return result;
  } finally {
    endTransaction();
    // postgres.js closes a released connection that is gone or still inside a transaction.
    connection.release();
  }
}

/**
 * A connection of the pool's own, for one scope. A connection that dies while the pool hands it
 * over rejects the wait with the server's error; nothing was sent for the scope yet, so another try is safe.
 */
async function reserve(client: postgres.Sql, display: string, attempts = 3): Promise<postgres.ReservedSql> {
  try {
    return await client.reserve();
  } catch (error) {
    const failure = connectionFailure(error, display);
    if (!failure) throw error;
    // A connection that died in the pool: another one may be fine. Refused or full: say so now.
    if (attempts > 1 && failure.reason === 'the connection was lost')
      return reserve(client, display, attempts - 1);
    throw failure;
  }
}

/** Ends the transaction and, in the same message, resets the session for the next scope. */
async function settle(
  connection: postgres.ReservedSql,
  command: 'COMMIT' | 'ROLLBACK',
  send: <R>(query: Promise<R>) => Promise<R>,
): Promise<void> {
  const results = await send(connection.unsafe(`${command}; ${SESSION_RESET}`).simple());
  await closeIfTampered(connection, results);
  // A transaction fn left aborted (a refusal it caught without a savepoint) is rolled back by
  // COMMIT: say so, as the embedded database does, rather than let the caller think it committed.
  if (command === 'COMMIT' && (results as { command?: string }[])[0]?.command === 'ROLLBACK') {
    throw Object.assign(
      new Error('the transaction was rolled back instead of committed: a statement in it failed'),
      {
        code: '25P02',
      },
    );
  }
}

async function resetSession(
  connection: postgres.ReservedSql,
  send: <R>(query: Promise<R>) => Promise<R>,
): Promise<void> {
  await closeIfTampered(connection, await send(connection.unsafe(SESSION_RESET).simple()));
}

/** A session that held statements prepared with SQL PREPARE is ended rather than pooled again. */
async function closeIfTampered(connection: postgres.ReservedSql, results: unknown): Promise<void> {
  const last = (results as { residue?: number }[][]).at(-1)?.[0];
  if ((last?.residue ?? 0) > 0) {
    await connection
      .unsafe('select pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid())')
      .catch(() => {});
  }
}

/**
 * A Drizzle transaction on a reserved connection whose BEGIN the scope sent itself. Once the scope
 * ends (`end()`), its `tx` refuses every statement: the connection may already be serving another
 * tenant's scope, and a `tx` kept past its scope must not reach it.
 */
function scopedTransaction(
  db: Database,
  connection: postgres.ReservedSql,
): { tx: Transaction; raw: RawScopeQuery; end(): void } {
  let ended = false;
  const unsafe = (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) => {
    if (ended) throw new TenantScopeError('this transaction belongs to a scope that has ended');
    return connection.unsafe(query, params as never[], options);
  };
  return {
    tx: transactionOn(db, { unsafe }),
    raw: async (text, params, rowMode) => {
      const query = unsafe(text, params, { prepare: false });
      return rowMode === 'array' ? query.values() : query;
    },
    end: () => {
      ended = true;
    },
  };
}
