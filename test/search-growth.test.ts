import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createDataset, deleteDataset } from '../src/rag/datasets.ts';
import { createLocalEmbedder } from '../src/rag/embedder.ts';
import { registerEmbeddingSpace, tenantIndexName, vectorLiteral } from '../src/rag/embedding-spaces.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { searchChunks } from '../src/rag/search.ts';
import { type WatchOptions, watchTenantIndexes } from '../src/rag/tenant-index-watch.ts';
import { defaultTenantIndexMinRows, maintainTenantIndexes } from '../src/rag/tenant-indexes.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { makeTenant, makeTopics, queryTexts, rng, topicText } from './support/rag.ts';

const database = useTestDatabase();

// The server grows a tenant past the default threshold of a 1,536-dimension space (300 chunks);
// PGlite (HNSW in WebAssembly) past 150, a threshold its searches and its maintainer are given alike.
const DIMS = onServer ? 1536 : 256;
const embedder = createLocalEmbedder(DIMS);
const THRESHOLD = onServer ? defaultTenantIndexMinRows(DIMS) - 1 : 150;
const searchOptions = onServer ? {} : { exactThreshold: THRESHOLD };
const watchOptions: WatchOptions = onServer ? {} : { minRows: THRESHOLD + 1 };
const DOCUMENT_CHUNKS = onServer ? 100 : 50;
const K = 10;

let space: EmbeddingSpace;
const topics = makeTopics(40);
const random = rng(2027);

beforeAll(async () => {
  space = await registerEmbeddingSpace(database.current.db, {
    provider: embedder.provider,
    model: embedder.model,
    dimensions: DIMS,
  });
});

/** Adds documents of 100 chunks through ingestDocument until the dataset holds `total` chunks. */
async function growTo(organizationId: string, datasetId: string, from: number, total: number) {
  for (let start = from; start < total; start += DOCUMENT_CHUNKS) {
    const chunks = Array.from({ length: Math.min(DOCUMENT_CHUNKS, total - start) }, (_, i) => ({
      content: `${topicText(random, topics[Math.floor(random() * topics.length)] ?? [])} g${start + i}`,
    }));
    await withTenant(database.current.db, organizationId, (tx) =>
      ingestDocument(tx, { datasetId, document: { title: `Grown ${start}` }, chunks, embedder }),
    );
  }
}

/** Recall@10 of the tenant's searches against the exact answer, and how they ran. */
async function measure(organizationId: string, queries: number[][]) {
  return withTenant(database.current.db, organizationId, async (tx) => {
    let recall = 0;
    const paths = new Set<string>();
    for (const vector of queries) {
      const found = await searchChunks(tx, { spaceId: space.id, vector, k: K, ...searchOptions });
      const truth = rowsOf<{ id: string }>(
        await tx.execute(sql`select id from chunks where organization_id = ${organizationId}
                             order by embedding <=> ${vectorLiteral(vector)}::halfvec, id limit ${K}`),
      ).map((row) => row.id);
      recall += found.hits.filter((hit) => truth.includes(hit.id)).length / truth.length;
      paths.add(
        `${found.strategy}/${found.index ?? 'no index'}${found.tenantIndexPending ? '/pending' : ''}`,
      );
    }
    return { recall: recall / queries.length, paths: [...paths] };
  });
}

describe('tenant indexes follow growth', () => {
  it('a tenant grown past the threshold by ingestDocument is searched exactly, then through its own index, with no operator call', async () => {
    const handle = database.current;
    const organizationId = await makeTenant(handle.db, 'growth');
    const own = tenantIndexName('chunks', space.id, organizationId);
    const dataset = await withTenant(handle.db, organizationId, (tx) =>
      createDataset(tx, { slug: 'grown', name: 'Grown', embeddingSpaceId: space.id }),
    );
    const queries = queryTexts(onServer ? 20 : 10, 91).map((text) => embedder.embed(text));
    // The watch runs where the schema owner's login is, as a deployment's worker would.
    let builtOwn: () => void = () => {};
    const indexed = new Promise<void>((resolve) => {
      builtOwn = resolve;
    });
    const watch = await watchTenantIndexes(handle, {
      ...watchOptions,
      onMaintained: (event) => {
        if (event.built.includes(own)) builtOwn();
      },
    });
    try {
      await growTo(organizationId, dataset.id, 0, THRESHOLD - DOCUMENT_CHUNKS);
      const small = await measure(organizationId, queries.slice(0, 3));
      console.log(`${THRESHOLD - DOCUMENT_CHUNKS} chunks:`, small);
      expect(small.paths).toEqual(['exact/no index']);

      await growTo(organizationId, dataset.id, THRESHOLD - DOCUMENT_CHUNKS, THRESHOLD + 2 * DOCUMENT_CHUNKS);
      // Past the threshold, before its index exists: exact (full recall), saying the index is pending.
      const pending = await measure(organizationId, queries.slice(0, 3));
      console.log(`${THRESHOLD + 2 * DOCUMENT_CHUNKS} chunks, index pending:`, pending);
      expect(pending).toEqual({ recall: 1, paths: ['exact/no index/pending'] });

      // The pending searches asked for the index at their commit; the watch builds it.
      await indexed;
      const grown = await measure(organizationId, queries);
      console.log(`${THRESHOLD + 2 * DOCUMENT_CHUNKS} chunks, own index:`, grown);
      expect(grown.paths).toEqual(['hnsw/tenant']);
      expect(grown.recall).toBeGreaterThanOrEqual(0.98);
    } finally {
      await watch.stop();
    }

    // Shrinking: the tenant deletes its dataset; maintenance drops the index nobody searches.
    await withTenant(handle.db, organizationId, (tx) => deleteDataset(tx, dataset.id));
    const { dropped } = await maintainTenantIndexes(handle, { spaceId: space.id, ...watchOptions });
    console.log('after deleting the dataset, maintenance dropped:', dropped);
    expect(dropped).toEqual([own]);
    expect(await maintainTenantIndexes(handle, { spaceId: space.id, ...watchOptions })).toEqual({
      built: [],
      dropped: [],
      capped: 0,
      busy: false,
    });
  });
});
