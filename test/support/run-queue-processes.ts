import { spawn } from 'node:child_process';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { enqueueRuns } from '../../src/agents/run-queue.ts';
import { type Database, rowsOf, type Transaction } from '../../src/client/client.ts';
import { currentTenant, withTenant } from '../../src/client/tenant.ts';
import { agentConfigs, agents } from '../../src/schema/index.ts';
import { bundledScript } from './bundle.ts';
import { suiteNodeFlags } from './node-flags.ts';

// Worker processes of the run queue, 3 of them killed with SIGKILL while they hold runs: what
// became of every run. Shared by the one-server suite and the Citus cluster suite.

const childScript = path.join(import.meta.dirname, 'run-queue-child.ts');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Child {
  pid: number;
  started: Set<string>;
  settled: Set<string>;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function startWorker(script: string, url: string, lines: string[]): Child {
  const worker = spawn(process.execPath, [...suiteNodeFlags, script, url], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const child: Child = {
    pid: worker.pid ?? 0,
    started: new Set(),
    settled: new Set(),
    exited: new Promise((resolve) => worker.on('exit', (code) => resolve(code))),
    kill: (signal) => worker.kill(signal),
  };
  let buffered = '';
  worker.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(`${child.pid} ${line}`);
      const [word, runId, attempt] = line.split(' ');
      if (word === 'start') child.started.add(`${runId} ${attempt}`);
      if (word === 'settled') child.settled.add(`${runId} ${attempt}`);
    }
  });
  return child;
}

/**
 * An agent with a current config, written row by row: createAgent numbers its config with a
 * subquery inside the INSERT, which Citus refuses.
 */
export async function queueAgent(tx: Transaction, slug: string, kind: 'custom' | 'orchestrator') {
  const organizationId = currentTenant(tx);
  const [agent] = await tx
    .insert(agents)
    .values({ organizationId, slug, name: slug, kind, status: 'active' })
    .returning();
  if (!agent) throw new Error('agent insert returned nothing');
  const [config] = await tx
    .insert(agentConfigs)
    .values({ organizationId, agentId: agent.id, version: 1, model: 'm', systemPrompt: 'p' })
    .returning();
  await tx
    .update(agents)
    .set({ currentConfigId: config?.id })
    .where(and(eq(agents.organizationId, organizationId), eq(agents.id, agent.id)));
  return agent;
}

export interface ExactlyOnceReport {
  ids: string[];
  /** Runs per final status. */
  final: Record<string, number>;
  /** Run ids whose success a worker reported, in report order (a run twice here was completed twice). */
  settledRuns: string[];
  /** Runs the killed workers held, started and not settled, when they were killed. */
  heldByKilled: Set<string>;
  retriedRuns: number;
  attempts: number;
  survivorExits: (number | null)[];
  errors: string[];
  summary: string;
}

/**
 * Queues `runs` runs of a `custom` agent, half in each organization, starts `workers` worker
 * processes on `url`, kills three with SIGKILL (at a fifth, two fifths and three fifths of the
 * runs settled, each while it holds a run), waits for every run to end, then stops the rest.
 */
export async function killWorkersMidRun(
  db: Database,
  url: string,
  organizations: string[],
  options: { runs: number; workers: number },
): Promise<ExactlyOnceReport> {
  const { runs, workers } = options;
  const script = bundledScript(childScript);
  for (const org of organizations) {
    await withTenant(db, org, (tx) =>
      tx.execute(sql`update agent_runs set status = 'cancelled', finished_at = greatest(now(), started_at)
                     where organization_id = ${org}::uuid and status in ('queued', 'running')`),
    );
  }
  // The workers start before the runs are queued: they load while the runs are written.
  const lines: string[] = [];
  const workerScript = await script;
  const children = Array.from({ length: workers }, () => startWorker(workerScript, url, lines));
  const ids: string[] = [];
  for (const org of organizations) {
    await withTenant(db, org, async (tx) => {
      const agent = await queueAgent(tx, 'queue-worker', 'custom');
      const queued = await enqueueRuns(
        tx,
        Array.from({ length: runs / organizations.length }, (_, n) => ({
          agentId: agent.id,
          input: { n },
          maxAttempts: 5,
          backoffSeconds: 1,
        })),
      );
      ids.push(...queued.map(({ run }) => run.id));
    });
  }
  const settledCount = () => lines.filter((line) => line.split(' ')[1] === 'settled').length;
  const killed: { pid: number; inFlight: string[] }[] = [];
  for (const share of [0.2, 0.4, 0.6]) {
    for (;;) {
      const victim = children.find(
        (child) =>
          !killed.some((k) => k.pid === child.pid) && [...child.started].some((s) => !child.settled.has(s)),
      );
      if (settledCount() >= runs * share && victim) {
        const inFlight = [...victim.started].filter((s) => !victim.settled.has(s));
        victim.kill('SIGKILL');
        killed.push({ pid: victim.pid, inFlight });
        break;
      }
      await sleep(10);
    }
  }
  const idList = `{${ids.join(',')}}`;
  const perOrg = (org: string, query: ReturnType<typeof sql>) =>
    withTenant(db, org, async (tx) => rowsOf<Record<string, number | string>>(await tx.execute(query)));
  const state = async () => {
    const counts: Record<string, number> = {};
    for (const org of organizations) {
      const rows = await perOrg(
        org,
        sql`select status, count(*)::int as n from agent_runs
            where organization_id = ${org}::uuid and id = any(${idList}::uuid[]) group by status`,
      );
      for (const row of rows) counts[String(row.status)] = (counts[String(row.status)] ?? 0) + Number(row.n);
    }
    return counts;
  };
  for (;;) {
    const now = await state();
    if ((now.succeeded ?? 0) + (now.failed ?? 0) >= runs) break;
    await sleep(200);
  }
  const survivors = children.filter((child) => !killed.some((k) => k.pid === child.pid));
  for (const child of survivors) child.kill('SIGTERM');
  const survivorExits = await Promise.all(survivors.map((child) => child.exited));
  await Promise.all(children.map((child) => child.exited));

  const final = await state();
  const settledRuns = lines
    .filter((line) => line.split(' ')[1] === 'settled' && line.endsWith('succeeded'))
    .map((line) => line.split(' ')[2] ?? '');
  let retriedRuns = 0;
  let attempts = 0;
  for (const org of organizations) {
    const [row] = await perOrg(
      org,
      sql`select count(*) filter (where attempts > 1)::int as n, sum(attempts)::int as attempts
          from agent_runs where organization_id = ${org}::uuid and id = any(${idList}::uuid[])`,
    );
    retriedRuns += Number(row?.n ?? 0);
    attempts += Number(row?.attempts ?? 0);
  }
  const heldByKilled = new Set(killed.flatMap((k) => k.inFlight.map((s) => s.split(' ')[0] ?? '')));
  const errors = lines.filter((line) => line.split(' ')[1] === 'error');
  const summary =
    `${runs} runs, ${workers} worker processes, 3 killed with SIGKILL holding ${heldByKilled.size} runs: ` +
    `${runs - (final.succeeded ?? 0) - (final.failed ?? 0)} lost, ${settledRuns.length - new Set(settledRuns).size} completed twice, ` +
    `${final.succeeded ?? 0} succeeded, ${final.failed ?? 0} failed, ${retriedRuns} retried after a lease expired, ${attempts} attempts; ` +
    `survivors exited ${survivorExits.join(',')}; ${errors.length} worker errors`;
  return { ids, final, settledRuns, heldByKilled, retriedRuns, attempts, survivorExits, errors, summary };
}

/** 0 lost, 0 completed twice, and the killed workers' runs taken back by a claim. */
export function expectExactlyOnce(report: ExactlyOnceReport, runs: number) {
  const once = new Set(report.settledRuns);
  expect(report.final).toEqual({ succeeded: runs });
  // No run's outcome was taken twice; a run no worker reported was one a killed worker held (its
  // commit came through, its report did not).
  expect(report.settledRuns).toHaveLength(once.size);
  expect(report.ids.filter((id) => !once.has(id) && !report.heldByKilled.has(id))).toEqual([]);
  expect([...once].filter((id) => !report.ids.includes(id))).toEqual([]);
  // The runs the killed workers held came back after their lease and were finished by others.
  expect(report.retriedRuns).toBeGreaterThan(0);
}
