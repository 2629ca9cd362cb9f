import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createAgent } from '../src/api/agents.ts';
import { enqueueRuns } from '../src/api/run-queue.ts';
import { rowsOf } from '../src/client.ts';
import { withTenant } from '../src/tenant.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

// Worker processes share the queue through a server: the embedded database has one process.
const database = useTestDatabase();
const childScript = path.join(import.meta.dirname, 'support', 'run-queue-child.ts');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Child {
  pid: number;
  started: Set<string>;
  settled: Set<string>;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function startWorker(url: string, lines: string[]): Child {
  const process_ = spawn(process.execPath, ['--import', 'tsx', childScript, url], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const child: Child = {
    pid: process_.pid ?? 0,
    started: new Set(),
    settled: new Set(),
    exited: new Promise((resolve) => process_.on('exit', (code) => resolve(code))),
    kill: (signal) => process_.kill(signal),
  };
  let buffered = '';
  process_.stdout.on('data', (chunk: Buffer) => {
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

describe.skipIf(!onServer)('run queue workers, 8 processes, 3 killed with SIGKILL mid-run', () => {
  it('complete every run exactly once: 0 lost, 0 completed twice', { timeout: 600_000 }, async () => {
    const { db, url } = database.current;
    if (!url) throw new Error('a server database has a URL');
    const { acme, globex } = await seedAcmeAndGlobex(db);
    const runs = 240;
    const ids: string[] = [];
    for (const org of [acme.organizationId, globex.organizationId]) {
      await withTenant(db, org, async (tx) => {
        await tx.execute(sql`update agent_runs set status = 'cancelled', finished_at = greatest(now(), started_at)
                             where organization_id = ${org}::uuid and status in ('queued', 'running')`);
        const { agent } = await createAgent(tx, {
          slug: 'queue-worker',
          name: 'Queue worker',
          kind: 'custom',
          config: { model: 'm', systemPrompt: 'p' },
        });
        const queued = await enqueueRuns(
          tx,
          Array.from({ length: runs / 2 }, (_, n) => ({
            agentId: agent.id,
            input: { n },
            maxAttempts: 5,
            backoffSeconds: 1,
          })),
        );
        ids.push(...queued.map(({ run }) => run.id));
      });
    }
    const lines: string[] = [];
    const children = Array.from({ length: 8 }, () => startWorker(url, lines));
    const settled = () => lines.filter((line) => line.split(' ')[1] === 'settled').length;
    // Kill three workers, each while it holds a run it has not settled, at a fifth, two fifths and three fifths.
    const killed: { pid: number; inFlight: string[] }[] = [];
    for (const share of [0.2, 0.4, 0.6]) {
      for (;;) {
        const victim = children.find(
          (child) =>
            !killed.some((k) => k.pid === child.pid) && [...child.started].some((s) => !child.settled.has(s)),
        );
        if (settled() >= runs * share && victim) {
          const inFlight = [...victim.started].filter((s) => !victim.settled.has(s));
          victim.kill('SIGKILL');
          killed.push({ pid: victim.pid, inFlight });
          break;
        }
        await sleep(10);
      }
    }
    const state = async () => {
      const counts: Record<string, number> = {};
      for (const org of [acme.organizationId, globex.organizationId]) {
        const rows = await withTenant(db, org, async (tx) =>
          rowsOf<{ status: string; n: number }>(
            await tx.execute(sql`select status, count(*)::int as n from agent_runs
                                 where organization_id = ${org}::uuid and id = any(${`{${ids.join(',')}}`}::uuid[]) group by status`),
          ),
        );
        for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + row.n;
      }
      return counts;
    };
    while (((await state()).succeeded ?? 0) + ((await state()).failed ?? 0) < runs) await sleep(200);
    const survivors = children.filter((child) => !killed.some((k) => k.pid === child.pid));
    for (const child of survivors) child.kill('SIGTERM');
    const exits = await Promise.all(children.map((child) => child.exited));

    const final = await state();
    const settledRuns = lines
      .filter((line) => line.split(' ')[1] === 'settled' && line.endsWith('succeeded'))
      .map((line) => line.split(' ')[2] ?? '');
    const once = new Set(settledRuns);
    const retried = await Promise.all(
      [acme.organizationId, globex.organizationId].map((org) =>
        withTenant(db, org, async (tx) =>
          rowsOf<{ n: number; executions: number }>(
            await tx.execute(sql`select count(*) filter (where attempts > 1)::int as n, sum(attempts)::int as executions
                                 from agent_runs where organization_id = ${org}::uuid and id = any(${`{${ids.join(',')}}`}::uuid[])`),
          ),
        ),
      ),
    );
    const retriedRuns = retried.reduce((sum, [row]) => sum + (row?.n ?? 0), 0);
    const attempts = retried.reduce((sum, [row]) => sum + (row?.executions ?? 0), 0);
    const inFlightAtKill = killed.reduce((sum, k) => sum + k.inFlight.length, 0);
    const errors = lines.filter((line) => line.split(' ')[1] === 'error');
    console.log(
      `${runs} runs, 8 worker processes, 3 killed with SIGKILL holding ${inFlightAtKill} runs: ` +
        `${runs - (final.succeeded ?? 0) - (final.failed ?? 0)} lost, ${settledRuns.length - once.size} completed twice, ` +
        `${final.succeeded ?? 0} succeeded, ${final.failed ?? 0} failed, ${retriedRuns} retried after a lease expired, ${attempts} attempts; ` +
        `survivors exited ${exits.filter((code, i) => !killed.some((k) => k.pid === children[i]?.pid)).join(',')}; ${errors.length} worker errors`,
    );
    for (const line of errors.slice(0, 5)) console.log(line);
    expect(final).toEqual({ succeeded: runs });
    // No run's outcome was taken twice; a run no worker reported was one a killed worker held (its
    // commit came through, its report did not).
    expect(settledRuns).toHaveLength(once.size);
    const heldByKilled = new Set(killed.flatMap((k) => k.inFlight.map((s) => s.split(' ')[0])));
    expect(ids.filter((id) => !once.has(id) && !heldByKilled.has(id))).toEqual([]);
    expect([...once].filter((id) => !ids.includes(id))).toEqual([]);
    // The runs the killed workers held came back after their lease and were finished by others.
    expect(retriedRuns).toBeGreaterThan(0);
    expect(exits.filter((code) => code === 0)).toHaveLength(5);
  });
});
