import { sql } from 'drizzle-orm';
import type { Database, Transaction } from './client.ts';
import { TenantScopeError, toDatabaseError } from './errors.ts';
import { isUuid } from './input.ts';

/** The role tenant and user scopes run as: no ownership, no BYPASSRLS, DML grants only. */
export const APP_ROLE = 'neonhub_app';

export function assertUuid(value: unknown, name: string): asserts value is string {
  if (!isUuid(value)) {
    throw new TypeError(
      `${name} must be a UUID, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`,
    );
  }
}

/** The scope each transaction's Drizzle session belongs to; nested savepoints share the session. */
const scopes = new WeakMap<object, { setting: string; value: string }>();

const sessionOf = (tx: Database | Transaction): object => (tx as unknown as { session: object }).session;

/**
 * The organization id of the tenant scope `tx` belongs to (its savepoints included). Every
 * statement the package sends names it, so a statement routes to one shard and stays correct
 * even where a policy is missing. Throws `TenantScopeError` outside a tenant scope.
 */
export function currentTenant(tx: Database | Transaction): string {
  const scope = scopes.get(sessionOf(tx));
  if (scope?.setting !== 'app.current_org_id') {
    throw new TenantScopeError(
      'this call needs a tenant scope: run it inside withTenant(db, organizationId, fn)',
    );
  }
  return scope.value;
}

async function scoped<T>(
  db: Database | Transaction,
  setting: 'app.current_org_id' | 'app.current_user_id',
  value: string,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      scopes.set(sessionOf(tx), { setting, value });
      // Both transaction-local: they end with the transaction, so a pooled connection's next user
      // starts with no tenant and its own login role.
      // Started, not awaited, so a server driver pipelines it with fn's first query: safe, because
      // the server runs them in order and a failed scope aborts the transaction before fn's queries.
      const scope = Promise.resolve(
        tx.execute(sql`select set_config('role', ${APP_ROLE}, true), set_config(${setting}, ${value}, true)`),
      );
      scope.catch(() => {});
      const result = await fn(tx);
      await scope;
      return result;
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/**
 * Runs `fn` in one transaction as `neonhub_app` with `app.current_org_id` set: every tenant table
 * shows and accepts only this organization's rows, whatever role the service logged in as.
 * Database refusals come out as `DatabaseError`s naming table, column and constraint.
 */
export async function withTenant<T>(
  db: Database | Transaction,
  organizationId: string,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  assertUuid(organizationId, 'organizationId');
  return scoped(db, 'app.current_org_id', organizationId, fn);
}

/**
 * Runs `fn` as `neonhub_app` for a signed-in person before a tenant is chosen: they see
 * themselves, their memberships and the organizations they are an active member of.
 */
export async function withUser<T>(
  db: Database | Transaction,
  userId: string,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  assertUuid(userId, 'userId');
  return scoped(db, 'app.current_user_id', userId, fn);
}
