import * as pgCore from 'drizzle-orm/pg-core';

/**
 * Which drizzle-orm line is installed: 0.45, or 1.0 (asynchronous databases, relations made by
 * `defineRelations`, zod schemas in drizzle-orm/zod). Read from what pg-core exports, not a version.
 */
export const drizzleLine: '0.45' | '1.0' = 'PgAsyncDatabase' in pgCore ? '1.0' : '0.45';
