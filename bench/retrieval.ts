// Retrieval at scale, side by side in one run with LangChain's PGVectorStore over the same rows on
// the same server, and with the machine's ceiling (bare COPY + one HNSW index of the same rows):
// bulk load to searchable; recall@10 and p95 of searchChunks and hybridSearch at filters from
// 0.05% to 30% (by tenant and by tenant + dataset) against the unfiltered HNSW query; adding
// 5,000 rows spread over many tenants' datasets, per document and in bulk; sizes.
// `npm run bench -- retrieval`; BENCH_CHUNKS, BENCH_DIMS, BENCH_TENANTS and BENCH_QUERIES change the
// scale (the default on a server: 100k x 768, 50 tenants, 50 queries per filter).
import { availableParallelism, loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import postgres from 'postgres';
import { createDb, type DbHandle, rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { openBulkLoad } from '../src/rag/bulk-ingest.ts';
import { registerEmbeddingSpace, vectorLiteral } from '../src/rag/embedding-spaces.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { hybridSearch, searchChunks } from '../src/rag/search.ts';
import { maintainTenantIndexes } from '../src/rag/tenant-indexes.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import {
  arrivingDocuments,
  type Chunk,
  chooseFilters,
  type Dataset,
  documentsOf,
  type Filter,
  makeCorpus,
  type Tenant,
  type Topical,
  topicalSource,
} from './retrieval-corpus.ts';
import { LangChainPeer, loadCeiling, unfilteredQuery, type Where } from './retrieval-peers.ts';
import { type Bench, type BenchRow, stats } from './support.ts';

interface Options {
  chunks: number;
  dims: number;
  tenants: number;
  queries: number;
  k: number;
}

const ADDED_ROWS = 5000;

const log = (line: string) => process.stdout.write(`\n    ${line}`);
const rate = (rows: number, ms: number) => Math.round((rows / ms) * 1000);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const times = (ratio: number) => `${ratio.toFixed(2)}x`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, performance.now() - started];
}

const recall = (found: string[], truth: string[]) =>
  found.filter((id) => truth.includes(id)).length / Math.max(1, truth.length);

/** The machine's 1-minute load average, sampled through the run. */
function loadSampler() {
  const samples: number[] = [];
  const sample = () => samples.push(loadavg()[0] ?? 0);
  sample();
  const timer = setInterval(sample, 5000);
  timer.unref();
  return {
    range: () => {
      sample();
      return `${Math.min(...samples).toFixed(1)} to ${Math.max(...samples).toFixed(1)}`;
    },
    stop: () => clearInterval(timer),
  };
}

/** What the server runs with: the bench's figures hold for PostgreSQL's defaults. */
async function describeServer(handle: DbHandle): Promise<string> {
  const [server] = await handle.sql.query<{
    version: string;
    jit: string;
    buffers: string;
    changed: string | null;
  }>(
    `select current_setting('server_version') as version, current_setting('jit') as jit,
            current_setting('shared_buffers') as buffers,
            (select string_agg(name || ' = ' || setting, ', ') from pg_settings
             where source not in ('default', 'override', 'client', 'session') and category like 'Query Tuning%') as changed`,
  );
  return `PostgreSQL ${server?.version}, jit = ${server?.jit}, shared_buffers ${server?.buffers}; query tuning: ${server?.changed ?? 'every setting at its default'}`;
}

/** The package's bulk path: every dataset in one load, then the tenant indexes. */
async function packageBulkLoad(handle: DbHandle, space: EmbeddingSpace, datasets: Dataset[], total: number) {
  let lastPrint = 0;
  const started = performance.now();
  const load = await openBulkLoad(handle, {
    spaceId: space.id,
    expectedRows: total,
    batchRows: 2000,
    onProgress: (p) => {
      if (p.phase === 'load' && performance.now() - lastPrint < 10_000) return;
      lastPrint = performance.now();
      log(
        p.phase === 'load'
          ? `package load: ${p.rows}/${total} rows, ${Math.round(p.rowsPerSecond)} rows/s`
          : `package: building ${p.index}`,
      );
    },
  });
  for (const dataset of datasets)
    await load.ingest({
      organizationId: dataset.tenant.organizationId,
      datasetId: dataset.id,
      documents: documentsOf(dataset.name, dataset.chunks),
    });
  const loaded = performance.now();
  const { indexesBuilt } = await load.finish();
  const done = performance.now();
  log(
    `package: rows in ${seconds(loaded - started)}, ${indexesBuilt.length} tenant indexes in ${seconds(done - loaded)}`,
  );
  return { ms: done - started, rowsMs: loaded - started, indexes: indexesBuilt.length };
}

/** LangChain's documented load: addVectors in thousands, then its HNSW index. */
async function peerBulkLoad(peer: LangChainPeer, datasets: Dataset[], dims: number) {
  const started = performance.now();
  for (const dataset of datasets)
    for (let i = 0; i < dataset.chunks.length; i += 1000)
      await peer.add(dataset, dataset.chunks.slice(i, i + 1000));
  const loaded = performance.now();
  await peer.store.createHnswIndex({ dimensions: dims });
  const done = performance.now();
  log(`LangChain: rows in ${seconds(loaded - started)}, HNSW index in ${seconds(done - loaded)}`);
  return { ms: done - started };
}

interface FilterRun {
  recall: number;
  hybridRecall: number;
  theirRecall: number;
  ours: number[];
  hybrid: number[];
  theirs: number[];
  baseline: number[];
  paths: Set<string>;
}

/** Every query of a filter, the unfiltered baseline beside each (same moment, same machine load). */
async function runFilter(
  handle: DbHandle,
  raw: postgres.Sql,
  peer: LangChainPeer,
  space: EmbeddingSpace,
  filter: Filter,
  queries: Topical[],
  k: number,
): Promise<FilterRun> {
  const org = filter.tenant.organizationId;
  const datasetIds = filter.datasets?.map((d) => d.id);
  const where: Where = filter.datasets
    ? { tenant: filter.tenant.name, dataset: filter.datasets[0]?.name ?? '' }
    : { tenant: filter.tenant.name };
  const run: FilterRun = {
    recall: 0,
    hybridRecall: 0,
    theirRecall: 0,
    ours: [],
    hybrid: [],
    theirs: [],
    baseline: [],
    paths: new Set(),
  };
  const scoped = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(handle.db, org, fn);
  for (const q of queries) {
    run.baseline.push((await timed(() => unfilteredQuery(raw, q.vector, k)))[1]);
    const [found, ms] = await timed(() =>
      scoped((tx) => searchChunks(tx, { spaceId: space.id, vector: q.vector, k, datasetIds })),
    );
    run.ours.push(ms);
    run.paths.add(`${found.strategy}${found.index ? ` (${found.index} index)` : ''}`);
    const [fused, hybridMs] = await timed(() =>
      scoped((tx) => hybridSearch(tx, { spaceId: space.id, text: q.text, vector: q.vector, k, datasetIds })),
    );
    run.hybrid.push(hybridMs);
    const [theirs, theirMs] = await timed(() => peer.search(q.vector, k, where));
    run.theirs.push(theirMs);

    const truth = await scoped(async (tx) =>
      rowsOf<{ id: string }>(
        await tx.execute(sql`
          select id from chunks where organization_id = ${org}
            and ${datasetIds ? sql`dataset_id = any(${sql.raw(`'{${datasetIds.join(',')}}'::uuid[]`)})` : sql`true`}
          order by embedding <=> ${vectorLiteral(q.vector)}::halfvec limit ${k}`),
      ).map((r) => r.id),
    );
    run.recall += recall(
      found.hits.map((h) => h.id),
      truth,
    );
    const fusedTruth = await scoped((tx) =>
      hybridSearch(tx, {
        spaceId: space.id,
        text: q.text,
        vector: q.vector,
        k,
        datasetIds,
        strategy: 'exact',
      }),
    );
    run.hybridRecall += recall(
      fused.hits.map((h) => h.id),
      fusedTruth.hits.map((h) => h.id),
    );
    run.theirRecall += recall(theirs, await peer.exact(q.vector, k, where));
  }
  run.recall /= queries.length;
  run.hybridRecall /= queries.length;
  run.theirRecall /= queries.length;
  return run;
}

/** 5,000 new rows, one document at a time as a service's arrive, each store alternating with the other. */
async function addPerDocument(
  handle: DbHandle,
  peer: LangChainPeer,
  arriving: { dataset: Dataset; chunks: Chunk[] }[],
) {
  let ours = 0;
  let theirs = 0;
  for (const { dataset, chunks } of arriving) {
    ours += (
      await timed(() =>
        withTenant(handle.db, dataset.tenant.organizationId, (tx) =>
          ingestDocument(tx, {
            datasetId: dataset.id,
            document: { title: `${dataset.name} arriving ${chunks[0]?.key}` },
            chunks: documentsOf(dataset.name, chunks)[0]?.chunks ?? [],
          }),
        ),
      )
    )[1];
    theirs += (await timed(() => peer.add(dataset, chunks)))[1];
  }
  // Tenants the rows carried past the threshold get their index, as the maintainer would build it.
  const [maintained, maintainMs] = await timed(() => maintainTenantIndexes(handle));
  ours += maintainMs;
  return { ours, theirs, built: maintained.built.length };
}

/** 5,000 new rows in bulk: one `ingest` (one `addVectors`) per dataset, alternating, then `finish`. */
async function addInBulk(
  handle: DbHandle,
  space: EmbeddingSpace,
  peer: LangChainPeer,
  arriving: { dataset: Dataset; chunks: Chunk[] }[],
) {
  const byDataset = new Map<Dataset, Chunk[]>();
  for (const { dataset, chunks } of arriving)
    byDataset.set(dataset, [...(byDataset.get(dataset) ?? []), ...chunks]);
  let theirs = 0;
  const started = performance.now();
  let pausedForThem = 0;
  const load = await openBulkLoad(handle, { spaceId: space.id, expectedRows: ADDED_ROWS });
  for (const [dataset, chunks] of byDataset) {
    await load.ingest({
      organizationId: dataset.tenant.organizationId,
      datasetId: dataset.id,
      documents: documentsOf(`${dataset.name} bulk`, chunks),
    });
    const [, ms] = await timed(() => peer.add(dataset, chunks));
    theirs += ms;
    pausedForThem += ms;
  }
  const { indexesBuilt } = await load.finish();
  return {
    ours: performance.now() - started - pausedForThem,
    theirs,
    datasets: byDataset.size,
    tenants: new Set([...byDataset.keys()].map((d) => d.tenant)).size,
    built: indexesBuilt.length,
  };
}

export async function benchRetrieval(url: string, o: Options): Promise<BenchRow[]> {
  const handle = createDb({ url, max: 4 });
  const raw = postgres(url, { max: 2, onnotice: () => {} });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const load = loadSampler();
  const out: BenchRow[] = [];
  let peer: LangChainPeer | undefined;
  try {
    log(`server: ${await describeServer(handle)}`);
    log(`machine load average at start: ${load.range()}`);
    const space = await registerEmbeddingSpace(handle.db, {
      provider: 'bench',
      model: 'synthetic',
      dimensions: o.dims,
    });
    const source = topicalSource(o.dims, 1);
    const tenants: Tenant[] = await makeCorpus(handle, space, o, source);
    const datasets = tenants.flatMap((t) => t.datasets);
    const chunks = datasets.flatMap((d) => d.chunks);
    const total = chunks.length;
    log(`corpus: ${total} chunks x ${o.dims}, ${tenants.length} tenants, ${datasets.length} datasets`);

    const ours = await packageBulkLoad(handle, space, datasets, total);
    const ceiling = await loadCeiling(raw, chunks, o.dims);
    log(`ceiling: COPY in ${seconds(ceiling.copyMs)}, CREATE INDEX in ${seconds(ceiling.indexMs)}`);
    peer = await LangChainPeer.open(pool, o.dims);
    const theirs = await peerBulkLoad(peer, datasets, o.dims);
    await handle.sql.exec('analyze langchain_pg_embedding');
    const ceilingMs = ceiling.copyMs + ceiling.indexMs;
    log(`machine load average during the loads: ${load.range()}`);
    out.push({
      path: `bulk load to searchable, ${total} x ${o.dims} (rows, then ${ours.indexes} tenant indexes)`,
      measured: `${rate(total, ours.ms)} rows/s (rows ${seconds(ours.rowsMs)}, indexes ${seconds(ours.ms - ours.rowsMs)})`,
      baseline: `LangChain ${rate(total, theirs.ms)} rows/s (addVectors, then createHnswIndex)`,
      ratio: theirs.ms / ours.ms,
      target: '>= 2x',
      ok: theirs.ms / ours.ms >= 2,
    });
    out.push({
      path: 'bulk load against the ceiling: bare binary COPY + CREATE INDEX, same rows and build settings',
      measured: `${rate(total, ours.ms)} rows/s`,
      baseline: `ceiling ${rate(total, ceilingMs)} rows/s (COPY ${seconds(ceiling.copyMs)}, index ${seconds(ceiling.indexMs)})`,
      ratio: ceilingMs / ours.ms,
      target: '>= 0.5x',
      ok: ceilingMs / ours.ms >= 0.5,
    });

    const queries = Array.from({ length: o.queries }, source.query);
    const baseline: number[] = [];
    for (const filter of chooseFilters(tenants, total)) {
      const run = await runFilter(handle, raw, peer, space, filter, queries, o.k);
      baseline.push(...run.baseline);
      const base = stats(run.baseline).p95;
      const [a, h, b] = [stats(run.ours), stats(run.hybrid), stats(run.theirs)];
      const label = `${filter.label} (${((100 * filter.rows) / total).toFixed(2)}%, ${filter.rows} rows)`;
      log(
        `${label}: searchChunks recall ${run.recall.toFixed(3)} p95 ${times(a.p95 / base)} [${[...run.paths].join(', ')}]; hybridSearch recall ${run.hybridRecall.toFixed(3)} p95 ${times(h.p95 / base)}; LangChain recall ${run.theirRecall.toFixed(3)} p95 ${times(b.p95 / base)}`,
      );
      out.push({
        path: `searchChunks, ${label}`,
        measured: `recall@${o.k} ${run.recall.toFixed(3)}, p95 ${times(a.p95 / base)} (${a.p95.toFixed(1)} ms; ${[...run.paths].join(', ')})`,
        baseline: `LangChain recall ${run.theirRecall.toFixed(3)}, p95 ${times(b.p95 / base)} (${b.p95.toFixed(1)} ms)`,
        ratio: b.p95 / a.p95,
        target: 'recall >= 0.98, p95 <= 2x the unfiltered',
        ok: run.recall >= 0.98 && a.p95 / base <= 2,
      });
      out.push({
        path: `hybridSearch, ${label}`,
        measured: `recall@${o.k} ${run.hybridRecall.toFixed(3)} (against its exact fusion), p95 ${times(h.p95 / base)} (${h.p95.toFixed(1)} ms)`,
        target: 'recall >= 0.98, p95 <= 2x the unfiltered',
        ok: run.hybridRecall >= 0.98 && h.p95 / base <= 2,
      });
    }
    const base = stats(baseline);
    out.unshift({
      path: `unfiltered HNSW top-${o.k}: one statement outside any transaction, on the ceiling's table, server settings (the baseline, run beside every filtered query)`,
      measured: `p50 ${base.p50.toFixed(2)} ms, p95 ${base.p95.toFixed(2)} ms`,
      target: 'contrast',
      ok: true,
    });
    log(`machine load average during the queries: ${load.range()}`);

    const perDocument = await addPerDocument(
      handle,
      peer,
      arrivingDocuments(tenants, ADDED_ROWS, source, 'a'),
    );
    const spread = arrivingDocuments(tenants, ADDED_ROWS, source, 'b');
    const bulk = await addInBulk(handle, space, peer, spread);
    out.push({
      path: `adding ${ADDED_ROWS} rows to the indexed store, one document of 20 at a time, spread over many tenants' datasets`,
      measured: `${rate(ADDED_ROWS, perDocument.ours)} rows/s (ingestDocument; then ${perDocument.built} tenant indexes for tenants it carried past the threshold)`,
      baseline: `LangChain ${rate(ADDED_ROWS, perDocument.theirs)} rows/s (addVectors per document)`,
      ratio: perDocument.theirs / perDocument.ours,
      target: '>= 1x',
      ok: perDocument.theirs / perDocument.ours >= 1,
    });
    out.push({
      path: `adding ${ADDED_ROWS} rows in bulk, spread over ${bulk.datasets} datasets of ${bulk.tenants} tenants`,
      measured: `${rate(ADDED_ROWS, bulk.ours)} rows/s (one ingest per dataset, finish built ${bulk.built} tenant indexes)`,
      baseline: `LangChain ${rate(ADDED_ROWS, bulk.theirs)} rows/s (addVectors per dataset)`,
      ratio: bulk.theirs / bulk.ours,
      target: '>= 1x',
      ok: bulk.theirs / bulk.ours >= 1,
    });

    const [sizes] = await handle.sql.query<{
      ours: number;
      theirs: number;
      heap: number;
      tenant_indexes: number;
    }>(
      `select pg_total_relation_size('chunks') + pg_total_relation_size('documents') as ours,
              pg_total_relation_size('langchain_pg_embedding') as theirs,
              pg_table_size('chunks') as heap,
              (select coalesce(sum(pg_relation_size(indexrelid)), 0) from pg_index i join pg_class c on c.oid = i.indexrelid
               where indrelid = 'chunks'::regclass and c.relname like '%hnsw_idx') as tenant_indexes`,
    );
    const mib = (bytes: number | undefined) => `${Math.round(Number(bytes ?? 0) / 2 ** 20)} MiB`;
    const storage = Number(sizes?.ours) / Number(sizes?.theirs);
    out.push({
      path: `table + indexes after the adds, ${total + 2 * ADDED_ROWS} rows`,
      measured: `${mib(sizes?.ours)} (chunks + documents; chunk rows ${mib(sizes?.heap)}, tenant HNSW indexes ${mib(sizes?.tenant_indexes)})`,
      baseline: `LangChain ${mib(sizes?.theirs)}`,
      ratio: storage,
      target: '< 0.6x',
      ok: storage < 0.6,
    });
    const loadRange = load.range();
    log(`machine load average over the run: ${loadRange}\n`);
    out.push({
      path: `the machine over this run: ${availableParallelism()} cores, 1-minute load average sampled every 5 s`,
      measured: `${loadRange}`,
      target: 'contrast (every ratio above was measured side by side under it)',
      ok: true,
    });
    return out;
  } finally {
    load.stop();
    if (peer) await peer.end();
    else await pool.end();
    await raw.end({ timeout: 5 });
    await handle.close();
  }
}

function options(): Options {
  return {
    chunks: Number(process.env.BENCH_CHUNKS ?? 100_000),
    dims: Number(process.env.BENCH_DIMS ?? 768),
    tenants: Number(process.env.BENCH_TENANTS ?? 50),
    queries: Number(process.env.BENCH_QUERIES ?? 50),
    k: 10,
  };
}

export const retrievalBench: Bench = {
  name: 'filtered retrieval and ingest against LangChain PGVectorStore',
  needsServer: 'LangChain PGVectorStore runs on a PostgreSQL server',
  async run(target) {
    const o = options();
    const database = await target.fresh();
    try {
      await database.handle.close();
      log(`retrieval bench: ${JSON.stringify(o)}`);
      return await benchRetrieval(database.url ?? '', o);
    } finally {
      await database.close();
    }
  },
};
