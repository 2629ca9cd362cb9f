import { type SQL, sql } from 'drizzle-orm';

/**
 * A JSON value as a statement parameter, sent as text and cast by the server. A parameter the server
 * types json or jsonb would go through the driver's JSON serializer, which Drizzle 0.45 turns off
 * on postgres.js and 1.0 leaves on: text is sent as written on every driver and line.
 */
export const jsonParam = (value: unknown, type: 'json' | 'jsonb' = 'jsonb'): SQL =>
  sql`${JSON.stringify(value)}::pg_catalog.text::${sql.raw(`pg_catalog.${type}`)}`;
