import { type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { InputError } from './input.ts';

/**
 * An opaque position in a list ordered by `(timestamp, id)`, exact to the microsecond (a JS `Date`
 * keeps milliseconds only, which would skip or repeat rows between pages).
 */
export type Cursor = string;

/**
 * The column's time as whole microseconds since the epoch (text, exact), to build a cursor from.
 * Read at UTC so the expression is immutable: Citus refuses a stable one in an INSERT's RETURNING.
 */
export const microsOf = (column: AnyPgColumn): SQL<string> =>
  sql<string>`(extract(epoch from (${column} at time zone 'UTC')) * 1000000)::bigint::text`;

/** The time `micros` (from {@link microsOf}) stands for, exact to the microsecond. */
export const atMicros = (micros: string): SQL =>
  sql`(timestamptz 'epoch' + ${micros}::bigint * interval '1 microsecond')`;

export function encodeCursor(micros: string, id: string): Cursor {
  return Buffer.from(`${micros}|${id}`, 'utf8').toString('base64url');
}

const cursorShape = /^(-?\d{1,19})\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * `(time, id) < cursor` (or `>` for ascending lists): the keyset condition an index on
 * `(..., time, id)` serves, so page 1000 reads as few rows as page 1.
 */
export function keysetBefore(
  time: AnyPgColumn,
  id: AnyPgColumn,
  cursor: Cursor,
  table: string,
  direction: 'before' | 'after' = 'before',
): SQL {
  const match = cursorShape.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1] || !match[2]) {
    throw new InputError(table, [{ path: ['cursor'], message: 'not a cursor this list returned' }]);
  }
  const at = atMicros(match[1]);
  return direction === 'before'
    ? sql`(${time}, ${id}) < (${at}, ${match[2]}::uuid)`
    : sql`(${time}, ${id}) > (${at}, ${match[2]}::uuid)`;
}

/** Splits a `limit + 1` fetch into the page and the cursor of its last row (null on the last page). */
export function pageOf<T extends { id: string; cursorMicros: string }>(
  rows: T[],
  limit: number,
): { rows: Omit<T, 'cursorMicros'>[]; nextCursor: Cursor | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page.map(({ cursorMicros: _micros, ...row }) => row),
    nextCursor: rows.length > limit && last ? encodeCursor(last.cursorMicros, last.id) : null,
  };
}
