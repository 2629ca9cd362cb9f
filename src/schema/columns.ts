import { type SQL, sql } from 'drizzle-orm';
import { check, customType, type PgColumn, pgPolicy, pgRole, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Raw bytes (hashes, ciphertexts). */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

/** Time-ordered UUIDv7 from the database, so raw SQL inserts get one too (bootstrap migration). */
export const id = () => uuid('id').notNull().default(sql`uuidv7()`);

export const primaryId = () => id().primaryKey();

export const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** `updated_at` is bumped by the `touch_updated_at` trigger, so raw SQL updates move it too. */
export const timestamps = () => ({
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Soft delete: only for rows a user can restore; live-row uniques are partial on `deleted_at is null`. */
export const softDelete = () => ({
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
});

export const liveRows = sql`deleted_at is null`;

/**
 * The tenant of the current transaction: `withTenant` sets its scope key and the database hashes
 * it back to the organization id (null means no tenant: nothing visible).
 */
export const currentOrganization = sql`organization_id = app_current_org_id()`;

/** Row-level security policy every tenant table carries: reads and writes see only the current tenant. */
export const tenantPolicy = (table: string, using: SQL = currentOrganization) =>
  pgPolicy(`${table}_tenant_isolation`, {
    as: 'permissive',
    for: 'all',
    to: 'public',
    using,
    withCheck: using,
  });

/**
 * Owns the SECURITY DEFINER functions of the sanctioned cross-tenant paths (API-key lookup, a
 * person's organizations, tenant enumeration). NOLOGIN and nobody's member, so only those
 * functions act as it; its policies open exactly the rows they read.
 */
export const definerRole = pgRole('neonhub_definer').existing();

/** The read, write or insert a definer function needs on `table`. */
export const definerAccess = (table: string, command: 'select' | 'update' | 'insert' = 'select') =>
  pgPolicy(`${table}_definer_${command}`, {
    as: 'permissive',
    for: command,
    to: definerRole,
    ...(command !== 'insert' && { using: sql`true` }),
    ...(command !== 'select' && { withCheck: sql`true` }),
  });

/**
 * The role the Auth.js pool logs in through (`create-login --auth`): NOLOGIN, no BYPASSRLS, and
 * never a member of `neonhub_app`, so no tenant scope can become it.
 */
export const authRole = pgRole('neonhub_auth').existing();

/** Everything @auth/drizzle-adapter does on `table`, for the Auth.js role only. */
export const authAccess = (table: string) =>
  pgPolicy(`${table}_auth_all`, {
    as: 'permissive',
    for: 'all',
    to: authRole,
    using: sql`true`,
    withCheck: sql`true`,
  });

/**
 * `<table>_<column>_length_check`: at most `max` characters, the length people see. An index
 * counts bytes: those are bounded by byte-limits.ts. The column is named unqualified: PostgreSQL
 * refuses `"table"."column"` in ALTER TABLE ... CHECK.
 */
export const lengthCheck = (table: string, column: PgColumn, max: number) =>
  check(
    `${table}_${column.name}_length_check`,
    sql`char_length(${sql.identifier(column.name)}) <= ${sql.raw(String(max))}`,
  );
