import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { BulkLoadError, ConnectionError } from '../src/base/errors.ts';
import { InputError } from '../src/base/input.ts';
import { createDb, rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { type BulkDocument, type BulkProgress, bulkIngest } from '../src/rag/bulk-ingest.ts';
import { CopyRefused, copyBinary, type StagedRow, stageRows } from '../src/rag/copy-staging.ts';
import { type Embedder, tenantIndexName } from '../src/rag/embedding-spaces.ts';
import { halfvecBinary, halfvecLiteral } from '../src/rag/halfvec.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { explainSearchChunks, searchChunks } from '../src/rag/search.ts';
import { chunks, type EmbeddingSpace } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { backend, onServer, useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';

/** The BulkLoadError a load ends with; anything else (or success) fails the test. */
async function stopped(work: Promise<unknown>): Promise<BulkLoadError> {
  const error = await work.then(
    () => new Error('expected the load to stop, but it finished'),
    (caught: unknown) => caught,
  );
  if (error instanceof BulkLoadError) return error;
  throw error;
}

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
const root = fileURLToPath(new URL('..', import.meta.url));

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
    const error = await stopped(
      bulkIngest(handle, { organizationId: loader, datasetId, documents: bad, embedder: localEmbedder }),
    );
    expect(error.cause).toBeInstanceOf(InputError);
    expect(error.message).toMatch(
      /stopped at document 1: .*document 1 \(sourceUri "https:\/\/bulk.example\/1"\): chunk 3 content contains a NUL byte/,
    );
    expect(error).toMatchObject({
      stoppedAt: 1,
      retryable: false,
      committed: { documents: 0, updatedDocuments: 0, rows: 0 },
    });
    expect(await count()).toBe(before);
  });

  it('refuses what per-document ingest refuses, naming the same column and the document', async () => {
    const handle = database.current;
    const count = () => withTenant(handle.db, loader, (tx) => tx.$count(chunks));
    const before = await count();
    const base = { title: 'Parity', chunks: [{ content: 'parity chunk' }] };
    const cases: { document: BulkDocument; column: string }[] = [
      { document: { ...base, title: 't'.repeat(1001) }, column: 'title' },
      { document: { ...base, title: '' }, column: 'title' },
      // 1,990 characters, 5,970 bytes: under the character limit, over what the index holds.
      {
        document: { ...base, sourceUri: `https://parity.example/${'語'.repeat(1990)}` },
        column: 'source_uri',
      },
      { document: { ...base, mimeType: 'not a mime type' }, column: 'mime_type' },
      { document: { ...base, title: 'nul \u0000' }, column: 'title' },
    ];
    for (const { document, column } of cases) {
      const single = await failure(
        withTenant(handle.db, loader, (tx) =>
          ingestDocument(tx, { datasetId, document, chunks: document.chunks, embedder: localEmbedder }),
        ),
      );
      const bulk = await stopped(
        bulkIngest(handle, {
          organizationId: loader,
          datasetId,
          documents: [{ ...base, sourceUri: 'https://parity.example/fine' }, document],
          embedder: localEmbedder,
        }),
      );
      const cause = bulk.cause as InputError;
      console.log(`${column}: per document: ${single.message}\n        bulk: ${bulk.message}`);
      expect(single).toBeInstanceOf(InputError);
      expect(cause).toBeInstanceOf(InputError);
      expect([cause.table, cause.column, cause.constraint]).toEqual([
        single.table,
        single.column,
        (single as InputError).constraint,
      ]);
      expect(cause.column).toBe(column);
      expect(bulk.stoppedAt).toBe(1);
      expect(cause.message).toContain('document 1');
    }
    expect(await count()).toBe(before);
  });

  it.runIf(onServer)(
    'settles when its connections are killed mid-load: what is committed is said exactly, and a rerun completes it without duplicates',
    async () => {
      const handle = database.current;
      const load = documents(21).map((document, d) => ({
        ...document,
        sourceUri: `https://killed.example/${d}`,
      }));
      const [{ name }] = rowsOf<{ name: string }>(
        await handle.db.execute(sql`select current_database() as name`),
      ) as [{ name: string }];
      // The third batch's embedding call (a slow embedding API) waits while an operator ends every
      // backend of the database: the batches in flight lose their connections mid-transaction.
      const admin = createDb({ url: backend.kind === 'server' ? backend.url : '', max: 1 });
      let calls = 0;
      const killing: Embedder = {
        ...localEmbedder,
        embedMany: async (texts) => {
          calls++;
          if (calls === 3)
            await admin.sql.query(
              `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
              [name],
            );
          return localEmbedder.embedMany(texts);
        },
      };
      const error = await stopped(
        bulkIngest(handle, {
          organizationId: loader,
          datasetId,
          documents: load,
          embedder: killing,
          index: 'incremental',
          batchRows: 200,
        }),
      ).finally(() => admin.close());
      const committed = rowsOf<{ uri: string; n: number }>(
        await withTenant(handle.db, loader, (tx) =>
          tx.execute(sql`select d.source_uri as uri, count(c.id)::int as n
                         from documents d left join chunks c on c.organization_id = d.organization_id and c.document_id = d.id
                         where d.organization_id = ${loader} and d.source_uri like 'https://killed.example/%'
                         group by 1`),
        ),
      );
      console.log(
        `killed mid-load: ${error.message}; in the database: ${committed.length} documents, ${committed.reduce((n, r) => n + r.n, 0)} chunks`,
      );
      expect(error.retryable).toBe(true);
      expect(committed.length).toBe(error.committed.documents);
      expect(committed.every((row) => row.n === CHUNKS_PER_DOCUMENT)).toBe(true);
      expect(error.committed.rows).toBe(committed.length * CHUNKS_PER_DOCUMENT);
      expect(error.committed.documents).toBeLessThan(DOCUMENTS);

      const rerun = await bulkIngest(handle, {
        organizationId: loader,
        datasetId,
        documents: load,
        embedder: localEmbedder,
        index: 'incremental',
        batchRows: 200,
      });
      expect(rerun).toMatchObject({ documents: DOCUMENTS, updatedDocuments: committed.length });
      const after = rowsOf<{ documents: number; chunks: number }>(
        await withTenant(handle.db, loader, (tx) =>
          tx.execute(sql`select count(distinct d.id)::int as documents, count(c.id)::int as chunks
                         from documents d join chunks c on c.organization_id = d.organization_id and c.document_id = d.id
                         where d.organization_id = ${loader} and d.source_uri like 'https://killed.example/%'`),
        ),
      );
      expect(after).toEqual([{ documents: DOCUMENTS, chunks: ROWS }]);
    },
  );

  it.runIf(onServer)(
    'a backend ended as its COPY begins, while the process is busy, stops the load retryably: nothing thrown elsewhere, nothing left waiting',
    async () => {
      const handle = database.current;
      const [{ name }] = rowsOf<{ name: string }>(
        await handle.db.execute(sql`select current_database() as name`),
      ) as [{ name: string }];
      // Run right after the first COPY is written, before its answer is read: another process ends
      // every backend of the database and waits until they are gone, so the COPY's start and the
      // FATAL that follows it are read off the socket together.
      const endBackends = `import postgres from 'postgres';
        const admin = postgres(process.env.ADMIN_URL, { max: 1, onnotice: () => {} });
        await admin\`select pg_terminate_backend(pid, 60000) from pg_stat_activity
                     where datname = \${process.env.DATABASE} and pid <> pg_backend_pid()\`;
        await admin.end();`;
      let ended = false;
      const busy = createDb({
        url: handle.url,
        max: 2,
        onStatement: (text) => {
          if (!/^copy /i.test(text) || ended) return;
          ended = true;
          setImmediate(() => {
            const run = spawnSync(process.execPath, ['--input-type=module', '-e', endBackends], {
              cwd: root,
              env: {
                ...process.env,
                ADMIN_URL: backend.kind === 'server' ? backend.url : '',
                DATABASE: name,
              },
              encoding: 'utf8',
            });
            if (run.status !== 0) console.log(run.stderr);
          });
        },
      });
      try {
        const error = await stopped(
          bulkIngest(busy, {
            organizationId: loader,
            datasetId,
            documents: documents(31).map((document, d) => ({
              ...document,
              sourceUri: `https://busy.example/${d}`,
            })),
            embedder: localEmbedder,
            index: 'incremental',
            batchRows: 200,
          }),
        );
        expect(ended).toBe(true);
        expect(error.cause).toBeInstanceOf(ConnectionError);
        expect(error.retryable).toBe(true);
      } finally {
        await busy.close();
      }
    },
  );

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
        ['--import', 'tsx', 'src/cli/cli.ts', 'ingest', file, '--org', loader, '--dataset', datasetId],
        { env: { ...process.env, DATABASE_URL: handle.url }, encoding: 'utf8' },
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

  it.runIf(onServer)(
    'neonhub-db ingest names the line a refused document came from, and what is committed',
    async () => {
      const handle = database.current;
      const dir = mkdtempSync(path.join(tmpdir(), 'neonhub-ingest-'));
      try {
        const file = path.join(dir, 'refused.jsonl');
        const lines = [
          JSON.stringify({ sourceUri: 'file://refused/1', title: 'Fine', text: 'A fine paragraph.' }),
          '',
          JSON.stringify({ sourceUri: 'file://refused/2', title: 'Also fine', text: 'Another one.' }),
          JSON.stringify({
            sourceUri: 'file://refused/3',
            title: 'Bad',
            chunks: [{ content: 'nul \u0000' }],
          }),
        ];
        writeFileSync(file, `${lines.join('\n')}\n`);
        const run = spawnSync(
          process.execPath,
          ['--import', 'tsx', 'src/cli/cli.ts', 'ingest', file, '--org', loader, '--dataset', datasetId],
          { env: { ...process.env, DATABASE_URL: handle.url }, encoding: 'utf8' },
        );
        const message = run.stderr.trim().split('\n').at(-1) ?? '';
        console.log(message);
        expect(run.status).toBe(1);
        expect(message).toContain(`${file}:4: `);
        expect(message).toMatch(
          /document 2 \(sourceUri "file:\/\/refused\/3"\): chunk 0 content contains a NUL byte/,
        );
        expect(message).toContain('committed before it: 0 documents, 0 chunks');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

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
    expect(String(refused)).toMatch(/NaN|not a number|halfvec/i);
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
        from json_to_recordset(${JSON.stringify(rows.map((r) => ({ full_text: r.full, short_text: r.short })))}::text::json)
          as s(full_text text, short_text text)`),
    );
    console.log(`halfvec text: ${diff?.n} vectors, ${diff?.short} characters instead of ${diff?.full}`);
    expect(diff).toMatchObject({ differ: 0, n: vectors.length });
  });
});
