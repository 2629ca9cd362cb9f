import { sql } from 'drizzle-orm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../src/agents/agents.ts';
import { enqueueRuns } from '../src/agents/run-queue.ts';
import { runWorker } from '../src/agents/run-worker.ts';
import { BulkLoadError, ConnectionError } from '../src/base/errors.ts';
import { createDb, type DbHandle, rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { bulkIngest } from '../src/rag/bulk-ingest.ts';
import { createDataset } from '../src/rag/datasets.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { commitCutProxy } from './support/commit-cut-proxy.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { localSpace, makeTenant } from './support/rag.ts';

// A connection lost with the COMMIT on its way: the server may have committed, and the client
// cannot tell from the loss alone. A proxy cuts the connection as the server's COMMIT comes back.

const database = useTestDatabase();

let space: EmbeddingSpace;
let organizationId: string;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  space = await localSpace(database.current.db);
  organizationId = await makeTenant(database.current.db, 'commit-loss');
});

afterEach(async () => {
  for (const resource of opened.splice(0)) await resource.close();
});

/** The test database's URL through a proxy that cuts a connection once it sends `trigger`. */
async function cutting(
  trigger: string,
  at: 'commit' | 'result' | 'statement' = 'commit',
): Promise<DbHandle & { cuts(): number }> {
  const url = database.current.url;
  if (!url) throw new Error('a server test');
  const proxy = await commitCutProxy(url, trigger, { at });
  const handle = createDb({ url: proxy.url, max: 4 });
  opened.push(handle, proxy);
  return Object.assign(handle, { cuts: proxy.cuts });
}

const datasetNamed = async (slug: string) =>
  rowsOf<{ n: number }>(
    await withTenant(database.current.db, organizationId, (tx) =>
      tx.execute(
        sql`select count(*)::int as n from datasets where organization_id = ${organizationId} and slug = ${slug}`,
      ),
    ),
  )[0]?.n;

// The embedded database runs in the process: it has no connection to lose.
describe.runIf(onServer)('a connection lost with the COMMIT on its way', () => {
  it('fails the scope with duringCommit, and the server may well have committed', async () => {
    const handle = await cutting('insert into "datasets"');
    const error = await withTenant(handle.db, organizationId, (tx) =>
      createDataset(tx, { slug: 'cut-at-commit', name: 'Cut at commit', embeddingSpaceId: space.id }),
    ).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(handle.cuts()).toBe(1);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).duringCommit).toBe(true);
    expect((error as ConnectionError).message).toContain('the transaction may have committed');
    // It did: the server committed before the connection went.
    expect(await datasetNamed('cut-at-commit')).toBe(1);
  });

  it('is told from a loss before the COMMIT, which commits nothing (control)', async () => {
    const handle = await cutting('insert into "datasets"', 'statement');
    const error = await withTenant(handle.db, organizationId, (tx) =>
      createDataset(tx, { slug: 'cut-before', name: 'Cut before', embeddingSpaceId: space.id }),
    ).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(handle.cuts()).toBe(1);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).duringCommit).toBe(false);
    expect(await datasetNamed('cut-before')).toBe(0);
  });

  it('a bulk load asks the server, counts the batch it committed and goes on', async () => {
    const dataset = await withTenant(database.current.db, organizationId, (tx) =>
      createDataset(tx, { slug: 'bulk-cut', name: 'Bulk cut', embeddingSpaceId: space.id }),
    );
    const documents = Array.from({ length: 6 }, (_, d) => ({
      sourceUri: `https://cut.example/${d}`,
      title: `Cut ${d}`,
      chunks: Array.from({ length: 50 }, (_, c) => ({ content: `document ${d} chunk ${c} words` })),
    }));
    // The first batch's connection is cut as the server commits it.
    const handle = await cutting('insert into chunks');
    const result = await bulkIngest(handle, {
      organizationId,
      datasetId: dataset.id,
      documents,
      embedder: localEmbedder,
      index: 'incremental',
      batchRows: 100,
    }).catch((error: unknown) => error);
    const [stored] = rowsOf<{ documents: number; chunks: number }>(
      await withTenant(database.current.db, organizationId, (tx) =>
        tx.execute(sql`select count(distinct d.id)::int as documents, count(c.id)::int as chunks
                       from documents d join chunks c on c.organization_id = d.organization_id and c.document_id = d.id
                       where d.organization_id = ${organizationId} and d.dataset_id = ${dataset.id}`),
      ),
    );
    console.log(
      `bulk load with its first batch's COMMIT cut: ${result instanceof BulkLoadError ? result.message : JSON.stringify(result)}; stored ${JSON.stringify(stored)}`,
    );
    // Counted as committed, so the load went on: every document once, what it says is what is there.
    expect(handle.cuts()).toBe(1);
    expect(result).toMatchObject({ documents: 6, rows: 300 });
    expect(stored).toEqual({ documents: 6, chunks: 300 });
  });

  /** `count` runs of a new agent, worked by a worker on `handle` until each is settled or lost. */
  async function workThrough(
    handle: DbHandle,
    slug: string,
    { count = 3, fails = false }: { count?: number; fails?: boolean } = {},
  ) {
    const agentId = await withTenant(database.current.db, organizationId, async (tx) => {
      const { agent } = await createAgent(tx, {
        slug,
        name: slug,
        kind: 'custom',
        config: { model: 'm', systemPrompt: 'p' },
      });
      return agent.id;
    });
    const queued = await withTenant(database.current.db, organizationId, (tx) =>
      enqueueRuns(
        tx,
        Array.from({ length: count }, () => ({ agentId, maxAttempts: 1 })),
      ),
    );
    const settled: string[] = [];
    const worker = runWorker(
      handle.db,
      {
        custom: async () => {
          if (fails) throw Object.assign(new Error('the model refused'), { code: 'model_refused' });
          return { output: { done: true } };
        },
      },
      { concurrency: count, pollIntervalMs: 50, onSettled: (_run, outcome) => settled.push(outcome) },
    );
    const { stats } = worker;
    while (stats.succeeded + stats.lost + stats.failed < count)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await worker.stop();
    const stored = await withTenant(database.current.db, organizationId, (tx) =>
      tx.execute(sql`select status, attempts from agent_runs where organization_id = ${organizationId}
                     and id in (${sql.join(
                       queued.map(({ run }) => sql`${run.id}`),
                       sql`, `,
                     )})`),
    );
    return { stats, settled, stored: rowsOf<{ status: string; attempts: number }>(stored) };
  }

  it("a worker's finish, lost once it committed, counts its runs as succeeded", async () => {
    // One call finishes the three runs (they end in the same turn); it commits on its own.
    const handle = await cutting('app_finish_runs', 'result');
    const { stats, settled, stored } = await workThrough(handle, 'finish-cut');
    expect(handle.cuts()).toBe(1);
    // Before the worker asked, a retry one by one found them finished and counted all three lost.
    expect(stats).toMatchObject({ claimed: 3, succeeded: 3, lost: 0 });
    expect(settled).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(stored).toEqual(Array.from({ length: 3 }, () => ({ status: 'succeeded', attempts: 1 })));
  });

  it("a worker's finish lost before it reached the server is sent again (control)", async () => {
    const handle = await cutting('app_finish_runs', 'statement');
    const { stats, stored } = await workThrough(handle, 'finish-cut-before');
    expect(handle.cuts()).toBe(1);
    expect(stats).toMatchObject({ claimed: 3, succeeded: 3, lost: 0 });
    expect(stored).toEqual(Array.from({ length: 3 }, () => ({ status: 'succeeded', attempts: 1 })));
  });

  it("a worker's finish of one run, lost on its way, is sent again", async () => {
    // Before, a lost finish of one run was reported and left running until its lease expired.
    const handle = await cutting('app_finish_runs', 'statement');
    const { stats, stored } = await workThrough(handle, 'finish-cut-one', { count: 1 });
    expect(handle.cuts()).toBe(1);
    expect(stats).toMatchObject({ claimed: 1, succeeded: 1, lost: 0 });
    expect(stored).toEqual([{ status: 'succeeded', attempts: 1 }]);
  });

  it("a worker's failed attempt, its scope's COMMIT lost as the server committed it, counts as failed", async () => {
    // A failure is written in the run's tenant scope, which holds the queue row first.
    const handle = await cutting('app_run_queue_hold');
    const { stats, settled, stored } = await workThrough(handle, 'fail-cut', { count: 1, fails: true });
    expect(handle.cuts()).toBe(1);
    // Before the worker asked, the retry found the run failed already and counted it lost.
    expect(stats).toMatchObject({ claimed: 1, failed: 1, lost: 0 });
    expect(settled).toEqual(['failed']);
    expect(stored).toEqual([{ status: 'failed', attempts: 1 }]);
  });
});
