import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/client.ts';
import { createDataset } from '../src/datasets.ts';
import { createLocalEmbedder } from '../src/embedder.ts';
import type { Embedder } from '../src/embedding-spaces.ts';
import { ingestDocument } from '../src/ingest.ts';
import { chunks, type Dataset, documents, type EmbeddingSpace } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { withTenant } from '../src/tenant.ts';
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
    expect(first.loadPath).toBe(onServer ? 'copy' : 'json');
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
    const before = await withTenant(db, orgId, (tx) => tx.$count(documents));
    const error = await withTenant(db, orgId, (tx) =>
      failure(
        ingestDocument(tx, {
          datasetId: dataset.id,
          document: { title: 'x'.repeat(1001) },
          chunks: [{ content: 'a' }],
          embedder: localEmbedder,
        }),
      ),
    );
    expect(error.constraint).toBe('documents_title_check');
    expect(await withTenant(db, orgId, (tx) => tx.$count(documents))).toBe(before);
  });

  it('bulk-loads a large document and prints the rate', async () => {
    const { db } = database.current;
    const count = onServer ? 5000 : 2000;
    const contents = Array.from(
      { length: count },
      (_, i) => `Bulk chunk ${i} about running shoes and email ${i % 97}`,
    );
    const vectors = localEmbedder.embedMany(contents);
    const started = performance.now();
    const result = await withTenant(db, orgId, (tx) =>
      ingestDocument(tx, {
        datasetId: dataset.id,
        document: { title: 'Bulk' },
        chunks: contents.map((content, i) => ({ content, embedding: vectors[i] })),
      }),
    );
    const ms = performance.now() - started;
    console.log(
      `bulk ingest via ${result.loadPath}: ${count} chunks x 256 dims in ${ms.toFixed(0)} ms (${Math.round((count / ms) * 1000)} chunks/s)`,
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
});
