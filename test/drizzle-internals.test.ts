import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/client/client.ts';
import {
  drizzleInternalsProblems,
  drizzleVersion,
  transactionDriverOf,
} from '../src/client/drizzle-internals.ts';
import { registerScopeRuntime } from '../src/client/scope-runtime.ts';
import { runPrepared, withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { createUser } from '../src/identity/users.ts';
import { organizations } from '../src/schema/index.ts';
import { useTestDatabase } from './support/database.ts';

// The contract with Drizzle's non-public API (src/client/drizzle-internals.ts): each shape the scopes are
// built from holds on the installed drizzle-orm, and a release that changed one is named.

const database = useTestDatabase();

/** `db` as a Drizzle release that changed its session would leave it. */
function withSession(db: Database, change: (session: Record<string, unknown>) => void): Database {
  const session = Object.assign(
    Object.create(Object.getPrototypeOf((db as unknown as { session: object }).session)),
    (db as unknown as { session: object }).session,
  );
  change(session);
  return Object.create(db, { session: { value: session } }) as Database;
}

describe(`Drizzle internals (drizzle-orm ${drizzleVersion})`, () => {
  it('every shape the scopes are built from holds', () => {
    expect(drizzleInternalsProblems(database.current.db)).toEqual([]);
  });

  it('a scope built from them runs statements, a rebound prepared query, a savepoint and a relational query', async () => {
    const { db } = database.current;
    const owner = await createUser(db, { email: 'ann@acme.example', name: 'Ann' });
    const acme = (await createOrganization(db, { slug: 'acme', name: 'Acme', ownerUserId: owner.id }))
      .organization.id;
    const byId = database.current.db
      .select({ slug: organizations.slug })
      .from(organizations)
      .where(eq(organizations.id, sql.placeholder('id')))
      .prepare('drizzle_internals_org');
    const seen = await withTenant(database.current.db, acme, async (tx) => {
      expect(transactionDriverOf(tx)).toBeDefined();
      const prepared = await runPrepared(tx, byId, { id: acme });
      const rolledBack = await tx
        .transaction(async (sp) => {
          await sp.execute(sql`select 1`);
          throw new Error('undo');
        })
        .catch((error: Error) => error.message);
      const relational = await tx.query.organizations.findFirst({ columns: { slug: true } });
      return { prepared, rolledBack, relational };
    });
    expect(seen.prepared).toEqual([{ slug: 'acme' }]);
    expect(seen.rolledBack).toBe('undo');
    expect(seen.relational).toEqual({ slug: 'acme' });
  });

  it('a release without one of them is refused when scopes are set up, naming what changed', () => {
    const changed = withSession(database.current.db, (session) => {
      session.prepareQuery = undefined;
    });
    expect(drizzleInternalsProblems(changed)).toEqual([expect.stringContaining('session.prepareQuery(')]);
    expect(() => registerScopeRuntime(changed, { target: database.current.target })).toThrow(
      new RegExp(
        `drizzle-orm ${drizzleVersion.replaceAll('.', '\\.')} lacks what tenant scopes are built from.*session\\.prepareQuery`,
      ),
    );
    const withoutSchema = withSession(database.current.db, (session) => {
      session.schema = undefined;
    });
    expect(drizzleInternalsProblems(withoutSchema)).toEqual([
      'db.session.schema holds fullSchema and tableNamesMap',
    ]);
  });
});
