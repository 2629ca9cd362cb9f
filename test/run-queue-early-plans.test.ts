import { sql } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import { enqueueRun } from '../src/agents/run-queue.ts';
import { runtimeOf } from '../src/client/scope-runtime.ts';
import { withTenant } from '../src/client/tenant.ts';
import { useTestDatabase } from './support/database.ts';
import { type QueueTenants, seedQueueTenants } from './support/tenants.ts';

// A worker that starts before any run is queued makes its first claims on a table of a few rows,
// in a database of its own: no other file's runs or statistics.

const database = useTestDatabase();

let queue: QueueTenants;

beforeAll(async () => {
  queue = await seedQueueTenants(database.current.db, 'early', ['research']);
  // The burst is claimed before any ANALYZE sees it, the case this file is about.
  await database.current.sql.exec('alter table agent_runs set (autovacuum_enabled = false)');
});

it('a worker that claimed on a queue of no runs reads a few hundred pages a claim behind a burst of 14,000', async () => {
  const { globex } = queue;
  const agentId = queue.agent(globex, 'research');
  const session = await database.current.dedicated();
  const keys = runtimeOf(database.current.db).keys;
  // Pages of agent_runs and its indexes, as this session has counted them: the claim's own reads,
  // without the catalog pages a backend reloads when other databases' DDL resets its caches (under
  // CI's other files that added about 2,300 pages to one claim in a few dozen).
  const runPagesRead = async () => {
    const [row] = await session.query<{ pages: string }>(
      `select sum(pg_stat_get_xact_blocks_fetched(c.oid))::text as pages from pg_class c
       where c.oid = 'agent_runs'::regclass
          or c.oid in (select i.indexrelid from pg_index i where i.indrelid = 'agent_runs'::regclass)`,
    );
    return Number(row?.pages);
  };
  const claim = async () => {
    const { issued, proof } = await keys.runQueueProof('claim');
    // One transaction, so the counts are this session's pending ones: none is flushed in between.
    await session.query('begin');
    try {
      const before = await runPagesRead();
      const rows = await session.query<{ run_id: string | null }>(
        `select run_id from public.app_claim_runs_next('{research}'::agent_kind[], 8, 60, null, $1::bigint, $2::bytea)`,
        [issued, proof],
      );
      const pages = (await runPagesRead()) - before;
      await session.query('commit');
      // The claimed runs, then one row that says when the next is due.
      return { runs: rows.filter((row) => row.run_id !== null).length, pages };
    } catch (error) {
      await session.query('rollback');
      throw error;
    }
  };
  const burst = 14000;
  try {
    // An idle worker's polls, more than the five after which a session may keep a plan made once.
    for (let i = 0; i < 8; i++) expect((await claim()).runs).toBe(0);
    await withTenant(database.current.db, globex, async (tx) => {
      const { run } = await enqueueRun(tx, { agentId });
      // Its copies, in one statement: enqueueRuns would take seconds on the embedded database.
      await tx.execute(
        sql`insert into agent_runs (id, organization_id, agent_id, config_id, trigger, input)
            select gen_random_uuid(), r.organization_id, r.agent_id, r.config_id, r.trigger, jsonb_build_object('i', i)
            from agent_runs r, generate_series(2, ${burst}) i
            where r.organization_id = ${globex}::uuid and r.id = ${run.id}::uuid`,
      );
    });
    const claims = [];
    for (let i = 0; i < 4; i++) claims.push(await claim());
    console.log(
      `claims of 8 behind a burst of ${burst}, after 8 claims of none: ${claims.map((c) => c.pages).join(', ')} pages`,
    );
    // Planned once on the table of a few rows (migration 0040), the claim's take-back of expired
    // leases went through the primary key and read all 14,000 runs of the tenant: 14,331 pages.
    expect(claims.every((c) => c.runs === 8)).toBe(true);
    expect(Math.max(...claims.map((c) => c.pages))).toBeLessThan(1000);
  } finally {
    await session.release();
  }
});
