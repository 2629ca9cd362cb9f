import { TenantScopeError } from '../base/errors.ts';
import type { Database, Transaction } from './client.ts';
import { isPreparedQuery, prepareOnSession, sessionOf } from './drizzle-internals.ts';

// What a scope's transaction carries: the scope it belongs to, and how text statements reach it.

/** What a scope is for: one tenant, or a signed-in person before a tenant is chosen. */
export type Scope = { kind: 'tenant'; organizationId: string } | { kind: 'user'; userId: string };

/** The scope each transaction's Drizzle session belongs to; its savepoints share the session. */
const scopes = new WeakMap<object, Scope>();

/** A statement as text run in a scope, its rows as objects or as arrays (tools such as Studio send these). */
export type RawScopeQuery = (
  text: string,
  params: unknown[],
  rowMode: 'array' | 'object',
) => Promise<unknown[]>;

const rawQueries = new WeakMap<object, RawScopeQuery>();

/** Runs statements given as text in the scope of `tx`; throws `TenantScopeError` outside one. */
export function rawScopeQuery(tx: Transaction): RawScopeQuery {
  const raw = rawQueries.get(sessionOf(tx));
  if (!raw)
    throw new TenantScopeError('raw statements run inside a scope: pass the transaction withTenant gives fn');
  return raw;
}

/** The scope `db` runs in, when it is a transaction a scope opened (or one of its savepoints). */
export const scopeOf = (db: Database | Transaction): Scope | undefined => scopes.get(sessionOf(db));

/**
 * A query prepared on the database, made again on `tx`'s session: on a server it sends through the
 * scope's reserved connection (refused once the scope ends), embedded through the scope's
 * transaction. Remade from its text and fields rather than copied, so nothing that wraps the
 * query can keep it on the pool.
 */
export function boundToScope<Q>(tx: Transaction, query: Q): Q {
  if (!isPreparedQuery(query))
    throw new TenantScopeError("runPrepared takes a query made with Drizzle's .prepare(name)");
  return prepareOnSession(tx, query, 'neonhub_scoped');
}

export const describeScope = (scope: Scope) =>
  scope.kind === 'tenant' ? `tenant ${scope.organizationId}` : `user ${scope.userId}`;

/** Marks `tx` as the transaction of `scope`, whose statements given as text run through `raw`. */
export function attachScope(tx: Transaction, scope: Scope, raw: RawScopeQuery): void {
  scopes.set(sessionOf(tx), scope);
  rawQueries.set(sessionOf(tx), raw);
}
