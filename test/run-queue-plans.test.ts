import { sql } from 'drizzle-orm';
import { beforeAll, expect, it } from 'vitest';
import { createAgent } from '../src/agents/agents.ts';
import { enqueueRun, enqueueRuns } from '../src/agents/run-queue.ts';
import { runtimeOf } from '../src/client/scope-runtime.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { createUser } from '../src/identity/users.ts';
import { useTestDatabase } from './support/database.ts';
import { countedClaim, indexesOf, planOf } from './support/plans.ts';
import { type QueueTenants, seedQueueTenants } from './support/tenants.ts';

// How a claim reads the queue, in a database of its own: plans follow what the tables hold and
// what the statistics have seen, which other files' runs would change.

const database = useTestDatabase();

let queue: QueueTenants;

beforeAll(async () => {
  queue = await seedQueueTenants(database.current.db, 'plans', ['brand_voice', 'custom']);
});

const scope = <T>(org: string, fn: Parameters<typeof withTenant<T>>[2]) =>
  withTenant(database.current.db, org, fn);

/**
 * `times` claims of `limit` runs of one kind, in one session planning every statement for any
 * parameters, as a busy worker's session does after a few calls: the runs each claimed and the
 * pages of agent_runs and its indexes each read.
 */
async function countedClaims(kind: string, limit: number, times: number) {
  const session = await database.current.dedicated();
  const claims: { runs: number; pages: number }[] = [];
  try {
    await session.exec('set plan_cache_mode = force_generic_plan');
    for (let i = 0; i < times; i++) {
      claims.push(await countedClaim(database.current.db, session, kind, limit));
    }
  } finally {
    await session.exec('reset plan_cache_mode');
    await session.release();
  }
  return claims;
}

it('a claim walks the queue index behind a backlog the statistics have not seen, where a sort would read it all', async () => {
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
  const claims = await countedClaims('brand_voice', 8, 6);
  console.log(
    `claims of 8 behind ${backlog} queued runs read ${claims.map((c) => c.pages).join(', ')} pages`,
  );
  // Eight runs each. A claim that walks the queue index reads about 215 pages of agent_runs and its
  // indexes, whatever the backlog; one that sorts this backlog about 570.
  expect(claims.every((c) => c.runs === 8)).toBe(true);
  expect(Math.max(...claims.map((c) => c.pages))).toBeLessThan(400);
});

it('a claim for another agent kind reads none of the backlog of the kind above', async () => {
  const { acme } = queue;
  const agentId = queue.agent(acme, 'custom');
  // Acme still has the first test's backlog of brand_voice runs; five custom runs join it.
  await scope(acme, (tx) =>
    enqueueRuns(
      tx,
      Array.from({ length: 5 }, (_, n) => ({ agentId, input: { n } })),
    ),
  );
  const [{ backlog } = { backlog: 0 }] = await database.current.sql.query<{ backlog: number }>(
    `select count(*)::int as backlog from agent_runs where organization_id = $1 and status = 'queued'`,
    [acme],
  );
  const claims = await countedClaims('custom', 2, 3);
  console.log(
    `claims of custom runs beside ${backlog} queued runs of the tenant: ${claims.map((c) => `${c.runs} runs, ${c.pages} pages`).join('; ')}`,
  );
  // Two, two and one custom run; through the tenant's whole queue a claim read its 14,000 other runs.
  expect(backlog).toBeGreaterThan(13_000);
  expect(claims.map((c) => c.runs)).toEqual([2, 2, 1]);
  expect(Math.max(...claims.map((c) => c.pages))).toBeLessThan(1000);
});

it('claims, finishes and key lookups of a tenant new since the last ANALYZE read its runs by key, not all of them', async () => {
  const { db, sql: raw } = database.current;
  const { acme } = queue;
  // Acme's backlog of the test above is no concern of this one.
  await raw.query(
    `update agent_runs set status = 'cancelled', finished_at = now() where organization_id = $1 and status = 'queued'`,
    [acme],
  );
  await raw.exec('vacuum agent_runs');
  // The statistics see every tenant there is; then a new one queues its first burst, and nothing
  // analyzes again (autovacuum is off here). The planner estimates one run for the new tenant.
  const server = database.current.url !== undefined;
  await raw.exec('analyze agent_runs');
  if (server) await raw.exec('alter table agent_runs set (autovacuum_enabled = off)');
  const owner = await createUser(db, { email: 'owner@initech.example' });
  const { organization } = await createOrganization(db, {
    slug: 'initech',
    name: 'Initech',
    ownerUserId: owner.id,
  });
  const initech = organization.id;
  const history = 6000;
  const queued = 400;
  try {
    await scope(initech, async (tx) => {
      const { agent } = await createAgent(tx, {
        slug: 'worker',
        name: 'Worker',
        kind: 'custom',
        config: { model: 'm', systemPrompt: 'p' },
      });
      const { run } = await enqueueRun(tx, { agentId: agent.id });
      // Its history and backlog, in one statement: enqueueRuns would take seconds on the embedded database.
      await tx.execute(
        sql`insert into agent_runs (id, organization_id, agent_id, config_id, trigger, input, status, started_at, finished_at)
            select gen_random_uuid(), r.organization_id, r.agent_id, r.config_id, r.trigger, jsonb_build_object('i', i),
                   case when i <= ${history} then 'succeeded' else 'queued' end::agent_run_status,
                   case when i <= ${history} then now() end, case when i <= ${history} then now() end
            from agent_runs r, generate_series(1, ${history + queued - 1}) i
            where r.organization_id = ${initech}::uuid and r.id = ${run.id}::uuid`,
      );
    });
    const session = await database.current.dedicated();
    const keys = runtimeOf(db).keys;
    // Rows of agent_runs a call reads (fetched through indexes, or scanned), as this transaction's
    // statistics count them: the function's own statements included.
    const rowsRead = async () => {
      const [row] = await session.query<{ n: number | string }>(
        `select coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) as n
         from pg_stat_xact_user_tables where relid = 'agent_runs'::regclass`,
      );
      return Number(row?.n ?? 0);
    };
    const counted = async <T>(call: () => Promise<T>): Promise<{ result: T; read: number }> => {
      await session.exec('begin');
      try {
        const before = await rowsRead();
        const result = await call();
        return { result, read: (await rowsRead()) - before };
      } finally {
        await session.exec('commit');
      }
    };
    const rounds: {
      mode: string;
      claimed: number;
      claimRead: number;
      finished: number;
      finishRead: number;
    }[] = [];
    try {
      // Planned for these values (as each first calls are) and for any values (as after a few calls).
      for (const mode of ['force_custom_plan', 'force_generic_plan']) {
        await session.exec(`set plan_cache_mode = ${mode}`);
        for (let i = 0; i < 3; i++) {
          const proof = await keys.runQueueProof('claim');
          const claim = await counted(() =>
            session.query<{ run_id: string | null; attempt: number | null }>(
              `select run_id, attempt from public.app_claim_runs_next('{custom}'::agent_kind[], 8, 60, null, $1::bigint, $2::bytea)`,
              [proof.issued, proof.proof],
            ),
          );
          const runs = claim.result.filter((r) => r.run_id !== null);
          const finishProof = await keys.runQueueProof(`finish:${initech}`);
          const finish = await counted(() =>
            session.query<{ run_id: string }>(
              'select run_id from public.app_finish_runs($1::uuid, $2::text::jsonb, $3::bigint, $4::bytea)',
              [
                initech,
                JSON.stringify(runs.map((r) => ({ id: r.run_id, attempt: r.attempt, status: 'succeeded' }))),
                finishProof.issued,
                finishProof.proof,
              ],
            ),
          );
          rounds.push({
            mode,
            claimed: runs.length,
            claimRead: claim.read,
            finished: finish.result.length,
            finishRead: finish.read,
          });
        }
      }
      // A key lookup in the tenant's scope (a heartbeat, a foreign-key check) takes the primary key.
      const [anyRun] = await session.query<{ id: string }>(
        'select id from agent_runs where organization_id = $1 limit 1',
        [initech],
      );
      await session.exec('set plan_cache_mode = force_custom_plan');
      const [row] = await session.query<{ 'QUERY PLAN': unknown }>(
        `explain (format json) select status from agent_runs
         where organization_id = '${initech}'::uuid and id = '${anyRun?.id}'::uuid`,
      );
      const lookup = indexesOf(planOf(row));
      console.log(
        `a tenant new since ANALYZE, ${history + queued} runs: ${rounds
          .map(
            (r) =>
              `${r.mode}: claim of ${r.claimed} read ${r.claimRead} runs, finish of ${r.finished} ${r.finishRead}`,
          )
          .join('; ')}; a key lookup through ${lookup.join(', ')}`,
      );
      // Read by key, a claim or a finish of 8 runs reads a few dozen runs; through an index on the
      // tenant alone it read every one of its 6,400 runs.
      expect(rounds.every((r) => r.claimed > 0 && r.finished === r.claimed)).toBe(true);
      expect(Math.max(...rounds.map((r) => Math.max(r.claimRead, r.finishRead)))).toBeLessThan(200);
      expect(lookup).toEqual(['agent_runs_pkey']);
    } finally {
      await session.exec('reset plan_cache_mode');
      await session.release();
    }
  } finally {
    if (server) await raw.exec('alter table agent_runs reset (autovacuum_enabled)');
  }
});
