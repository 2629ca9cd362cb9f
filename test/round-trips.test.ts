import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRuns, finishClaimedRuns } from '../src/agents/run-claims.ts';
import { enqueueRun } from '../src/agents/run-queue.ts';
import { createDb, type DbHandle, rowsOf } from '../src/client/client.ts';
import { drizzleLine } from '../src/client/drizzle-internals.ts';
import { rawScopeQuery } from '../src/client/scope-sessions.ts';
import { withTenant } from '../src/client/tenant.ts';
import { agentRuns, organizations } from '../src/schema/index.ts';
import { onServer, useTestDatabase, withCapture } from './support/database.ts';
import { type QueueTenants, seedQueueTenants } from './support/tenants.ts';
import { type WireProxy, wireProxy } from './support/wire-proxy.ts';

// The package's statements are unnamed, and postgres.js describes an unnamed statement before it
// runs when its parameters have no type: a Parse, then a Flush that waits for the server's answer,
// a round trip of its own before the Bind. Each statement here must go out whole, Bind included.
// Server only: PGlite runs in the process and has no wire between them.

const database = useTestDatabase();
let proxy: WireProxy;
let handle: DbHandle;
let queue: QueueTenants;

beforeAll(async () => {
  if (!onServer) return;
  queue = await seedQueueTenants(database.current.db, 'wire', ['custom']);
  proxy = await wireProxy(database.current.url ?? '');
  handle = withCapture((onStatement) => createDb({ url: proxy.url, max: 4, onStatement }));
});

afterAll(async () => {
  await handle?.close();
  await proxy?.close();
});

/**
 * What `fn`'s second call sent: its statements (Parse messages) and how many of them waited for a
 * description (Flush); and what it returned.
 */
async function sentBy<T>(fn: () => Promise<T>) {
  await fn(); // connections opened and their types loaded before counting
  proxy.reset();
  const result = await fn();
  const sent = proxy.sent();
  return {
    result,
    statements: sent.filter((type) => type === 'P').length,
    described: sent.filter((type) => type === 'H').length,
  };
}

describe.runIf(onServer)('statements on the wire', () => {
  it("a scope's opening goes out with BEGIN and the scope's statements, on either Drizzle line", async () => {
    const { statements, described } = await sentBy(() =>
      withTenant(handle.db, queue.acme, (tx) => tx.execute(sql`select 1 as one`)),
    );
    // The opening is the one statement with values (a statement without any goes as a simple query).
    expect(statements).toBe(1);
    expect(described).toBe(0);
  });
});

// Drizzle 1.0 leaves a json column's value to postgres.js, which writes a string as a JSON string
// only once the statement is described: there strings keep no type (src/client/wire-types.ts), and
// test/drizzle-internals.test.ts and test/validators-property.test.ts hold the JSON strings stored.
describe.runIf(onServer && drizzleLine === '0.45')('statements on the wire, Drizzle 0.45', () => {
  it('a scope sends its opening and its statements with their values, none described first', async () => {
    const org = queue.acme;
    const agentId = queue.agent(org, 'custom');
    const scope = () =>
      withTenant(handle.db, org, async (tx) => {
        const { run } = await enqueueRun(tx, { agentId, input: { wire: true }, priority: 3 });
        const [read] = await tx.select().from(agentRuns).where(eq(agentRuns.id, run.id));
        const values = rowsOf<{ b: boolean; i: string; y: Buffer; n: string | null; t: string }>(
          await tx.execute(
            sql`select ${true}::boolean as b, ${12_345_678_901n}::int8 as i, ${Buffer.from([1, 255])}::bytea as y,
                       ${null}::text as n, ${"it's"}::text as t`,
          ),
        );
        return { run, read, values };
      });
    const { result, statements, described } = await sentBy(scope);
    expect(statements).toBeGreaterThanOrEqual(4);
    expect(described).toBe(0);
    // The values arrive as they were given.
    const { run, read, values } = result;
    expect(read).toMatchObject({ id: run.id, priority: 3, input: { wire: true }, status: 'queued' });
    expect(values).toEqual([{ b: true, i: '12345678901', y: Buffer.from([1, 255]), n: null, t: "it's" }]);
  });

  it('a worker claims and finishes in one message each', async () => {
    const org = queue.globex;
    const agentId = queue.agent(org, 'custom');
    const cycle = async () => {
      await withTenant(handle.db, org, (tx) => enqueueRun(tx, { agentId }));
      const [claimed] = await claimRuns(handle.db, { kinds: ['custom'] });
      if (!claimed) throw new Error('nothing claimed');
      return finishClaimedRuns(handle.db, [{ run: claimed, result: { status: 'succeeded' } }]);
    };
    const { result, statements, described } = await sentBy(cycle);
    expect(result.finished).toHaveLength(1);
    expect(result.lost).toEqual([]);
    expect(statements).toBeGreaterThanOrEqual(4);
    expect(described).toBe(0);
  });

  it('a value the server refuses fails its statement alone: the scope goes on past a savepoint', async () => {
    // Typed values reach the server as they are: a NUL and year 0 are refused there, by name, as
    // before; a lone surrogate is written as U+FFFD, as postgres.js writes every string.
    const { result, described } = await sentBy(() =>
      withTenant(handle.db, queue.acme, async (tx) => {
        const refusals: string[] = [];
        for (const bad of [sql`select ${'a\u0000b'}::text`, sql`select ${'0000-01-01'}::date`])
          await tx
            .transaction((savepoint) => savepoint.execute(bad))
            // Drizzle wraps the server's error: its cause says what was refused.
            .catch((error: Error) => refusals.push(String((error.cause as Error | undefined)?.message)));
        const after = rowsOf<{ s: string; n: number }>(
          await tx.execute(sql`select ${'x\ud800y'}::text as s, ${7}::int as n`),
        );
        return { refusals, after };
      }),
    );
    expect(result.refusals).toHaveLength(2);
    expect(result.refusals[0]).toMatch(/0x00/);
    expect(result.refusals[1]).toMatch(/out of range|0000-01-01/);
    expect(result.after).toEqual([{ s: 'x\ufffdy', n: 7 }]);
    expect(described).toBe(0);
  });

  it("a Drizzle transaction on the pool, its savepoints and the raw handle's statements go out whole too", async () => {
    const org = queue.acme;
    const { statements, described } = await sentBy(async () => {
      const names = await handle.db.transaction(async (tx) => {
        const [outer] = await tx
          .select({ slug: organizations.slug })
          .from(organizations)
          .where(eq(organizations.id, org));
        const inner = await tx.transaction((savepoint) =>
          savepoint.select({ slug: organizations.slug }).from(organizations).where(eq(organizations.id, org)),
        );
        return [outer?.slug, inner[0]?.slug];
      });
      const raw = await handle.sql.query<{ slug: string }>('select slug from organizations where id = $1', [
        org,
      ]);
      expect([...names, raw[0]?.slug]).toEqual(['acme', 'acme', 'acme']);
    });
    expect(statements).toBeGreaterThanOrEqual(3);
    expect(described).toBe(0);
  });

  it('a value whose text depends on its column is still described first (the control)', async () => {
    // An array is written as the parameter's type wants it (a PostgreSQL array, or JSON), which
    // only the description tells.
    const select = () =>
      withTenant(handle.db, queue.acme, (tx) =>
        rawScopeQuery(tx)('select $1::int4[] as xs', [[1, 2]], 'object'),
      );
    const { described } = await sentBy(select);
    expect(described).toBe(1);
    expect(await select()).toEqual([{ xs: [1, 2] }]);
  });
});
