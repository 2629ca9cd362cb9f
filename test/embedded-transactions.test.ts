import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causeChain, TenantScopeError } from '../src/base/errors.ts';
import { createDb, type DbHandle, openPglite, rowsOf } from '../src/client/client.ts';

// The embedded database runs one transaction at a time: a call on it from inside one of its own
// transactions would wait for that transaction, which waits for the call. It is refused at once.

let handle: DbHandle;
const pglite = openPglite('memory://');

beforeAll(() => {
  handle = createDb({ pglite });
});
afterAll(() => handle.close());

const one = async (run: Promise<unknown>) => rowsOf<{ n: number }>(await run)[0]?.n;

describe('the embedded database called from inside its own transaction', () => {
  it('refuses the call, typed and at once, and the transaction goes on and commits', async () => {
    const inside = await handle.db.transaction(async (tx) => {
      const refused = await handle.db.execute(sql`select 1 as n`).catch((error: unknown) => error);
      const raw = await pglite.exec('select 1').catch((error: unknown) => error);
      const nested = await pglite.transaction(async () => 'ran').catch((error: unknown) => error);
      const after = await one(tx.execute(sql`select 2 as n`));
      return { refused, raw, nested, after };
    });
    // Drizzle reports it as the query's failure, caused by the refusal.
    const refusal = [...causeChain(inside.refused)].find((link) => link instanceof TenantScopeError);
    expect(refusal).toBeInstanceOf(TenantScopeError);
    expect((refusal as Error).message).toMatch(
      /from inside one of its transactions \(withTenant or db\.transaction\) would wait for that transaction forever/,
    );
    expect(inside.raw).toBeInstanceOf(TenantScopeError);
    expect(inside.nested).toBeInstanceOf(TenantScopeError);
    expect(inside.after).toBe(2);
  });

  it('runs the same calls outside any transaction, and one scheduled inside a transaction that runs after it ended', async () => {
    expect(await one(handle.db.execute(sql`select 3 as n`))).toBe(3);
    expect(
      (await pglite.transaction(async (tx) => (await tx.query<{ n: number }>('select 4 as n')).rows))[0]?.n,
    ).toBe(4);
    // Chained inside the transaction (its async context), released once the transaction has ended.
    let release = () => {};
    const ended = new Promise<void>((resolve) => {
      release = resolve;
    });
    let later: Promise<number | undefined> | undefined;
    await handle.db.transaction(async () => {
      later = ended.then(() => one(handle.db.execute(sql`select 5 as n`)));
    });
    release();
    expect(await later).toBe(5);
  });
});
