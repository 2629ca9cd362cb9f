import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle, rowsOf, type Transaction } from '../src/client/client.ts';
import { OPEN_TENANT, registerScopeRuntime, runtimeOf } from '../src/client/scope-runtime.ts';
import { withTenant, withUser } from '../src/client/tenant.ts';
import { createOrganization, listUserOrganizations, rotateTenantKey } from '../src/identity/organizations.ts';
import { createServiceLogin } from '../src/operator/logins.ts';
import { brands, users } from '../src/schema/index.ts';
import { tenantKey, tenantScopeProof } from '../src/security/tenant-keys.ts';
import { seedTenant } from '../src/seed/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { openingStatement, ticketOf } from './support/tickets.ts';

// The scope credential as an attacker with one injected statement inside an ordinary scope meets
// it: what a scope can read of it, what outlives the scope, what reaches other sessions. Victims
// are made by createOrganization; on a server, everyone logs in through create-login logins. Every
// attack has a control that shows the test would see a breach.

const database = useTestDatabase();

interface Tenant {
  id: string;
  ownerUserId: string;
}

let victim: Tenant;
let attacker: Tenant;

async function organization(slug: string): Promise<Tenant> {
  const { db } = database.current;
  const [owner] = await db
    .insert(users)
    .values({ email: `owner@${slug}.example` })
    .returning();
  if (!owner) throw new Error('owner row');
  const { organization: made } = await createOrganization(db, { slug, name: slug, ownerUserId: owner.id });
  await withTenant(db, made.id, (tx) =>
    tx
      .insert(brands)
      .values(
        [1, 2, 3].map((n) => ({ organizationId: made.id, slug: `${slug}-${n}`, name: `${slug} ${n}` })),
      ),
  );
  return { id: made.id, ownerUserId: owner.id };
}

beforeAll(async () => {
  victim = await organization('victim');
  attacker = await organization('attacker');
});

/** Brands a statement sees, by whose they are: `{ victim: n, attacker: m }`. */
async function brandsSeen(tx: Transaction | DbHandle['db']): Promise<Record<string, number>> {
  const rows = rowsOf<{ organization_id: string; n: number }>(
    await tx.execute(sql`select organization_id, count(*)::int as n from brands group by 1`),
  );
  const seen: Record<string, number> = {};
  for (const row of rows) {
    const name =
      row.organization_id === victim.id
        ? 'victim'
        : row.organization_id === attacker.id
          ? 'attacker'
          : 'other';
    seen[name] = (seen[name] ?? 0) + row.n;
  }
  return seen;
}

/** The victim's brands a transaction reaches after `prepare` ran in it (0 when refused). */
async function victimBrandsAfter(db: DbHandle['db'], prepare: (tx: Transaction) => Promise<unknown>) {
  return db
    .transaction(async (tx) => {
      await tx.execute(sql`select set_config('role', 'neonhub_app', true)`);
      await prepare(tx);
      return (await brandsSeen(tx)).victim ?? 0;
    })
    .catch(() => 0);
}

/** A login made the way services get theirs, and a pool on it. */
async function serviceLogin(): Promise<DbHandle & { name: string }> {
  const { url } = database.current;
  if (!url) throw new Error('service logins need a server');
  const name = `neonhub_test_login_${randomBytes(4).toString('hex')}`;
  const password = await createServiceLogin(database.current, name);
  const service = new URL(url);
  service.username = name;
  service.password = password;
  const handle = createDb({ url: service.toString(), max: 1 });
  return {
    ...handle,
    name,
    close: async () => {
      await handle.close();
      await database.current.sql.exec(`drop owned by ${name}; drop role ${name}`);
    },
  };
}

describe('what a scope can read of its credential, and for how long it opens anything', () => {
  it("a scope's ticket opens its tenant only in its own transaction: replayed in another, on any connection, it opens nothing", async () => {
    const { db } = database.current;
    const ticket = await ticketOf(db, victim.id);
    expect(ticket).toMatch(/^t:b:[0-9a-f-]{36}:[0-9a-f]{64}$/);
    expect(ticket).toContain(victim.id);
    const replayed = await victimBrandsAfter(db, (tx) =>
      tx.execute(sql`select set_config('app.scope', ${ticket}, true)`),
    );
    // Control: a proof made with the victim's key does open it in such a transaction.
    const opening = await openingStatement(db, victim.id);
    const opened = await victimBrandsAfter(db, (tx) => tx.execute(opening));
    console.log(`ticket replay: ${replayed} victim brands reached (control with a proof: ${opened})`);
    expect(replayed).toBe(0);
    expect(opened).toBe(3);
  });

  it("a policy checks its own transaction's ticket without the full check's steps; a replayed ticket takes them, refused", async () => {
    const { db } = database.current;
    const replayedTicket = await ticketOf(db, victim.id);
    const opening = await openingStatement(db, victim.id);
    // Calls of the check and of the full check's steps, as this transaction has counted them.
    const calls = async (tx: Transaction) => {
      const rows = rowsOf<{ funcname: string; calls: number }>(
        await tx.execute(sql`select funcname, calls::int as calls from pg_stat_xact_user_functions
          where funcname in ('app_scope_subject', 'app_hmac', 'app_scope_binding')`),
      );
      return (name: string) => rows.find((row) => row.funcname === name)?.calls ?? 0;
    };
    const counted = await db.transaction(async (tx) => {
      await tx.execute(sql`set local track_functions = 'all'`);
      await tx.execute(sql`select set_config('role', 'neonhub_app', true)`);
      await tx.execute(opening);
      const atOpening = await calls(tx);
      const seen = (await brandsSeen(tx)).victim ?? 0;
      const afterRead = await calls(tx);
      // Control: the ticket of another transaction goes through app_hmac, and is refused.
      const refused = await tx
        .transaction(async (sp) => {
          await sp.execute(sql`select set_config('app.scope', ${replayedTicket}, true)`);
          return brandsSeen(sp);
        })
        .then(() => false)
        .catch(() => true);
      const afterReplay = await calls(tx);
      return {
        seen,
        checks: afterRead('app_scope_subject') - atOpening('app_scope_subject'),
        fullSteps:
          afterRead('app_hmac') -
          atOpening('app_hmac') +
          afterRead('app_scope_binding') -
          atOpening('app_scope_binding'),
        refused,
        replayedHmac: afterReplay('app_hmac') - afterRead('app_hmac'),
      };
    });
    console.log(
      `scope checks of a read of 3 brands: ${counted.checks}, full-check steps ${counted.fullSteps}; replayed ticket: refused ${counted.refused}, app_hmac ${counted.replayedHmac}`,
    );
    expect(counted.seen).toBe(3);
    expect(counted.checks).toBeGreaterThan(0);
    expect(counted.fullSteps).toBe(0);
    expect(counted.refused).toBe(true);
    expect(counted.replayedHmac).toBeGreaterThan(0);
  });

  it('nothing a scope can read holds the tenant key, its verifier or the opening proof', async () => {
    const { db } = database.current;
    const ring = runtimeOf(db).keys.keyRing();
    const [version] = await database.current.sql.query<{ version: number; key_id: string }>(
      'select version, key_id from app_tenant_key_version($1)',
      [victim.id],
    );
    const key = tenantKey(ring, version?.key_id ?? '', victim.id, version?.version ?? 0);
    const seen = await withTenant(db, victim.id, async (tx) => {
      const reads = {
        settings: sql`select string_agg(name || '=' || setting, ' ') || ' app.scope=' || current_setting('app.scope') as text from pg_settings`,
        'own activity': sql`select string_agg(coalesce(query, ''), ' ') as text from pg_stat_activity`,
        'prepared statements': sql`select string_agg(statement, ' ') as text from pg_prepared_statements`,
        'key verifiers': sql`select string_agg(encode(verifier, 'hex'), ' ') as text from tenant_scope_keys`,
        'scope secrets': sql`select string_agg(encode(verifier, 'hex'), ' ') as text from scope_secrets`,
      };
      const texts: Record<string, string> = {};
      for (const [name, query] of Object.entries(reads)) {
        texts[name] = await tx
          .transaction(async (sp) => rowsOf<{ text: string | null }>(await sp.execute(query))[0]?.text ?? '')
          .catch((error: { cause?: { code?: string } }) => `refused ${error.cause?.code}`);
      }
      return texts;
    });
    const joined = Object.values(seen).join(' ');
    expect(joined).not.toContain(key.toString('hex'));
    expect(joined).not.toContain(key.toString('base64'));
    expect(seen['key verifiers']).toBe('refused 42501');
    expect(seen['scope secrets']).toBe('refused 42501');
    expect(seen.settings).toMatch(/app\.scope=t:b:/);
  });

  it("an injected statement cannot open another tenant: a forged or borrowed proof, or a proof for its own tenant's key with another id", async () => {
    const { db } = database.current;
    const now = Date.now();
    const ownOpening = await openingStatement(db, attacker.id);
    const keyOf = async (tenant: Tenant) => {
      const [row] = await database.current.sql.query<{ version: number; key_id: string }>(
        'select version, key_id from app_tenant_key_version($1)',
        [tenant.id],
      );
      const version = row?.version ?? 1;
      return { version, key: tenantKey(runtimeOf(db).keys.keyRing(), row?.key_id ?? '', tenant.id, version) };
    };
    const own = await keyOf(attacker);
    const victims = await keyOf(victim);
    const attempts: Record<string, (tx: Transaction) => Promise<unknown>> = {
      'a random proof': (tx) =>
        tx.execute(
          sql`select app_open_scope(${victim.id}::uuid, 1, ${now}::bigint, ${randomBytes(32)}::bytea)`,
        ),
      "its own tenant's proof under the victim's id": (tx) =>
        tx.execute(
          sql`select app_open_scope(${victim.id}::uuid, ${own.version}::integer, ${now}::bigint, ${tenantScopeProof(own.key, attacker.id, own.version, now)}::bytea)`,
        ),
      'a proof of an hour ago': (tx) => {
        const then = now - 3_600_000;
        return tx.execute(
          sql`select app_open_scope(${victim.id}::uuid, ${victims.version}::integer, ${then}::bigint, ${tenantScopeProof(victims.key, victim.id, victims.version, then)}::bytea)`,
        );
      },
      'a person scope for the owner, without the service key': (tx) =>
        tx.execute(
          sql`select app_open_user_scope(${victim.ownerUserId}::uuid, ${now}::bigint, ${randomBytes(32)}::bytea)`,
        ),
      'a new key version for the victim, chosen by the statement': (tx) =>
        tx.execute(
          sql`select app_add_tenant_key(${victim.id}::uuid, 2, 'dev-insecure', ${randomBytes(128)}::bytea, 0, ${now}::bigint, ${randomBytes(32)}::bytea)`,
        ),
    };
    const reached: Record<string, number> = {};
    for (const [name, attempt] of Object.entries(attempts)) {
      reached[name] = await withTenant(db, attacker.id, async (tx) => {
        await tx.transaction(attempt).catch(() => {});
        return (
          (await tx.transaction((sp) => brandsSeen(sp)).catch(() => ({}) as Record<string, number>)).victim ??
          0
        );
      });
    }
    // Control: a right proof, for its own tenant, does open a scope this way.
    const control = await db
      .transaction(async (tx) => {
        await tx.execute(sql`select set_config('role', 'neonhub_app', true)`);
        await tx.execute(ownOpening);
        return (await brandsSeen(tx)).attacker ?? 0;
      })
      .catch(() => 0);
    console.log(
      `opening attacks: ${Object.keys(attempts).length}, ${Object.values(reached).filter((n) => n > 0).length} reached the victim (control: a right proof opens ${control} brands)`,
    );
    expect(reached).toEqual(Object.fromEntries(Object.keys(attempts).map((name) => [name, 0])));
    expect(control).toBe(3);
  });
});

describe('a pooled connection keeps nothing one scope plants for the next', () => {
  it.skipIf(!onServer)(
    "a statement prepared under the name of the next scope's statement is gone before the next scope (server: the pool)",
    async () => {
      const login = await serviceLogin();
      const listener = postgres(database.current.url ?? '', { max: 1, onnotice: () => {} });
      const leaked: string[] = [];
      await listener.listen('neonhub_leak', (payload) => leaked.push(payload));
      try {
        // The victim's scope prepares a statement on the connection (Drizzle's .prepare(name)).
        const byTenant = login.db
          .select({ id: brands.id })
          .from(brands)
          .where(eq(brands.organizationId, sql.placeholder('org')))
          .prepare('brands_by_tenant');
        const { runPrepared } = await import('../src/client/tenant.ts');
        const runVictim = () =>
          withTenant(login.db, victim.id, (tx) => runPrepared(tx, byTenant, { org: victim.id }));
        expect(await runVictim()).toHaveLength(3);
        const pid = async () =>
          rowsOf<{ pid: number }>(await login.db.execute(sql`select pg_backend_pid() as pid`))[0]?.pid;
        const before = await pid();
        // The attacker's scope, on the same connection, swaps every statement there for one that
        // sends what the next scope reads to a listener, and leaves it behind.
        const planted = await withTenant(login.db, attacker.id, async (tx) => {
          const names = rowsOf<{ name: string; parameters: number }>(
            await tx.execute(
              sql`select name, cardinality(parameter_types) as parameters from pg_prepared_statements where not from_sql`,
            ),
          );
          for (const { name, parameters } of names) {
            const types = Array.from({ length: parameters }, () => 'text').join(', ');
            await tx.execute(sql.raw(`deallocate "${name}"`));
            await tx.execute(
              sql.raw(
                `prepare "${name}"${parameters ? `(${types})` : ''} as select b.id, pg_notify('neonhub_leak', b.name) from brands b`,
              ),
            );
          }
          return names.length;
        });
        const after = await pid();
        const outcome = await runVictim().then(
          (rows) => `answered ${rows.length} rows`,
          (error: Error) => `failed: ${error.message.slice(0, 60)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        console.log(
          `prepared-statement trap: ${planted} statements replaced; the connection was ${before === after ? 'kept' : 'replaced'}; the next scope ${outcome}; ${leaked.length} rows leaked`,
        );
        expect(planted).toBeGreaterThan(0);
        expect(after).not.toBe(before);
        expect(outcome).toBe('answered 3 rows');
        expect(leaked).toEqual([]);
        // Control: the same plant on a session nobody resets runs in the next transaction there.
        const raw = postgres(database.current.url ?? '', { max: 1, onnotice: () => {} });
        try {
          await raw.unsafe(`prepare trap as select b.id, pg_notify('neonhub_leak', b.name) from brands b`);
          await raw.unsafe('execute trap');
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(leaked.length).toBeGreaterThan(0);
        } finally {
          await raw.end();
        }
      } finally {
        await listener.end();
        await login.close();
      }
    },
  );

  it('session settings, listeners, cursors and sequences a scope leaves do not reach the next scope on the connection', async () => {
    const handle = database.current.url
      ? createDb({ url: database.current.url, max: 1 })
      : { db: database.current.db, close: async () => {} };
    try {
      await withTenant(handle.db, attacker.id, async (tx) => {
        await tx.execute(sql`set datestyle = 'SQL, DMY'`);
        await tx.execute(sql`select set_config('app.scope', current_setting('app.scope'), false)`);
        await tx.execute(sql`listen neonhub_scope_residue`);
        await tx.execute(sql`declare kept cursor with hold for select id from brands`);
        // Last: every later statement of this session would be cut after 5 ms.
        await tx.execute(sql`set statement_timeout = 5`);
      }).catch(() => {});
      const next = await withTenant(handle.db, victim.id, async (tx) => {
        const [row] = rowsOf<{
          timeout: string;
          datestyle: string;
          listening: number;
          cursors: number;
          slept: string;
        }>(
          await tx.execute(sql`select current_setting('statement_timeout') as timeout, current_setting('datestyle') as datestyle,
                                      (select count(*)::int from pg_listening_channels()) as listening,
                                      (select count(*)::int from pg_cursors where is_holdable) as cursors,
                                      pg_sleep(0.02)::text as slept`),
        );
        return { ...row, seen: await brandsSeen(tx) };
      });
      expect(next).toMatchObject({
        timeout: '0',
        datestyle: 'ISO, MDY',
        listening: 0,
        cursors: 0,
        seen: { victim: 3 },
      });
    } finally {
      await handle.close();
    }
  });
});

describe('rotation', () => {
  it('rotateTenantKey gives a new key version: ids and rows stay, a key captured before stops opening the tenant', async () => {
    const { db } = database.current;
    const rotated = await organization('rotated');
    const capturedOpening = await openingStatement(db, rotated.id);
    const [old] = await database.current.sql.query<{ version: number; key_id: string }>(
      'select version, key_id from app_tenant_key_version($1)',
      [rotated.id],
    );
    const oldKey = tenantKey(runtimeOf(db).keys.keyRing(), old?.key_id ?? '', rotated.id, old?.version ?? 1);
    const withOldKey = () => {
      const issued = Date.now();
      return sql`select app_open_scope(${rotated.id}::uuid, ${old?.version}::integer, ${issued}::bigint, ${tenantScopeProof(oldKey, rotated.id, old?.version ?? 1, issued)}::bytea)`;
    };
    const brandsOfRotated = async (prepare: (tx: Transaction) => Promise<unknown>) =>
      db
        .transaction(async (tx) => {
          await tx.execute(sql`select set_config('role', 'neonhub_app', true)`);
          await prepare(tx);
          return (
            rowsOf<{ n: number }>(
              await tx.execute(
                sql`select count(*)::int as n from brands where organization_id = ${rotated.id}`,
              ),
            )[0]?.n ?? 0
          );
        })
        .catch(() => 0);
    expect(await brandsOfRotated((tx) => tx.execute(withOldKey()))).toBe(3);

    // With a grace period the old version keeps working; this process moves to the new one.
    expect(await rotateTenantKey(db, rotated.id, { graceSeconds: 600 })).toEqual({ version: 2 });
    expect(await brandsOfRotated((tx) => tx.execute(withOldKey()))).toBe(3);
    expect(await withTenant(db, rotated.id, (tx) => brandsSeen(tx))).toEqual({ other: 3 });

    // Retired at once (a suspected leak): the captured key and the captured proof open nothing.
    expect(await rotateTenantKey(db, rotated.id, { graceSeconds: 0 })).toEqual({ version: 3 });
    const captured = await brandsOfRotated((tx) => tx.execute(withOldKey()));
    const replayedProof = await brandsOfRotated((tx) => tx.execute(capturedOpening));
    const [ids] = await database.current.sql.query<{ n: number }>(
      'select count(*)::int as n from brands where organization_id = $1',
      [rotated.id],
    );
    console.log(
      `rotation: after an immediate rotation the captured key reached ${captured} rows, the captured proof ${replayedProof}`,
    );
    expect(captured).toBe(0);
    expect(replayedProof).toBe(0);
    expect(ids?.n).toBe(3);
    expect(await withTenant(db, rotated.id, (tx) => brandsSeen(tx))).toEqual({ other: 3 });
    // Another process, holding version 2 from before, is refused once, then reads version 3.
    const other = database.current.url ? createDb({ url: database.current.url, max: 1 }) : undefined;
    if (other) {
      try {
        runtimeOf(other.db).keys.rememberTenantKey(rotated.id, 2, old?.key_id ?? '');
        await expect(withTenant(other.db, rotated.id, async () => 1)).rejects.toThrow(/retired key/);
        expect(await withTenant(other.db, rotated.id, (tx) => brandsSeen(tx))).toEqual({ other: 3 });
      } finally {
        await other.close();
      }
    }
  });
});

describe('person scopes answer for their own person only', () => {
  it("a person's organizations and invitations need that person's scope, which only the service key opens", async () => {
    const { db } = database.current;
    expect((await listUserOrganizations(db, victim.ownerUserId)).map((o) => o.id)).toEqual([victim.id]);
    const fromTenant = await withTenant(db, attacker.id, (tx) =>
      tx
        .transaction((sp) => sp.execute(sql`select * from app_user_organizations()`))
        .then(
          () => 'answered',
          (error: { cause?: { code?: string } }) => error.cause?.code,
        ),
    );
    const fromOwnPerson = await withUser(db, attacker.ownerUserId, async (tx) =>
      rowsOf<{ id: string }>(await tx.execute(sql`select id from app_user_organizations()`)).map((o) => o.id),
    );
    expect(fromTenant).toBe('42501');
    expect(fromOwnPerson).toEqual([attacker.id]);
  });
});

describe('development conveniences are explicit', () => {
  it.skipIf(!onServer)('seedTenant is refused on a server unless NEONHUB_DEVELOPMENT=1', async () => {
    const { url } = database.current;
    const handle = createDb({ url, max: 1 });
    const development = process.env.NEONHUB_DEVELOPMENT;
    try {
      delete process.env.NEONHUB_DEVELOPMENT;
      registerScopeRuntime(handle.db, { target: { kind: 'server', display: '127.0.0.1:5432/neonhub' } });
      await expect(
        seedTenant(handle.db, { slug: 'demo2', name: 'Demo', ownerEmail: 'a@demo2.example', ownerName: 'A' }),
      ).rejects.toThrow(/refused on 127\.0\.0\.1.*NEONHUB_DEVELOPMENT=1/);
    } finally {
      if (development !== undefined) process.env.NEONHUB_DEVELOPMENT = development;
      await handle.close();
    }
  });
});

describe('the statement that opens a scope', () => {
  it('names what it calls by schema and carries the proof as parameters only', () => {
    expect(OPEN_TENANT).toMatch(/public\.app_open_scope\(\$1::uuid, \$2::integer, \$3::bigint, \$4::bytea\)/);
    expect(OPEN_TENANT).not.toMatch(/'[0-9a-f]{16,}'/);
  });
});

/** The server's log as a superuser reads it, when the server keeps one it can name (logging_collector). */
async function serverLog(): Promise<string | undefined> {
  const [file] = await database.current.sql.query<{ path: string | null }>(
    'select pg_current_logfile() as path',
  );
  if (!file?.path) return undefined;
  const [content] = await database.current.sql.query<{ text: string }>('select pg_read_file($1) as text', [
    file.path,
  ]);
  return content?.text;
}

describe.skipIf(!onServer)(
  'logs and statistics (server only: PGlite keeps no log and loads no pg_stat_statements)',
  () => {
    it('at log_statement = all, log_min_duration_statement = 0 and auto_explain, a create-login login logs no proof; a login without its setting does (control)', async (context) => {
      if ((await serverLog()) === undefined) {
        context.skip('this server keeps no log file a superuser can read (logging_collector is off)');
      }
      const hidden = await serviceLogin();
      // The control: the same login made without create-login's log setting (PostgreSQL's default).
      const plainName = `neonhub_test_plain_${randomBytes(4).toString('hex')}`;
      await database.current.sql.exec(
        `CREATE ROLE ${plainName} LOGIN PASSWORD 'plain-login' IN ROLE neonhub_app`,
      );
      const plainUrl = new URL(database.current.url ?? '');
      plainUrl.username = plainName;
      plainUrl.password = 'plain-login';
      const plain = createDb({ url: plainUrl.toString(), max: 1 });
      try {
        for (const name of [hidden.name, plainName]) {
          await database.current.sql.exec(
            `ALTER ROLE ${name} SET log_statement = 'all'; ALTER ROLE ${name} SET log_min_duration_statement = 0;
           ALTER ROLE ${name} SET session_preload_libraries = 'auto_explain'; ALTER ROLE ${name} SET auto_explain.log_min_duration = 0;
           ALTER ROLE ${name} SET auto_explain.log_nested_statements = on; ALTER ROLE ${name} SET auto_explain.log_analyze = on`,
          );
        }
        const pidOf = async (db: DbHandle['db']) =>
          rowsOf<{ pid: number }>(await db.execute(sql`select pg_backend_pid() as pid`))[0]?.pid;
        const hiddenPid = await pidOf(hidden.db);
        const plainPid = await pidOf(plain.db);
        expect(await withTenant(hidden.db, victim.id, (tx) => brandsSeen(tx))).toEqual({ victim: 3 });
        expect(await withTenant(plain.db, victim.id, (tx) => brandsSeen(tx))).toEqual({ victim: 3 });
        // The log collector writes what backends send it in its own time: once the control login's
        // marker statement is in the file, everything it logged before is too.
        const marker = `log-marker-${randomBytes(6).toString('hex')}`;
        await plain.db.execute(sql.raw(`select '${marker}' as marker`));
        let log = (await serverLog()) ?? '';
        while (!log.includes(marker)) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          log = (await serverLog()) ?? '';
        }
        // One entry per log line prefix (its timestamp); a statement's later lines belong to it.
        const entries = log.split(/\n(?=\d{4}-\d\d-\d\d )/);
        const linesOf = (pid: number | undefined) => entries.filter((entry) => entry.includes(`[${pid}]`));
        const proofLines = (pid: number | undefined) =>
          linesOf(pid).filter((line) => /parameters: .*\$4 = '\\x[0-9a-f]{64}'/.test(line));
        const [row] = await database.current.sql.query<{ version: number; key_id: string }>(
          'select version, key_id from app_tenant_key_version($1)',
          [victim.id],
        );
        const key = tenantKey(
          runtimeOf(database.current.db).keys.keyRing(),
          row?.key_id ?? '',
          victim.id,
          row?.version ?? 1,
        );
        console.log(
          `server log at log_statement = all: ${linesOf(hiddenPid).length} entries of the create-login login, ${proofLines(hiddenPid).length} with a proof; ${proofLines(plainPid).length} proofs of the login without the setting (control)`,
        );
        expect(linesOf(hiddenPid).some((line) => line.includes('app_open_scope'))).toBe(true);
        expect(proofLines(hiddenPid)).toEqual([]);
        expect(proofLines(plainPid).length).toBeGreaterThan(0);
        expect(log).not.toContain(key.toString('hex'));
        expect(log).not.toContain(key.toString('base64'));
      } finally {
        await plain.close();
        await database.current.sql.exec(`drop owned by ${plainName}; drop role ${plainName}`);
        await hidden.close();
      }
    });

    it('pg_stat_statements keeps nothing a scope of another tenant could open the victim with', async (context) => {
      const [loaded] = await database.current.sql.query<{ on: boolean }>(
        `select 'pg_stat_statements' = any (string_to_array(current_setting('shared_preload_libraries'), ', ')) as on`,
      );
      if (!loaded?.on) context.skip("pg_stat_statements is not in this server's shared_preload_libraries");
      await database.current.sql.exec('create extension if not exists pg_stat_statements');
      const login = await serviceLogin();
      try {
        await database.current.sql.exec(`grant pg_read_all_stats to ${login.name}`);
        expect(await withTenant(login.db, victim.id, (tx) => brandsSeen(tx))).toEqual({ victim: 3 });
        // What every scope of the login can read (it is granted all statistics here, the worst case).
        const texts = await withTenant(login.db, attacker.id, async (tx) =>
          rowsOf<{ query: string }>(await tx.execute(sql`select query from pg_stat_statements`)).map(
            (r) => r.query,
          ),
        );
        const tickets = texts.flatMap((text) => text.match(/[tu]:[bd]:[0-9a-f-]{36}:[0-9a-f]{64}/g) ?? []);
        const proofs = texts.filter((text) => /\\x[0-9a-f]{64}/.test(text));
        let reached = 0;
        for (const ticket of tickets) {
          reached += await withTenant(login.db, attacker.id, async (tx) => {
            await tx.execute(sql`select set_config('app.scope', ${ticket}, true)`);
            return (
              (await tx.transaction((sp) => brandsSeen(sp)).catch(() => ({}) as Record<string, number>))
                .victim ?? 0
            );
          });
        }
        console.log(
          `pg_stat_statements: ${texts.length} statements readable, ${tickets.length} tickets, ${proofs.length} proofs among them; replayed, they reached ${reached} victim rows`,
        );
        expect(texts.some((text) => text.includes('app_open_scope'))).toBe(true);
        expect(proofs).toEqual([]);
        expect(reached).toBe(0);
      } finally {
        await login.close();
      }
    });
  },
);
