import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BulkDocument, type BulkProgress, bulkIngest } from '../src/api/bulk-ingest.ts';
import { tenantIndexName } from '../src/api/embedding-spaces.ts';
import { ingestDocument } from '../src/api/ingest.ts';
import { explainSearchChunks, searchChunks } from '../src/api/search.ts';
import { rowsOf } from '../src/client.ts';
import { CopyRefused, copyBinary, type StagedRow, stageRows } from '../src/copy-staging.ts';
import { halfvecBinary, halfvecLiteral } from '../src/halfvec.ts';
import { chunks, type EmbeddingSpace } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { withTenant } from '../src/tenant.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import {
  type CorpusTenant,
  loadCorpus,
  localSpace,
  makeTopics,
  queryTexts,
  rng,
  topicText,
} from './support/rag.ts';

const database = useTestDatabase();

// HNSW in WebAssembly is slow: a smaller load on PGlite.
const DOCUMENTS = onServer ? 12 : 3;
const CHUNKS_PER_DOCUMENT = 100;
const ROWS = DOCUMENTS * CHUNKS_PER_DOCUMENT;

let space: EmbeddingSpace;
let other: CorpusTenant;
let loader: string;
let datasetId: string;

function documents(seed: number): BulkDocument[] {
  const random = rng(seed);
  const topics = makeTopics(20, seed);
  return Array.from({ length: DOCUMENTS }, (_, d) => ({
    sourceUri: `https://bulk.example/${d}`,
    title: `Bulk ${d}`,
    chunks: Array.from({ length: CHUNKS_PER_DOCUMENT }, (_, c) => ({
      content: `${topicText(random, topics[(d + c) % topics.length] ?? [])} d${d}c${c}`,
      key: `doc-${d}/chunk-${c}`,
    })),
  }));
}

beforeAll(async () => {
  const { db } = database.current;
  space = await localSpace(db);
  [other] = (await loadCorpus(db, space.id, [{ slug: 'bulk-other', datasets: [onServer ? 1200 : 200] }])) as [
    CorpusTenant,
  ];
  const [tenant] = await loadCorpus(db, space.id, [{ slug: 'bulk-loader', datasets: [0] }]);
  loader = tenant?.organizationId ?? '';
  datasetId = tenant?.datasets[0]?.id ?? '';
});

const validIndexes = async () =>
  rowsOf<{ name: string }>(
    await database.current.db.execute(sql`
      select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = 'chunks'::regclass and i.indisvalid and c.relname like '%hnsw_idx' order by 1`),
  ).map((row) => row.name);

describe('bulkIngest', () => {
  it('loads many documents per call, gives the tenant its own index once, and other tenants keep searching', async () => {
    const handle = database.current;
    const queries = queryTexts(5, 77).map((text) => localEmbedder.embed(text));
    const otherSearch = () =>
      withTenant(handle.db, other.organizationId, async (tx) => {
        const ids: string[][] = [];
        for (const vector of queries)
          ids.push((await searchChunks(tx, { spaceId: space.id, vector, k: 10 })).hits.map((h) => h.id));
        return ids;
      });
    const before = await otherSearch();
    const progress: BulkProgress[] = [];
    const during: string[][][] = [];
    let loading = true;
    // On a server another tenant searches the same space throughout the load (PGlite has one connection).
    const searcher = (async () => {
      while (onServer && loading) during.push(await otherSearch());
    })();
    const result = await bulkIngest(handle, {
      organizationId: loader,
      datasetId,
      documents: documents(5),
      embedder: localEmbedder,
      batchRows: 250,
      tenantIndexMinRows: ROWS / 2,
      onProgress: (p) => progress.push(p),
    }).finally(() => {
      loading = false;
    });
    await searcher;
    console.log('bulk load:', result, `${during.length} searches by another tenant meanwhile`);
    expect(result).toMatchObject({ documents: DOCUMENTS, updatedDocuments: 0, rows: ROWS, rebuilt: false });
    const own = tenantIndexName('chunks', space.id, loader);
    expect(result.indexesBuilt).toEqual([own]);
    // The other tenant is under the threshold: searched exactly, no index of its own.
    expect(await validIndexes()).toEqual([own]);
    // Batches of 250 chunks: progress after each, rows growing to the total, with a rate and an ETA.
    const loads = progress.filter((p) => p.phase === 'load');
    expect(loads.map((p) => p.rows)).toEqual(loads.map((_, i) => Math.min(ROWS, (i + 1) * 300)));
    expect(
      loads.every((p) => p.rowsPerSecond > 0 && p.etaSeconds !== undefined && p.totalRows === ROWS),
    ).toBe(true);
    expect(progress.at(-1)?.phase).toBe('index');
    // Searches of the other tenant saw the same results before, during and after the load.
    for (const seen of during) expect(seen).toEqual(before);
    expect(await otherSearch()).toEqual(before);
    if (onServer) expect(during.length).toBeGreaterThan(0);

    // The loaded tenant is searched through its own index; hits carry the caller's keys.
    await withTenant(handle.db, loader, async (tx) => {
      const query = { spaceId: space.id, vector: queries[0] ?? [], k: 10, exactThreshold: 100 };
      const found = await searchChunks(tx, query);
      expect(found.strategy).toBe('hnsw');
      expect(found.hits).toHaveLength(10);
      expect(found.hits.every((hit) => /^doc-\d+\/chunk-\d+$/.test(hit.key ?? ''))).toBe(true);
      const { plan } = await explainSearchChunks(tx, query);
      expect(plan).toContain(`Index Scan using ${own}`);
    });
  });

  it('a second load of the same documents changes no row', async () => {
    const handle = database.current;
    const stamp = async () =>
      rowsOf<{ n: number; latest: string }>(
        await withTenant(handle.db, loader, (tx) =>
          tx.execute(sql`select count(*)::int as n, max(updated_at)::text as latest, sum(xmin::text::bigint)::text as x
                         from chunks where dataset_id = ${datasetId}`),
        ),
      )[0];
    const was = await stamp();
    const again = await bulkIngest(handle, {
      organizationId: loader,
      datasetId,
      documents: documents(5),
      embedder: localEmbedder,
      index: 'incremental',
    });
    expect(again).toMatchObject({ documents: DOCUMENTS, updatedDocuments: DOCUMENTS, rebuilt: false });
    expect(await stamp()).toEqual(was);
  });

  it('refuses a bad document of a batch with a typed error and writes nothing of that batch', async () => {
    const handle = database.current;
    const count = () => withTenant(handle.db, loader, (tx) => tx.$count(chunks));
    const before = await count();
    const bad = documents(9).slice(0, 2);
    (bad[1] as BulkDocument).chunks[3] = { content: 'null \u0000 byte' };
    const error = await failure(
      bulkIngest(handle, { organizationId: loader, datasetId, documents: bad, embedder: localEmbedder }),
    );
    expect(error.kind).toBe('invalid_input');
    expect(error.message).toMatch(/chunk 3 content contains a NUL byte/);
    expect(await count()).toBe(before);
  });

  it.runIf(onServer)('neonhub-db ingest loads a JSONL file with a progress bar', async () => {
    const handle = database.current;
    const dir = mkdtempSync(path.join(tmpdir(), 'neonhub-ingest-'));
    try {
      const file = path.join(dir, 'docs.jsonl');
      const lines = [
        {
          sourceUri: 'file://cli/1',
          title: 'CLI one',
          text: 'First paragraph about shoes.\n\nSecond paragraph.',
        },
        { sourceUri: 'file://cli/2', title: 'CLI two', chunks: [{ content: 'given chunk', key: 'k-1' }] },
      ];
      writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', 'ingest', file, '--org', loader, '--dataset', datasetId],
        { env: { ...process.env, DATABASE_URL: handle.url }, encoding: 'utf8', timeout: 15_000 },
      );
      console.log(run.stdout, run.stderr);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/2 documents \(0 already there\), 2 chunks/);
      expect(run.stderr).toMatch(/100% 2\/2 rows/);
      const titles = rowsOf<{ title: string; n: number }>(
        await withTenant(handle.db, loader, (tx) =>
          tx.execute(sql`select d.title, count(c.id)::int as n from documents d join chunks c
                         on c.organization_id = d.organization_id and c.document_id = d.id
                         where d.source_uri like 'file://cli/%' group by d.title order by d.title`),
        ),
      );
      expect(titles).toEqual([
        { title: 'CLI one', n: 1 },
        { title: 'CLI two', n: 1 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores the same vectors through the bulk path as through ingestDocument', async () => {
    const handle = database.current;
    const chunk = (i: number) => ({
      content: `same vector ${i}`,
      // Components across halfvec's range, with more digits than it keeps.
      embedding: Array.from(
        { length: space.dimensions },
        (_, j) => Math.sin(i * 31 + j) * 10 ** ((j % 9) - 6),
      ),
    });
    const chunksOf = Array.from({ length: 5 }, (_, i) => chunk(i));
    await bulkIngest(handle, {
      organizationId: loader,
      datasetId,
      documents: [{ sourceUri: 'same://bulk', title: 'Bulk copy', chunks: chunksOf }],
    });
    await withTenant(handle.db, loader, (tx) =>
      ingestDocument(tx, {
        datasetId,
        document: { sourceUri: 'same://single', title: 'Single' },
        chunks: chunksOf,
      }),
    );
    const stored = rowsOf<{ uri: string; vectors: string }>(
      await withTenant(handle.db, loader, (tx) =>
        tx.execute(sql`select d.source_uri as uri, string_agg(c.embedding::text, ';' order by c.ordinal) as vectors
                       from documents d join chunks c on c.organization_id = d.organization_id and c.document_id = d.id
                       where d.organization_id = ${loader} and d.source_uri like 'same://%'
                       group by d.source_uri order by d.source_uri`),
      ),
    );
    expect(stored).toHaveLength(2);
    expect(stored[0]?.vectors.split(';')).toHaveLength(5);
    expect(stored[0]?.vectors).toBe(stored[1]?.vectors);
  });

  it.runIf(onServer)('a binary COPY the server refuses rejects at once instead of hanging', async () => {
    const handle = database.current;
    const row = (embedding: Buffer): StagedRow => ({
      document_id: randomUUID(),
      ordinal: 0,
      content: 'staged',
      token_count: 1,
      content_hash: 'a'.repeat(64),
      metadata: {},
      embedding,
    });
    // Positive control: a well-formed row is staged and readable in the same transaction.
    const staged = await withTenant(handle.db, loader, async (tx) => {
      const table = await stageRows(tx, copyBinary([row(halfvecBinary([1, 0.5]))]));
      return rowsOf<{ v: string }>(await tx.execute(sql.raw(`select embedding::text as v from ${table}`)));
    });
    expect(staged).toEqual([{ v: '[1,0.5]' }]);
    // A NaN component (half bits 0x7e00): the server refuses the COPY; the call must settle.
    const nan = Buffer.from([0x00, 0x02, 0x00, 0x00, 0x7e, 0x00, 0x3c, 0x00]);
    const started = performance.now();
    const refused = await withTenant(handle.db, loader, (tx) => stageRows(tx, copyBinary([row(nan)]))).then(
      () => undefined,
      (error: unknown) => error,
    );
    const ms = performance.now() - started;
    console.log(`refused COPY settled in ${ms.toFixed(0)} ms: ${String(refused)}`);
    expect(refused).toBeInstanceOf(CopyRefused);
    expect(ms).toBeLessThan(5000);
    // The pool still serves the tenant afterwards.
    expect(await withTenant(handle.db, loader, (tx) => tx.$count(chunks))).toBeGreaterThan(0);
  });

  it.runIf(onServer)('falls back to bound JSON when the server refuses the staging table', async () => {
    const handle = database.current;
    const [{ name }] = rowsOf<{ name: string }>(
      await handle.db.execute(sql`select current_database() as name`),
    ) as [{ name: string }];
    // Without TEMP a scope cannot create the staging table: the load must still write every row.
    await handle.db.execute(sql.raw(`revoke temporary on database ${name} from public`));
    try {
      const refused = await failure(
        withTenant(handle.db, loader, (tx) => tx.execute(sql`create temp table neonhub_probe (a int)`)),
      );
      expect(refused.message).toMatch(/permission denied/);
      const result = await bulkIngest(handle, {
        organizationId: loader,
        datasetId,
        documents: documents(11)
          .slice(0, 2)
          .map((document, d) => ({ ...document, sourceUri: `https://fallback.example/${d}` })),
        embedder: localEmbedder,
        index: 'incremental',
        batchRows: 100,
      });
      expect(result).toMatchObject({ documents: 2, updatedDocuments: 0, rows: 2 * CHUNKS_PER_DOCUMENT });
    } finally {
      await handle.db.execute(sql.raw(`grant temporary on database ${name} to public`));
    }
  });

  it('writes vectors with the fewest digits that halfvec reads back as the same values', async () => {
    const random = rng(41);
    const vectors = Array.from({ length: 400 }, (_, i) => {
      const scale = 10 ** ((i % 14) - 9);
      return Array.from({ length: 32 }, () => (random() * 2 - 1) * scale);
    });
    // Edges: the largest half, values that round to it or to zero, the smallest subnormal.
    vectors.push([65504, -65504, 65519, 2 ** -25, 2 ** -24 * 1.5, 6.1e-5, -1e-9, 0, ...Array(24).fill(0.1)]);
    const rows = vectors.map((v) => ({ full: `[${v.join(',')}]`, short: halfvecLiteral(v) }));
    const [diff] = rowsOf<{ differ: number; n: number; full: number; short: number }>(
      await database.current.db.execute(sql`
        select count(*) filter (where full_text::halfvec::text <> short_text::halfvec::text)::int as differ,
               count(*)::int as n, sum(length(full_text))::int as full, sum(length(short_text))::int as short
        from json_to_recordset(${JSON.stringify(rows.map((r) => ({ full_text: r.full, short_text: r.short })))}::json)
          as s(full_text text, short_text text)`),
    );
    console.log(`halfvec text: ${diff?.n} vectors, ${diff?.short} characters instead of ${diff?.full}`);
    expect(diff).toMatchObject({ differ: 0, n: vectors.length });
  });
});
