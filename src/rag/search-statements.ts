import { is, type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { PostgresJsSession } from 'drizzle-orm/postgres-js';
import type { Transaction } from '../client/client.ts';

// How a search's statements reach the server: with its settings (`SET LOCAL`) in the same flight,
// and its one statement with its values written in, so no round trip is spent describing it.

/** A server transaction (postgres.js) runs several parameterless statements in one round trip. */
export const onServer = (tx: Transaction) => is(tx._.session, PostgresJsSession);

/**
 * `SET LOCAL` for each setting: transaction-local like `set_config(..., true)`, and, unlike it,
 * forwarded by a Citus coordinator to the workers that run the statement. Values are numbers or
 * fixed words, never input.
 */
export async function setLocal(tx: Transaction, settings: Record<string, string | number>): Promise<void> {
  const statements = Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z_.]+$/.test(name) || !/^[a-z_0-9.]+$/.test(String(value)))
      throw new Error(`refusing setting ${name} = ${String(value)}`);
    return `set local ${name} = ${value}`;
  });
  if (statements.length === 0) return;
  if (onServer(tx)) await tx.execute(sql.raw(statements.join('; ')));
  else for (const statement of statements) await tx.execute(sql.raw(statement));
}

/**
 * Planner settings a search overrides for its own statements only, put back to the server's
 * values right after them: `enable_sort = off` would make any later sort of the caller's
 * transaction cost 10^10 and be JIT-compiled, and `jit` is the caller's to choose.
 */
const STATEMENT_ONLY = ['enable_sort', 'jit'];

/**
 * Runs a search's statements with `settings` in force (`SET LOCAL`), then puts the
 * {@link STATEMENT_ONLY} planner overrides back to the server's values. A search never
 * JIT-compiles: `jit = off` always (its statements are short, and compiling one costs 200-700 ms
 * on a 2-core machine, 30 times the search; `enable_sort = off` alone makes a statement that still
 * sorts cost 10^10, far past `jit_above_cost`). On a server the settings, the statements and the
 * reset leave in one flight (postgres.js pipelines a transaction's queries, and the server runs
 * them in order; a refused SET aborts the transaction, so the statement fails with it), which
 * saves a round trip per search.
 */
export async function withSettings<T>(
  tx: Transaction,
  settings: Record<string, string | number>,
  run: () => Promise<T>,
  also: SQL[] = [],
): Promise<T> {
  const all = { ...settings, jit: 'off' };
  const reset = Object.fromEntries(
    STATEMENT_ONLY.filter((name) => name in all).map((name) => [name, 'default']),
  );
  if (!onServer(tx)) {
    await setLocal(tx, all);
    const result = await run();
    for (const statement of also) await tx.execute(statement);
    await setLocal(tx, reset);
    return result;
  }
  const [, result] = await Promise.all([
    setLocal(tx, all),
    run(),
    ...also.map((statement) => tx.execute(statement)),
    setLocal(tx, reset),
  ]);
  return result;
}

const dialect = new PgDialect();

/**
 * The text of a statement with its parameters written in as literals. postgres.js describes a
 * statement with parameters it has not prepared on the connection before binding it, a round trip
 * of its own, and keeps it prepared for the connection's life: a search's statement (its query
 * vector, its tenant's index predicate) is new every time. Written in, it goes in the flight of its
 * settings and leaves nothing behind. Strings are dollar-quoted with a tag they do not contain. For
 * values that may show in `pg_stat_activity` and statement logs: never a caller's words.
 */
export function withValuesWrittenIn(query: SQL): SQL {
  const { sql: text, params } = dialect.sqlToQuery(query);
  const parts = text.split(/\$(\d+)/);
  return sql.raw(parts.map((part, i) => (i % 2 === 0 ? part : literal(params[Number(part) - 1]))).join(''));
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new Error(`cannot write a ${typeof value} into a statement`);
  // The tag must first occur where it closes: inside the value, or begun by its last characters, it would end it early.
  let tag = '$q$';
  while (`${value}${tag}`.indexOf(tag) !== value.length) tag = `$q${tag.length}$`;
  return `${tag}${value}${tag}`;
}
