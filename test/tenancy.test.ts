import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Transaction } from '../src/client/client.ts';
import { APP_ROLE, withTenant } from '../src/client/tenant.ts';
import { listMembers } from '../src/identity/members.ts';
import type { SeedResult } from '../src/seed/index.ts';
import { definerOnlyTables, foreignKeys, insertableColumns, tenantTables } from './support/catalog.ts';
import { useTestDatabase } from './support/database.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';
import { ticketOf } from './support/tickets.ts';

const database = useTestDatabase();

let acme: SeedResult;
let globex: SeedResult;
let acmeTicket: string;
let globexTicket: string;

beforeAll(async () => {
  ({ acme, globex } = await seedAcmeAndGlobex(database.current.db));
  acmeTicket = await ticketOf(database.current.db, acme.organizationId);
  globexTicket = await ticketOf(database.current.db, globex.organizationId);
});

const orgColumn = (table: string) => (table === 'organizations' ? 'id' : 'organization_id');

/** The role and settings a statement could give itself; every value but a real key opens nothing. */
const asAppRole = (tx: Transaction, setting: string, value: string) =>
  tx.execute(sql`select set_config('role', ${APP_ROLE}, true), set_config(${setting}, ${value}, true)`);

/** The ways a request can reach the database without being the victim tenant (Globex). */
const scopes = {
  // Another tenant's own ticket, read inside its scope, replayed in this transaction.
  'another tenant': (tx: Transaction) => asAppRole(tx, 'app.scope', acmeTicket),
  "the victim's own ticket from an earlier transaction": (tx: Transaction) =>
    asAppRole(tx, 'app.scope', globexTicket),
  'no tenant': (tx: Transaction) => tx.execute(sql`select set_config('role', ${APP_ROLE}, true)`),
  'an empty setting': (tx: Transaction) => asAppRole(tx, 'app.scope', ''),
  'a malformed setting': (tx: Transaction) => asAppRole(tx, 'app.scope', "x' or true --"),
  'a forged ticket': (tx: Transaction) =>
    asAppRole(tx, 'app.scope', `t:b:${globex.organizationId}:${randomBytes(32).toString('hex')}`),
  "the victim's id in the old setting": (tx: Transaction) =>
    asAppRole(tx, 'app.current_org_id', globex.organizationId),
};

/** Runs one attempt in its own rolled-back transaction: how many victim rows it reached (0 when refused). */
async function attempt(
  run: (tx: Transaction) => Promise<number>,
  scope: (tx: Transaction) => Promise<unknown>,
) {
  let touched = 0;
  await database.current.db
    .transaction(async (tx) => {
      await scope(tx);
      touched = await run(tx);
      tx.rollback();
    })
    .catch(() => {});
  return touched;
}

/** Rows an INSERT, UPDATE or DELETE touched (postgres.js says `count`, PGlite `affectedRows`). */
const affectedRows = (result: unknown) => {
  const { count, affectedRows } = result as { count?: number; affectedRows?: number };
  return Number(count ?? affectedRows ?? 0);
};

interface Target {
  table: string;
  operations: Record<string, (tx: Transaction) => Promise<number>>;
}

describe('cross-tenant attack matrix', () => {
  // Every tenant table with a victim (Globex) row, and the four operations aimed at that row.
  const targets: Target[] = [];
  const empty: string[] = [];
  const invisibleToOwner: string[] = [];
  const readableByOwner: string[] = [];
  let hidden = new Set<string>();
  let attempts = 0;

  beforeAll(async () => {
    const { sql: raw } = database.current;
    hidden = new Set(await definerOnlyTables(raw));
    const victim = globex.organizationId;
    for (const table of await tenantTables(raw)) {
      const column = orgColumn(table);
      const [sample] = await raw.query<{ row: Record<string, unknown> }>(
        `select to_jsonb(t) as row from ${table} t where ${column} = $1 limit 1`,
        [victim],
      );
      if (!sample) {
        empty.push(table);
        continue;
      }
      const columns = (await insertableColumns(raw, table)).map((name) => `"${name}"`).join(', ');
      const copy = {
        ...sample.row,
        ...('id' in sample.row && table !== 'organizations' ? { id: crypto.randomUUID() } : {}),
      };
      const select = async (tx: Transaction) =>
        rowsOf<{ n: number }>(
          await tx.execute(sql.raw(`select count(*)::int as n from ${table} where ${column} = '${victim}'`)),
        )[0]?.n ?? 0;
      targets.push({
        table,
        operations: {
          select,
          insert: async (tx) =>
            affectedRows(
              await tx.execute(
                sql`insert into ${sql.raw(table)} (${sql.raw(columns)}) select ${sql.raw(columns)} from jsonb_populate_record(null::${sql.raw(table)}, ${JSON.stringify(copy)}::text::jsonb)`,
              ),
            ),
          update: async (tx) =>
            affectedRows(
              await tx.execute(
                sql.raw(`update ${table} set ${column} = ${column} where ${column} = '${victim}'`),
              ),
            ),
          delete: async (tx) =>
            affectedRows(await tx.execute(sql.raw(`delete from ${table} where ${column} = '${victim}'`))),
        },
      });
      // Control: the victim's own scope does see its rows, so a 0 below means refused, not absent;
      // of a definer-only table (its key verifiers) it sees none either.
      const own = await withTenant(database.current.db, victim, select).catch(() => 0);
      if (hidden.has(table) ? own > 0 : own === 0)
        (hidden.has(table) ? readableByOwner : invisibleToOwner).push(table);
    }
  });

  afterAll(() => {
    console.log(
      `attack matrix: ${targets.length} tenant tables x 4 operations x ${Object.keys(scopes).length} scopes = ${attempts} attempts`,
    );
  });

  it('has victim rows in every tenant table, which the victim itself sees (the control)', () => {
    expect(empty, 'every tenant table needs seeded rows for the matrix to mean something').toEqual([]);
    expect(targets.length).toBeGreaterThan(40);
    expect(invisibleToOwner).toEqual([]);
    expect(readableByOwner).toEqual([]);
    // The tenant key verifiers, and the run queue's index of tenants (a tenant must not move itself ahead).
    expect([...hidden]).toEqual(['agent_run_queues', 'tenant_scope_keys']);
  });

  // One test per way in: each runs every table's four operations in rolled-back transactions.
  it.each(Object.keys(scopes) as (keyof typeof scopes)[])(
    'as %s, every tenant table refuses select, insert, update and delete of the victim',
    async (scopeName) => {
      const succeeded: string[] = [];
      let tried = 0;
      for (const { table, operations } of targets) {
        for (const [operation, run] of Object.entries(operations)) {
          tried++;
          const touched = await attempt(run, scopes[scopeName]);
          if (touched > 0) succeeded.push(`${table}: ${operation} (${touched} rows)`);
        }
      }
      attempts += tried;
      expect(succeeded).toEqual([]);
      expect(tried).toBe(targets.length * 4);
    },
  );
});

describe('global tables are no side door', () => {
  it('a tenant scope sees its active members only through listMembers, and nothing of users or the Auth.js tables', async () => {
    const { db, sql: raw } = database.current;
    // Sign-in data of a Globex person, written the way Auth.js writes it: outside any tenant scope.
    const globexOwner = globex.ownerUserId;
    await raw.query(
      `insert into accounts (user_id, type, provider, provider_account_id, access_token) values ($1, 'oauth', 'github', 'gus', 'gho_secret')`,
      [globexOwner],
    );
    await raw.query(
      `insert into sessions (session_token, user_id, expires) values ('sess-gus', $1, now() + interval '1 day')`,
      [globexOwner],
    );
    await raw.query(
      `insert into verification_tokens (identifier, token, expires) values ('gus@globex.example', 'tok', now() + interval '1 hour')`,
    );
    await raw.query(
      `insert into authenticators (credential_id, user_id, provider_account_id, credential_public_key, counter, credential_device_type, credential_backed_up) values ('cred-gus', $1, 'gus', 'pk', 0, 'singleDevice', false)`,
      [globexOwner],
    );
    const members = await withTenant(db, acme.organizationId, async (tx) =>
      (await listMembers(tx)).map((member) => member.email),
    );
    expect(members).toEqual(['editor@acme.example', 'owner@acme.example', 'viewer@acme.example']);

    let attempts = 0;
    let succeeded = 0;
    const authTables = ['accounts', 'sessions', 'verification_tokens', 'authenticators'];
    const statements = [
      ...authTables.flatMap((table) => [
        `select count(*) from ${table}`,
        `delete from ${table}`,
        `update ${table} set expires = expires`,
      ]),
      `insert into sessions (session_token, user_id, expires) values ('forged', '${globexOwner}', now())`,
      `select count(*) from users`,
      `update users set name = 'pwned' where id = '${globexOwner}'`,
      `delete from users where id = '${globexOwner}'`,
      `insert into users (email) values ('intruder@example.com')`,
    ].filter((statement) => !/accounts set expires|authenticators set expires/.test(statement));
    for (const [scopeName, scope] of Object.entries(scopes)) {
      for (const statement of statements) {
        attempts++;
        const touched = await attempt(async (tx) => {
          const result = await tx.execute(sql.raw(statement));
          const rows = rowsOf<{ count?: number | string }>(result);
          return statement.startsWith('select')
            ? Number(rows[0]?.count ?? 0)
            : affectedRows(result) || (statement.startsWith('insert') ? 1 : 0);
        }, scope);
        if (touched > 0) {
          succeeded++;
          console.log(`leak: ${statement} as ${scopeName}`);
        }
      }
    }
    console.log(
      `global tables: ${attempts} attempts on users and the Auth.js tables, ${succeeded} succeeded`,
    );
    expect(succeeded).toBe(0);
    const [stillThere] = await raw.query<{ n: number }>(
      `select count(*)::int as n from sessions where session_token = 'sess-gus'`,
    );
    expect(stillThere?.n).toBe(1);
  });
});

describe('composite references', () => {
  it('refuse, for every composite foreign key, a row pointing at another tenant', async () => {
    const { sql: raw } = database.current;
    const tenant = new Set(await tenantTables(raw));
    const composite = (await foreignKeys(raw)).filter(
      (fk) => tenant.has(fk.table) && tenant.has(fk.referencedTable) && fk.columns.length > 1,
    );
    const refused: string[] = [];
    const notRefused: string[] = [];
    for (const fk of composite) {
      // The row keeps its own id (a key like (organization_id, id, current_version_id) points at a
      // child of itself), unless the id is the whole reference (chunk_embeddings' id is its
      // chunk's); every other referencing column takes the other tenant's value.
      const pairs = fk.columns
        .map((column, i) => [column, fk.referencedColumns[i] ?? ''] as const)
        .filter(([column]) => column !== 'organization_id' && (column !== 'id' || fk.columns.length === 2));
      const own = pairs.map(([column]) => column);
      const theirs = pairs.map(([, column]) => column);
      const [parent] = await raw.query<Record<string, unknown>>(
        `select ${theirs.join(', ')} from ${fk.referencedTable} where organization_id = $1 limit 1`,
        [globex.organizationId],
      );
      if (!parent) {
        notRefused.push(`${fk.name}: no ${fk.referencedTable} row in the other tenant to point at`);
        continue;
      }
      // As the owner, with every other trigger of the table off (user triggers, and the checks of
      // other keys that point at this row): only this foreign key can refuse, and at once.
      const session = await database.current.dedicated();
      try {
        await session.exec('begin; set constraints all immediate');
        const others = await session.query<{ name: string }>(
          `select tgname as name from pg_trigger where tgrelid = $1::regclass and tgconstraint <> (
             select oid from pg_constraint where conname = $2 and conrelid = $1::regclass)`,
          [fk.table, fk.name],
        );
        for (const trigger of others)
          await session.exec(`alter table ${fk.table} disable trigger "${trigger.name}"`);
        await session.query(
          `with target as (select ctid, tableoid from ${fk.table} where organization_id = $1
                           order by (${own.map((column) => `${column} is not null`).join(' and ')}) desc limit 1)
           update ${fk.table} t set (${own.join(', ')}) = (
             select ${theirs.join(', ')} from ${fk.referencedTable} where organization_id = $2 limit 1)
           from target where t.ctid = target.ctid and t.tableoid = target.tableoid`,
          [acme.organizationId, globex.organizationId],
        );
        notRefused.push(`${fk.name}: accepted a reference into another tenant`);
      } catch (error) {
        const code = (error as { code?: string }).code;
        const constraint = error as { constraint?: string; constraint_name?: string };
        if (code === '23503' && (constraint.constraint ?? constraint.constraint_name) === fk.name)
          refused.push(fk.name);
        else notRefused.push(`${fk.name}: ${(error as Error).message}`);
      } finally {
        await session.exec('rollback');
        await session.release();
      }
    }
    console.log(
      `composite references: ${composite.length} foreign keys, ${refused.length} refused a cross-tenant row`,
    );
    expect(notRefused).toEqual([]);
    expect(refused.length).toBe(composite.length);
  });
});
