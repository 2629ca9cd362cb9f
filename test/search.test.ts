import { type SQL, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDb, rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createDataset, deleteDataset } from '../src/rag/datasets.ts';
import { createLocalEmbedder } from '../src/rag/embedder.ts';
import { registerEmbeddingSpace, tenantIndexName } from '../src/rag/embedding-spaces.ts';
import { halfvecLiteral } from '../src/rag/halfvec.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import {
  defaultExactThreshold,
  defaultWholeTenantThreshold,
  explainSearchChunks,
  hybridSearch,
  searchChunks,
  searchDocumentTitles,
} from '../src/rag/search.ts';
import { withValuesWrittenIn } from '../src/rag/search-statements.ts';
import { ensureTenantIndexes } from '../src/rag/tenant-indexes.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { type CorpusTenant, loadCorpus, localSpace, queryTexts } from './support/rag.ts';

const database = useTestDatabase();

let space: EmbeddingSpace;
let a: CorpusTenant;
let b: CorpusTenant;

const dataset = (tenant: CorpusTenant, index: number) => {
  const found = tenant.datasets[index];
  if (!found) throw new Error(`no dataset ${index}`);
  return found;
};

beforeAll(async () => {
  const { db } = database.current;
  space = await localSpace(db);
  const started = performance.now();
  [a, b] = (await loadCorpus(db, space.id, [
    { slug: 'search-a', datasets: onServer ? [4000, 600, 15, 5] : [1200, 300, 15, 5] },
    { slug: 'search-b', datasets: onServer ? [1000] : [300] },
  ])) as [CorpusTenant, CorpusTenant];
  // Tenant a gets its own index: its broad filters take the HNSW path.
  await ensureTenantIndexes(database.current, {
    spaceId: space.id,
    organizationIds: [a.organizationId],
    minRows: EXACT_THRESHOLD,
  });
  console.log(`corpus loaded and a's index built in ${(performance.now() - started).toFixed(0)} ms`);
});

/** Below the default for 256 dimensions, so tenant a (over 1,500 chunks) is searched through its index. */
const EXACT_THRESHOLD = 1000;

describe('searchChunks', () => {
  it('returns the k nearest chunks of the tenant, best first, with scores and no embeddings', async () => {
    const { db } = database.current;
    const [text] = queryTexts(1, 1);
    const result = await withTenant(db, a.organizationId, (tx) =>
      searchChunks(tx, { spaceId: space.id, text: text ?? '', embedder: localEmbedder, k: 10 }),
    );
    console.log(
      `strategy ${result.strategy}, candidates ${result.candidates}, top score ${result.hits[0]?.score}`,
    );
    expect(result.hits).toHaveLength(10);
    const ids = new Set(a.datasets.map((d) => d.id));
    for (const [i, hit] of result.hits.entries()) {
      expect(ids.has(hit.datasetId)).toBe(true);
      expect(hit).not.toHaveProperty('embedding');
      expect(hit.score).toBeCloseTo(1 - (hit.distance ?? 0), 6);
      if (i > 0) expect(hit.distance ?? 0).toBeGreaterThanOrEqual(result.hits[i - 1]?.distance ?? 0);
    }
  });

  it('returns k rows whenever k match, on both paths, and all of them when fewer match', async () => {
    const { db } = database.current;
    const vectors = queryTexts(5, 2).map((t) => localEmbedder.embed(t));
    const cases = a.datasets.map((d) => ({ datasetIds: [d.id], expected: Math.min(10, d.chunks) }));
    await withTenant(db, a.organizationId, async (tx) => {
      for (const { datasetIds, expected } of cases) {
        for (const strategy of ['auto', 'hnsw', 'exact'] as const) {
          for (const vector of vectors) {
            const result = await searchChunks(tx, { spaceId: space.id, vector, k: 10, datasetIds, strategy });
            expect(result.hits, `${strategy} on ${datasetIds[0]}`).toHaveLength(expected);
            expect(new Set(result.hits.map((h) => h.id)).size).toBe(expected);
            expect(result.hits.every((h) => h.datasetId === datasetIds[0])).toBe(true);
          }
        }
      }
    });
    console.log(`k guarantee held for ${cases.length} datasets x 3 strategies x ${vectors.length} queries`);
  });

  // PGlite's corpus here is too small for the planner to prefer the index; the server's is not.
  it.skipIf(!onServer)(
    "uses the tenant's HNSW index for a broad filter and no index for a narrow one",
    async () => {
      const { db } = database.current;
      const vector = localEmbedder.embed(queryTexts(1, 3)[0] ?? '');
      const index = tenantIndexName('chunks', space.id, a.organizationId);
      await withTenant(db, a.organizationId, async (tx) => {
        const query = { spaceId: space.id, vector, k: 10, exactThreshold: EXACT_THRESHOLD };
        const broad = await explainSearchChunks(tx, query);
        console.log(`broad filter (${broad.strategy}):\n${broad.plan}`);
        expect(broad.strategy).toBe('hnsw');
        expect(broad.plan).toContain(`Index Scan using ${index}`);
        const narrow = await explainSearchChunks(tx, { ...query, datasetIds: [dataset(a, 2).id] });
        console.log(`narrow filter (${narrow.strategy}):\n${narrow.plan}`);
        expect(narrow.strategy).toBe('exact');
        expect(narrow.plan).not.toContain('hnsw_idx');
      });
    },
  );

  it('keeps pgvector settings inside the transaction, and its planner settings to its own statements', async () => {
    // One connection, so the next transaction runs where the settings were made.
    const single = database.current.url ? createDb({ url: database.current.url, max: 1 }) : database.current;
    const vector = localEmbedder.embed('settings check');
    const planner = sql`select current_setting('enable_sort') as sort, current_setting('jit') as jit`;
    const pgvector = sql`select current_setting('hnsw.iterative_scan') as scan, current_setting('hnsw.ef_search') as ef`;
    const read = async (tx: typeof single.db, query: typeof planner) =>
      rowsOf<Record<string, string>>(await tx.execute(query))[0];
    const before = await read(single.db, planner);
    const inside = await withTenant(single.db, a.organizationId, async (tx) => {
      const found = await searchChunks(tx, { spaceId: space.id, vector, strategy: 'hnsw', efSearch: 123 });
      expect(found.strategy).toBe('hnsw');
      return { ...(await read(tx, pgvector)), ...(await read(tx, planner)) };
    });
    const after = { ...(await read(single.db, pgvector)), ...(await read(single.db, planner)) };
    console.log('before:', before, 'inside the search transaction:', inside, 'after it:', after);
    // A later sort in the caller's transaction is costed as usual (enable_sort off would make it 10^10).
    expect(inside).toEqual({ scan: 'relaxed_order', ef: '123', ...before });
    expect(after).toEqual({ scan: 'off', ef: '40', ...before });
    if (single !== database.current) await single.close();
  });

  // The defaults at 256 dimensions (1,800 and 6,000) sit above PGlite's smaller corpus here.
  it.runIf(onServer)(
    "takes the tenant's own index for its whole space past the whole-tenant threshold, and stays exact for a dataset of that size",
    async () => {
      const { db } = database.current;
      const vector = localEmbedder.embed(queryTexts(1, 4)[0] ?? '');
      const largest = dataset(a, 0);
      expect(largest.chunks).toBeGreaterThan(defaultWholeTenantThreshold(space.dimensions));
      expect(largest.chunks).toBeLessThanOrEqual(defaultExactThreshold(space.dimensions));
      await withTenant(db, a.organizationId, async (tx) => {
        const whole = await searchChunks(tx, { spaceId: space.id, vector });
        expect([whole.strategy, whole.index]).toEqual(['hnsw', 'tenant']);
        const inDataset = await searchChunks(tx, { spaceId: space.id, vector, datasetIds: [largest.id] });
        expect([inDataset.strategy, inDataset.index]).toEqual(['exact', null]);
        expect(inDataset.candidates).toBe(largest.chunks);
      });
    },
  );

  it('refuses bad input with an error naming what is wrong', async () => {
    const { db } = database.current;
    const other = await registerEmbeddingSpace(db, { provider: 'test', model: 'other', dimensions: 4 });
    const vector = localEmbedder.embed('hello');
    const base = { spaceId: space.id, vector };
    const cases: [string, Parameters<typeof searchChunks>[1], RegExp][] = [
      ['k = 0', { ...base, k: 0 }, /k must be an integer from 1 to 1000, got 0/],
      ['k = 1001', { ...base, k: 1001 }, /got 1001/],
      ['k = 2.5', { ...base, k: 2.5 }, /got 2.5/],
      ['empty text', { spaceId: space.id, text: '  ?! ', embedder: localEmbedder }, /query text is empty/],
      ['wrong dimensions', { ...base, vector: [1, 2, 3] }, /3 dimensions but embedding space .* has 256/],
      [
        'NaN',
        { ...base, vector: vector.map((x, i) => (i === 9 ? Number.NaN : x)) },
        /component 9 is not a number/,
      ],
      [
        'infinite',
        { ...base, vector: vector.map((x, i) => (i === 1 ? -Infinity : x)) },
        /component 1 is infinite/,
      ],
      [
        'beyond halfvec',
        { ...base, vector: vector.map((x, i) => (i === 2 ? 1e6 : x)) },
        /outside halfvec's range/,
      ],
      [
        'unknown space',
        { ...base, spaceId: '0190aaaa-0000-7000-8000-00000000beef' },
        /unknown embedding space/,
      ],
      ['malformed space', { ...base, spaceId: 'nope' }, /must be a UUID/],
      [
        "another tenant's dataset",
        { ...base, datasetIds: [dataset(b, 0).id] },
        /does not exist in this organization/,
      ],
      [
        'dataset of another space',
        { spaceId: other.id, vector: [1, 0, 0, 0], datasetIds: [dataset(a, 0).id] },
        /is embedded in space/,
      ],
      ['no datasets', { ...base, datasetIds: [] }, /datasetIds is empty/],
      [
        'embedder of another space',
        { spaceId: space.id, text: 'hello', embedder: createLocalEmbedder(32) },
        /does not produce vectors/,
      ],
    ];
    await withTenant(db, a.organizationId, async (tx) => {
      for (const [name, input, message] of cases) {
        const error = await failure(searchChunks(tx, input));
        console.log(`${name}: ${error.message}`);
        expect(error.kind).toBe('invalid_input');
        expect(error.message).toMatch(message);
      }
    });
  });

  it('leaves soft-deleted datasets out of search and refuses them as filters', async () => {
    const { db } = database.current;
    await withTenant(db, b.organizationId, async (tx) => {
      const doomed = await createDataset(tx, { slug: 'doomed', name: 'Doomed', embeddingSpaceId: space.id });
      await ingestDocument(tx, {
        datasetId: doomed.id,
        document: { title: 'Secret plans' },
        chunks: [{ content: 'the zorblax launch plan is secret' }],
        embedder: localEmbedder,
      });
      const query = { spaceId: space.id, text: 'zorblax launch plan', embedder: localEmbedder, k: 3 };
      expect((await searchChunks(tx, query)).hits[0]?.datasetId).toBe(doomed.id);
      await deleteDataset(tx, doomed.id);
      expect((await searchChunks(tx, query)).hits.map((h) => h.datasetId)).not.toContain(doomed.id);
      const error = await failure(searchChunks(tx, { ...query, datasetIds: [doomed.id] }));
      expect(error.message).toMatch(/is deleted/);
    });
  });
});

describe('hybridSearch and title search', () => {
  it('refuse text PostgreSQL cannot hold before sending it, and the scope goes on', async () => {
    const { db } = database.current;
    const vector = localEmbedder.embed('hello');
    const found = await withTenant(db, a.organizationId, async (tx) => {
      for (const [text, reason] of [
        ['a\u0000b plan', /query text contains a NUL byte/],
        ['plan \ud800 x', /query text contains a lone surrogate/],
      ] as const) {
        const hybrid = await failure(hybridSearch(tx, { spaceId: space.id, text, vector }));
        expect([hybrid.message, (hybrid as { table?: string }).table]).toEqual([
          expect.stringMatching(reason),
          'chunks',
        ]);
        const titles = await failure(searchDocumentTitles(tx, { query: text }));
        expect((titles as { table?: string }).table).toBe('documents');
      }
      // The refusals sent nothing: the same transaction still searches.
      return (await hybridSearch(tx, { spaceId: space.id, text: 'plan', vector, k: 3 })).hits.length;
    });
    expect(found).toBe(3);
  });

  it("reads full-text matches through a definer function that answers only for the scope's tenant", async () => {
    const { db } = database.current;
    for (const [tenant, word] of [
      [a, 'vorplex alpha'],
      [b, 'vorplex beta'],
    ] as const)
      await withTenant(db, tenant.organizationId, (tx) =>
        ingestDocument(tx, {
          datasetId: dataset(tenant, 0).id,
          document: { title: `Text matches ${word}` },
          chunks: [{ content: `the ${word} rollout` }],
          embedder: localEmbedder,
        }),
      );
    const matches = (tx: Parameters<Parameters<typeof withTenant>[2]>[0], org: string, datasetId: string) =>
      tx
        .execute(
          sql`select id from app_chunk_text_matches(${org}::uuid, 'vorplex'::tsquery, ${`{${datasetId}}`}::uuid[], 10)`,
        )
        .then((result) => rowsOf<{ id: string }>(result).length);
    // Control: each tenant finds its own chunk with the word.
    for (const tenant of [a, b])
      expect(
        await withTenant(db, tenant.organizationId, (tx) =>
          matches(tx, tenant.organizationId, dataset(tenant, 0).id),
        ),
      ).toBe(1);
    // From a's scope: b's id is refused, and b's dataset under a's id gives nothing.
    const refused = await failure(
      withTenant(db, a.organizationId, (tx) => matches(tx, b.organizationId, dataset(b, 0).id)),
    );
    expect(refused.message).toMatch(/current tenant only/);
    expect(
      await withTenant(db, a.organizationId, (tx) => matches(tx, a.organizationId, dataset(b, 0).id)),
    ).toBe(0);
  });

  it("reads a tenant's full-text matches through the index of the tenant and its words, and no other index of chunks", async () => {
    const { db } = database.current;
    // A word in one chunk of a (thousands of chunks) and one of b.
    for (const tenant of [a, b])
      await withTenant(db, tenant.organizationId, (tx) =>
        ingestDocument(tx, {
          datasetId: dataset(tenant, 0).id,
          document: { title: 'Quenzil' },
          chunks: [{ content: 'the quenzil launch' }],
          embedder: localEmbedder,
        }),
      );
    // As a service's tables are once autovacuum has been by: analyzed, and the GIN index's pending
    // list of new entries merged (a long pending list makes the planner read the tenant's rows).
    await database.current.sql.exec('vacuum analyze chunks');
    const datasetIds = `{${a.datasets.map((d) => d.id).join(',')}}`;
    type Tx = Parameters<Parameters<typeof withTenant>[2]>[0];
    // Scans of each index of chunks so far, as this transaction has counted them.
    const indexScans = async (tx: Tx) =>
      new Map(
        rowsOf<{ index: string; scans: number }>(
          await tx.execute(sql`select c.relname as index, pg_stat_get_xact_numscans(c.oid)::int as scans
                               from pg_index i join pg_class c on c.oid = i.indexrelid
                               where i.indrelid = 'chunks'::regclass`),
        ).map((row) => [row.index, row.scans]),
      );
    // A statement's rows and the indexes of chunks it scanned.
    const scansAround = async (tx: Tx, statement: SQL) => {
      const before = await indexScans(tx);
      const rows = rowsOf<{ id?: string; n?: number }>(await tx.execute(statement));
      const scanned = [...(await indexScans(tx))]
        .filter(([index, scans]) => scans > (before.get(index) ?? 0))
        .map(([index]) => index);
      return { rows, scanned };
    };
    const { matched, listed } = await withTenant(db, a.organizationId, async (tx) => ({
      matched: await scansAround(
        tx,
        sql`select id from app_chunk_text_matches(${a.organizationId}::uuid, 'quenzil'::tsquery, ${datasetIds}::uuid[], 10)`,
      ),
      // Control: a read of the tenant's chunks by dataset shows up as a scan of another index.
      listed: await scansAround(
        tx,
        sql`select count(*)::int as n from chunks where organization_id = ${a.organizationId}::uuid and dataset_id = ${dataset(a, 2).id}::uuid`,
      ),
    }));
    console.log(
      `full-text matches of a rare word in a's ${a.datasets.reduce((n, d) => n + d.chunks, 0)} chunks: ${matched.rows.length}, through ${matched.scanned.join(', ')}; control: ${listed.scanned.join(', ')}`,
    );
    expect(matched.rows).toHaveLength(1);
    expect(matched.scanned).toEqual(['chunks_organization_id_search_vector_idx']);
    expect(listed.scanned.length).toBeGreaterThan(0);
    expect(listed.scanned).not.toContain('chunks_organization_id_search_vector_idx');
  });

  it('fuses full-text and vector ranks in one statement', async () => {
    const { db } = database.current;
    await withTenant(db, a.organizationId, async (tx) => {
      const ds = dataset(a, 1);
      await ingestDocument(tx, {
        datasetId: ds.id,
        document: { title: 'Quarterly quasar report' },
        chunks: [
          { content: 'The quasar campaign doubled newsletter signups in the quarter.' },
          { content: 'Budgets for the quasar launch were approved by finance.' },
        ],
        embedder: localEmbedder,
      });
      const result = await hybridSearch(tx, {
        spaceId: space.id,
        text: 'quasar newsletter signups',
        embedder: localEmbedder,
        k: 5,
        datasetIds: [ds.id],
      });
      console.log(
        'hybrid:',
        result.hits.map(
          (h) => `${h.score.toFixed(4)} sem=${h.semanticRank} lex=${h.lexicalRank} ${h.content.slice(0, 40)}`,
        ),
      );
      expect(result.hits).toHaveLength(5);
      expect(result.hits[0]?.content).toContain('quasar campaign doubled newsletter');
      expect(result.hits[0]?.lexicalRank).toBe(1);
      for (const hit of result.hits) {
        const expected =
          (hit.semanticRank ? 1 / (60 + hit.semanticRank) : 0) +
          (hit.lexicalRank ? 1 / (60 + hit.lexicalRank) : 0);
        expect(hit.score).toBeCloseTo(expected, 9);
        expect(hit.datasetId).toBe(ds.id);
      }
      const both = result.hits.filter((h) => h.semanticRank !== null && h.lexicalRank !== null);
      expect(both.length).toBeGreaterThan(0);
      const empty = await failure(hybridSearch(tx, { spaceId: space.id, text: '', embedder: localEmbedder }));
      expect(empty.message).toMatch(/query text is empty/);
    });
  });

  it('finds titles despite typos, only in the current tenant', async () => {
    const { db } = database.current;
    await withTenant(db, b.organizationId, (tx) =>
      ingestDocument(tx, {
        datasetId: dataset(b, 0).id,
        document: { title: 'Holiday pricing playbook' },
        chunks: [{ content: 'Discounts for the holidays.' }],
        embedder: localEmbedder,
      }),
    );
    const mine = await withTenant(db, b.organizationId, (tx) =>
      searchDocumentTitles(tx, { query: 'pricng playbok' }),
    );
    console.log('titles for "pricng playbok":', mine);
    expect(mine[0]?.title).toBe('Holiday pricing playbook');
    const theirs = await withTenant(db, a.organizationId, (tx) =>
      searchDocumentTitles(tx, { query: 'pricng playbok' }),
    );
    expect(theirs.map((t) => t.title)).not.toContain('Holiday pricing playbook');
    const error = await failure(
      withTenant(db, a.organizationId, (tx) => searchDocumentTitles(tx, { query: ' ' })),
    );
    expect(error.column).toBe('title');
  });
});

/** Tenant tables a statement reads or writes, and how many times it names its tenant (`organization_id = $n`). */
function tenantNaming(text: string): { tables: string[]; named: number } {
  const tables = [...text.matchAll(/\b(?:from|join|into|update)\s+"?(chunks|documents|datasets)\b"?/gi)].map(
    (match) => match[1] ?? '',
  );
  // A bind parameter, or a UUID written in (dollar-quoted); an INSERT names it by setting the
  // column explicitly (its value a bind parameter or a cast one).
  const named =
    [...text.matchAll(/\borganization_id\s*=\s*(\$\d+|\$q\d*\$[0-9a-f-]{36}\$q\d*\$)/gi)].length +
    [...text.matchAll(/\binsert into "?\w+"? \(organization_id\b/gi)].length;
  return { tables, named };
}

describe('tenant-named statements', () => {
  it.runIf(onServer)(
    'every statement of search and ingest names organization_id = $n for each tenant table it touches',
    async () => {
      const statements: string[] = [];
      const audited = createDb({
        url: database.current.url,
        max: 2,
        onStatement: (text) => statements.push(text),
      });
      try {
        const [text] = queryTexts(1, 3);
        await withTenant(audited.db, a.organizationId, async (tx) => {
          const datasetIds = [dataset(a, 0).id];
          await searchChunks(tx, { spaceId: space.id, text: text ?? '', embedder: localEmbedder, k: 5 });
          await searchChunks(tx, {
            spaceId: space.id,
            text: text ?? '',
            embedder: localEmbedder,
            k: 5,
            datasetIds,
          });
          await searchChunks(tx, {
            spaceId: space.id,
            text: text ?? '',
            embedder: localEmbedder,
            strategy: 'hnsw',
          });
          await hybridSearch(tx, {
            spaceId: space.id,
            text: text ?? 'x',
            embedder: localEmbedder,
            datasetIds,
          });
          await searchDocumentTitles(tx, { query: 'doc' });
          const doc = { datasetId: dataset(a, 1).id, document: { sourceUri: 'audit://1', title: 'Audit' } };
          await ingestDocument(tx, {
            ...doc,
            chunks: [{ content: 'audited chunk' }],
            embedder: localEmbedder,
          });
          await ingestDocument(tx, {
            ...doc,
            chunks: [{ content: 'audited chunk, changed' }],
            embedder: localEmbedder,
          });
        });
      } finally {
        await audited.close();
      }
      const touching = statements.filter((text) => tenantNaming(text).tables.length > 0);
      console.log(`${statements.length} statements, ${touching.length} touching tenant tables`);
      expect(touching.length).toBeGreaterThan(10);
      for (const text of touching) {
        const { tables, named } = tenantNaming(text);
        expect(
          named,
          `${tables.join(', ')} in: ${text.replace(/\s+/g, ' ').slice(0, 300)}`,
        ).toBeGreaterThanOrEqual(tables.length);
      }
      // Positive control: the checker sees a statement that does not name its tenant.
      expect(
        tenantNaming(
          'select id from chunks c join documents d on d.id = c.document_id where c.organization_id = $1',
        ),
      ).toEqual({
        tables: ['chunks', 'documents'],
        named: 1,
      });
    },
  );
});

describe('values written into a search statement', () => {
  it('come back exactly as they went in, whatever dollar signs they hold', async () => {
    const values = ['plain', '$q$', 'ends with $q', 'ends with $', '$q3$ and $q$', "it's \\ here", ''];
    const written = withValuesWrittenIn(
      sql`select ${sql.join(
        values.map((value, i) => sql`${value}::text as ${sql.raw(`v${i}`)}`),
        sql`, `,
      )}`,
    );
    const [row] = rowsOf<Record<string, string>>(await database.current.db.execute(written));
    expect(Object.values(row ?? {})).toEqual(values);
  });

  // The capture needs a connection of its own, with the statements' parameters: a server's.
  it.runIf(onServer)('hold the query vector once, as the halves the column stores', async () => {
    const sent: { text: string; parameters: unknown[] }[] = [];
    const capturing = createDb({
      url: database.current.url,
      max: 1,
      onStatement: (text, parameters) => sent.push({ text, parameters: parameters ?? [] }),
    });
    const [text] = queryTexts(1, 11);
    const vector = localEmbedder.embed(text ?? '');
    const halves = halfvecLiteral(vector);
    const vectorsIn = (value: string) => value.match(/\[-?[0-9.]+,/g)?.length ?? 0;
    try {
      for (const search of [
        (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) =>
          searchChunks(tx, { spaceId: space.id, vector }),
        (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) =>
          hybridSearch(tx, { spaceId: space.id, text: text ?? '', vector }),
      ]) {
        sent.length = 0;
        await withTenant(capturing.db, a.organizationId, search);
        const statement = sent.find(({ text }) => /\bnearest\b/.test(text));
        const everything = [statement?.text ?? '', ...(statement?.parameters ?? []).map(String)].join(' ');
        // Four selects (exact and HNSW, chunks and re-embedded chunks) read it; it goes once.
        expect(vectorsIn(everything)).toBe(1);
        expect(everything).toContain(halves);
      }
    } finally {
      await capturing.close();
    }
  });
});
