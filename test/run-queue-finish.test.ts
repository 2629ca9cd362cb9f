import { and, eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { claimRuns, claimRunsAndNextDue, finishClaimedRuns, nextRunDueAt } from '../src/agents/run-claims.ts';
import { type ClaimedRun, finishRuns } from '../src/agents/run-leases.ts';
import { type AgentKind, enqueueRun, enqueueRuns } from '../src/agents/run-queue.ts';
import { runWorker } from '../src/agents/run-worker.ts';
import { TenantScopeError } from '../src/base/errors.ts';
import { InputError } from '../src/base/input.ts';
import { runtimeOf } from '../src/client/scope-runtime.ts';
import { withTenant } from '../src/client/tenant.ts';
import { agentRuns } from '../src/schema/index.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { type QueueTenants, seedQueueTenants } from './support/tenants.ts';

// A worker finishes the runs it claimed through the queue's definer path (finishClaimedRuns), with
// no tenant scope, and learns when the next run is due from its claim (claimRunsAndNextDue).

const database = useTestDatabase();

let acme = '';
let globex = '';
let queue: QueueTenants;

beforeAll(async () => {
  queue = await seedQueueTenants(database.current.db, 'finish', [
    'copywriter',
    'social',
    'email',
    'seo',
    'research',
  ]);
  ({ acme, globex } = queue);
});

const agent = (org: string, kind: AgentKind) => queue.agent(org, kind);
const scope = <T>(org: string, fn: Parameters<typeof withTenant<T>>[2]) =>
  withTenant(database.current.db, org, fn);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const runRow = (org: string, id: string) =>
  scope(org, async (tx) => {
    const [row] = await tx
      .select()
      .from(agentRuns)
      .where(and(eq(agentRuns.organizationId, org), eq(agentRuns.id, id)));
    return row;
  });
/** Claims of `kind` until `count` runs came (a claim visits at most 16 tenants and shares its limit). */
async function claimAll(kind: AgentKind, count: number, leaseSeconds = 60): Promise<ClaimedRun[]> {
  const held: ClaimedRun[] = [];
  while (held.length < count) {
    const more = await claimRuns(database.current.db, {
      kinds: [kind],
      limit: count - held.length,
      leaseSeconds,
    });
    if (more.length === 0) await sleep(50);
    held.push(...more);
  }
  return held;
}

describe('finishClaimedRuns', () => {
  it("writes each claimed run's outcome and telemetry, two tenants in one call, with no tenant scope", async () => {
    const { db } = database.current;
    const ours = await scope(acme, (tx) =>
      enqueueRuns(tx, [{ agentId: agent(acme, 'copywriter') }, { agentId: agent(acme, 'copywriter') }]),
    );
    const theirs = await scope(globex, (tx) => enqueueRun(tx, { agentId: agent(globex, 'copywriter') }));
    const held = await claimAll('copywriter', 3);
    const byId = new Map(held.map((run) => [run.runId, run]));
    const [first, second] = ours.map(({ run }) => byId.get(run.id));
    const other = byId.get(theirs.run.id);
    if (!first || !second || !other) throw new Error('the three runs were claimed');
    const outcome = await finishClaimedRuns(db, [
      {
        run: first,
        result: {
          status: 'succeeded',
          output: { text: 'hi' },
          model: 'gpt-4o',
          promptTokens: 12,
          latencyMs: 345,
        },
      },
      { run: second, result: { status: 'cancelled' } },
      { run: other, result: { status: 'succeeded', completionTokens: 7 } },
    ]);
    console.log('finish of 3 claimed runs of 2 tenants:', outcome);
    expect(outcome.lost).toEqual([]);
    expect(new Set(outcome.finished)).toEqual(new Set([first.runId, second.runId, other.runId]));
    const rows = {
      first: await runRow(acme, first.runId),
      second: await runRow(acme, second.runId),
      other: await runRow(globex, other.runId),
    };
    expect(rows.first).toMatchObject({
      status: 'succeeded',
      output: { text: 'hi' },
      model: 'gpt-4o',
      promptTokens: 12,
      latencyMs: 345,
      leaseExpiresAt: null,
      attempts: 1,
    });
    expect(rows.second).toMatchObject({ status: 'cancelled', leaseExpiresAt: null });
    expect(rows.other).toMatchObject({ status: 'succeeded', completionTokens: 7, leaseExpiresAt: null });
    // Without a latency of the caller's, the time since the start.
    expect(rows.other?.latencyMs).toBeGreaterThanOrEqual(0);
    for (const row of Object.values(rows)) {
      expect(row?.finishedAt?.getTime()).toBeGreaterThanOrEqual(row?.startedAt?.getTime() ?? Number.NaN);
    }
  });

  it('changes nothing it does not hold: a run taken over, one never claimed, one named under another tenant, one finished', async () => {
    const { db } = database.current;
    const [overdue, queued] = await scope(acme, (tx) =>
      enqueueRuns(tx, [
        { agentId: agent(acme, 'social'), backoffSeconds: 0 },
        // Claimed by nobody: another kind.
        { agentId: agent(acme, 'email') },
      ]),
    );
    const [late] = await claimAll('social', 1, 1);
    const theirs = await scope(globex, (tx) =>
      enqueueRuns(tx, [{ agentId: agent(globex, 'social') }, { agentId: agent(globex, 'social') }]),
    );
    const [done, other] = await claimAll('social', 2);
    if (!late || !done || !other || !overdue || !queued) throw new Error('the runs were claimed');
    expect(late.runId).toBe(overdue.run.id);
    expect(new Set([done.runId, other.runId])).toEqual(new Set(theirs.map(({ run }) => run.id)));
    expect(await finishClaimedRuns(db, [{ run: done, result: { status: 'succeeded' } }])).toEqual({
      finished: [done.runId],
      lost: [],
    });
    // The first holder's lease runs out; a claim takes the run back (no backoff) and holds it as attempt 2.
    await sleep(1100);
    const [taker] = await claimAll('social', 1);
    expect(taker).toMatchObject({ runId: late.runId, attempt: 2 });
    const before = {
      late: await runRow(acme, late.runId),
      queued: await runRow(acme, queued.run.id),
      done: await runRow(globex, done.runId),
      other: await runRow(globex, other.runId),
    };
    const outcome = await finishClaimedRuns(db, [
      // Taken over: attempt 1 no longer holds it.
      { run: late, result: { status: 'succeeded', output: { by: 'the first holder' } } },
      // Queued, never claimed.
      { run: { organizationId: acme, runId: queued.run.id, attempt: 1 }, result: { status: 'succeeded' } },
      // Globex's running run named as acme's.
      { run: { ...other, organizationId: acme }, result: { status: 'failed' } },
      // Finished already.
      { run: done, result: { status: 'cancelled' } },
    ]);
    console.log(`refused finishes: ${outcome.lost.length} lost, ${outcome.finished.length} finished`);
    expect(outcome.finished).toEqual([]);
    expect(new Set(outcome.lost)).toEqual(new Set([late.runId, queued.run.id, other.runId, done.runId]));
    expect(before).toMatchObject({
      late: { status: 'running', attempts: 2 },
      queued: { status: 'queued', attempts: 0 },
      done: { status: 'succeeded', attempts: 1 },
      other: { status: 'running', attempts: 1 },
    });
    expect({
      late: await runRow(acme, late.runId),
      queued: await runRow(acme, queued.run.id),
      done: await runRow(globex, done.runId),
      other: await runRow(globex, other.runId),
    }).toEqual(before);
    // The holders finish them.
    const last = await finishClaimedRuns(db, [
      { run: taker as ClaimedRun, result: { status: 'succeeded' } },
      { run: other, result: { status: 'succeeded' } },
    ]);
    expect(new Set(last.finished)).toEqual(new Set([late.runId, other.runId]));
  });

  it("is refused inside a tenant scope, without the service key's proof, with another tenant's proof, and for a status that is not an end", async () => {
    const { db } = database.current;
    await scope(acme, (tx) => enqueueRun(tx, { agentId: agent(acme, 'email') }));
    const [run] = await claimAll('email', 1);
    if (!run) throw new Error('claimed');
    const nested = await scope(acme, (tx) =>
      finishClaimedRuns(tx as never, [{ run, result: { status: 'succeeded' } }]).catch((e: unknown) => e),
    );
    expect(nested).toBeInstanceOf(TenantScopeError);
    const runs = JSON.stringify([{ id: run.runId, attempt: run.attempt, status: 'succeeded' }]);
    // A statement injected into the tenant's scope, with a made-up proof.
    const forged = await failure(() =>
      scope(acme, (tx) =>
        tx.execute(
          sql`select * from public.app_finish_runs(${acme}::uuid, ${runs}::text::jsonb, ${Date.now()}::bigint, ${Buffer.alloc(32)}::bytea)`,
        ),
      ),
    );
    expect(forged).toMatchObject({ code: '28000', table: 'agent_run_queues' });
    // The service key's proof signs the tenant: globex's proof does not finish acme's runs.
    const { issued, proof } = await runtimeOf(db).keys.runQueueProof(`finish:${globex}`);
    const crossed = await failure(() =>
      db.execute(
        sql`select * from public.app_finish_runs(${acme}::uuid, ${runs}::text::jsonb, ${issued}::bigint, ${proof}::bytea)`,
      ),
    );
    expect(crossed).toMatchObject({ code: '28000' });
    // A finish ends a run: back to the queue is a failed attempt's or a release's.
    const undo = await failure(() => finishClaimedRuns(db, [{ run, result: { status: 'queued' as never } }]));
    expect(undo).toBeInstanceOf(InputError);
    expect(undo).toMatchObject({ table: 'agent_runs', column: 'status' });
    const own = await runtimeOf(db).keys.runQueueProof(`finish:${acme}`);
    const queuedAgain = JSON.stringify([{ id: run.runId, attempt: run.attempt, status: 'queued' }]);
    const direct = await failure(() =>
      db.execute(
        sql`select * from public.app_finish_runs(${acme}::uuid, ${queuedAgain}::text::jsonb, ${own.issued}::bigint, ${own.proof}::bytea)`,
      ),
    );
    expect(direct).toMatchObject({ code: '22023', table: 'agent_runs', column: 'status' });
    expect(await runRow(acme, run.runId)).toMatchObject({ status: 'running', attempts: 1 });
    expect(await finishClaimedRuns(db, [{ run, result: { status: 'succeeded' } }])).toEqual({
      finished: [run.runId],
      lost: [],
    });
  });
});

describe('finishRuns', () => {
  it("in the tenant's scope, finishes the runs it holds in one statement and leaves one whose attempt moved on", async () => {
    const ours = await scope(acme, (tx) =>
      enqueueRuns(tx, [{ agentId: agent(acme, 'seo') }, { agentId: agent(acme, 'seo') }]),
    );
    const held = await claimAll('seo', 2);
    const byId = new Map(held.map((run) => [run.runId, run]));
    const [done, moved] = ours.map(({ run }) => byId.get(run.id));
    if (!done || !moved) throw new Error('both runs were claimed');
    const outcome = await scope(acme, (tx) =>
      finishRuns(tx, [
        { run: done, result: { status: 'succeeded', promptTokens: 3 } },
        { run: { ...moved, attempt: moved.attempt + 1 }, result: { status: 'succeeded' } },
      ]),
    );
    expect(outcome).toEqual({ finished: [done.runId], lost: [moved.runId] });
    expect(await runRow(acme, done.runId)).toMatchObject({ status: 'succeeded', promptTokens: 3 });
    expect(await runRow(acme, moved.runId)).toMatchObject({ status: 'running', attempts: moved.attempt });
    await finishClaimedRuns(database.current.db, [{ run: moved, result: { status: 'cancelled' } }]);
  });
});

describe('claimRunsAndNextDue', () => {
  it('says when the next run is due, and an idle worker starts a scheduled run then, not at its next poll', async () => {
    const { db } = database.current;
    // Nothing else queued: the runs of other kinds the tests above left.
    for (const org of [acme, globex]) {
      await scope(org, (tx) =>
        tx.execute(sql`update agent_runs set status = 'cancelled', finished_at = now()
                       where organization_id = ${org}::uuid and status = 'queued'`),
      );
    }
    const runAt = new Date(Date.now() + 1500);
    const { run } = await scope(acme, (tx) => enqueueRun(tx, { agentId: agent(acme, 'seo'), runAt }));
    const early = await claimRunsAndNextDue(db, { kinds: ['seo'] });
    expect(early.runs).toEqual([]);
    expect(early.nextDueAt?.getTime()).toBe(runAt.getTime());
    // The same answer as the call of its own.
    expect(await nextRunDueAt(db)).toEqual(early.nextDueAt);
    let startedAt = 0;
    const pollIntervalMs = 60_000;
    const worker = runWorker(
      db,
      {
        seo: async (claimed) => {
          if (claimed.runId === run.id) startedAt = Date.now();
          return { output: { ok: true } };
        },
      },
      { pollIntervalMs },
    );
    const started = Date.now();
    while (startedAt === 0) await sleep(20);
    while (worker.stats.succeeded < 1) await sleep(20);
    await worker.stop();
    console.log(
      `scheduled run: started ${startedAt - runAt.getTime()} ms after its runAt (the worker's poll interval: ${pollIntervalMs} ms)`,
    );
    expect(startedAt).toBeGreaterThanOrEqual(runAt.getTime());
    expect(startedAt - started).toBeLessThan(pollIntervalMs);
    expect(await runRow(acme, run.id)).toMatchObject({ status: 'succeeded', output: { ok: true } });
  });

  it("a worker at a tenant's limit claims again as that tenant's runs finish, not at its next poll", async () => {
    const { db } = database.current;
    const agentId = agent(globex, 'research');
    const queued = await scope(globex, (tx) =>
      enqueueRuns(
        tx,
        Array.from({ length: 6 }, (_, n) => ({ agentId, input: { n } })),
      ),
    );
    let running = 0;
    let most = 0;
    const pollIntervalMs = 60_000;
    const worker = runWorker(
      db,
      {
        research: async () => {
          running++;
          most = Math.max(most, running);
          await sleep(50);
          running--;
          return { output: { ok: true } };
        },
      },
      { concurrency: 8, perTenantLimit: 2, pollIntervalMs },
    );
    const started = Date.now();
    while (worker.stats.succeeded < queued.length) await sleep(20);
    const elapsed = Date.now() - started;
    await worker.stop();
    console.log(
      `perTenantLimit 2, 6 runs of 50 ms: done in ${elapsed} ms, at most ${most} at once (poll interval ${pollIntervalMs} ms)`,
    );
    expect(most).toBeLessThanOrEqual(2);
    expect(elapsed).toBeLessThan(pollIntervalMs);
    for (const { run } of queued) expect(await runRow(globex, run.id)).toMatchObject({ status: 'succeeded' });
  });
});
