import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createAgent } from '../src/agents/agents.ts';
import { enqueueRuns } from '../src/agents/run-queue.ts';
import { toDatabaseError } from '../src/base/database-errors.ts';
import { DatabaseError } from '../src/base/errors.ts';
import { jsonParam } from '../src/base/json-param.ts';
import { type Database, rowsOf, type Transaction } from '../src/client/client.ts';
import {
  drizzleInternalsProblems,
  drizzleLine,
  drizzleVersion,
  transactionDriverOf,
} from '../src/client/drizzle-internals.ts';
import { registerScopeRuntime } from '../src/client/scope-runtime.ts';
import { runPrepared, withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { createUser } from '../src/identity/users.ts';
import * as schema from '../src/schema/index.ts';
import { agentRuns, organizations } from '../src/schema/index.ts';
import { declaredRelationNames } from '../src/schema/relations/define.ts';
import { seedTenant } from '../src/seed/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';

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

  it('every relation the schema declares loads through tx.query, with a relation it does not declare refused', async () => {
    const { db } = database.current;
    const seeded = await seedTenant(db, {
      slug: 'relational',
      name: 'Relational',
      ownerEmail: 'rel@relational.example',
      ownerName: 'Rel',
    });
    const declared = declaredRelationNames(schema);
    // Each in a savepoint: a relation reaching a table the tenant's role may not read (users) is
    // refused by the database, which is not the relation's doing.
    const outcome = (tx: Transaction, table: string, relation: string) =>
      tx
        .transaction(async (sp) => {
          const queries = sp.query as unknown as Record<
            string,
            { findFirst(config: object): Promise<unknown> }
          >;
          await queries[table]?.findFirst({ with: { [relation]: true } });
        })
        .then(
          () => 'loaded' as const,
          (error: unknown) => {
            const typed = toDatabaseError(error);
            if (typed instanceof DatabaseError && typed.kind === 'permission_denied')
              return 'denied' as const;
            if (relation === 'noSuchRelation') return 'refused' as const;
            throw error;
          },
        );
    const seen = await withTenant(db, seeded.organizationId, async (tx) => {
      const loaded: string[] = [];
      const denied: string[] = [];
      for (const [table, relations] of declared)
        for (const relation of relations)
          ((await outcome(tx, table, relation)) === 'loaded' ? loaded : denied).push(`${table}.${relation}`);
      return { loaded, denied, undeclared: await outcome(tx, 'brands', 'noSuchRelation') };
    });
    console.log(
      `${seen.loaded.length} relations loaded through tx.query, ${seen.denied.length} denied to the tenant's role (${seen.denied.join(', ')})`,
    );
    expect(seen.loaded.length + seen.denied.length).toBe([...declared.values()].flat().length);
    expect(seen.loaded.length).toBeGreaterThan(seen.denied.length);
    // Only the global Auth.js tables are closed to it: users, and accounts and sessions, which join them.
    expect(seen.denied.filter((name) => !/^(users|accounts|sessions)\.|\.\w*[uU]ser$/.test(name))).toEqual(
      [],
    );
    expect(seen.undeclared).toBe('refused');
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
    const relational = drizzleLine === '1.0' ? 'relations' : 'schema';
    const withoutRelational = withSession(database.current.db, (session) => {
      session[relational] = undefined;
    });
    expect(drizzleInternalsProblems(withoutRelational)).toEqual([
      drizzleLine === '1.0'
        ? 'db.session.relations holds the relations'
        : 'db.session.schema holds fullSchema and tableNamesMap',
    ]);
  });

  it('rows a statement Drizzle did not build returns come back as a select of the same rows gives them', async () => {
    const { db } = database.current;
    const owner = await createUser(db, { email: 'bo@globex.example', name: 'Bo' });
    const org = (await createOrganization(db, { slug: 'globex', name: 'Globex', ownerUserId: owner.id }))
      .organization.id;
    const { enqueued, selected } = await withTenant(db, org, async (tx) => {
      const { agent } = await createAgent(tx, {
        slug: 'writer',
        name: 'Writer',
        kind: 'copywriter',
        config: { model: 'gpt-4o-mini', systemPrompt: 'Write.', createdByUserId: owner.id },
      });
      const [first] = await enqueueRuns(tx, [{ agentId: agent.id, input: { topic: 'launch' } }]);
      const [row] = await tx
        .select()
        .from(agentRuns)
        .where(eq(agentRuns.id, first?.run.id ?? ''));
      return { enqueued: first?.run, selected: row };
    });
    expect(enqueued?.createdAt).toBeInstanceOf(Date);
    expect(enqueued).toEqual(selected);
  });

  it.skipIf(!onServer)(
    'a JSON text for a jsonb parameter is stored as an object on 0.45 and as a string on 1.0; jsonParam stores the object on both (server only: postgres.js serializes it)',
    async () => {
      const [stored] = rowsOf<{ text: string; param: string }>(
        await database.current.db.execute(
          sql`select jsonb_typeof(${'{"a":1}'}::jsonb) as text, jsonb_typeof(${jsonParam({ a: 1 })}) as param`,
        ),
      );
      expect(stored).toEqual({ text: drizzleLine === '1.0' ? 'string' : 'object', param: 'object' });
    },
  );
});
