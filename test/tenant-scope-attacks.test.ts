import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit/audit.ts';
import { TenantScopeError } from '../src/base/errors.ts';
import { createDb, rowsOf, type Transaction } from '../src/client/client.ts';
import { registerScopeRuntime } from '../src/client/scope-runtime.ts';
import { runPrepared, withTenant, withUser } from '../src/client/tenant.ts';
import { createBrandVoice, setDefaultBrandVoice } from '../src/domains/brands.ts';
import { acceptInvitation, inviteMember, listMembers } from '../src/identity/members.ts';
import { listUserOrganizations } from '../src/identity/organizations.ts';
import { createServiceLogin } from '../src/operator/logins.ts';
import { auditLogs, brands, brandVoices, users } from '../src/schema/index.ts';
import { createKeyRing, loadKeyRing } from '../src/security/key-ring.ts';
import type { SeedResult } from '../src/seed/index.ts';
import { midScopeSettingAttacks, roleAttacks } from './support/attacks.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';
import { openingStatement } from './support/tickets.ts';

const database = useTestDatabase();

let acme: SeedResult;
let globex: SeedResult;

beforeAll(async () => {
  ({ acme, globex } = await seedAcmeAndGlobex(database.current.db));
});

/** Brands by organization, as one statement saw them: `{ acme: n, globex: m }`. */
async function brandsSeen(tx: Transaction | typeof database.current.db): Promise<Record<string, number>> {
  const rows = rowsOf<{ organization_id: string; n: number }>(
    await tx.execute(sql`select organization_id, count(*)::int as n from brands group by 1`),
  );
  return tally(rows.map((row) => [row.organization_id, row.n]));
}

function tally(pairs: [string, number][]): Record<string, number> {
  const seen: Record<string, number> = {};
  for (const [organization, n] of pairs) {
    const name =
      organization === acme.organizationId
        ? 'acme'
        : organization === globex.organizationId
          ? 'globex'
          : 'other';
    seen[name] = (seen[name] ?? 0) + n;
  }
  return seen;
}

const byOrganization = (rows: { organizationId: string }[]) =>
  tally(rows.map((row) => [row.organizationId, 1]));

describe('the scope is in force before the first statement', () => {
  it('control: the login itself, outside any scope, sees both tenants (so the checks below can see a breach)', async () => {
    const seen = await database.current.db.transaction((tx) => brandsSeen(tx));
    expect(seen.acme).toBeGreaterThan(0);
    expect(seen.globex).toBeGreaterThan(0);
  });

  // Each shape starts its first query synchronously inside fn, the way a service writes it.
  const shapes: Record<string, (tx: Transaction) => Promise<{ organizationId: string }[]>> = {
    '.execute()': (tx) => tx.select({ organizationId: brands.organizationId }).from(brands).execute(),
    '.then()': (tx) =>
      tx
        .select({ organizationId: brands.organizationId })
        .from(brands)
        .then((rows) => rows),
    'relational .execute()': (tx) =>
      tx.query.brands.findMany({ columns: { organizationId: true } }).execute(),
    'Promise.all': async (tx) =>
      (
        await Promise.all([
          tx.select({ organizationId: brands.organizationId }).from(brands).execute(),
          tx.select({ organizationId: brandVoices.organizationId }).from(brandVoices).execute(),
        ])
      ).flat(),
    'raw sql': async (tx) =>
      rowsOf<{ organizationId: string }>(
        await tx.execute(sql`select organization_id as "organizationId" from brands`),
      ),
    'update ... returning .execute()': (tx) =>
      tx
        .update(brands)
        .set({ updatedAt: sql`updated_at` })
        .returning({ organizationId: brands.organizationId })
        .execute(),
  };

  for (const [shape, run] of Object.entries(shapes)) {
    it(`${shape}: only the scope's tenant, and some of it`, async () => {
      const seen = byOrganization(await withTenant(database.current.db, acme.organizationId, run));
      expect(seen.acme).toBeGreaterThan(0);
      expect(seen).toEqual({ acme: seen.acme });
    });
  }

  it('a savepoint refused and caught mid-scope leaves the scope in force (package functions and raw savepoints)', async () => {
    const seen = await withTenant(database.current.db, acme.organizationId, async (tx) => {
      await setDefaultBrandVoice(tx, crypto.randomUUID()).catch(() => {});
      const [voice] = await tx
        .select()
        .from(brandVoices)
        .where(eq(brandVoices.organizationId, acme.organizationId))
        .limit(1);
      if (!voice) throw new Error('acme has a seeded brand voice');
      await createBrandVoice(tx, {
        brandId: voice.brandId,
        name: voice.name,
        promptTemplate: voice.promptTemplate,
        styleRules: voice.styleRules,
      }).catch(() => {});
      await tx.transaction(async (sp) => sp.execute(sql`select 1 / 0`)).catch(() => {});
      return brandsSeen(tx);
    });
    expect(seen.acme).toBeGreaterThan(0);
    expect(seen).toEqual({ acme: seen.acme });
  });
});

describe('prepared queries in a scope', () => {
  it('a Drizzle query prepared on the scope transaction shows only the scope tenant, scope after scope on one connection', async () => {
    // One connection, so every scope reuses the statement the first one prepared on the server.
    const handle = database.current.url
      ? createDb({ url: database.current.url, max: 1 })
      : { db: database.current.db, close: async () => {} };
    const ofTenant = (tx: Transaction) =>
      tx
        .select({ organizationId: brands.organizationId })
        .from(brands)
        .where(eq(brands.organizationId, sql.placeholder('organizationId')))
        .prepare('brands_of_tenant');
    const unfiltered = (tx: Transaction | typeof handle.db) =>
      tx.select({ organizationId: brands.organizationId }).from(brands).prepare('all_brands');
    try {
      const pairs = [
        ['acme', acme, globex],
        ['globex', globex, acme],
      ] as const;
      let executions = 0;
      const breaches: string[] = [];
      // Ten rounds: after five executions PostgreSQL may switch to a generic plan, which must still read the tenant.
      for (let round = 0; round < 10; round++) {
        for (const [name, own, other] of pairs) {
          const seen = await withTenant(handle.db, own.organizationId, async (tx) => ({
            own: byOrganization(await ofTenant(tx).execute({ organizationId: own.organizationId })),
            other: byOrganization(await ofTenant(tx).execute({ organizationId: other.organizationId })),
            all: byOrganization(await unfiltered(tx).execute()),
          }));
          executions += 3;
          if (!((seen.own[name] ?? 0) > 0)) breaches.push(`${name} round ${round}: own rows missing`);
          for (const [label, rows] of Object.entries(seen)) {
            if (Object.keys(rows).some((tenant) => tenant !== name)) breaches.push(`${name} ${label}`);
          }
        }
      }
      console.log(
        `prepared queries: ${executions} executions in 20 scopes of two tenants, ${breaches.length} saw another tenant or missed their own`,
      );
      expect(breaches).toEqual([]);
      // Control: the same prepared statement outside any scope (the superuser login) sees both tenants.
      const control = byOrganization(await unfiltered(handle.db).execute());
      expect(control.acme).toBeGreaterThan(0);
      expect(control.globex).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }
  });
});

describe('queries prepared once, run in scopes', () => {
  it('runPrepared runs a query prepared on the database in each scope for that tenant only, and nowhere else', async () => {
    // One connection: every scope reuses the statements the first one prepared on the server.
    const handle = database.current.url
      ? createDb({ url: database.current.url, max: 1 })
      : { db: database.current.db, close: async () => {} };
    const ofTenant = handle.db
      .select({ organizationId: brands.organizationId })
      .from(brands)
      .where(eq(brands.organizationId, sql.placeholder('organizationId')))
      .prepare('brands_of_tenant_once');
    const unfiltered = handle.db
      .select({ organizationId: brands.organizationId })
      .from(brands)
      .prepare('all_brands_once');
    try {
      const pairs = [
        ['acme', acme, globex],
        ['globex', globex, acme],
      ] as const;
      let executions = 0;
      const breaches: string[] = [];
      for (let round = 0; round < 10; round++) {
        for (const [name, own, other] of pairs) {
          const seen = await withTenant(handle.db, own.organizationId, async (tx) => ({
            own: byOrganization(await runPrepared(tx, ofTenant, { organizationId: own.organizationId })),
            other: byOrganization(await runPrepared(tx, ofTenant, { organizationId: other.organizationId })),
            all: byOrganization(await runPrepared(tx, unfiltered)),
          }));
          executions += 3;
          if (!((seen.own[name] ?? 0) > 0)) breaches.push(`${name} round ${round}: own rows missing`);
          for (const [label, rows] of Object.entries(seen)) {
            if (Object.keys(rows).some((tenant) => tenant !== name)) breaches.push(`${name} ${label}`);
          }
        }
      }
      console.log(
        `queries prepared once: ${executions} executions in 20 scopes of two tenants, ${breaches.length} saw another tenant or missed their own`,
      );
      expect(breaches).toEqual([]);
      // Refused outside a scope (a plain transaction), and through a transaction kept past its scope.
      await expect(handle.db.transaction((tx) => runPrepared(tx, unfiltered))).rejects.toThrow(
        TenantScopeError,
      );
      let kept: Transaction | undefined;
      await withTenant(handle.db, acme.organizationId, async (tx) => {
        kept = tx;
      });
      if (!kept) throw new Error('the scope ran');
      const leaked = kept;
      const late = await withTenant(handle.db, globex.organizationId, () =>
        runPrepared(leaked, unfiltered).then(
          (rows) => `read ${JSON.stringify(byOrganization(rows))}`,
          (error: unknown) => (error instanceof Error ? error.name : String(error)),
        ),
      );
      expect(late).not.toMatch(/^read/);
      // Control: the same prepared query run on its own, outside any scope, sees both tenants.
      const control = byOrganization(await unfiltered.execute());
      expect(control.acme).toBeGreaterThan(0);
      expect(control.globex).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }
  });
});

describe('scopes do not nest across tenants or people', () => {
  it('refuses another tenant, a user scope and a user listing inside a scope, and the outer scope stays whole', async () => {
    const refusals: string[] = [];
    const seen = await withTenant(database.current.db, acme.organizationId, async (tx) => {
      const attempts = {
        'another tenant': () => withTenant(tx, globex.organizationId, (inner) => brandsSeen(inner)),
        'a user scope': () => withUser(tx, globex.ownerUserId, async () => 0),
        "a person's organizations": () =>
          listUserOrganizations(tx as never, globex.ownerUserId) as Promise<unknown>,
      };
      for (const [name, attempt] of Object.entries(attempts)) {
        await attempt().then(
          () => {},
          (error) => {
            if (error instanceof TenantScopeError) refusals.push(name);
          },
        );
      }
      // The same tenant again is a no-op that runs inside the open transaction.
      const again = await withTenant(tx, acme.organizationId, (inner) => brandsSeen(inner));
      expect(again).toEqual(await brandsSeen(tx));
      return brandsSeen(tx);
    });
    expect(refusals).toEqual(['another tenant', 'a user scope', "a person's organizations"]);
    expect(seen.acme).toBeGreaterThan(0);
    expect(seen).toEqual({ acme: seen.acme });
  });

  it('refuses a transaction opened outside a scope', async () => {
    await expect(
      database.current.db.transaction((tx) => withTenant(tx, acme.organizationId, async () => 1)),
    ).rejects.toThrow(TenantScopeError);
  });
});

describe('settings are not keys', () => {
  const midScope = midScopeSettingAttacks;

  it('changing any setting mid-scope shows none of another tenant (and the own tenant stays visible before it)', async () => {
    const leaks: string[] = [];
    for (const [name, statements] of Object.entries(midScope)) {
      await withTenant(database.current.db, acme.organizationId, async (tx) => {
        const before = await brandsSeen(tx);
        expect(before.acme, `control for ${name}`).toBeGreaterThan(0);
        for (const statement of statements) {
          await tx.execute(
            sql.raw(
              statement
                .replaceAll('$VICTIM_OWNER', globex.ownerUserId)
                .replaceAll('$VICTIM', globex.organizationId),
            ),
          );
        }
        const after = await tx.transaction((sp) => brandsSeen(sp)).catch(() => ({}));
        const organizations = rowsOf<{ id: string }>(
          await tx.transaction((sp) => sp.execute(sql`select id from organizations`)).catch(() => []),
        );
        if (
          (after as Record<string, number>).globex ||
          organizations.some((row) => row.id === globex.organizationId)
        )
          leaks.push(name);
      });
    }
    console.log(
      `settings mid-scope: ${Object.keys(midScope).length} attacks, ${leaks.length} reached another tenant`,
    );
    expect(leaks).toEqual([]);
  });

  it("control: a proof made with the victim's key does open the victim, so the refusals above are not blindness", async () => {
    const opening = await openingStatement(database.current.db, globex.organizationId);
    const seen = await withTenant(database.current.db, acme.organizationId, async (tx) => {
      await tx.execute(opening);
      return brandsSeen(tx);
    });
    expect(seen.globex).toBeGreaterThan(0);
  });
});

describe.skipIf(!onServer)('a service login (server only: PGlite has one superuser session)', () => {
  const login = `neonhub_test_svc_${randomBytes(4).toString('hex')}`;

  it('RESET ROLE and SET ROLE mid-scope gain nothing; the superuser login is the control', async () => {
    const { url, sql: raw } = database.current;
    if (!url) throw new Error('server tests have a URL');
    const password = await createServiceLogin(database.current, login);
    const service = new URL(url);
    service.username = login;
    service.password = password;
    const handle = createDb({ url: service.toString(), max: 2 });
    try {
      const attacks = roleAttacks;
      const gained: string[] = [];
      for (const attack of attacks) {
        await withTenant(handle.db, acme.organizationId, async (tx) => {
          const ok = await tx
            .transaction((sp) => sp.execute(sql.raw(attack)))
            .then(
              () => true,
              () => false,
            );
          const seen = await tx
            .transaction((sp) => brandsSeen(sp))
            .catch(() => ({}) as Record<string, number>);
          if (ok && (seen.globex ?? 0) > 0) gained.push(attack);
          if (attack.startsWith('alter') && ok) gained.push(attack);
        });
      }
      console.log(
        `service login: ${attacks.length} role attacks mid-scope, ${gained.length} gained anything`,
      );
      expect(gained).toEqual([]);
      // Control: the same RESET ROLE from the superuser login does open every tenant.
      const control = await withTenant(database.current.db, acme.organizationId, async (tx) => {
        await tx.execute(sql`reset role`);
        return brandsSeen(tx);
      });
      expect(control.globex).toBeGreaterThan(0);
    } finally {
      await handle.close();
      await raw.exec(`drop owned by ${login}; drop role ${login}`);
    }
  });

  it('a login that cannot become neonhub_app is refused for that reason, not for what fn sent behind it', async () => {
    const { url, sql: raw } = database.current;
    if (!url) throw new Error('server tests have a URL');
    const outsider = `${login}_auth`;
    const password = await createServiceLogin(database.current, outsider, undefined, { role: 'auth' });
    const service = new URL(url);
    service.username = outsider;
    service.password = password;
    const handle = createDb({ url: service.toString(), max: 1 });
    try {
      const refusal = await withTenant(handle.db, acme.organizationId, (tx) =>
        tx.select({ organizationId: brands.organizationId }).from(brands),
      ).then(
        (rows) => rows,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(TenantScopeError);
      expect(String(refusal)).toMatch(/is not a member of it/);
      // The connection went back clean: a statement outside any scope answers.
      expect(rowsOf(await handle.db.execute(sql`select 1 as one`))).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
      await raw.exec(`drop owned by ${outsider}; drop role ${outsider}`);
    }
  });

  it('refuses to open a scope as a superuser, loopback or not, unless told it is a development database', async () => {
    const { url } = database.current;
    if (!url) throw new Error('server tests have a URL');
    // The seeded tenants' keys come from the development ring, asked for explicitly here.
    const keys = loadKeyRing({ NEONHUB_CREDENTIAL_KEYS: 'dev' }, { warn: () => {} });
    const development = process.env.NEONHUB_DEVELOPMENT;
    try {
      delete process.env.NEONHUB_DEVELOPMENT;
      for (const display of ['127.0.0.1:5432/neonhub', 'db.internal.example:5432/neonhub']) {
        const handle = createDb({ url, max: 1 });
        registerScopeRuntime(handle.db, { target: { kind: 'server', display }, keys });
        await expect(withTenant(handle.db, acme.organizationId, async () => 1)).rejects.toThrow(
          /refuse to run as "postgres".*NEONHUB_DEVELOPMENT=1/,
        );
        await handle.close();
      }
      process.env.NEONHUB_DEVELOPMENT = '1';
      const handle = createDb({ url, max: 1 });
      registerScopeRuntime(handle.db, {
        target: { kind: 'server', display: '127.0.0.1:5432/neonhub' },
        keys,
      });
      await expect(withTenant(handle.db, acme.organizationId, async () => 1)).resolves.toBe(1);
      await handle.close();
    } finally {
      if (development === undefined) delete process.env.NEONHUB_DEVELOPMENT;
      else process.env.NEONHUB_DEVELOPMENT = development;
    }
  });
});

describe('pooled connections keep nothing from a scope', () => {
  it('session settings, temp tables and advisory locks left by one scope do not reach the next', async () => {
    // One connection, so the second scope and the check run where the first one ran.
    const handle = database.current.url
      ? createDb({ url: database.current.url, max: 1 })
      : { db: database.current.db, close: async () => {} };
    try {
      await withTenant(handle.db, acme.organizationId, async (tx) => {
        await tx.execute(sql`select set_config('app.scope', current_setting('app.scope'), false)`);
        await tx.execute(sql`create temp table brands (like public.brands)`);
        await tx.execute(sql`select pg_advisory_lock(42)`);
        await tx.execute(sql`set session search_path = pg_temp, public`);
      });
      const next = await withTenant(handle.db, globex.organizationId, async (tx) => {
        const seen = await brandsSeen(tx);
        const [temp] = rowsOf<{ n: number }>(
          await tx.execute(
            sql`select count(*)::int as n from pg_class where relpersistence = 't' and relname = 'brands'`,
          ),
        );
        return { seen, tempTables: temp?.n };
      });
      expect(next.seen.globex).toBeGreaterThan(0);
      expect(next.seen).toEqual({ globex: next.seen.globex });
      expect(next.tempTables).toBe(0);
      const [after] = rowsOf<{ key: string; locks: number; path: string }>(
        await handle.db.execute(
          sql`select coalesce(current_setting('app.scope', true), '') as key, current_setting('search_path') as path,
                     (select count(*)::int from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as locks`,
        ),
      );
      expect(after).toEqual({ key: '', locks: 0, path: expect.not.stringMatching(/^pg_temp/) });
      // Outside any scope, on that same connection, no tenant is visible through the leftovers.
      expect(
        await handle.db.transaction(async (tx) => {
          await tx.execute(sql`set local role neonhub_app`);
          return brandsSeen(tx);
        }),
      ).toEqual({});
    } finally {
      await handle.close();
    }
  });

  it('a transaction kept past its scope refuses every statement, even while its connection serves another tenant', async () => {
    const handle = database.current.url
      ? createDb({ url: database.current.url, max: 1 })
      : { db: database.current.db, close: async () => {} };
    try {
      let kept: Transaction | undefined;
      const own = await withTenant(handle.db, acme.organizationId, async (tx) => {
        kept = tx;
        return brandsSeen(tx);
      });
      expect(own.acme).toBeGreaterThan(0);
      if (!kept) throw new Error('the scope ran');
      const leaked = kept;
      // The one connection now holds Globex's scope; the kept transaction tries to read through it.
      const attempt = await withTenant(handle.db, globex.organizationId, async () =>
        brandsSeen(leaked).then(
          (seen) => `read ${JSON.stringify(seen)}`,
          (error: unknown) => (error instanceof Error ? error.name : String(error)),
        ),
      );
      expect(attempt).not.toMatch(/^read/);
    } finally {
      await handle.close();
    }
  });

  it("a temp table named like a table never receives the scope's writes, nor masks the audit chain", async () => {
    await withTenant(database.current.db, acme.organizationId, async (tx) => {
      await tx.execute(
        sql`create temp table audit_chain_heads (organization_id uuid, seq bigint, hash bytea)`,
      );
      await tx.execute(sql`create temp table audit_logs (like public.audit_logs)`);
      const before = await tx
        .select({ id: auditLogs.id })
        .from(auditLogs)
        .where(eq(auditLogs.organizationId, acme.organizationId));
      await recordAudit(tx, createKeyRing([{ id: 'shadow-test', key: randomBytes(32) }]), {
        actorType: 'system',
        actorLabel: 'test',
        action: 'temp.shadow',
        targetType: 'organization',
        targetId: acme.organizationId,
      });
      const after = await tx
        .select({ id: auditLogs.id })
        .from(auditLogs)
        .where(eq(auditLogs.organizationId, acme.organizationId));
      expect(after.length).toBe(before.length + 1);
      const [shadow] = rowsOf<{ n: number }>(
        await tx.execute(
          sql`select (select count(*) from pg_temp.audit_logs) + (select count(*) from pg_temp.audit_chain_heads) as n`,
        ),
      );
      expect(Number(shadow?.n)).toBe(0);
    });
  });
});

describe('people are not adopted', () => {
  it('a tenant cannot attach, by id or by a self-made invitation, a person of another tenant; an invited person can join', async () => {
    const { db } = database.current;
    const victim = globex.ownerUserId;
    const outcomes = await withTenant(db, acme.organizationId, async (tx) => {
      const [ownerRole] = rowsOf<{ id: string }>(
        await tx.execute(
          sql`select id from roles where organization_id = ${acme.organizationId} and key = 'viewer'`,
        ),
      );
      const attempts: Record<string, () => Promise<unknown>> = {
        'insert a membership for their id': () =>
          tx.execute(
            sql`insert into memberships (organization_id, user_id, role_id, status) values (${acme.organizationId}, ${victim}, ${ownerRole?.id}, 'invited')`,
          ),
        'move a membership onto their id': () =>
          tx.execute(
            sql`update memberships set user_id = ${victim} where organization_id = ${acme.organizationId}`,
          ),
        // Founding needs a person's scope (its owner is whoever that scope was opened for).
        'found an organization with them': () =>
          tx.execute(
            sql`select app_create_organization(${crypto.randomUUID()}::uuid, 'acme-again', 'Acme', 'free', 'us', '{}'::jsonb, '[]'::jsonb, 'dev-insecure', '\\x00'::bytea, 0, '\\x00'::bytea)`,
          ),
        'list their organizations': () => tx.execute(sql`select * from app_user_organizations()`),
        'accept an invitation to their address as someone else': async () => {
          const { token } = await inviteMember(tx, {
            email: 'owner@globex.example',
            roleId: ownerRole?.id ?? '',
          });
          return tx.execute(
            sql`select app_accept_invitation(${acme.organizationId}::uuid, sha256(convert_to(${token}, 'UTF8')))`,
          );
        },
      };
      const result: Record<string, string> = {};
      for (const [name, attempt] of Object.entries(attempts)) {
        result[name] = await tx.transaction(attempt).then(
          () => 'succeeded',
          (error) => (error as { cause?: { code?: string } }).cause?.code ?? String(error),
        );
      }
      // An id nobody has gets the same refusal as a real one: no existence oracle.
      result['insert for an unknown id'] = await tx
        .transaction((sp) =>
          sp.execute(
            sql`insert into memberships (organization_id, user_id, role_id) values (${acme.organizationId}, ${crypto.randomUUID()}, ${ownerRole?.id})`,
          ),
        )
        .then(
          () => 'succeeded',
          (error) => (error as { cause?: { code?: string } }).cause?.code ?? String(error),
        );
      result.visible = (await listMembers(tx)).some((member) => member.userId === victim) ? 'yes' : 'no';
      return result;
    });
    console.log(
      `adoption: ${Object.keys(outcomes).length - 1} attempts, ${Object.values(outcomes).filter((o) => o === 'succeeded').length} succeeded`,
    );
    expect(outcomes).toEqual({
      'insert a membership for their id': '42501',
      'move a membership onto their id': '42501',
      'found an organization with them': '42501',
      'list their organizations': '42501',
      'accept an invitation to their address as someone else': '42501',
      'insert for an unknown id': '42501',
      visible: 'no',
    });

    // Control: the invited person accepts and appears, so the refusals above are not blindness.
    const [newcomer] = await db.insert(users).values({ email: 'newcomer@elsewhere.example' }).returning();
    const { token } = await withTenant(db, acme.organizationId, async (tx) => {
      const [viewer] = rowsOf<{ id: string }>(
        await tx.execute(
          sql`select id from roles where organization_id = ${acme.organizationId} and key = 'viewer'`,
        ),
      );
      return inviteMember(tx, { email: 'Newcomer@Elsewhere.example', roleId: viewer?.id ?? '' });
    });
    expect(await acceptInvitation(db, newcomer?.id ?? '', token)).toBe(acme.organizationId);
    await expect(acceptInvitation(db, newcomer?.id ?? '', token)).rejects.toThrow(/already accepted/);
    const members = await withTenant(db, acme.organizationId, (tx) => listMembers(tx));
    expect(members.map((member) => member.email)).toContain('newcomer@elsewhere.example');
    expect((await listUserOrganizations(db, newcomer?.id ?? '')).map((o) => o.id)).toEqual([
      acme.organizationId,
    ]);
  });
});
