// Retrieval at scale, side by side with LangChain's PGVectorStore over the same rows on the same
// server: recall@10 and p50/p95 against an unfiltered HNSW top-10 at filters from 0.05% to 30% (by
// tenant and by tenant + dataset), bulk load to searchable, adding 5,000 rows to an indexed store,
// sizes. `npm run bench -- retrieval`; BENCH_CHUNKS, BENCH_DIMS, BENCH_TENANTS and BENCH_QUERIES
// change the scale (the issue's setup is the default on a server: 100k x 768, 50 tenants).
import { loadavg } from 'node:os';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { Embeddings } from '@langchain/core/embeddings';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { type BulkDocument, openBulkLoad } from '../src/api/bulk-ingest.ts';
import { createDataset } from '../src/api/datasets.ts';
import { embeddingIndexName, registerEmbeddingSpace, vectorLiteral } from '../src/api/embedding-spaces.ts';
import { createOrganization } from '../src/api/organizations.ts';
import { defaultEfSearch, searchChunks } from '../src/api/search.ts';
import { createDb, type DbHandle, rowsOf } from '../src/client.ts';
import { type EmbeddingSpace, users } from '../src/schema/index.ts';
import { withTenant } from '../src/tenant.ts';
import { type Bench, type BenchRow, stats } from './support.ts';
import { vectorSource } from './vectors.ts';

interface Options {
  chunks: number;
  dims: number;
  tenants: number;
  queries: number;
  k: number;
}

interface Dataset {
  id: string;
  name: string;
  rows: number;
  vectors: number[][];
}

interface Tenant {
  organizationId: string;
  name: string;
  datasets: Dataset[];
}

const CHUNKS_PER_DOCUMENT = 20;
const ADDED_ROWS = 5000;

const log = (line: string) => process.stdout.write(`\n    ${line}`);

/** Datasets per tenant: 144 over 50 tenants, more for the large ones (scaled for other counts). */
const datasetsFor = (rank: number, tenants: number) =>
  rank < tenants * 0.2 ? 6 : rank < tenants * 0.6 ? 3 : rank < tenants * 0.68 ? 2 : 1;

/** Tenants of Zipf sizes (exponent 1.2), datasets of Zipf sizes within each; the vectors, clustered. */
async function makeCorpus(handle: DbHandle, space: EmbeddingSpace, o: Options, next: () => number[]) {
  const weights = Array.from({ length: o.tenants }, (_, i) => 1 / (i + 1) ** 1.2);
  const total = weights.reduce((s, w) => s + w, 0);
  const tenants: Tenant[] = [];
  for (const [rank, weight] of weights.entries()) {
    const rows = Math.max(CHUNKS_PER_DOCUMENT, Math.round((weight / total) * o.chunks));
    const [user] = await handle.db
      .insert(users)
      .values({ email: `bench-owner-${rank}@bench.example` })
      .returning();
    const { organization } = await createOrganization(handle.db, {
      slug: `bench-${rank}`,
      name: `Bench ${rank}`,
      ownerUserId: user?.id ?? '',
    });
    const count = datasetsFor(rank, o.tenants);
    const shares = Array.from({ length: count }, (_, j) => 1 / (j + 1));
    const sum = shares.reduce((s, w) => s + w, 0);
    const sizes = shares.map((s) => Math.max(CHUNKS_PER_DOCUMENT, Math.round((s / sum) * rows)));
    const datasets = await withTenant(handle.db, organization.id, async (tx) => {
      const made: Dataset[] = [];
      for (const [j, size] of sizes.entries()) {
        const dataset = await createDataset(tx, {
          slug: `set-${j}`,
          name: `Set ${j}`,
          embeddingSpaceId: space.id,
        });
        made.push({
          id: dataset.id,
          name: `t${rank}-d${j}`,
          rows: size,
          vectors: Array.from({ length: size }, next),
        });
      }
      return made;
    });
    tenants.push({ organizationId: organization.id, name: `t${rank}`, datasets });
  }
  return tenants;
}

function* documentsOf(dataset: Dataset): Generator<BulkDocument> {
  for (let start = 0; start < dataset.rows; start += CHUNKS_PER_DOCUMENT)
    yield {
      title: `${dataset.name} doc ${start / CHUNKS_PER_DOCUMENT}`,
      chunks: dataset.vectors.slice(start, start + CHUNKS_PER_DOCUMENT).map((embedding, i) => ({
        content: `${dataset.name} chunk ${start + i}`,
        key: `${dataset.name}/${start + i}`,
        embedding,
      })),
    };
}

/** LangChain needs an embeddings object; the bench gives it vectors directly. */
class GivenVectors extends Embeddings {
  embedDocuments(): Promise<number[][]> {
    throw new Error('the bench passes vectors');
  }
  embedQuery(): Promise<number[]> {
    throw new Error('the bench passes vectors');
  }
}

interface Filter {
  label: string;
  tenant: Tenant;
  datasets?: Dataset[];
  rows: number;
}

/** Filters near each wanted share of all rows, by tenant and by tenant + one dataset. */
function chooseFilters(tenants: Tenant[], total: number): Filter[] {
  const byTenant = tenants.map((tenant) => ({
    tenant,
    rows: tenant.datasets.reduce((s, d) => s + d.rows, 0),
  }));
  const byDataset = tenants.flatMap((tenant) =>
    tenant.datasets.map((d) => ({ tenant, datasets: [d], rows: d.rows })),
  );
  const nearest = <T extends { rows: number }>(options: T[], share: number) =>
    options.reduce((best, o) =>
      Math.abs(Math.log(o.rows / total / share)) < Math.abs(Math.log(best.rows / total / share)) ? o : best,
    );
  const filters: Filter[] = [];
  const seen = new Set<string>();
  for (const share of [0.003, 0.01, 0.02, 0.09, 0.3]) {
    const f = nearest(byTenant, share);
    const key = f.tenant.name;
    if (!seen.has(key)) filters.push({ ...f, label: `tenant ${key}` });
    seen.add(key);
  }
  for (const share of [0.0005, 0.005, 0.02, 0.1]) {
    const f = nearest(byDataset, share);
    const key = f.datasets[0]?.name ?? '';
    if (!seen.has(key)) filters.push({ ...f, label: `tenant+dataset ${key}` });
    seen.add(key);
  }
  return filters.sort((a, b) => a.rows - b.rows);
}

const recall = (found: string[], truth: string[]) =>
  found.filter((id) => truth.includes(id)).length / Math.max(1, truth.length);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, performance.now() - started];
}

const rate = (rows: number, ms: number) => Math.round((rows / ms) * 1000);

export async function benchRetrieval(url: string, o: Options): Promise<BenchRow[]> {
  const handle = createDb({ url, max: 4 });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const out: BenchRow[] = [];
  let langchain: PGVectorStore | undefined;
  try {
    log(
      `machine load average at start: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    const space = await registerEmbeddingSpace(handle.db, {
      provider: 'bench',
      model: 'synthetic',
      dimensions: o.dims,
    });
    const next = vectorSource(o.dims, 1);
    const tenants = await makeCorpus(handle, space, o, next);
    const all = tenants.flatMap((t) => t.datasets);
    const total = all.reduce((s, d) => s + d.rows, 0);
    log(`corpus: ${total} chunks x ${o.dims}, ${tenants.length} tenants, ${all.length} datasets`);

    // Package: the bulk path, all tenants in one load; the space's index built once, then tenant indexes.
    let searchableAt = 0;
    let lastPrint = 0;
    const started = performance.now();
    const load = await openBulkLoad(handle, {
      spaceId: space.id,
      expectedRows: total,
      batchRows: 2000,
      onProgress: (p) => {
        if (p.phase === 'index' && p.index === 'tenant indexes') searchableAt = performance.now();
        if (p.phase === 'index' || performance.now() - lastPrint > 5000) {
          lastPrint = performance.now();
          log(
            p.phase === 'load'
              ? `package load: ${p.rows}/${total} rows, ${Math.round(p.rowsPerSecond)} rows/s, ETA ${Math.ceil(p.etaSeconds ?? 0)} s`
              : `package: building ${p.index}`,
          );
        }
      },
    });
    for (const tenant of tenants)
      for (const dataset of tenant.datasets)
        await load.ingest({
          organizationId: tenant.organizationId,
          datasetId: dataset.id,
          documents: documentsOf(dataset),
        });
    const loadedAt = performance.now();
    const { indexesBuilt } = await load.finish();
    const packageSearchable = searchableAt - started;
    log(
      `package: rows in ${((loadedAt - started) / 1000).toFixed(1)} s, space index ${((searchableAt - loadedAt) / 1000).toFixed(1)} s`,
    );
    const packageIndexed = performance.now() - started;
    log(`package: ${indexesBuilt.length} indexes built, ${(packageIndexed / 1000).toFixed(0)} s in all`);

    // LangChain: its documented setup; rows with their tenant and dataset as metadata, then its HNSW index.
    const store = await (async () => {
      const begun = performance.now();
      const s = await PGVectorStore.initialize(new GivenVectors({}), {
        pool,
        tableName: 'langchain_pg_embedding',
        columns: {
          idColumnName: 'id',
          vectorColumnName: 'embedding',
          contentColumnName: 'text',
          metadataColumnName: 'metadata',
        },
        distanceStrategy: 'cosine',
        dimensions: o.dims,
      });
      langchain = s;
      let done = 0;
      let printed = performance.now();
      for (const dataset of all) {
        const tenant = dataset.name.split('-')[0] ?? '';
        for (let i = 0; i < dataset.rows; i += 1000) {
          const vectors = dataset.vectors.slice(i, i + 1000);
          await s.addVectors(
            vectors,
            vectors.map((_, j) => ({
              pageContent: `${dataset.name} chunk ${i + j}`,
              metadata: { tenant, dataset: dataset.name, key: `${dataset.name}/${i + j}` },
            })),
          );
          done += vectors.length;
          if (performance.now() - printed > 5000) {
            printed = performance.now();
            log(`LangChain load: ${done}/${total} rows, ${rate(done, performance.now() - begun)} rows/s`);
          }
        }
      }
      const loaded = performance.now();
      log(`LangChain: rows in ${((loaded - begun) / 1000).toFixed(1)} s; building its HNSW index`);
      await s.createHnswIndex({ dimensions: o.dims });
      log(`LangChain: HNSW index ${((performance.now() - loaded) / 1000).toFixed(1)} s`);
      return { store: s, ms: performance.now() - begun };
    })();
    await handle.sql.exec('analyze langchain_pg_embedding');
    out.push({
      path: `bulk load to searchable, ${total} x ${o.dims}`,
      measured: `${rate(total, packageSearchable)} rows/s (space index; ${rate(total, packageIndexed)} rows/s with tenant indexes)`,
      baseline: `LangChain ${rate(total, store.ms)} rows/s (addVectors, then createHnswIndex)`,
      ratio: store.ms / packageSearchable,
      target: '>= 2x',
      ok: store.ms / packageSearchable >= 2,
    });

    // Queries from the corpus' distribution; ground truth: each store's exact answer (no index).
    const queries = Array.from({ length: o.queries }, next);
    const dims = o.dims;
    // The baseline runs beside every filtered query (same moment, same machine load): each filter's
    // ratios are over the unfiltered p95 measured with it.
    const unfilteredQuery = (q: number[]) =>
      timed(() =>
        handle.db.transaction(async (tx) => {
          await tx.execute(sql.raw(`set local hnsw.ef_search = ${defaultEfSearch(o.k)}`));
          await tx.execute(sql`
            select id from chunks where ${sql.raw(`embedding_space_id = '${space.id}'::uuid and embedding_dimensions = ${dims}`)}
            order by embedding::halfvec(${sql.raw(String(dims))}) <=> ${vectorLiteral(q)}::halfvec(${sql.raw(String(dims))})
            limit ${o.k}`);
        }),
      ).then(([, ms]) => ms);
    const unfiltered: number[] = [];

    for (const filter of chooseFilters(tenants, total)) {
      const share = `${((100 * filter.rows) / total).toFixed(2)}%`;
      const datasetIds = filter.datasets?.map((d) => d.id);
      const ours: number[] = [];
      const theirs: number[] = [];
      let ourRecall = 0;
      let theirRecall = 0;
      const strategies = new Set<string>();
      const baseline: number[] = [];
      for (const q of queries) {
        baseline.push(await unfilteredQuery(q));
        const [found, ms] = await timed(() =>
          withTenant(handle.db, filter.tenant.organizationId, (tx) =>
            searchChunks(tx, { spaceId: space.id, vector: q, k: o.k, datasetIds }),
          ),
        );
        ours.push(ms);
        strategies.add(found.strategy);
        const truth = await withTenant(handle.db, filter.tenant.organizationId, async (tx) =>
          rowsOf<{ id: string }>(
            await tx.execute(sql`
              select id from chunks
              where organization_id = ${filter.tenant.organizationId}
                and ${datasetIds ? sql`dataset_id = any(${sql.raw(`'{${datasetIds.join(',')}}'::uuid[]`)})` : sql`true`}
              order by embedding <=> ${vectorLiteral(q)}::halfvec limit ${o.k}`),
          ).map((r) => r.id),
        );
        ourRecall += recall(
          found.hits.map((h) => h.id),
          truth,
        );
        const where: Record<string, string> = filter.datasets
          ? { tenant: filter.tenant.name, dataset: filter.datasets[0]?.name ?? '' }
          : { tenant: filter.tenant.name };
        const [their, theirMs] = await timed(() =>
          store.store.similaritySearchVectorWithScore(q, o.k, where),
        );
        theirs.push(theirMs);
        const client = await pool.connect();
        try {
          await client.query('begin; set local enable_indexscan = off');
          const exact = await client.query(
            `select metadata->>'key' as key from langchain_pg_embedding where metadata @> $1::jsonb
             order by embedding <=> $2::vector limit ${o.k}`,
            [JSON.stringify(where), vectorLiteral(q)],
          );
          await client.query('commit');
          theirRecall += recall(
            their.map(([doc]) => String(doc.metadata.key)),
            exact.rows.map((r: { key: string }) => r.key),
          );
        } finally {
          client.release();
        }
      }
      unfiltered.push(...baseline);
      const base = stats(baseline);
      const a = stats(ours);
      const b = stats(theirs);
      const label = `${filter.label} (${share}, ${filter.rows} rows)`;
      const r = ourRecall / queries.length;
      const lr = theirRecall / queries.length;
      log(
        `${label}: package recall ${r.toFixed(3)} p95 ${(a.p95 / base.p95).toFixed(2)}x [${[...strategies].join(',')}]; LangChain recall ${lr.toFixed(3)} p95 ${(b.p95 / base.p95).toFixed(2)}x`,
      );
      out.push({
        path: `recall@${o.k}, ${label}`,
        measured: r.toFixed(3),
        baseline: `LangChain ${lr.toFixed(3)}`,
        ratio: r / Math.max(lr, 1e-9),
        target: '>= 0.98',
        ok: r >= 0.98,
      });
      out.push({
        path: `p50 / p95 over the unfiltered p95, ${label}`,
        measured: `${(a.p50 / base.p95).toFixed(2)}x / ${(a.p95 / base.p95).toFixed(2)}x (${a.p95.toFixed(1)} ms, ${[...strategies].join(', ')})`,
        baseline: `LangChain ${(b.p50 / base.p95).toFixed(2)}x / ${(b.p95 / base.p95).toFixed(2)}x (${b.p95.toFixed(1)} ms)`,
        ratio: b.p95 / a.p95,
        target: 'p95 <= 2x',
        ok: a.p95 / base.p95 <= 2,
      });
    }

    const base = stats(unfiltered);
    out.unshift({
      path: `unfiltered HNSW top-${o.k} (the baseline, run beside every filtered query)`,
      measured: `p50 ${base.p50.toFixed(2)} ms, p95 ${base.p95.toFixed(2)} ms`,
      target: 'contrast',
      ok: true,
    });

    // Adding 5,000 rows to the indexed stores (one mid-sized tenant's new dataset).
    const adder = next;
    const extra: Dataset = {
      id: '',
      name: 'added',
      rows: ADDED_ROWS,
      vectors: Array.from({ length: ADDED_ROWS }, adder),
    };
    const target = tenants[Math.min(5, tenants.length - 1)] as Tenant;
    extra.id = (
      await withTenant(handle.db, target.organizationId, (tx) =>
        createDataset(tx, { slug: 'added', name: 'Added', embeddingSpaceId: space.id }),
      )
    ).id;
    const [, addMs] = await timed(async () => {
      const begun = performance.now();
      const adding = await openBulkLoad(handle, { spaceId: space.id, expectedRows: ADDED_ROWS });
      await adding.ingest({
        organizationId: target.organizationId,
        datasetId: extra.id,
        documents: documentsOf(extra),
      });
      const loaded = performance.now();
      const { indexesBuilt: rebuilt } = await adding.finish();
      log(
        `package add: rows in ${((loaded - begun) / 1000).toFixed(1)} s (${adding.rebuild ? 'space index rebuilt' : 'index maintained row by row'}), finish ${((performance.now() - loaded) / 1000).toFixed(1)} s (${rebuilt.length} indexes built)`,
      );
    });
    const [, theirAddMs] = await timed(async () => {
      for (let i = 0; i < ADDED_ROWS; i += 1000) {
        const vectors = extra.vectors.slice(i, i + 1000);
        await store.store.addVectors(
          vectors,
          vectors.map((_, j) => ({
            pageContent: `added ${i + j}`,
            metadata: { tenant: target.name, dataset: 'added' },
          })),
        );
      }
    });
    out.push({
      path: `adding ${ADDED_ROWS} rows to an indexed store of ${total}`,
      measured: `${rate(ADDED_ROWS, addMs)} rows/s`,
      baseline: `LangChain ${rate(ADDED_ROWS, theirAddMs)} rows/s`,
      ratio: theirAddMs / addMs,
      target: '>= 1x',
      ok: theirAddMs / addMs >= 1,
    });

    const [sizes] = await handle.sql.query<{ ours: string; theirs: string; hnsw: string }>(
      `select pg_size_pretty(pg_total_relation_size('chunks') + pg_total_relation_size('documents')) as ours,
              pg_size_pretty(pg_total_relation_size('langchain_pg_embedding')) as theirs,
              pg_size_pretty(pg_relation_size($1::regclass)) as hnsw`,
      [`public.${embeddingIndexName('chunks', space.id)}`],
    );
    out.push({
      path: 'table + indexes',
      measured: `${sizes?.ours} (chunks + documents; the space's HNSW index ${sizes?.hnsw}, tenant indexes as much again)`,
      baseline: `LangChain ${sizes?.theirs}`,
      target: 'contrast',
      ok: true,
    });
    log(
      `machine load average at end: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}\n`,
    );
    return out;
  } finally {
    // The store holds one of the pool's clients; end() releases it and ends the pool.
    if (langchain) await langchain.end();
    else await pool.end();
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
