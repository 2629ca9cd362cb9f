import { and, eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { finishRun } from '../src/agents/agent-runs.ts';
import { claimRuns, runQueueDepth } from '../src/agents/run-claims.ts';
import { failRunAttempt, heartbeatRun, releaseRun } from '../src/agents/run-leases.ts';
import {
  type AgentKind,
  cancelRun,
  type EnqueueRunInput,
  enqueueRun,
  enqueueRuns,
} from '../src/agents/run-queue.ts';
import { runWorker } from '../src/agents/run-worker.ts';
import { DatabaseError, RunLeaseLostError, TenantScopeError } from '../src/base/errors.ts';
import { InputError } from '../src/base/input.ts';
import { runCli } from '../src/cli/cli.ts';
import { rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { agentKinds, agentRuns, agents } from '../src/schema/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { type QueueTenants, seedQueueTenants } from './support/tenants.ts';

const database = useTestDatabase();

let acme = '';
let globex = '';
let queue: QueueTenants;

beforeAll(async () => {
  queue = await seedQueueTenants(database.current.db, 'queue', agentKinds);
  ({ acme, globex } = queue);
});

const agent = (org: string, kind: AgentKind) => queue.agent(org, kind);
const scope = <T>(org: string, fn: Parameters<typeof withTenant<T>>[2]) =>
  withTenant(database.current.db, org, fn);
const claim = (kind: AgentKind, options: Omit<Parameters<typeof claimRuns>[1] & object, 'kinds'> = {}) =>
  claimRuns(database.current.db, { kinds: [kind], ...options });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const runRow = (org: string, id: string) =>
  scope(org, async (tx) => {
    const [row] = await tx
      .select()
      .from(agentRuns)
      .where(and(eq(agentRuns.organizationId, org), eq(agentRuns.id, id)));
    return row;
  });

describe('enqueue', () => {
  it('returns the first run for a repeated idempotency key, in one call and across calls', async () => {
    const agentId = agent(acme, 'copywriter');
    const first = await scope(acme, (tx) =>
      enqueueRuns(tx, [
        { agentId, idempotencyKey: 'order-1', input: { n: 1 } },
        { agentId, idempotencyKey: 'order-2', input: { n: 2 } },
        { agentId, idempotencyKey: 'order-1', input: { n: 3 } },
        { agentId, input: { n: 4 } },
      ]),
    );
    expect(first.map((r) => r.created)).toEqual([true, true, false, true]);
    expect(first[2]?.run.id).toBe(first[0]?.run.id);
    expect(first[2]?.run.input).toEqual({ n: 1 });
    const again = await scope(acme, (tx) =>
      enqueueRun(tx, { agentId, idempotencyKey: 'order-2', input: { n: 9 } }),
    );
    expect(again).toMatchObject({ created: false, run: { id: first[1]?.run.id, input: { n: 2 } } });
    // The same key in another tenant is another run.
    const theirs = await scope(globex, (tx) =>
      enqueueRun(tx, { agentId: agent(globex, 'copywriter'), idempotencyKey: 'order-1' }),
    );
    expect(theirs.created).toBe(true);
    const claimed = await claim('copywriter', { limit: 10 });
    console.log(
      `idempotent enqueue: 6 calls for keys order-1, order-2 and one without, ${claimed.length} runs claimed`,
    );
    expect(claimed).toHaveLength(4);
    for (const run of claimed) {
      await scope(run.organizationId, (tx) =>
        finishRun(tx, run.runId, { status: 'succeeded', attempt: run.attempt }),
      );
    }
  });

  it('refuses bad input naming the table and column, and writes nothing', async () => {
    const agentId = agent(acme, 'copywriter');
    const bad = await failure(() =>
      scope(acme, (tx) => enqueueRuns(tx, [{ agentId }, { agentId, priority: 5000 }])),
    );
    expect(bad).toBeInstanceOf(InputError);
    expect(bad.message).toContain('priority');
    expect(bad).toMatchObject({ table: 'agent_runs', column: 'priority' });
    const unknown = await failure(() =>
      scope(acme, (tx) => enqueueRun(tx, { agentId: agent(globex, 'copywriter') })),
    );
    expect(unknown).toMatchObject({ table: 'agent_runs', column: 'agent_id' });
    expect(await claim('copywriter', { limit: 10 })).toEqual([]);
  });

  it('refuses NUL, a lone surrogate and year 0 with an InputError naming the column; a scope that catches the refusal goes on and queues (the control)', async () => {
    const agentId = agent(acme, 'copywriter');
    const hostile: [string, EnqueueRunInput][] = [
      ['input', { agentId, input: { note: 'a\u0000b' } }],
      ['input', { agentId, input: { note: 'a\ud800b' } }],
      ['idempotency_key', { agentId, idempotencyKey: 'k\u0000' }],
      ['idempotency_key', { agentId, idempotencyKey: '\udfff' }],
      ['run_at', { agentId, runAt: new Date('0000-06-01T00:00:00Z') }],
    ];
    const { refused, queued } = await scope(acme, async (tx) => {
      const refused: unknown[] = [];
      for (const [, input] of hostile)
        refused.push(await enqueueRuns(tx, [{ agentId }, input]).catch((e) => e));
      const [control] = await enqueueRuns(tx, [{ agentId, input: { note: 'after the refusals' } }]);
      return { refused, queued: control?.run };
    });
    expect(refused.map((error) => (error as InputError).column)).toEqual(hostile.map(([column]) => column));
    for (const error of refused) expect(error).toBeInstanceOf(InputError);
    const claimed = await claim('copywriter', { limit: 10 });
    expect(claimed.map((run) => run.runId)).toEqual([queued?.id]);
    expect(claimed[0]?.input).toEqual({ note: 'after the refusals' });
    // Clean up: the tenant's running runs count against its limit in the tests below.
    for (const run of claimed)
      await scope(acme, (tx) => finishRun(tx, run.runId, { status: 'succeeded', attempt: run.attempt }));
  });

  it("runs with the agent's config of the moment; another organization's agent leaves nothing, even to a caller that goes on", async () => {
    const agentId = agent(acme, 'support');
    const [current] = await scope(acme, (tx) =>
      tx
        .select({ configId: agents.currentConfigId })
        .from(agents)
        .where(and(eq(agents.organizationId, acme), eq(agents.id, agentId))),
    );
    const { run } = await scope(acme, (tx) => enqueueRun(tx, { agentId }));
    expect(run.configId).toBe(current?.configId);
    const refusal = await scope(acme, async (tx) => {
      const error = await failure(() =>
        enqueueRuns(tx, [{ agentId, input: { left: 'nothing' } }, { agentId: agent(globex, 'support') }]),
      );
      // The scope goes on and commits.
      await tx.execute(sql`select 1`);
      return error;
    });
    expect(refusal).toBeInstanceOf(InputError);
    expect(refusal).toMatchObject({ table: 'agent_runs', column: 'agent_id' });
    expect(refusal.message).toContain('runs[1]');
    const left = await scope(acme, (tx) =>
      tx
        .select({ id: agentRuns.id })
        .from(agentRuns)
        .where(
          and(eq(agentRuns.organizationId, acme), sql`${agentRuns.input} = '{"left": "nothing"}'::jsonb`),
        ),
    );
    expect(left).toEqual([]);
    const claimed = await claim('support', { limit: 10 });
    expect(claimed.map((one) => one.runId)).toEqual([run.id]);
    await scope(acme, (tx) => finishRun(tx, run.id, { status: 'succeeded', attempt: 1 }));
  });
});

describe('claims', () => {
  it('come back running with a lease, by priority within a tenant, and never before runAt', async () => {
    const agentId = agent(acme, 'social');
    const runAt = new Date(Date.now() + 1500);
    const [low, high, scheduled] = await scope(acme, (tx) =>
      enqueueRuns(tx, [
        { agentId, priority: 0, input: { which: 'low' } },
        { agentId, priority: 10, input: { which: 'high' } },
        { agentId, priority: 100, runAt, input: { which: 'scheduled' } },
      ]),
    );
    const [first] = await claim('social', { leaseSeconds: 30 });
    expect(first).toMatchObject({
      organizationId: acme,
      runId: high?.run.id,
      agentKind: 'social',
      input: { which: 'high' },
      attempt: 1,
    });
    const row = await runRow(acme, first?.runId ?? '');
    expect(row).toMatchObject({ status: 'running', attempts: 1 });
    expect(row?.leaseExpiresAt?.getTime()).toBeGreaterThan(Date.now() + 20_000);
    const [second] = await claim('social');
    expect(second?.runId).toBe(low?.run.id);
    // The scheduled run, though of the highest priority, waits for its time.
    let claimedAt = 0;
    let early = 0;
    const held = [first, second];
    for (;;) {
      const [next] = await claim('social');
      if (next) {
        claimedAt = Date.now();
        held.push(next);
        expect(next.runId).toBe(scheduled?.run.id);
        break;
      }
      early++;
      await sleep(100);
    }
    console.log(
      `scheduled run: ${early} claims before its runAt found nothing, claimed ${claimedAt - runAt.getTime()} ms after it`,
    );
    expect(claimedAt).toBeGreaterThanOrEqual(runAt.getTime());
    expect(early).toBeGreaterThan(0);
    for (const run of held) {
      await scope(acme, (tx) =>
        finishRun(tx, run?.runId ?? '', { status: 'succeeded', attempt: run?.attempt }),
      );
    }
  });

  it('hold the per-tenant limit across claims, and a finished run frees a slot', async () => {
    const agentId = agent(acme, 'email');
    await scope(acme, (tx) =>
      enqueueRuns(
        tx,
        Array.from({ length: 10 }, () => ({ agentId })),
      ),
    );
    const held = [];
    for (let i = 0; i < 5; i++) held.push(...(await claim('email', { limit: 10, perTenantLimit: 3 })));
    const [running] = await scope(acme, async (tx) =>
      rowsOf<{ n: number }>(
        await tx.execute(
          sql`select count(*)::int as n from agent_runs where organization_id = ${acme}::uuid and status = 'running' and agent_id = ${agentId}::uuid`,
        ),
      ),
    );
    console.log(`per-tenant limit 3: 5 claims of up to 10 took ${held.length}, ${running?.n} running`);
    expect(held).toHaveLength(3);
    expect(running?.n).toBe(3);
    const [done] = held;
    await scope(acme, (tx) =>
      finishRun(tx, done?.runId ?? '', { status: 'succeeded', attempt: done?.attempt }),
    );
    const next = await claim('email', { limit: 10, perTenantLimit: 3 });
    expect(next).toHaveLength(1);
    // Clean up: the rest of this tenant's email runs.
    for (const run of [...held.slice(1), ...next]) {
      await scope(acme, (tx) => finishRun(tx, run.runId, { status: 'succeeded', attempt: run.attempt }));
    }
    for (;;) {
      const rest = await claim('email', { limit: 10 });
      if (rest.length === 0) break;
      for (const run of rest)
        await scope(acme, (tx) => finishRun(tx, run.runId, { status: 'succeeded', attempt: run.attempt }));
    }
  });

  it("are tenant-fair: another tenant's new run is claimed next, behind a backlog of thousands", async () => {
    const { db } = database.current;
    const backlog = 3000;
    const agentId = agent(acme, 'seo');
    for (let i = 0; i < backlog; i += 1000) {
      await scope(acme, (tx) =>
        enqueueRuns(
          tx,
          Array.from({ length: 1000 }, (_, j) => ({ agentId, input: { i: i + j } })),
        ),
      );
    }
    // Warm: acme has been served and is still the tenant with the most due work.
    const served = await claimRuns(db, { kinds: ['seo'], limit: 5 });
    expect(served.every((run) => run.organizationId === acme)).toBe(true);
    const small = await scope(globex, (tx) => enqueueRun(tx, { agentId: agent(globex, 'seo') }));
    let claims = 0;
    for (;;) {
      claims++;
      const [next] = await claimRuns(db, { kinds: ['seo'], limit: 1 });
      if (next?.runId === small.run.id) break;
      expect(claims).toBeLessThan(backlog);
    }
    console.log(
      `fairness: behind ${backlog} queued runs of one tenant, another tenant's new run came with claim ${claims} of limit 1`,
    );
    expect(claims).toBeLessThanOrEqual(2);
    // The backlog leaves the queue: cancelled in its own scope.
    await scope(acme, (tx) =>
      tx.execute(
        sql`update agent_runs set status = 'cancelled', finished_at = now() where organization_id = ${acme}::uuid and agent_id = ${agentId}::uuid and status = 'queued'`,
      ),
    );
  });

  it('are refused inside a tenant scope, and to a statement without the service key', async () => {
    const { db } = database.current;
    const nested = await scope(acme, (tx) => claimRuns(tx as never, { limit: 1 }).catch((e: unknown) => e));
    expect(nested).toBeInstanceOf(TenantScopeError);
    // An injected statement calling the definer function itself, with a made-up proof.
    const forged = await failure(() =>
      scope(acme, (tx) =>
        tx.execute(
          sql`select * from public.app_claim_runs(null, 10, 60, null, ${Date.now()}::bigint, ${Buffer.alloc(32)}::bytea)`,
        ),
      ),
    );
    expect(forged).toMatchObject({ code: '28000', table: 'agent_run_queues' });
    expect(forged.message).toContain('run queue claim refused');
    // The queue's index of tenants is the definer's alone.
    const read = await failure(() => scope(acme, (tx) => tx.execute(sql`select * from agent_run_queues`)));
    expect(read).toMatchObject({ kind: 'permission_denied' });
    const depth = await runQueueDepth(db);
    expect(Array.isArray(depth)).toBe(true);
    const bad = await failure(() => claimRuns(db, { limit: 0 }));
    expect(bad).toMatchObject({ table: 'agent_runs', column: 'limit' });
  });
});

describe('leases', () => {
  it('an expired lease goes back to the queue after its backoff; the old holder is refused; the last attempt fails', async () => {
    const agentId = agent(globex, 'analytics');
    const { run } = await scope(globex, (tx) =>
      enqueueRun(tx, { agentId, maxAttempts: 2, backoffSeconds: 1, input: { job: 'lease' } }),
    );
    const [first] = await claim('analytics', { leaseSeconds: 1 });
    expect(first).toMatchObject({ runId: run.id, attempt: 1 });
    await sleep(1100);
    // The next claim visits the tenant, takes the run back and leaves it for its backoff.
    expect(await claim('analytics', { leaseSeconds: 1 })).toEqual([]);
    const back = await scope(globex, async (tx) => {
      const [row] = rowsOf<{ status: string; attempts: number; code: string; wait: number }>(
        await tx.execute(sql`select status, attempts, error->>'code' as code,
                                    extract(epoch from run_at - updated_at)::float8 as wait
                             from agent_runs where organization_id = ${globex}::uuid and id = ${run.id}::uuid`),
      );
      return row;
    });
    console.log('expired lease:', back);
    expect(back).toMatchObject({ status: 'queued', attempts: 1, code: 'lease_expired', wait: 1 });
    // The first holder comes back too late: nothing it sends is written.
    const late = await scope(globex, (tx) =>
      finishRun(tx, run.id, { status: 'succeeded', attempt: 1 }).catch((e: unknown) => e),
    );
    expect(late).toBeInstanceOf(RunLeaseLostError);
    const beat = await scope(globex, (tx) =>
      heartbeatRun(tx, first ?? (run as never), {}).catch((e: unknown) => e),
    );
    expect(beat).toBeInstanceOf(RunLeaseLostError);
    let second: Awaited<ReturnType<typeof claim>>[number] | undefined;
    while (!second) {
      [second] = await claim('analytics', { leaseSeconds: 1 });
      if (!second) await sleep(100);
    }
    expect(second).toMatchObject({ runId: run.id, attempt: 2 });
    const renewed = await scope(globex, (tx) => heartbeatRun(tx, second ?? run, { leaseSeconds: 30 }));
    expect(renewed.leaseExpiresAt.getTime()).toBeGreaterThan(Date.now() + 20_000);
    // The second holder fails its attempt: the last one, so the run fails, keeping the reason.
    const failed = await scope(globex, (tx) =>
      failRunAttempt(tx, second ?? first ?? (run as never), {
        code: 'model_error',
        message: 'the model refused',
      }),
    );
    expect(failed).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'model_error' } });
  });

  it('a failed attempt is retried after its backoff, doubled each time; a release gives the attempt back', async () => {
    const agentId = agent(globex, 'support');
    const { run } = await scope(globex, (tx) =>
      enqueueRun(tx, { agentId, maxAttempts: 3, backoffSeconds: 1 }),
    );
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 2; attempt++) {
      let held: Awaited<ReturnType<typeof claim>>[number] | undefined;
      while (!held) {
        [held] = await claim('support');
        if (!held) await sleep(100);
      }
      expect(held.attempt).toBe(attempt);
      await scope(globex, (tx) =>
        failRunAttempt(tx, held ?? (run as never), { code: 'flaky', message: 'try again' }),
      );
      const [row] = await scope(globex, async (tx) =>
        rowsOf<{ status: string; wait: number }>(
          await tx.execute(sql`select status, extract(epoch from run_at - updated_at)::float8 as wait
                               from agent_runs where organization_id = ${globex}::uuid and id = ${run.id}::uuid`),
        ),
      );
      expect(row?.status).toBe('queued');
      waits.push(Number(row?.wait));
    }
    console.log(`backoff of 1 s: waits ${waits.join(' s, ')} s before attempts 2 and 3`);
    expect(waits).toEqual([1, 2]);
    let third: Awaited<ReturnType<typeof claim>>[number] | undefined;
    while (!third) {
      [third] = await claim('support');
      if (!third) await sleep(100);
    }
    const released = await scope(globex, (tx) => releaseRun(tx, third ?? (run as never)));
    expect(released).toMatchObject({ status: 'queued', attempts: 2 });
    const [again] = await claim('support');
    expect(again).toMatchObject({ runId: run.id, attempt: 3 });
    await scope(globex, (tx) => finishRun(tx, run.id, { status: 'succeeded', attempt: 3 }));
  });
});

describe('cancellation', () => {
  it('cancels a queued run at once, and tells a running one at its next heartbeat', async () => {
    const agentId = agent(acme, 'brand_voice');
    const [queued, running] = await scope(acme, (tx) =>
      enqueueRuns(tx, [
        { agentId, priority: 1 },
        { agentId, priority: 2 },
      ]),
    );
    const [held] = await claim('brand_voice');
    expect(held?.runId).toBe(running?.run.id);
    const stopped = await scope(acme, (tx) => cancelRun(tx, queued?.run.id ?? ''));
    expect(stopped).toMatchObject({ status: 'cancelled' });
    expect(await claim('brand_voice')).toEqual([]);
    const asked = await scope(acme, (tx) => cancelRun(tx, running?.run.id ?? ''));
    expect(asked.status).toBe('running');
    expect(asked.cancelRequestedAt).not.toBeNull();
    const beat = await scope(acme, (tx) => heartbeatRun(tx, held ?? (running?.run as never)));
    expect(beat.cancelRequested).toBe(true);
    const done = await scope(acme, (tx) =>
      finishRun(tx, held?.runId ?? '', { status: 'cancelled', attempt: held?.attempt }),
    );
    expect(done.status).toBe('cancelled');
    // Cancelling a finished run changes nothing.
    expect((await scope(acme, (tx) => cancelRun(tx, done.id))).status).toBe('cancelled');
  });
});

describe('runWorker', () => {
  it('runs what is queued with its handlers, retries a failing attempt, stops when asked', async () => {
    const { db } = database.current;
    const agentId = agent(acme, 'custom');
    const theirs = agent(globex, 'custom');
    const seen: string[] = [];
    let flaky = 0;
    const worker = runWorker(
      db,
      {
        custom: async (run) => {
          seen.push(run.runId);
          if (run.input.flaky && flaky++ === 0) throw new Error('first attempt fails');
          return { output: { doubled: Number(run.input.n) * 2 }, promptTokens: 3 };
        },
      },
      { concurrency: 3, pollIntervalMs: 200 },
    );
    const enqueued = [
      ...(await scope(acme, (tx) =>
        enqueueRuns(tx, [
          ...Array.from({ length: 8 }, (_, n) => ({ agentId, input: { n } })),
          { agentId, input: { n: 100, flaky: true }, backoffSeconds: 0 },
        ]),
      )),
      ...(await scope(globex, (tx) =>
        enqueueRuns(
          tx,
          Array.from({ length: 4 }, (_, n) => ({ agentId: theirs, input: { n } })),
        ),
      )),
    ];
    for (;;) {
      if (worker.stats.succeeded >= enqueued.length) break;
      await sleep(50);
    }
    await worker.stop();
    console.log('runWorker:', worker.stats);
    const rows = await Promise.all(enqueued.map(({ run }) => runRow(run.organizationId, run.id)));
    expect(rows.every((row) => row?.status === 'succeeded')).toBe(true);
    expect(rows.map((row) => row?.output)).toEqual(
      enqueued.map(({ run }) => ({ doubled: Number(run.input.n) * 2 })),
    );
    const flakyRow = rows.find((row) => row?.input.flaky);
    expect(flakyRow).toMatchObject({
      attempts: 2,
      error: { code: 'handler_error', message: 'first attempt fails' },
    });
    expect(worker.stats).toMatchObject({ succeeded: 13, failed: 1, lost: 0 });
  });

  it('finishes a run cancelled while its handler runs as cancelled, and releases what it cannot finish when stopped', async () => {
    const { db } = database.current;
    const agentId = agent(globex, 'research');
    const started: string[] = [];
    const worker = runWorker(
      db,
      {
        research: (run) =>
          new Promise((_resolve, reject) => {
            started.push(run.runId);
            run.signal.addEventListener('abort', () => reject(new Error('stopped')));
          }),
      },
      { concurrency: 2, leaseSeconds: 3, shutdownGraceMs: 200, pollIntervalMs: 200 },
    );
    const [a, b] = await scope(globex, (tx) => enqueueRuns(tx, [{ agentId }, { agentId }]));
    while (started.length < 2) await sleep(50);
    await scope(globex, (tx) => cancelRun(tx, a?.run.id ?? ''));
    // The heartbeat (every second with a 3 s lease) tells the handler.
    while (worker.stats.cancelled < 1) await sleep(100);
    await worker.stop();
    console.log('cancel and stop:', worker.stats);
    expect(worker.stats).toMatchObject({ cancelled: 1, released: 1 });
    expect(await runRow(globex, a?.run.id ?? '')).toMatchObject({ status: 'cancelled' });
    expect(await runRow(globex, b?.run.id ?? '')).toMatchObject({ status: 'queued', attempts: 0 });
  });
});

describe('the queue and the database agree', () => {
  it('a claimed run cannot be finished twice, whatever the caller', async () => {
    const agentId = agent(acme, 'orchestrator');
    await scope(acme, (tx) => enqueueRun(tx, { agentId }));
    const [held] = await claim('orchestrator');
    await scope(acme, (tx) =>
      finishRun(tx, held?.runId ?? '', { status: 'succeeded', attempt: held?.attempt }),
    );
    const twice = await scope(acme, (tx) =>
      finishRun(tx, held?.runId ?? '', { status: 'succeeded', attempt: held?.attempt }).catch(
        (e: unknown) => e,
      ),
    );
    expect(twice).toBeInstanceOf(RunLeaseLostError);
    const raw = await failure(() =>
      scope(acme, (tx) =>
        tx
          .update(agentRuns)
          .set({ status: 'failed', error: { code: 'x', message: 'y' } })
          .where(eq(agentRuns.id, held?.runId ?? '')),
      ),
    );
    expect(raw).toBeInstanceOf(DatabaseError);
    expect(raw).toMatchObject({ constraint: 'agent_runs_status_transition_check' });
  });
});

// Two connections at once: the embedded database has one.
describe.skipIf(!onServer)('the queue row is locked before the runs', () => {
  it('a claim does not wait for a worker finishing a run whose lease expired: it passes the tenant over', async () => {
    const agentId = agent(acme, 'orchestrator');
    const { run } = await scope(acme, (tx) => enqueueRun(tx, { agentId, input: { job: 'lock order' } }));
    const [held] = await claim('orchestrator', { leaseSeconds: 1 });
    expect(held).toMatchObject({ runId: run.id, attempt: 1 });
    await sleep(1100);
    let finished = () => {};
    const inFinish = new Promise<void>((resolve) => {
      finished = resolve;
    });
    let commit = () => {};
    const gate = new Promise<void>((resolve) => {
      commit = resolve;
    });
    // The worker finishes its expired run and holds its transaction open.
    const worker = scope(acme, async (tx) => {
      const done = await finishRun(tx, run.id, { status: 'succeeded', attempt: 1 });
      finished();
      await gate;
      return done;
    });
    await inFinish;
    const started = performance.now();
    const claiming = claim('orchestrator', { leaseSeconds: 1 });
    const outcome = await Promise.race([claiming, sleep(3000).then(() => 'waited' as const)]);
    const waitedMs = performance.now() - started;
    console.log(`claim beside an open finish of the tenant: ${Math.round(waitedMs)} ms`);
    commit();
    expect(outcome).toEqual([]);
    await expect(worker).resolves.toMatchObject({ status: 'succeeded', attempts: 1 });
    await claiming;
    expect(await runRow(acme, run.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });
});

describe.skipIf(!onServer)('neonhub-db runs', () => {
  it('prints the queue per tenant and agent: queued, due, running, expired leases', async () => {
    const { url } = database.current;
    const agentId = agent(globex, 'copywriter');
    await scope(globex, (tx) =>
      enqueueRuns(tx, [{ agentId }, { agentId }, { agentId, runAt: new Date(Date.now() + 3_600_000) }]),
    );
    const [held] = await claim('copywriter', { leaseSeconds: 1 });
    await sleep(1100);
    let stdout = '';
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = url;
    try {
      const code = await runCli(['runs'], { stdout: (text) => (stdout += text) });
      expect(code).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
    console.log(stdout);
    const line = stdout.split('\n').find((l) => l.includes('globex') && l.includes('queue-copywriter'));
    expect(line?.trim().split(/\s+/).slice(0, 4)).toEqual(['globex', 'queue-copywriter', '2', '1']);
    expect(line?.trim().split(/\s+/).slice(-2)).toEqual(['1', '1']);
    expect(held?.organizationId).toBe(globex);
  });
});
