import type { PreparedQueryConfig } from 'drizzle-orm/pg-core';
import { toDatabaseError } from '../base/database-errors.ts';
import { TenantScopeError } from '../base/errors.ts';
import { isUuid } from '../base/input.ts';
import type { Database, Transaction } from './client.ts';
import { isTransaction } from './drizzle-internals.ts';
import type { LinePreparedQuery } from './drizzle-types.ts';
import { APP_ROLE, runtimeOf } from './scope-runtime.ts';
import { boundToScope, describeScope, type Scope, scopeOf } from './scope-sessions.ts';

export { APP_ROLE };

export function assertUuid(value: unknown, name: string): asserts value is string {
  if (!isUuid(value)) {
    throw new TypeError(
      `${name} must be a UUID, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`,
    );
  }
}

/**
 * The organization id of the tenant scope `tx` belongs to (its savepoints included). Every
 * statement the package sends names it, so a statement routes to one shard and stays correct
 * even where a policy is missing. Throws `TenantScopeError` outside a tenant scope.
 */
export function currentTenant(tx: Database | Transaction): string {
  const scope = scopeOf(tx);
  if (scope?.kind !== 'tenant') {
    throw new TenantScopeError(
      'this call needs a tenant scope: run it inside withTenant(db, organizationId, fn)',
    );
  }
  return scope.organizationId;
}

/**
 * The same scope again is a no-op (`fn` runs in the open transaction); any other scope inside
 * one is refused: it would either leak into the rest of the outer transaction or be undone by it.
 */
async function enter<T>(
  db: Database | Transaction,
  scope: Scope,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const outer = scopeOf(db);
  if (outer) {
    if (describeScope(outer) === describeScope(scope)) return fn(db as Transaction);
    throw new TenantScopeError(
      `a scope for ${describeScope(scope)} cannot open inside the scope of ${describeScope(outer)}: ` +
        'finish the outer scope first (scopes do not nest across tenants or users)',
    );
  }
  if (isTransaction(db)) {
    throw new TenantScopeError(
      'withTenant and withUser take the database, not a transaction: a scope is its own transaction',
    );
  }
  try {
    return await runtimeOf(db).run(db, scope, fn);
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/**
 * Runs `fn` in one transaction as `neonhub_app`, scoped to one organization: every tenant table
 * shows and accepts only its rows, whatever role the service logged in as. The role, the tenant
 * and a `search_path` that searches temp tables last are in force before `fn`'s first statement
 * runs, whatever its shape (awaited, `.execute()`, `.then`, `Promise.all`, raw `sql`): they are
 * sent ahead of it on the same connection, and a refused scope aborts the transaction.
 * A query prepared on `db` runs on the pool, outside the scope, when executed itself: prepare on
 * `tx`, or pass it to `runPrepared(tx, query, values)`. Database refusals come out as
 * `DatabaseError`s naming table, column and constraint.
 */
export async function withTenant<T>(
  db: Database | Transaction,
  organizationId: string,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  assertUuid(organizationId, 'organizationId');
  return enter(db, { kind: 'tenant', organizationId }, fn);
}

/**
 * Runs a query prepared once on the database (`db.select()….prepare(name)` with `sql.placeholder`)
 * in the scope of `tx`: on its connection, as its role and tenant. Executed on its own, such a
 * query runs on the pool, outside any scope. Throws `TenantScopeError` outside a scope.
 */
export function runPrepared<C extends PreparedQueryConfig>(
  tx: Transaction,
  query: LinePreparedQuery<C>,
  values?: Record<string, unknown>,
): Promise<C['execute']> {
  if (!scopeOf(tx)) {
    throw new TenantScopeError(
      'runPrepared runs a prepared query in a scope: pass the transaction withTenant or withUser gives fn',
    );
  }
  return boundToScope(tx, query).execute(values);
}

/**
 * Runs `fn` as `neonhub_app` for a signed-in person before a tenant is chosen. No tenant table is
 * visible in it: what a person may see across tenants (their organizations, their invitations)
 * comes from the package's functions that take this scope.
 */
export async function withUser<T>(
  db: Database | Transaction,
  userId: string,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  assertUuid(userId, 'userId');
  return enter(db, { kind: 'user', userId }, fn);
}

/** The signed-in person of a user scope; throws `TenantScopeError` outside one. */
export function currentUser(tx: Database | Transaction): string {
  const scope = scopeOf(tx);
  if (scope?.kind !== 'user') {
    throw new TenantScopeError('this call needs a user scope: run it inside withUser(db, userId, fn)');
  }
  return scope.userId;
}
