import { getTableColumns, type InferSelectModel } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Database, Transaction } from '../client/client.ts';
import { decodeColumn } from '../client/drizzle-internals.ts';

/**
 * A row a SECURITY DEFINER function returned (column names, driver values), as a Drizzle select of
 * `table` on `db` gives it. On Citus a transaction cannot read, as neonhub_app, shards a definer
 * function wrote in it, so paths that write through a definer take its rows from the definer.
 * Statements Drizzle cannot build (enqueueRuns' `insert ... select ... returning *`) map their rows
 * with it too.
 */
export function rowFromDefiner<T extends PgTable>(
  db: Database | Transaction,
  table: T,
  raw: Record<string, unknown>,
): InferSelectModel<T> {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : decodeColumn(db, column, value, 'row');
  }
  return row as InferSelectModel<T>;
}

/** The same, from a row the definer returned as `to_jsonb(row)` (timestamps as ISO text, bytea as `\x` hex). */
export function rowFromDefinerJson<T extends PgTable>(
  db: Database | Transaction,
  table: T,
  json: unknown,
): InferSelectModel<T> {
  const source = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, unknown>;
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = source[column.name];
    const type = column.getSQLType();
    row[key] =
      value === null || value === undefined
        ? null
        : type === 'jsonb' || type === 'json'
          ? value
          : type === 'bytea' && typeof value === 'string'
            ? Buffer.from(value.replace(/^\\x/, ''), 'hex')
            : decodeColumn(db, column, value, 'json');
  }
  return row as InferSelectModel<T>;
}
