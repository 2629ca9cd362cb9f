import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError } from '../src/base/errors.ts';
import { createDb, rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import type { SeedResult } from '../src/seed/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

const database = useTestDatabase();
let acme: SeedResult;

beforeAll(async () => {
  ({ acme } = await seedAcmeAndGlobex(database.current.db));
});

/** Settles within `ms`, or says it hung. */
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise.then(
      (value) => ({ outcome: 'ok' as const, value }),
      (error: unknown) => ({ outcome: 'failed' as const, error }),
    ),
    new Promise<{ outcome: 'hung' }>((resolve) => setTimeout(() => resolve({ outcome: 'hung' }), ms).unref()),
  ]);

describe.skipIf(!onServer)(
  'a backend killed inside a scope (server only: PGlite has no backends to kill)',
  () => {
    it('200 concurrent scopes, a third of their backends terminated: typed errors, nothing uncaught, nothing hung, the pool answers', async () => {
      const { url, sql: admin } = database.current;
      if (!url) throw new Error('server tests have a URL');
      const handle = createDb({ url, max: 10 });
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      process.on('unhandledRejection', onUncaught);
      try {
        const runs = Array.from({ length: 200 }, (_, i) =>
          within(
            withTenant(handle.db, acme.organizationId, async (tx) => {
              const [{ pid } = { pid: 0 }] = rowsOf<{ pid: number }>(
                await tx.execute(sql`select pg_backend_pid() as pid`),
              );
              // Every third scope has its backend terminated while it waits on the server.
              if (i % 3 === 0) {
                await Promise.all([
                  tx.execute(sql`select pg_sleep(0.2)`),
                  new Promise((resolve) => setTimeout(resolve, 20)).then(() =>
                    admin.query('select pg_terminate_backend($1)', [pid]),
                  ),
                ]);
              }
              return rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from brands`))[0]
                ?.n;
            }),
            30_000,
          ),
        );
        // Unscoped reads share the pool meanwhile.
        const reads = Array.from({ length: 50 }, () => within(handle.sql.query('select 1 as one'), 30_000));
        const results = await Promise.all(runs);
        const readsHung = (await Promise.all(reads)).filter((r) => r.outcome === 'hung').length;
        const hung = results.filter((r) => r.outcome === 'hung').length;
        const failed = results.filter((r) => r.outcome === 'failed');
        const untyped = failed.filter((r) => !('error' in r && r.error instanceof ConnectionError));
        const succeeded = results.filter((r) => r.outcome === 'ok').length;
        console.log(
          `killed backends: 200 scopes, ${succeeded} succeeded, ${failed.length} failed with a connection error, ${hung} hung, ${uncaught.length} uncaught; 50 unscoped reads, ${readsHung} hung`,
        );
        expect(hung).toBe(0);
        expect(readsHung).toBe(0);
        expect(uncaught).toEqual([]);
        expect(untyped.map((r) => ('error' in r ? String(r.error) : ''))).toEqual([]);
        expect(failed.length).toBeGreaterThanOrEqual(60);
        expect(succeeded).toBeGreaterThanOrEqual(120);
        // The pool still answers, scoped and unscoped.
        const after = await within(
          withTenant(handle.db, acme.organizationId, async (tx) =>
            rowsOf(await tx.execute(sql`select 1 as one`)),
          ),
          10_000,
        );
        expect(after.outcome).toBe('ok');
        expect((await within(handle.sql.query('select 1 as one'), 10_000)).outcome).toBe('ok');
      } finally {
        process.off('uncaughtException', onUncaught);
        process.off('unhandledRejection', onUncaught);
        await handle.close();
      }
    });
  },
);

describe.skipIf(!onServer)(
  'statements deallocated inside a scope (server only: PGlite scopes prepare nothing)',
  () => {
    it('DEALLOCATE ALL in one scope: the next scope on that connection fails closed or answers right, none hangs, the one after works', async () => {
      const { url } = database.current;
      if (!url) throw new Error('server tests have a URL');
      // One connection, so every scope meets what the previous one left.
      const handle = createDb({ url, max: 1 });
      const count = async (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) =>
        rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from brands`))[0]?.n;
      try {
        const before = await withTenant(handle.db, acme.organizationId, count);
        await withTenant(handle.db, acme.organizationId, async (tx) => {
          await tx.execute(sql`deallocate all`);
        });
        // The scope's settings were prepared on this connection: sending them again finds nothing,
        // and the transaction is refused before any statement of fn runs.
        const next = await within(withTenant(handle.db, acme.organizationId, count), 10_000);
        const after = await within(withTenant(handle.db, acme.organizationId, count), 10_000);
        console.log(`deallocated statements: the next scope ${next.outcome}, the one after ${after.outcome}`);
        expect(before).toBeGreaterThan(0);
        expect(next.outcome).not.toBe('hung');
        if (next.outcome === 'failed')
          expect(String(next.error)).toMatch(/prepared statement .* does not exist/);
        else expect(next).toEqual({ outcome: 'ok', value: before });
        expect(after).toEqual({ outcome: 'ok', value: before });
      } finally {
        await handle.close();
      }
    });
  },
);
