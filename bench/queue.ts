import {
  Logger,
  makeWorkerUtils,
  run as runGraphile,
  runMigrations,
  type WorkerUtils,
} from 'graphile-worker';
import { createAgent } from '../src/agents/agents.ts';
import { enqueueRun, enqueueRuns } from '../src/agents/run-queue.ts';
import { type RunHandler, runWorker } from '../src/agents/run-worker.ts';
import { createDb, type Database } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { users } from '../src/schema/index.ts';
import { type Bench, type BenchRow, ms, stats } from './support.ts';

// The run queue beside graphile-worker (its defaults), on the same server, one after the other:
// enqueue rates, claim-and-complete throughput at the same concurrency, enqueue-to-start latency,
// and how long a small tenant's first run waits behind another tenant's backlog.

const concurrency = Number(process.env.BENCH_QUEUE_CONCURRENCY ?? 8);
const singles = Number(process.env.BENCH_QUEUE_SINGLES ?? 1000);
const batched = Number(process.env.BENCH_QUEUE_RUNS ?? 5000);
const backlog = Number(process.env.BENCH_QUEUE_BACKLOG ?? 100_000);
const latencySamples = Number(process.env.BENCH_QUEUE_LATENCY_SAMPLES ?? 200);
/** How long the fairness probe waits for the small tenant's run before it reports "not started". */
const fairnessCapMs = Number(process.env.BENCH_QUEUE_FAIRNESS_CAP_MS ?? 60_000);

const sleep = (time: number) => new Promise((resolve) => setTimeout(resolve, time));
const rate = (n: number, elapsedMs: number) => (n * 1000) / elapsedMs;
const perSecond = (value: number) => `${Math.round(value).toLocaleString('en-US')}/s`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Resolves once `done()` is true, checking every few milliseconds. */
async function until(done: () => boolean, capMs = Number.POSITIVE_INFINITY): Promise<boolean> {
  const started = performance.now();
  while (!done()) {
    if (performance.now() - started > capMs) return false;
    await sleep(2);
  }
  return true;
}

interface Side {
  name: string;
  enqueueOne(input: Record<string, unknown>, tenant?: 'big' | 'small'): Promise<void>;
  enqueueBatch(count: number, tenant?: 'big' | 'small'): Promise<void>;
  /** Starts workers at `concurrency` with `handler`; returns how to stop them. */
  start(handler: (input: Record<string, unknown>) => void): Promise<() => Promise<void>>;
}

/** The package's queue: two organizations (a big and a small tenant), one agent each. */
async function ourSide(url: string): Promise<{ side: Side; close(): Promise<void> }> {
  const { db, close } = createDb({ url, max: concurrency + 4 });
  const tenants: Record<'big' | 'small', { org: string; agent: string }> = {
    big: await tenantWithAgent(db, 'big'),
    small: await tenantWithAgent(db, 'small'),
  };
  const side: Side = {
    name: 'run queue',
    enqueueOne: async (input, tenant = 'big') => {
      const { org, agent } = tenants[tenant];
      await withTenant(db, org, (tx) => enqueueRun(tx, { agentId: agent, input: input as never }));
    },
    enqueueBatch: async (count, tenant = 'big') => {
      const { org, agent } = tenants[tenant];
      for (let done = 0; done < count; done += 1000) {
        const size = Math.min(1000, count - done);
        await withTenant(db, org, (tx) =>
          enqueueRuns(
            tx,
            Array.from({ length: size }, () => ({ agentId: agent })),
          ),
        );
      }
    },
    start: async (handler) => {
      const run: RunHandler = async (claimed) => {
        handler(claimed.input);
        return undefined;
      };
      const worker = runWorker(db, { custom: run }, { concurrency });
      return () => worker.stop();
    },
  };
  return { side, close };
}

async function tenantWithAgent(db: Database, slug: string) {
  const [owner] = await db
    .insert(users)
    .values({ email: `${slug}@bench.example` })
    .returning();
  const { organization } = await createOrganization(db, { slug, name: slug, ownerUserId: owner?.id ?? '' });
  const { agent } = await withTenant(db, organization.id, (tx) =>
    createAgent(tx, {
      slug: 'worker',
      name: 'Worker',
      kind: 'custom',
      config: { model: 'm', systemPrompt: 'p' },
    }),
  );
  return { org: organization.id, agent: agent.id };
}

/** graphile-worker with its defaults, on a database of its own on the same server. */
async function graphileSide(url: string): Promise<{ side: Side; close(): Promise<void> }> {
  await runMigrations({ connectionString: url, logger: quietLogger() });
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: url, logger: quietLogger() });
  const side: Side = {
    name: 'graphile-worker',
    enqueueOne: async (input) => {
      await utils.addJob('custom', input);
    },
    enqueueBatch: async (count) => {
      for (let done = 0; done < count; done += 1000) {
        const size = Math.min(1000, count - done);
        await utils.addJobs(Array.from({ length: size }, () => ({ identifier: 'custom', payload: {} })));
      }
    },
    start: async (handler) => {
      const runner = await runGraphile({
        connectionString: url,
        concurrency,
        maxPoolSize: concurrency + 4,
        noHandleSignals: true,
        logger: quietLogger(),
        taskList: {
          custom: async (payload) => {
            handler((payload ?? {}) as Record<string, unknown>);
          },
        },
      });
      return () => runner.stop();
    },
  };
  return { side, close: async () => utils.release() };
}

/** graphile-worker's logger, silent: the bench prints its own lines only. */
const quietLogger = () => new Logger(() => () => {});

interface SideFigures {
  single: number;
  batch: number;
  throughput: number;
  latency: ReturnType<typeof stats>;
  /** The enqueue call of each latency sample, alone. */
  enqueueCall: ReturnType<typeof stats>;
  /** Milliseconds the small tenant's run waited, or null when it had not started within the cap. */
  fairWait: number | null;
}

async function measure(side: Side): Promise<SideFigures> {
  // Enqueue: one run per call (a scope and a commit each), then 1,000 per call.
  const single = rate(
    singles,
    await timed(async () => {
      for (let i = 0; i < singles; i++) await side.enqueueOne({});
    }),
  );
  const batch = rate(batched, await timed(() => side.enqueueBatch(batched)));
  // Claim and complete everything just queued, at the same concurrency.
  const total = singles + batched;
  let completed = 0;
  const started = performance.now();
  const stopDraining = await side.start(() => {
    completed++;
  });
  await until(() => completed >= total);
  const throughput = rate(total, performance.now() - started);
  await stopDraining();
  // Enqueue-to-start: an idle worker, one run at a time; and how long the enqueue call itself took
  // (the run may start before the call returns: the notification leaves as the enqueue commits).
  const samples: number[] = [];
  const enqueueCalls: number[] = [];
  let startedAt = 0;
  const stopIdle = await side.start(() => {
    startedAt = performance.now();
  });
  await sleep(500);
  for (let i = 0; i < latencySamples; i++) {
    startedAt = 0;
    const sent = performance.now();
    await side.enqueueOne({ probe: i });
    enqueueCalls.push(performance.now() - sent);
    await until(() => startedAt > 0);
    samples.push(startedAt - sent);
    await sleep(5);
  }
  await stopIdle();
  // Fairness: a backlog of one tenant, worked on, then the small tenant's first run.
  await side.enqueueBatch(backlog, 'big');
  let smallStarted = 0;
  const stopFair = await side.start((input) => {
    if (input.small) smallStarted = performance.now();
  });
  await sleep(1000);
  const sentSmall = performance.now();
  await side.enqueueOne({ small: true }, 'small');
  const ok = await until(() => smallStarted > 0, fairnessCapMs);
  await stopFair();
  return {
    single,
    batch,
    throughput,
    latency: stats(samples),
    enqueueCall: stats(enqueueCalls),
    fairWait: ok ? smallStarted - sentSmall : null,
  };
}

export const queueBench: Bench = {
  name: 'run queue',
  needsServer: 'graphile-worker runs beside it on the same server',
  async run(target) {
    const oursDb = await target.fresh();
    const theirsDb = await target.fresh({ migrated: false });
    const ours = await ourSide(oursDb.url ?? '');
    const theirs = await graphileSide(theirsDb.url ?? '');
    try {
      const a = await measure(ours.side);
      const b = await measure(theirs.side);
      const fair = (wait: number | null) =>
        wait === null ? `not started after ${fairnessCapMs / 1000} s` : ms(wait);
      const rows: BenchRow[] = [
        {
          path: 'enqueue, one run per call (a transaction each)',
          measured: perSecond(a.single),
          baseline: `graphile-worker addJob ${perSecond(b.single)}`,
          ratio: a.single / b.single,
          target: 'contrast',
          ok: true,
        },
        {
          path: 'enqueue, 1,000 runs per call',
          measured: perSecond(a.batch),
          baseline: `graphile-worker addJobs ${perSecond(b.batch)}`,
          ratio: a.batch / b.batch,
          target: 'contrast',
          ok: true,
        },
        {
          path: `claim and complete ${(singles + batched).toLocaleString('en-US')} runs, concurrency ${concurrency}`,
          measured: perSecond(a.throughput),
          baseline: `graphile-worker ${perSecond(b.throughput)}`,
          ratio: a.throughput / b.throughput,
          target: '>= 1x',
          ok: a.throughput >= b.throughput,
        },
        {
          path: `enqueue-to-start latency, idle worker, ${latencySamples} runs`,
          measured: `p50 ${ms(a.latency.p50)}, p95 ${ms(a.latency.p95)} (the enqueue call alone p50 ${ms(a.enqueueCall.p50)})`,
          baseline: `graphile-worker p50 ${ms(b.latency.p50)}, p95 ${ms(b.latency.p95)} (addJob alone p50 ${ms(b.enqueueCall.p50)})`,
          ratio: a.latency.p95 / b.latency.p95,
          target: 'p95 <= 1x',
          ok: a.latency.p95 <= b.latency.p95,
        },
        {
          path: `a small tenant's first run behind another's backlog of ${backlog.toLocaleString('en-US')}`,
          measured: `waited ${fair(a.fairWait)}`,
          baseline: `graphile-worker (no tenants; the same job behind the backlog) ${fair(b.fairWait)}`,
          target: 'bounded',
          ok: a.fairWait !== null,
        },
      ];
      return rows;
    } finally {
      await ours.close();
      await theirs.close();
      await oursDb.close();
      await theirsDb.close();
    }
  },
};
