import type { DbHandle } from '../client/client.ts';

// One maintainer of a table's tenant indexes at a time, in this process and across processes.

/** The maintenance of each handle's tenant indexes under way in this process (the embedded database has one connection). */
const inProcess = new WeakMap<DbHandle, Promise<void>>();

/**
 * Runs `fn` as the only maintainer of the table's tenant indexes: one at a time in this process,
 * and across processes under a session advisory lock. Taken with `pg_try_advisory_lock` and, to
 * wait, tried again after a pause: a session blocked in `pg_advisory_lock` holds a snapshot that a
 * concurrent index build would wait for, and the two would deadlock.
 */
export async function asOnlyMaintainer<T>(
  handle: DbHandle,
  table: string,
  wait: boolean,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  // The lock's session stays reserved while the maintainer reads through the pool and builds on a session of its own.
  const connections = handle.target.kind === 'server' ? handle.target.connections : undefined;
  if (connections !== undefined && connections < 2)
    throw new Error(
      `tenant index maintenance holds two connections at once (its lock's session and its reads or its build), and this handle's pool has ${connections}: createDb({ max: 2 }) or more`,
    );
  const before = inProcess.get(handle);
  let done = () => {};
  const mine = new Promise<void>((resolve) => {
    done = resolve;
  });
  inProcess.set(handle, mine);
  try {
    await before;
    const session = await handle.dedicated();
    const key = `hashtext('neonhub_tenant_indexes'), hashtext($1)`;
    try {
      for (let pause = 100; ; pause = Math.min(2000, pause * 2)) {
        const [row] = await session.query<{ locked: boolean }>(
          `select pg_try_advisory_lock(${key}) as locked`,
          [table],
        );
        if (row?.locked) break;
        if (!wait) return undefined;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
      try {
        return await fn();
      } finally {
        await session.query(`select pg_advisory_unlock(${key})`, [table]);
      }
    } finally {
      await session.release();
    }
  } finally {
    done();
    if (inProcess.get(handle) === mine) inProcess.delete(handle);
  }
}
