import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createDataset } from '../src/rag/datasets.ts';
import { createLocalEmbedder } from '../src/rag/embedder.ts';
import type { Embedder } from '../src/rag/embedding-spaces.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { chunks, type Dataset, documents, type EmbeddingSpace } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { localSpace, makeTenant } from './support/rag.ts';

const database = useTestDatabase();

let space: EmbeddingSpace;
let orgId: string;
let otherOrgId: string;
let dataset: Dataset;
let otherDataset: Dataset;

/** The local embedder, counting the texts it embeds. */
function countingEmbedder(): Embedder & { texts: string[] } {
  const texts: string[] = [];
  return {
    ...localEmbedder,
    texts,
    embedMany: (batch: string[]) => {
      texts.push(...batch);
      return localEmbedder.embedMany(batch);
    },
  };
}

beforeAll(async () => {
  const { db } = database.current;
  space = await localSpace(db);
  orgId = await makeTenant(db, 'ingest-a');
  otherOrgId = await makeTenant(db, 'ingest-b');
  dataset = await withTenant(db, orgId, (tx) =>
    createDataset(tx, { slug: 'kb', name: 'KB', embeddingSpaceId: space.id }),
  );
  otherDataset = await withTenant(db, otherOrgId, (tx) =>
    createDataset(tx, { slug: 'kb', name: 'KB', embeddingSpaceId: space.id }),
  );
});

const texts = [
  'First part about shoes.',
  'Second part\twith a tab,\na newline and a \\ backslash.',
  'Third part.',
];

describe('ingestDocument', () => {
  it('loads chunks with embeddings, then re-runs as a no-op and re-embeds only changed chunks', async () => {
    const { db } = database.current;
    const embedder = countingEmbedder();
    const doc = { sourceUri: 'https://kb.example/guide', title: 'Guide' };
    const first = await withTenant(db, orgId, (tx) =>
      ingestDocument(tx, {
        datasetId: dataset.id,
        document: doc,
        chunks: texts.map((content) => ({ content })),
        embedder,
      }),
    );
    console.log('first ingest:', first);
    expect(first).toMatchObject({ documentCreated: true, inserted: 3, updated: 0, deleted: 0, embedded: 3 });
    const stored = await withTenant(db, orgId, (tx) =>
      tx.select().from(chunks).where(eq(chunks.documentId, first.documentId)).orderBy(chunks.ordinal),
    );
    expect(stored.map((c) => c.content)).toEqual(texts);
    expect(stored[0]?.embedding).toHaveLength(256);
    expect(stored.every((c) => c.embeddingSpaceId === space.id && c.embeddingDimensions === 256)).toBe(true);
    expect(stored[1]?.tokenCount).toBe(Math.ceil((texts[1] ?? '').length / 4));

    const again = await withTenant(db, orgId, (tx) =>
      ingestDocument(tx, {
        datasetId: dataset.id,
        document: doc,
        chunks: texts.map((content) => ({ content })),
        embedder,
      }),
    );
    console.log('same content again:', again);
    expect(again).toMatchObject({
      documentId: first.documentId,
      documentCreated: false,
      inserted: 0,
      updated: 0,
      unchanged: 3,
      deleted: 0,
      embedded: 0,
    });

    embedder.texts.length = 0;
    const changed = await withTenant(db, orgId, (tx) =>
      ingestDocument(tx, {
        datasetId: dataset.id,
        document: { ...doc, title: 'Guide v2' },
        chunks: [{ content: texts[0] ?? '' }, { content: 'A rewritten second part.' }],
        embedder,
      }),
    );
    console.log('one chunk changed, one dropped:', changed);
    expect(changed).toMatchObject({ inserted: 0, updated: 1, unchanged: 1, deleted: 1, embedded: 1 });
    expect(embedder.texts).toEqual(['A rewritten second part.']);
    const [document] = await withTenant(db, orgId, (tx) =>
      tx.select().from(documents).where(eq(documents.id, first.documentId)),
    );
    expect(document).toMatchObject({ title: 'Guide v2', status: 'ready' });
    expect(document?.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('takes precomputed vectors and explicit ordinals', async () => {
    const { db } = database.current;
    const result = await withTenant(db, orgId, (tx) =>
      ingestDocument(tx, {
        datasetId: dataset.id,
        document: { title: 'Vectors given' },
        chunks: [
          { ordinal: 10, content: 'ten', embedding: localEmbedder.embed('ten'), metadata: { page: 2 } },
          { ordinal: 20, content: 'twenty', embedding: localEmbedder.embed('twenty') },
        ],
      }),
    );
    expect(result).toMatchObject({ inserted: 2, embedded: 2 });
    const rows = await withTenant(db, orgId, (tx) =>
      tx.select().from(chunks).where(eq(chunks.documentId, result.documentId)).orderBy(chunks.ordinal),
    );
    expect(rows.map((r) => [r.ordinal, r.metadata])).toEqual([
      [10, { page: 2 }],
      [20, {}],
    ]);
  });

  it('refuses bad input with an error naming it, and writes nothing even when the caller continues', async () => {
    const { db } = database.current;
    const good = { datasetId: dataset.id, document: { title: 'Bad' }, embedder: localEmbedder };
    const nan = Array.from({ length: 256 }, (_, i) => (i === 3 ? Number.NaN : 0));
    const inf = Array.from({ length: 256 }, (_, i) => (i === 4 ? Number.POSITIVE_INFINITY : 0));
    const cases: [string, Parameters<typeof ingestDocument>[1], RegExp][] = [
      [
        'wrong dimensions',
        { ...good, chunks: [{ content: 'a', embedding: [0.1, 0.2] }] },
        /2 dimensions .* 256/,
      ],
      ['NaN', { ...good, chunks: [{ content: 'a', embedding: nan }] }, /component 3 is not a number/],
      ['infinite', { ...good, chunks: [{ content: 'a', embedding: inf }] }, /component 4 is infinite/],
      ['empty content', { ...good, chunks: [{ content: '' }] }, /chunk 0 has no content/],
      [
        'duplicate ordinal',
        {
          ...good,
          chunks: [
            { content: 'a', ordinal: 1 },
            { content: 'b', ordinal: 1 },
          ],
        },
        /ordinal 1 appears more than once/,
      ],
      [
        "another tenant's dataset",
        { ...good, datasetId: otherDataset.id, chunks: [{ content: 'a' }] },
        /does not exist in this organization/,
      ],
      [
        'embedder of another space',
        { ...good, embedder: createLocalEmbedder(64), chunks: [{ content: 'a' }] },
        /does not produce vectors of embedding space/,
      ],
      [
        'no embedder',
        { datasetId: dataset.id, document: { title: 'x' }, chunks: [{ content: 'a' }] },
        /no embedder/,
      ],
      [
        'bad metadata',
        { ...good, chunks: [{ content: 'a', metadata: { page: -1 } as never }] },
        /column metadata\): metadata\.page/,
      ],
    ];
    const before = await withTenant(db, orgId, (tx) => tx.$count(chunks));
    for (const [name, input, message] of cases) {
      const error = await withTenant(db, orgId, async (tx) => {
        const refused = await failure(ingestDocument(tx, input));
        // The caller swallows the error and commits: nothing may have been written.
        return refused;
      });
      console.log(`${name}: ${error.message}`);
      expect(error.kind).toBe('invalid_input');
      expect(error.message).toMatch(message);
    }
    expect(await withTenant(db, orgId, (tx) => tx.$count(chunks))).toBe(before);
    expect(await withTenant(db, orgId, (tx) => tx.$count(documents, eq(documents.title, 'Bad')))).toBe(0);
  });

  it('rolls back its savepoint when the database refuses a row', async () => {
    const { db } = database.current;
    // A rule only the database knows (the validators mirror the table's own CHECKs).
    await db.execute(
      sql.raw(
        `alter table documents add constraint documents_test_refusal_check check (title <> 'refused') not valid`,
      ),
    );
    try {
      const before = await withTenant(db, orgId, (tx) => tx.$count(documents));
      const error = await withTenant(db, orgId, (tx) =>
        failure(
          ingestDocument(tx, {
            datasetId: dataset.id,
            document: { title: 'refused' },
            chunks: [{ content: 'a' }],
            embedder: localEmbedder,
          }),
        ),
      );
      expect(error.constraint).toBe('documents_test_refusal_check');
      expect(await withTenant(db, orgId, (tx) => tx.$count(documents))).toBe(before);
    } finally {
      await db.execute(sql.raw('alter table documents drop constraint documents_test_refusal_check'));
    }
  });

  it('loads a large document in one statement (heavy loads are measured by npm run bench)', async () => {
    const { db } = database.current;
    // PGlite maintains the HNSW index at about 35 rows/s on a loaded 2-core machine.
    const count = onServer ? 1000 : 250;
    const contents = Array.from(
      { length: count },
      (_, i) => `Bulk chunk ${i} about running shoes and email ${i % 97}`,
    );
    const vectors = localEmbedder.embedMany(contents);
    const result = await withTenant(db, orgId, (tx) =>
      ingestDocument(tx, {
        datasetId: dataset.id,
        document: { title: 'Bulk' },
        chunks: contents.map((content, i) => ({ content, embedding: vectors[i] })),
      }),
    );
    expect(result.inserted).toBe(count);
    const [stats] = rowsOf<{ n: number }>(
      await withTenant(db, orgId, (tx) =>
        tx.execute(
          sql`select count(*)::int as n from chunks where document_id = ${result.documentId} and embedding is not null`,
        ),
      ),
    );
    expect(stats?.n).toBe(count);
  });

  it('refuses NUL bytes and lone surrogates before writing: 10 such calls in a row settle, and the pool still answers', async () => {
    const { db } = database.current;
    const bad: [string, Parameters<typeof ingestDocument>[1], RegExp][] = [
      [
        'NUL in content',
        { datasetId: dataset.id, document: { title: 'Nul' }, chunks: [{ content: 'a\u0000b' }] },
        /chunk 0 content contains a NUL byte/,
      ],
      [
        'NUL in metadata',
        {
          datasetId: dataset.id,
          document: { title: 'Nul' },
          chunks: [{ content: 'a', metadata: { heading: 'x\u0000' } }],
        },
        /metadata\.heading contains a NUL byte/,
      ],
      [
        'NUL in title',
        { datasetId: dataset.id, document: { title: 'N\u0000ul' }, chunks: [{ content: 'a' }] },
        /title contains a NUL byte/,
      ],
      [
        'lone surrogate',
        { datasetId: dataset.id, document: { title: 'Nul' }, chunks: [{ content: 'a\uD800b' }] },
        /lone surrogate/,
      ],
    ];
    const before = await withTenant(db, orgId, (tx) => tx.$count(chunks));
    for (let i = 0; i < 10; i++) {
      const [name, input, message] = bad[i % bad.length] as (typeof bad)[number];
      const error = await withTenant(db, orgId, (tx) =>
        failure(ingestDocument(tx, { ...input, embedder: localEmbedder })),
      );
      if (i < bad.length) console.log(`${name}: ${error.message}`);
      expect(error.kind).toBe('invalid_input');
      expect(error.message).toMatch(message);
    }
    // Every connection came back: a pool of 8 answers 16 concurrent scopes.
    const counts = await Promise.all(
      Array.from({ length: 16 }, () => withTenant(db, orgId, (tx) => tx.$count(chunks))),
    );
    expect(counts).toEqual(Array.from({ length: 16 }, () => before));
  });

  it('a second ingest of the same document changes no row: updated_at stays put', async () => {
    const { db } = database.current;
    const input = {
      datasetId: dataset.id,
      document: { sourceUri: 'https://kb.example/stable', title: 'Stable', metadata: { author: 'Ann' } },
      chunks: texts.map((content) => ({ content, metadata: { page: 1 } })),
      embedder: localEmbedder,
    };
    const first = await withTenant(db, orgId, (tx) => ingestDocument(tx, input));
    const stamps = () =>
      withTenant(db, orgId, async (tx) => {
        const [doc] = rowsOf<{ updated_at: string; xmin: string }>(
          await tx.execute(
            sql`select updated_at::text, xmin::text from documents where id = ${first.documentId}`,
          ),
        );
        const rows = rowsOf<{ updated_at: string; xmin: string }>(
          await tx.execute(
            sql`select updated_at::text, xmin::text from chunks where document_id = ${first.documentId} order by ordinal`,
          ),
        );
        return { doc, rows };
      });
    const was = await stamps();
    const again = await withTenant(db, orgId, (tx) => ingestDocument(tx, input));
    expect(again).toMatchObject({
      documentChanged: false,
      inserted: 0,
      updated: 0,
      unchanged: 3,
      deleted: 0,
    });
    expect(await stamps()).toEqual(was);
    // Positive control: a changed title does move it.
    const renamed = await withTenant(db, orgId, (tx) =>
      ingestDocument(tx, { ...input, document: { ...input.document, title: 'Stable v2' } }),
    );
    expect(renamed.documentChanged).toBe(true);
    expect((await stamps()).doc?.xmin).not.toBe(was.doc?.xmin);
  });

  it('takes typed-array vectors, open metadata and a caller key, and refuses oversized metadata', async () => {
    const { db } = database.current;
    const result = await withTenant(db, orgId, (tx) =>
      ingestDocument(tx, {
        datasetId: dataset.id,
        document: { title: 'Typed' },
        chunks: [
          {
            content: 'typed vectors',
            key: 'crm:note:42',
            embedding: Float32Array.from(localEmbedder.embed('typed vectors')),
            metadata: { page: 3, source: { system: 'crm', ids: [1, 2] } },
          },
        ],
      }),
    );
    expect(result.inserted).toBe(1);
    const [row] = await withTenant(db, orgId, (tx) =>
      tx.select().from(chunks).where(eq(chunks.documentId, result.documentId)),
    );
    expect(row?.metadata).toEqual({
      page: 3,
      source: { system: 'crm', ids: [1, 2] },
      chunkKey: 'crm:note:42',
    });
    expect(row?.embedding?.[0]).toBeCloseTo(localEmbedder.embed('typed vectors')[0] ?? 0, 2);
    const huge = await withTenant(db, orgId, (tx) =>
      failure(
        ingestDocument(tx, {
          datasetId: dataset.id,
          document: { title: 'Huge' },
          chunks: [{ content: 'a', metadata: { blob: 'x'.repeat(20_000) } }],
          embedder: localEmbedder,
        }),
      ),
    );
    expect(huge.message).toMatch(/more than 16384/);
    const bad = await withTenant(db, orgId, (tx) =>
      failure(
        ingestDocument(tx, {
          datasetId: dataset.id,
          document: { title: 'Bad page' },
          chunks: [{ content: 'a', metadata: { page: 0, extra: true } }],
          embedder: localEmbedder,
        }),
      ),
    );
    expect(bad.message).toMatch(/metadata\.page/);
  });
});
