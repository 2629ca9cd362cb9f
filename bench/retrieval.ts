import { randomBytes } from 'node:crypto';
// Retrieval and ingest benchmark: filtered top-k against an unfiltered HNSW query, recall against
// exact search, bulk ingest against raw COPY and row-by-row INSERT, halfvec against vector indexes.
// `npm run bench -- retrieval`; BENCH_CHUNKS, BENCH_DIMS, BENCH_TENANTS and BENCH_QUERIES change the scale.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { is, sql } from 'drizzle-orm';
import { PostgresJsSession } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { type DbHandle, rowsOf, type Transaction } from '../src/client.ts';
import { createDataset } from '../src/datasets.ts';
import { embeddingIndexName, registerEmbeddingSpace, vectorLiteral } from '../src/embedding-spaces.ts';
import { ingestDocument } from '../src/ingest.ts';
import { createOrganization } from '../src/organizations.ts';
import { chunks, documents, type EmbeddingSpace, users } from '../src/schema/index.ts';
import { defaultEfSearch, searchChunks } from '../src/search.ts';
import { withTenant } from '../src/tenant.ts';
import type { Bench } from './support.ts';
import { vectorSource } from './vectors.ts';

export interface RetrievalBenchOptions {
  chunks: number;
  dims: number;
  tenants: number;
  queries: number;
  k: number;
}

export type BenchLine = { name: string; value: number; unit: string; target?: string; ok?: boolean };

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, performance.now() - started];
}

function serverClient(tx: Transaction): postgres.Sql | undefined {
  const session = tx._.session;
  return is(session, PostgresJsSession) ? (session.client as postgres.Sql) : undefined;
}

interface Tenant {
  organizationId: string;
  datasets: { id: string; chunks: number }[];
}

/** Tenants of Zipf-like sizes (the largest holds a large share), each with 1 to 4 datasets. */
async function loadCorpus(
  handle: DbHandle,
  space: EmbeddingSpace,
  o: RetrievalBenchOptions,
): Promise<Tenant[]> {
  const { db } = handle;
  const weights = Array.from({ length: o.tenants }, (_, i) => 1 / (i + 1) ** 1.2);
  const total = weights.reduce((s, w) => s + w, 0);
  const next = vectorSource(o.dims, 1);
  const tenants: Tenant[] = [];
  for (const [i, weight] of weights.entries()) {
    const size = Math.max(20, Math.round((weight / total) * o.chunks));
    const [user] = await db
      .insert(users)
      .values({ email: `bench${i}-${randomBytes(3).toString('hex')}@bench.example` })
      .returning();
    const org = await createOrganization(db, {
      slug: `bench-${i}-${randomBytes(3).toString('hex')}`,
      name: `Bench ${i}`,
      ownerUserId: user?.id ?? '',
    });
    const organizationId = org.organization.id;
    const parts = [0.55, 0.25, 0.15, 0.05].slice(0, 1 + (i % 4));
    const partTotal = parts.reduce((s, p) => s + p, 0);
    const datasets = await withTenant(db, organizationId, async (tx) => {
      const made: { id: string; chunks: number }[] = [];
      for (const [d, part] of parts.entries()) {
        const count = Math.max(10, Math.round((part / partTotal) * size));
        const dataset = await createDataset(tx, { slug: `d${d}`, name: `D${d}`, embeddingSpaceId: space.id });
        for (let start = 0; start < count; start += 1000) {
          const n = Math.min(1000, count - start);
          await ingestDocument(tx, {
            datasetId: dataset.id,
            document: { title: `doc ${d}-${start}` },
            chunks: Array.from({ length: n }, (_, j) => ({
              content: `chunk ${start + j} of ${d}`,
              embedding: next(),
            })),
          });
        }
        made.push({ id: dataset.id, chunks: count });
      }
      return made;
    });
    tenants.push({ organizationId, datasets });
  }
  return tenants;
}

/** The filter (tenant, datasets) whose size is nearest to `fraction` of all chunks. */
function filterNear(tenants: Tenant[], fraction: number, total: number) {
  let best: { tenant: Tenant; datasetIds: string[]; rows: number } | undefined;
  for (const tenant of tenants) {
    const options = [tenant.datasets, ...tenant.datasets.map((d) => [d])];
    for (const option of options) {
      const rows = option.reduce((s, d) => s + d.chunks, 0);
      if (
        !best ||
        Math.abs(Math.log(rows / total / fraction)) < Math.abs(Math.log(best.rows / total / fraction))
      )
        best = { tenant, datasetIds: option.map((d) => d.id), rows };
    }
  }
  if (!best) throw new Error('no tenants');
  return best;
}

/** Runs the benchmark on a migrated database and returns its lines (ratios and raw figures). */
export async function benchRetrieval(handle: DbHandle, o: RetrievalBenchOptions): Promise<BenchLine[]> {
  const { db } = handle;
  const lines: BenchLine[] = [];
  const space = await registerEmbeddingSpace(db, {
    provider: 'bench',
    model: `synthetic-${o.dims}`,
    dimensions: o.dims,
  });
  const index = embeddingIndexName('chunks', space.id);
  await db.execute(sql.raw(`drop index if exists ${index}`));
  const [tenants, loadMs] = await timed(() => loadCorpus(handle, space, o));
  const [, buildMs] = await timed(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql`set local maintenance_work_mem = '1GB'`);
      await tx.execute(sql`select app_ensure_embedding_indexes()`);
    }),
  );
  await db.execute(sql`analyze chunks`);
  lines.push({
    name: 'corpus load (ingest, no ANN index)',
    value: Math.round((o.chunks / loadMs) * 1000),
    unit: 'chunks/s',
  });
  lines.push({ name: 'HNSW build', value: Math.round(buildMs), unit: 'ms' });

  const query = vectorSource(o.dims, 1);
  const queries = Array.from({ length: o.queries }, () => query());
  const dims = sql.raw(String(o.dims));
  // Unfiltered: the whole space's index, no tenant, as the owner (superusers bypass row security).
  const unfiltered: number[] = [];
  await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local hnsw.ef_search = ${defaultEfSearch(o.k)}`));
    for (const q of queries) {
      const [, ms] = await timed(() =>
        tx.execute(sql`
          select id from chunks where embedding_space_id = ${sql.raw(`'${space.id}'`)} and embedding_dimensions = ${dims}
          order by embedding::halfvec(${dims}) <=> ${vectorLiteral(q)}::halfvec(${dims}) limit ${o.k}`),
      );
      unfiltered.push(ms);
    }
  });
  const baseP95 = percentile(unfiltered, 95);
  lines.push({ name: 'unfiltered HNSW top-k p95', value: Number(baseP95.toFixed(2)), unit: 'ms' });

  const seen = new Set<string>();
  for (const fraction of [0.001, 0.01, 0.05, 0.1, 0.25, 0.5]) {
    const filter = filterNear(tenants, fraction, o.chunks);
    if (seen.has(filter.datasetIds.join())) continue;
    seen.add(filter.datasetIds.join());
    const latencies: number[] = [];
    let recall = 0;
    let minHits = o.k;
    await withTenant(db, filter.tenant.organizationId, async (tx) => {
      for (const q of queries) {
        const [result, ms] = await timed(() =>
          searchChunks(tx, { spaceId: space.id, vector: q, k: o.k, datasetIds: filter.datasetIds }),
        );
        latencies.push(ms);
        const truth = rowsOf<{ id: string }>(
          await tx.execute(sql`
            select id from chunks where dataset_id = any(${sql.raw(`'{${filter.datasetIds.join(',')}}'::uuid[]`)})
            order by embedding <=> ${vectorLiteral(q)}::halfvec limit ${o.k}`),
        ).map((r) => r.id);
        recall +=
          result.hits.filter((h) => truth.includes(h.id)).length / Math.max(1, Math.min(o.k, truth.length));
        minHits = Math.min(minHits, result.hits.length);
      }
    });
    const label = `${((100 * filter.rows) / o.chunks).toFixed(2)}% (${filter.rows} rows)`;
    const r = recall / queries.length;
    lines.push({
      name: `recall@${o.k} filter ${label}`,
      value: Number(r.toFixed(3)),
      unit: '',
      target: '>= 0.95',
      ok: r >= 0.95,
    });
    const ratio = percentile(latencies, 95) / baseP95;
    lines.push({
      name: `p95 filter ${label} / unfiltered`,
      value: Number(ratio.toFixed(2)),
      unit: 'x',
      target: '<= 3',
      ok: ratio <= 3,
    });
    lines.push({
      name: `k rows when k match, filter ${label}`,
      value: minHits,
      unit: 'rows',
      target: `${Math.min(o.k, filter.rows)}`,
      ok: minHits === Math.min(o.k, filter.rows),
    });
  }

  lines.push(...(await benchIngest(handle, tenants[0] as Tenant, o)));
  return lines;
}

/**
 * ingestDocument against raw COPY into chunks and against one INSERT per row, the same rows, each
 * into a fresh space (an empty index of the same shape: HNSW inserts slow down as a graph grows, so
 * sharing one index would favour whichever path ran first). Measured with the space's HNSW index in
 * place and without it (bulk load first, index after).
 */
async function benchIngest(handle: DbHandle, tenant: Tenant, o: RetrievalBenchOptions): Promise<BenchLine[]> {
  const { db } = handle;
  const n = handle.target.kind === 'server' ? 3000 : 500;
  const next = vectorSource(o.dims, 7);
  const rows = Array.from({ length: n }, (_, i) => ({
    content: `ingest bench chunk ${i}`,
    embedding: next(),
  }));
  const lines: BenchLine[] = [];
  for (const withIndex of [true, false]) {
    const rates: Record<'ingest' | 'copy' | 'row', number> = { ingest: 0, copy: 0, row: 0 };
    for (const path of ['ingest', 'copy', 'row'] as const) {
      const model = `ingest-${path}-${withIndex}-${randomBytes(3).toString('hex')}`;
      const space = await registerEmbeddingSpace(db, { provider: 'bench', model, dimensions: o.dims });
      if (!withIndex) await db.execute(sql.raw(`drop index ${embeddingIndexName('chunks', space.id)}`));
      const { datasetId, documentId } = await withTenant(db, tenant.organizationId, async (tx) => {
        const dataset = await createDataset(tx, { slug: model, name: model, embeddingSpaceId: space.id });
        const [doc] = await tx.insert(documents).values({ datasetId: dataset.id, title: model }).returning();
        return { datasetId: dataset.id, documentId: doc?.id ?? '' };
      });
      const count = path === 'row' ? Math.min(n, 1000) : n;
      const values = rows.slice(0, count).map((row, i) => ({
        datasetId,
        documentId,
        ordinal: i,
        content: row.content,
        tokenCount: 5,
        contentHash: 'a'.repeat(64),
        embeddingSpaceId: space.id,
        embeddingDimensions: o.dims,
        embedding: row.embedding,
      }));
      const [, ms] = await timed(async () => {
        if (path === 'ingest') {
          await withTenant(db, tenant.organizationId, (tx) =>
            ingestDocument(tx, { datasetId, document: { title: `${model} doc` }, chunks: rows }),
          );
        } else if (path === 'row') {
          await withTenant(db, tenant.organizationId, async (tx) => {
            for (const value of values) await tx.insert(chunks).values(value);
          });
        } else {
          // COPY cannot write a table under row security: the raw baseline runs as the owner (a
          // superuser bypasses it). The package copies into a temporary table, then inserts from it.
          await db.transaction(async (tx) => {
            const client = serverClient(tx);
            if (!client) {
              await withTenant(tx, tenant.organizationId, (scoped) => scoped.insert(chunks).values(values));
              return;
            }
            const writable =
              await client`copy chunks (organization_id, dataset_id, document_id, ordinal, content, token_count, content_hash, embedding_space_id, embedding_dimensions, embedding) from stdin`.writable();
            const text = values.map(
              (v) =>
                `${tenant.organizationId}\t${datasetId}\t${documentId}\t${v.ordinal}\t${v.content}\t5\t${v.contentHash}\t${space.id}\t${o.dims}\t${vectorLiteral(v.embedding)}\n`,
            );
            await pipeline(Readable.from(text), writable);
          });
        }
      });
      rates[path] = count / ms;
    }
    const label = withIndex ? 'with HNSW' : 'no ANN index';
    const copyLabel =
      handle.target.kind === 'server'
        ? 'raw COPY'
        : 'one multi-row INSERT (PGlite has no COPY FROM STDIN here)';
    lines.push({
      name: `bulk ingest ${n} chunks, ${label}`,
      value: Math.round(rates.ingest * 1000),
      unit: 'chunks/s',
    });
    lines.push({
      name: `ingest / ${copyLabel}, ${label}`,
      value: Number((rates.ingest / rates.copy).toFixed(2)),
      unit: 'x',
      target: '>= 0.8',
      ok: rates.ingest / rates.copy >= 0.8,
    });
    lines.push({
      name: `ingest / row-by-row INSERT, ${label}`,
      value: Number((rates.ingest / rates.row).toFixed(2)),
      unit: 'x',
      target: '>= 5',
      ok: rates.ingest / rates.row >= 5,
    });
  }
  return lines;
}

/** Scale: the design's full size on a server, a laptop-sized corpus on the embedded database. */
function retrievalOptions(onServer: boolean): RetrievalBenchOptions {
  return {
    chunks: Number(process.env.BENCH_CHUNKS ?? (onServer ? 100_000 : 3000)),
    dims: Number(process.env.BENCH_DIMS ?? (onServer ? 768 : 256)),
    tenants: Number(process.env.BENCH_TENANTS ?? (onServer ? 50 : 10)),
    queries: Number(process.env.BENCH_QUERIES ?? (onServer ? 100 : 20)),
    k: 10,
  };
}

export const retrievalBench: Bench = {
  name: 'filtered retrieval and ingest',
  async run(target) {
    const options = retrievalOptions(Boolean(target.serverUrl));
    const database = await target.fresh();
    try {
      console.log(`\n  retrieval bench: ${JSON.stringify(options)}`);
      const lines = await benchRetrieval(database.handle, options);
      return lines.map((line) => ({
        path: line.name,
        measured: `${line.value} ${line.unit}`,
        ratio: line.unit === 'x' ? line.value : undefined,
        target: line.target ?? 'contrast',
        ok: line.ok ?? true,
      }));
    } finally {
      await database.close();
    }
  },
};
