import { sql } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import { enqueueRun } from '../src/agents/run-queue.ts';
import { runtimeOf } from '../src/client/scope-runtime.ts';
import { withTenant } from '../src/client/tenant.ts';
import { useTestDatabase } from './support/database.ts';
import { type QueueTenants, seedQueueTenants } from './support/tenants.ts';

// How a claim reads the queue, in a database of its own: plans follow what the tables hold and
// what the statistics have seen, which other files' runs would change.

const database = useTestDatabase();

let queue: QueueTenants;

beforeAll(async () => {
  queue = await seedQueueTenants(database.current.db, 'plans', ['brand_voice']);
});

const scope = <T>(org: string, fn: Parameters<typeof withTenant<T>>[2]) =>
  withTenant(database.current.db, org, fn);

it('a claim walks the queue index behind a backlog the statistics have not seen, where a sort would read it all', async () => {
  const { db } = database.current;
  const { acme } = queue;
  const agentId = queue.agent(acme, 'brand_voice');
  // Past 10,000 runs the planner, blind to them, sorts them rather than walk the queue index.
  const backlog = 14000;
  await scope(acme, async (tx) => {
    const { run } = await enqueueRun(tx, { agentId });
    // Its copies, in one statement: enqueueRuns would take seconds on the embedded database.
    await tx.execute(
      sql`insert into agent_runs (id, organization_id, agent_id, config_id, trigger, input)
          select gen_random_uuid(), r.organization_id, r.agent_id, r.config_id, r.trigger, jsonb_build_object('i', i)
          from agent_runs r, generate_series(2, ${backlog}) i
          where r.organization_id = ${acme}::uuid and r.id = ${run.id}::uuid`,
    );
  });
  // One session, planning every statement for any parameters, as a busy worker's session does
  // after a few calls; the buffers of the whole call count in the function scan's node.
  const session = await database.current.dedicated();
  const claimBuffers = async () => {
    const { issued, proof } = await runtimeOf(db).keys.runQueueProof('claim');
    const [row] = await session.query<{ 'QUERY PLAN': unknown }>(
      `explain (analyze, buffers, format json) select * from public.app_claim_runs_next(
         '{brand_voice}'::agent_kind[], 8, 60, null, $1::bigint, $2::bytea)`,
      [issued, proof],
    );
    const raw = row?.['QUERY PLAN'];
    const [{ Plan: plan }] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [
      { Plan: { 'Actual Rows': number; 'Shared Hit Blocks': number; 'Shared Read Blocks': number } },
    ];
    return { rows: plan['Actual Rows'], pages: plan['Shared Hit Blocks'] + plan['Shared Read Blocks'] };
  };
  const claims = [];
  try {
    await session.exec('set plan_cache_mode = force_generic_plan');
    for (let i = 0; i < 6; i++) claims.push(await claimBuffers());
  } finally {
    await session.exec('reset plan_cache_mode');
    await session.release();
  }
  console.log(
    `claims of 8 behind ${backlog} queued runs read ${claims.map((c) => c.pages).join(', ')} pages`,
  );
  // Eight runs and the tenant's next due time each. After the first (which plans), a claim that
  // walks the queue index reads about 250 pages, whatever the backlog; one that sorts this backlog
  // about 600.
  expect(claims.every((c) => c.rows === 9)).toBe(true);
  expect(Math.max(...claims.slice(1).map((c) => c.pages))).toBeLessThan(400);
});
