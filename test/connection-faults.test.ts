import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, isRetryable } from '../src/base/errors.ts';
import { createDb, type DbHandle, rowsOf, type Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { createServiceLogin } from '../src/operator/logins.ts';
import { migrate } from '../src/operator/migrate.ts';
import { brands, users } from '../src/schema/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { whereEquals } from './support/drizzle-line.ts';
import { type PrivateServer, serverBinaries, startPrivateServer } from './support/private-server.ts';

// What an operator's bad day does to scopes: backends ended while a scope waits between two
// statements, the server's own idle-in-transaction timeout, a fast restart, slots exhausted. Each
// call settles with a typed error that says whether to retry, nothing is thrown where nobody
// listens, and the pool hands out only live connections afterwards.

const database = useTestDatabase();
let organizationId: string;

/** Settles, or says it hung (a bound far above any honest answer, to tell a hang from slowness). */
const settled = <T>(promise: Promise<T>, ms = 30_000) =>
  Promise.race([
    promise.then(
      (value) => ({ outcome: 'ok' as const, value }),
      (error: unknown) => ({ outcome: 'failed' as const, error }),
    ),
    new Promise<{ outcome: 'hung' }>((resolve) => setTimeout(() => resolve({ outcome: 'hung' }), ms).unref()),
  ]);

/** Errors thrown where nobody awaits them, collected while `run` runs. */
async function uncaughtDuring<T>(run: () => Promise<T>): Promise<{ result: T; uncaught: unknown[] }> {
  const uncaught: unknown[] = [];
  const collect = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', collect);
  process.on('unhandledRejection', collect);
  try {
    const result = await run();
    // A crash in the driver comes on a later tick (a setImmediate): give it the chance.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { result, uncaught };
  } finally {
    process.off('uncaughtException', collect);
    process.off('unhandledRejection', collect);
  }
}

/**
 * What a caller does with a retryable error: tries `call` again half a second later, up to 20 times,
 * while it fails retryable (or hangs); the outcome of the last try, and how many there were.
 */
async function retriedAsACallerWould(call: () => Promise<unknown>) {
  let tries = 0;
  let outcome: Awaited<ReturnType<typeof settled>> = { outcome: 'hung' };
  while (
    tries < 20 &&
    (outcome.outcome === 'hung' || (outcome.outcome === 'failed' && isRetryable(outcome.error)))
  ) {
    tries++;
    outcome = await settled(call());
    if (outcome.outcome !== 'ok') await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { after: outcome, tries };
}

type Tally = { calls: number; ok: number; typed: number; other: string[]; hung: number };

function tally(results: Awaited<ReturnType<typeof settled>>[]): Tally {
  const other: string[] = [];
  let ok = 0;
  let typed = 0;
  let hung = 0;
  for (const result of results) {
    if (result.outcome === 'ok') ok++;
    else if (result.outcome === 'hung') hung++;
    else if (isRetryable(result.error)) typed++;
    else other.push(String(result.error));
  }
  return { calls: results.length, ok, typed, other, hung };
}

/** Connections of `login` the server still holds in a transaction, and those the pool has leased out. */
async function leaked(handle: DbHandle, login: string) {
  const [row] = await database.current.sql.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where usename = $1 and state like 'idle in transaction%'`,
    [login],
  );
  const stats = (handle.db as unknown as { $client: { stats?: { leased: number } } }).$client.stats;
  return { inTransaction: row?.n ?? 0, leased: stats?.leased ?? 0 };
}

const passwords = new Map<string, string>();

/** A URL of the server for `login`. */
async function loginUrl(login: { name: string }): Promise<URL> {
  const url = new URL(database.current.url ?? '');
  url.username = login.name;
  url.password = passwords.get(login.name) ?? '';
  return url;
}

async function serviceLogin(settings: string[] = [], max = 4): Promise<DbHandle & { name: string }> {
  const { url } = database.current;
  if (!url) throw new Error('service logins need a server');
  const name = `neonhub_test_fault_${randomBytes(4).toString('hex')}`;
  const password = await createServiceLogin(database.current, name);
  passwords.set(name, password);
  for (const setting of settings) await database.current.sql.exec(`ALTER ROLE ${name} ${setting}`);
  const service = new URL(url);
  service.username = name;
  service.password = password;
  const handle = createDb({ url: service.toString(), max });
  return {
    ...handle,
    name,
    close: async () => {
      await handle.close();
      await database.current.sql.exec(`drop owned by ${name}; drop role ${name}`);
    },
  };
}

beforeAll(async () => {
  const { db } = database.current;
  const [owner] = await db.insert(users).values({ email: 'owner@faults.example' }).returning();
  const { organization } = await createOrganization(db, {
    slug: 'faults',
    name: 'Faults',
    ownerUserId: owner?.id ?? '',
  });
  organizationId = organization.id;
  await withTenant(db, organizationId, (tx) =>
    tx.insert(brands).values({ organizationId, slug: 'faulty', name: 'Faulty' }),
  );
});

/** The statement shapes a scope sends after waiting on something else (an embedding API, say). */
const shapes: Record<string, (tx: Transaction) => Promise<unknown>> = {
  select: (tx) => tx.select().from(brands).where(eq(brands.organizationId, organizationId)),
  insert: (tx) =>
    tx.insert(brands).values({ organizationId, slug: `b-${randomBytes(4).toString('hex')}`, name: 'B' }),
  'raw sql': (tx) => tx.execute(sql`select count(*) from brands where organization_id = ${organizationId}`),
  relational: (tx) =>
    tx.query.brands.findMany({ where: whereEquals(brands, 'organizationId', organizationId) }),
};

describe.skipIf(!onServer)(
  'a backend that ends while a scope waits between two statements (server only: PGlite has no backends)',
  () => {
    it('an administrator ends it: every statement shape gets a retryable ConnectionError, nothing is thrown elsewhere, the pool goes on', async () => {
      const login = await serviceLogin();
      try {
        const { result: results, uncaught } = await uncaughtDuring(() =>
          Promise.all(
            Object.entries(shapes).map(async ([name, shape]) => {
              const outcome = await settled(
                withTenant(login.db, organizationId, async (tx) => {
                  const [{ pid } = { pid: 0 }] = rowsOf<{ pid: number }>(
                    await tx.execute(sql`select pg_backend_pid() as pid`),
                  );
                  await database.current.sql.query('select pg_terminate_backend($1)', [pid]);
                  await new Promise((resolve) => setTimeout(resolve, 100));
                  return shape(tx);
                }),
              );
              return { name, outcome };
            }),
          ),
        );
        const counts = tally(results.map((r) => r.outcome));
        const after = await settled(
          withTenant(login.db, organizationId, (tx) => shapes.select?.(tx) ?? Promise.resolve()),
        );
        const pool = await leaked(login, login.name);
        console.log(
          `idle kill: ${counts.calls} calls, ${counts.ok} ok, ${counts.typed} typed errors, ${counts.hung} hung, ${uncaught.length} uncaught; afterwards the pool ${after.outcome}, ${pool.inTransaction} connections left in a transaction, ${pool.leased} leased`,
        );
        expect(counts).toEqual({ calls: 4, ok: 0, typed: 4, other: [], hung: 0 });
        for (const { outcome } of results) {
          expect(outcome.outcome === 'failed' && outcome.error).toBeInstanceOf(ConnectionError);
        }
        expect(uncaught).toEqual([]);
        expect(after.outcome).toBe('ok');
        expect(pool).toEqual({ inTransaction: 0, leased: 0 });
      } finally {
        await login.close();
      }
    });

    it("the server's idle_in_transaction_session_timeout ends it: the next statement says so, retryable; control: a scope that does not wait passes", async () => {
      const login = await serviceLogin(["SET idle_in_transaction_session_timeout = '300ms'"]);
      try {
        const control = await settled(
          withTenant(login.db, organizationId, (tx) => shapes.select?.(tx) ?? Promise.resolve()),
        );
        const { result, uncaught } = await uncaughtDuring(() =>
          settled(
            withTenant(login.db, organizationId, async (tx) => {
              await tx.execute(sql`select 1`);
              await new Promise((resolve) => setTimeout(resolve, 1500));
              return shapes.select?.(tx);
            }),
          ),
        );
        const pool = await leaked(login, login.name);
        console.log(
          `idle-in-transaction timeout: control ${control.outcome}; the waiting scope ${result.outcome === 'failed' ? String(result.error).slice(0, 140) : result.outcome}; ${uncaught.length} uncaught; pool ${JSON.stringify(pool)}`,
        );
        expect(control.outcome).toBe('ok');
        expect(result.outcome).toBe('failed');
        const error = result.outcome === 'failed' ? result.error : undefined;
        expect(error).toBeInstanceOf(ConnectionError);
        expect(isRetryable(error)).toBe(true);
        expect(uncaught).toEqual([]);
        expect(pool).toEqual({ inTransaction: 0, leased: 0 });
      } finally {
        await login.close();
      }
    });

    it('slots exhausted (the login at its connection limit, held elsewhere): every call fails within connectTimeout with a retryable ConnectionError; freed, the pool works', async () => {
      const login = await serviceLogin(['CONNECTION LIMIT 2'], 4);
      const holders = createDb({ url: (await loginUrl(login)).toString(), max: 2 });
      const bounded = createDb({ url: (await loginUrl(login)).toString(), max: 4, connectTimeout: 3 });
      try {
        await Promise.all([
          holders.sql.query('select pg_sleep(0.05)'),
          holders.sql.query('select pg_sleep(0.05)'),
        ]);
        const started = performance.now();
        const { result: results, uncaught } = await uncaughtDuring(() =>
          Promise.all([
            ...Array.from({ length: 6 }, () =>
              settled(
                withTenant(bounded.db, organizationId, (tx) => shapes.select?.(tx) ?? Promise.resolve()),
              ),
            ),
            ...Array.from({ length: 3 }, () => settled(bounded.sql.query('select 1'))),
          ]),
        );
        const seconds = (performance.now() - started) / 1000;
        const counts = tally(results);
        const reasons = [
          ...new Set(
            results.flatMap((r) => (r.outcome === 'failed' ? [(r.error as ConnectionError).reason] : [])),
          ),
        ];
        await holders.close();
        const { after, tries } = await retriedAsACallerWould(() =>
          withTenant(bounded.db, organizationId, (tx) => shapes.select?.(tx) ?? Promise.resolve()),
        );
        console.log(
          `slots exhausted: ${counts.calls} calls, ${counts.ok} ok, ${counts.typed} retryable ConnectionErrors (${reasons.join('; ')}) in ${seconds.toFixed(1)} s, ${counts.hung} hung, ${uncaught.length} uncaught; freed, the pool ${after.outcome} at try ${tries} ${after.outcome === 'failed' ? String(after.error).slice(0, 200) : ''}`,
        );
        expect(counts).toEqual({ calls: 9, ok: 0, typed: 9, other: [], hung: 0 });
        expect(reasons).toEqual(['too many clients']);
        expect(uncaught).toEqual([]);
        expect(after.outcome).toBe('ok');
      } finally {
        await holders.close().catch(() => {});
        await bounded.close();
        await login.close();
      }
    });
  },
);

const binaries = onServer ? serverBinaries() : undefined;

describe.skipIf(!binaries)(
  'a fast restart of the server (server only, a server of this test: PGlite restarts nothing, and no shared server may)',
  () => {
    let server: PrivateServer;
    let handle: DbHandle;
    let restarted: string;

    beforeAll(async () => {
      server = await startPrivateServer();
      const setupHandle = createDb({ url: server.url, max: 1 });
      await setupHandle.sql.exec(
        'create extension if not exists vector; create extension if not exists pg_trgm',
      );
      await migrate(setupHandle);
      const [owner] = await setupHandle.db
        .insert(users)
        .values({ email: 'owner@restart.example' })
        .returning();
      const { organization } = await createOrganization(setupHandle.db, {
        slug: 'restart',
        name: 'Restart',
        ownerUserId: owner?.id ?? '',
      });
      restarted = organization.id;
      await setupHandle.close();
      handle = createDb({ url: server.url, max: 10 });
    });

    afterAll(async () => {
      await handle?.close();
      server?.stop();
    });

    it('50 concurrent scopes through `pg_ctl restart -m fast`: each ok or a retryable ConnectionError, none hung, none uncaught; then the pool answers a caller that retries a retryable error', async () => {
      const { result: results, uncaught } = await uncaughtDuring(async () => {
        const runs = Array.from({ length: 50 }, (_, i) =>
          settled(
            withTenant(handle.db, restarted, async (tx) => {
              await tx.execute(sql`select pg_sleep(${(i % 5) * 0.05})`);
              return tx.execute(sql`select count(*) from brands where organization_id = ${restarted}`);
            }),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 60));
        // Awaited beside the scopes, so they are answered while the server goes down and comes back.
        const [settledRuns] = await Promise.all([Promise.all(runs), server.restart()]);
        return settledRuns;
      });
      const counts = tally(results);
      // The first call after the restart can meet a connection attempt the pool began while the
      // server was starting: a caller retries it.
      const { after, tries } = await retriedAsACallerWould(async () =>
        withTenant(handle.db, restarted, async (tx) => rowsOf(await tx.execute(sql`select 1 as one`))),
      );
      const stats = (handle.db as unknown as { $client: { stats?: { leased: number } } }).$client.stats;
      console.log(
        `fast restart: ${counts.calls} scopes, ${counts.ok} ok, ${counts.typed} retryable connection errors, ${counts.other.length} other, ${counts.hung} hung, ${uncaught.length} uncaught; afterwards ${after.outcome === 'failed' ? `failed (${String(after.error)})` : after.outcome} at try ${tries}, ${stats?.leased ?? 0} connections leased`,
      );
      expect(counts.hung).toBe(0);
      expect(counts.other).toEqual([]);
      expect(uncaught).toEqual([]);
      expect(after.outcome).toBe('ok');
      expect(stats?.leased ?? 0).toBe(0);
    });
  },
);
