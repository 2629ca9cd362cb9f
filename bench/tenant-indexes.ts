// What each tenant index costs every search: PostgreSQL's planner opens and locks every index of a
// table a statement names, other tenants' partial indexes included. One tenant's searches, side by
// side with the same searches after more tenant indexes (of tenants with no rows) were added:
// search p50, the planning of a statement naming `chunks`, and the relation locks a search holds.
// `npm run bench -- indexes`; BENCH_TENANT_INDEXES lists the steps (default 0,24,100,250,500,1000).
import { sql } from 'drizzle-orm';
import { uuidv7 } from '../src/base/ids.ts';
import { createDb, type DbHandle, rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { openBulkLoad } from '../src/rag/bulk-ingest.ts';
import { registerEmbeddingSpace } from '../src/rag/embedding-spaces.ts';
import { searchChunks } from '../src/rag/search.ts';
import { tenantIndexDefinition } from '../src/rag/tenant-indexes.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import { documentsOf, makeCorpus, topicalSource } from './retrieval-corpus.ts';
import { type Bench, type BenchRow, ms, stats } from './support.ts';

const DIMS = 64;
const QUERIES = 200;

/** Median planning time of a one-tenant statement naming `chunks`, as the owner (no policy). */
async function planning(handle: DbHandle, organizationId: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const [row] = await handle.sql.query<{ 'QUERY PLAN': [{ 'Planning Time': number }] }>(
      `explain (summary, format json) select id from chunks where organization_id = '${organizationId}'::uuid limit 1`,
    );
    times.push(row?.['QUERY PLAN'][0]['Planning Time'] ?? Number.NaN);
  }
  return stats(times).p50;
}

export const tenantIndexBench: Bench = {
  name: 'tenant indexes on every search',
  async run(target) {
    const steps = (
      process.env.BENCH_TENANT_INDEXES ?? (target.serverUrl ? '0,24,100,250,500,1000' : '0,24,100')
    )
      .split(',')
      .map(Number);
    const database = await target.fresh();
    // Room for the bulk load's index builds, which hold connections of their own (the fresh handle has one).
    const handle = database.url ? createDb({ url: database.url, max: 4 }) : database.handle;
    try {
      const space = await registerEmbeddingSpace(handle.db, {
        provider: 'bench',
        model: 'synthetic',
        dimensions: DIMS,
      });
      const source = topicalSource(DIMS, 3);
      const tenants = await makeCorpus(handle, space, { chunks: 5000, tenants: 5 }, source);
      const load = await openBulkLoad(handle, { spaceId: space.id, expectedRows: 5000 });
      for (const dataset of tenants.flatMap((tenant) => tenant.datasets))
        await load.ingest({
          organizationId: dataset.tenant.organizationId,
          datasetId: dataset.id,
          documents: documentsOf(dataset.name, dataset.chunks),
        });
      await load.finish();
      // The smallest tenant, searched exactly: fixed costs, planning among them, make its search.
      const smallest = tenants.at(-1);
      const searcher = smallest?.organizationId as string;
      const queries = Array.from({ length: QUERIES }, () => source.query().vector);
      const measure = () => measureSearches(handle, space, searcher, queries);
      const rows: BenchRow[] = [];
      const added: string[] = [];
      let before: Awaited<ReturnType<typeof measure>> | undefined;
      const chunks = smallest?.datasets.flatMap((dataset) => dataset.chunks).length;
      // The steps, then none again once the added indexes are dropped: the drift of the run.
      for (const step of [...steps, 0]) {
        while (added.length > step) await handle.sql.exec(`drop index ${added.pop()}`);
        while (added.length < step) {
          const definition = dummyIndex(space);
          await handle.sql.exec(definition);
          added.push(definition.split(' ')[2] as string);
        }
        const now = await measure();
        now.planning = await planning(handle, searcher);
        process.stdout.write(
          `\n    ${step} more tenant indexes: search p50 ${ms(now.p50)}, planning ${ms(now.planning)}, ${now.locks} locks`,
        );
        before ??= now;
        rows.push({
          path: `searchChunks of a tenant of ${chunks} chunks, ${step} more tenant indexes on chunks${rows.length === steps.length ? ' (again, once they are dropped)' : ''}`,
          measured: `p50 ${ms(now.p50)}, p95 ${ms(now.p95)}; a statement naming chunks plans in ${ms(now.planning)}; the search holds ${now.locks} relation locks`,
          baseline: `none more: p50 ${ms(before.p50)}, planning ${ms(before.planning)}, ${before.locks} locks`,
          ratio: now.p50 / before.p50,
          target: 'contrast (the cap keeps 24 at max_locks_per_transaction 64)',
          ok: true,
        });
      }
      process.stdout.write('\n');
      return rows;
    } finally {
      if (database.url) await handle.close();
      await database.close();
    }
  },
};

/** A tenant index of a tenant with no rows: what one more tenant past the threshold adds to the table. */
const dummyIndex = (space: EmbeddingSpace) => tenantIndexDefinition('chunks', space, uuidv7());

async function measureSearches(
  handle: DbHandle,
  space: EmbeddingSpace,
  organizationId: string,
  queries: number[][],
) {
  const times: number[] = [];
  let locks = 0;
  for (const vector of queries) {
    const started = performance.now();
    await withTenant(handle.db, organizationId, (tx) =>
      searchChunks(tx, { spaceId: space.id, vector, k: 10 }),
    );
    times.push(performance.now() - started);
  }
  await withTenant(handle.db, organizationId, async (tx) => {
    await searchChunks(tx, { spaceId: space.id, vector: queries[0] ?? [], k: 10 });
    const [row] = rowsOf<{ n: number }>(
      await tx.execute(
        sql`select count(*)::int as n from pg_locks where pid = pg_backend_pid() and locktype = 'relation'`,
      ),
    );
    locks = Number(row?.n);
  });
  const { p50, p95 } = stats(times);
  return { p50, p95, locks, planning: 0 };
}
