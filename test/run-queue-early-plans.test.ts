import { sql } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import { enqueueRun } from '../src/agents/run-queue.ts';
import { withTenant } from '../src/client/tenant.ts';
import { useTestDatabase } from './support/database.ts';
import { countedClaim } from './support/plans.ts';
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
  const claim = () => countedClaim(database.current.db, session, 'research', 8);
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
