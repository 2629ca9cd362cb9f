import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReembeddingError, TenantScopeError } from '../src/base/errors.ts';
import { createDb, rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createBrand, createBrandVoice, findSimilarBrandVoices } from '../src/domains/brands.ts';
import { appendMessage, createConversation, findSimilarMessages } from '../src/domains/chat.ts';
import { createLocalEmbedder } from '../src/rag/embedder.ts';
import { registerEmbeddingSpace, tenantIndexName } from '../src/rag/embedding-spaces.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { explainSearchChunks, searchChunks } from '../src/rag/search.ts';
import { tenantIndexRoom } from '../src/rag/tenant-indexes.ts';
import { reembedMany } from '../src/reembedding/reembed-many.ts';
import { getReembedding, startReembedding } from '../src/reembedding/reembedding.ts';
import { nextRows } from '../src/reembedding/reembedding-batch.ts';
import { loadMove } from '../src/reembedding/reembedding-moves.ts';
import { compareSpaces } from '../src/reembedding/reembedding-overlap.ts';
import { type ReembedEmbedder, reembed } from '../src/reembedding/reembedding-run.ts';
import {
  dropOldVectors,
  rollbackReembedding,
  switchReembedding,
} from '../src/reembedding/reembedding-switch.ts';
import type { EmbeddingSpace } from '../src/schema/index.ts';
import { localEmbedder, NEXT_LOCAL_EMBEDDING_SPACE } from '../src/seed/brand.ts';
import { onServer, useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { nodesOf, planOf } from './support/plans.ts';
import { type CorpusTenant, loadCorpus, localSpace, queryTexts, rng } from './support/rag.ts';

const database = useTestDatabase();

// Chunks of the dataset that moves; PGlite is slower, so fewer there.
const CHUNKS = onServer ? 800 : 300;
const BATCH = 40;

let oldSpace: EmbeddingSpace;
let newSpace: EmbeddingSpace;
let tenant: CorpusTenant;
let other: CorpusTenant;
const newEmbedder = createLocalEmbedder(NEXT_LOCAL_EMBEDDING_SPACE.dimensions);

beforeAll(async () => {
  const { db } = database.current;
  oldSpace = await localSpace(db);
  newSpace = await registerEmbeddingSpace(db, NEXT_LOCAL_EMBEDDING_SPACE);
  [tenant, other] = (await loadCorpus(db, oldSpace.id, [
    { slug: 'moving', datasets: [CHUNKS, 200] },
    { slug: 'staying', datasets: [200] },
  ])) as [CorpusTenant, CorpusTenant];
});

const org = () => tenant.organizationId;

/** A tenant's index of the new space on chunk_embeddings: none, or one row saying whether it is valid. */
const newSpaceIndex = async (organizationId: string) =>
  rowsOf<{ valid: boolean }>(
    await database.current.db.execute(
      sql`select indisvalid as valid from pg_index
          where indexrelid = to_regclass(${`public.${tenantIndexName('chunk_embeddings', newSpace.id, organizationId)}`})`,
    ),
  );
const dataset = () => tenant.datasets[0]?.id ?? '';
const queries = queryTexts(6, 501);

/** Top-5 of each query in a space, restricted to the moving dataset: ids and distances. */
async function searchAll(space: EmbeddingSpace, embedder = localEmbedder) {
  return withTenant(database.current.db, org(), async (tx) => {
    const out: { id: string; distance: number | null }[][] = [];
    for (const text of queries) {
      const { hits } = await searchChunks(tx, {
        spaceId: space.id,
        text,
        embedder,
        k: 5,
        datasetIds: [dataset()],
        strategy: 'exact',
      });
      out.push(hits.map((hit) => ({ id: hit.id, distance: hit.distance })));
    }
    return out;
  });
}

/** Counts the texts it embeds; fails at the calls it is told to, as a crash mid-batch would. */
function faultyEmbedder(failAt: Set<number>): ReembedEmbedder & { texts: string[]; calls: number } {
  const state = {
    ...newEmbedder,
    texts: [] as string[],
    calls: 0,
    async embedMany(texts: string[]) {
      state.calls++;
      if (failAt.has(state.calls)) throw new Error(`embedder down (call ${state.calls})`);
      state.texts.push(...texts);
      return newEmbedder.embedMany(texts);
    },
  };
  return state;
}

const sideRows = async (space: string) =>
  rowsOf<{ n: number; ids: number; stale: number }>(
    await database.current.db.execute(sql`
      select count(*)::int as n, count(distinct e.id)::int as ids,
             count(*) filter (where e.content_hash <> c.content_hash)::int as stale
      from chunk_embeddings e join chunks c on c.organization_id = e.organization_id and c.id = e.id
      where e.organization_id = ${org()} and e.dataset_id = ${dataset()} and e.embedding_space_id = ${space}`),
  )[0];

describe('re-embedding a dataset', () => {
  it('killed at random points, resumes to completion with every chunk embedded once; reads stay on the old space; chunks ingested meanwhile land in both', async () => {
    const handle = database.current;
    const before = await searchAll(oldSpace);
    const move = await withTenant(handle.db, org(), (tx) =>
      startReembedding(tx, { datasetId: dataset(), toSpaceId: newSpace.id }),
    );
    const again = await withTenant(handle.db, org(), (tx) =>
      startReembedding(tx, { datasetId: dataset(), toSpaceId: newSpace.id }),
    );
    expect(again.id).toBe(move.id);
    expect(move).toMatchObject({ state: 'embedding', total: CHUNKS, remaining: CHUNKS, embeddedRows: 0 });

    // Kills: the embedder failing inside a batch (nothing of it committed), and the caller stopped
    // right after a batch committed (onProgress throwing), at seeded random points.
    const random = rng(23);
    const batches = Math.ceil(CHUNKS / BATCH);
    const failAt = new Set(Array.from({ length: 4 }, () => 2 + Math.floor(random() * batches)));
    const embedder = faultyEmbedder(failAt);
    let kills = 0;
    let stopAfter = 1 + Math.floor(random() * 5);
    let ingestedMidway = false;
    for (let attempt = 0; attempt < 40; attempt++) {
      let seen = 0;
      try {
        await reembed(handle, {
          organizationId: org(),
          migrationId: move.id,
          embedder,
          batchSize: BATCH,
          onProgress: () => {
            if (++seen === stopAfter) throw new Error('killed after a committed batch');
          },
        });
        break;
      } catch (error) {
        kills++;
        if (error instanceof ReembeddingError)
          expect(error).toMatchObject({ kind: 'embedder_failed', retryable: true });
        stopAfter = 1 + Math.floor(random() * 5);
      }
      // Midway: reads still answer from the old space, exactly as before the move started.
      if (!ingestedMidway) {
        ingestedMidway = true;
        expect(await searchAll(oldSpace)).toEqual(before);
        await withTenant(handle.db, org(), (tx) =>
          ingestDocument(tx, {
            datasetId: dataset(),
            document: { title: 'Added midway', sourceUri: 'https://moving.example/midway' },
            chunks: [
              { content: 'zephyr quartz lantern harbor midway added chunk' },
              { content: 'obsidian marmalade tandem glacier second midway chunk' },
            ],
            embedder: localEmbedder,
          }),
        );
        const found = await withTenant(handle.db, org(), (tx) =>
          searchChunks(tx, {
            spaceId: oldSpace.id,
            text: 'zephyr quartz lantern harbor',
            embedder: localEmbedder,
            k: 1,
          }),
        );
        expect(found.hits[0]?.content).toContain('zephyr quartz lantern');
      }
    }
    const total = CHUNKS + 2;
    const done = await withTenant(handle.db, org(), (tx) => getReembedding(tx, move.id));
    console.log(
      `re-embedding: ${total} chunks, ${kills} kills, ${embedder.calls} embedder calls, ${embedder.texts.length} texts embedded, ${done.embeddedRows} written, ${done.embeddedTokens} tokens`,
    );
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(done).toMatchObject({
      state: 'embedding',
      total,
      remaining: 0,
      embeddedRows: total,
      lastError: null,
    });
    expect(await sideRows(newSpace.id)).toEqual({ n: total, ids: total, stale: 0 });
    // Every text the embedder returned was committed: no chunk embedded twice.
    expect(new Set(embedder.texts).size).toBe(embedder.texts.length);
    expect(embedder.texts.length).toBe(total);
    const [{ tokens } = { tokens: 0 }] = rowsOf<{ tokens: number }>(
      await handle.db.execute(
        sql`select sum(token_count)::int as tokens from chunks where organization_id = ${org()} and dataset_id = ${dataset()}`,
      ),
    );
    expect(done.embeddedTokens).toBe(tokens);
  });

  it('checks the overlap, switches in one statement, searches the new space; rollback restores the old results', async () => {
    const handle = database.current;
    const move = await withTenant(handle.db, org(), (tx) =>
      startReembedding(tx, { datasetId: dataset(), toSpaceId: newSpace.id }),
    );
    const oldResults = await searchAll(oldSpace);
    const report = await withTenant(handle.db, org(), (tx) =>
      compareSpaces(tx, {
        migrationId: move.id,
        queries,
        oldEmbedder: localEmbedder,
        newEmbedder,
        k: 10,
      }),
    );
    console.log(
      `overlap of the top-10 in both spaces over ${report.queries} queries: ${report.overlap.toFixed(2)}`,
    );
    expect(report.overlap).toBeGreaterThan(0.3);

    // A chunk changed after it was embedded must be embedded again before the switch.
    await withTenant(handle.db, org(), (tx) =>
      ingestDocument(tx, {
        datasetId: dataset(),
        document: { title: 'Added midway', sourceUri: 'https://moving.example/midway' },
        chunks: [
          { content: 'zephyr quartz lantern harbor midway added chunk' },
          { content: 'obsidian marmalade tandem glacier changed before the switch' },
        ],
        embedder: localEmbedder,
      }),
    );
    const early = await withTenant(handle.db, org(), (tx) => switchReembedding(tx, move.id)).catch((e) => e);
    expect(early).toBeInstanceOf(ReembeddingError);
    expect(early).toMatchObject({ kind: 'not_ready', retryable: true });
    expect(String(early.message)).toContain('1 rows');
    await reembed(handle, { organizationId: org(), migrationId: move.id, embedder: newEmbedder });

    const switched = await withTenant(handle.db, org(), (tx) => switchReembedding(tx, move.id));
    expect(switched.state).toBe('switched');
    const [{ space } = { space: '' }] = rowsOf<{ space: string }>(
      await handle.db.execute(sql`select embedding_space_id as space from datasets where id = ${dataset()}`),
    );
    expect(space).toBe(newSpace.id);

    // The new space from the next query: a chunk's own text finds it first, in the new space's distances.
    const changed = await withTenant(handle.db, org(), (tx) =>
      searchChunks(tx, {
        spaceId: newSpace.id,
        text: 'obsidian marmalade tandem glacier changed before the switch',
        embedder: newEmbedder,
        k: 3,
      }),
    );
    expect(changed.hits[0]?.content).toBe('obsidian marmalade tandem glacier changed before the switch');
    expect(changed.hits[0]?.distance).toBeLessThan(0.01);
    const newResults = await searchAll(newSpace, newEmbedder);
    expect(newResults).not.toEqual(oldResults);
    if (onServer) {
      // The search statements each search sends, seen through a handle of their own: a tenant's
      // vectors in chunk_embeddings are read with its chunks (after one look, for a tenant not yet
      // known to have them); a tenant without any reads chunks alone, in one statement.
      const sent: string[] = [];
      const watching = createDb({ url: handle.url, max: 2, onStatement: (text) => sent.push(text) });
      const searches: { statements: number; readsMoved: boolean; hits: number }[] = [];
      try {
        const cases: [string, EmbeddingSpace, typeof localEmbedder][] = [
          [org(), newSpace, newEmbedder],
          [org(), newSpace, newEmbedder],
          [other.organizationId, oldSpace, localEmbedder],
        ];
        for (const [organizationId, space, embedder] of cases) {
          sent.length = 0;
          const { hits } = await withTenant(watching.db, organizationId, (tx) =>
            searchChunks(tx, { spaceId: space.id, text: queries[1] ?? '', embedder, k: 5 }),
          );
          const statements = sent.filter((text) => text.includes('nearest as materialized'));
          searches.push({
            statements: statements.length,
            readsMoved: statements.at(-1)?.includes('also_counted') ?? false,
            hits: hits.length,
          });
        }
      } finally {
        await watching.close();
      }
      console.log('search statements after the switch, and of a tenant without moved vectors:', searches);
      expect(searches[0]?.statements).toBeLessThanOrEqual(2);
      expect(searches[0]).toMatchObject({ readsMoved: true, hits: 5 });
      expect(searches[1]).toEqual({ statements: 1, readsMoved: true, hits: 5 });
      expect(searches[2]).toEqual({ statements: 1, readsMoved: false, hits: 5 });
    }
    // The dataset is no longer read in the old space; the tenant's other dataset still is.
    const refused = await withTenant(handle.db, org(), (tx) =>
      searchChunks(tx, {
        spaceId: oldSpace.id,
        text: queries[0] ?? '',
        embedder: localEmbedder,
        datasetIds: [dataset()],
      }),
    ).catch((e) => e);
    expect(String(refused.message)).toContain(`embedded in space ${newSpace.id}`);
    const oldSide = await withTenant(handle.db, org(), (tx) =>
      searchChunks(tx, { spaceId: oldSpace.id, text: queries[0] ?? '', embedder: localEmbedder, k: 20 }),
    );
    expect(oldSide.hits.every((hit) => hit.datasetId === tenant.datasets[1]?.id)).toBe(true);
    // Other tenants see none of it.
    const otherHits = await withTenant(handle.db, other.organizationId, (tx) =>
      searchChunks(tx, { spaceId: newSpace.id, text: queries[0] ?? '', embedder: newEmbedder }),
    );
    expect(otherHits.hits).toEqual([]);

    const rolledBack = await withTenant(handle.db, org(), (tx) => rollbackReembedding(tx, move.id));
    expect(rolledBack).toMatchObject({ state: 'rolled_back', missingInOldSpace: 0 });
    expect(await searchAll(oldSpace)).toEqual(oldResults);
    expect(await sideRows(newSpace.id)).toEqual({ n: 0, ids: 0, stale: 0 });
  });

  it('after a switch, new chunks are searchable in the new space through the tenant index, and dropping the old vectors ends rollbacks', async () => {
    const handle = database.current;
    const move = await withTenant(handle.db, org(), (tx) =>
      startReembedding(tx, { datasetId: dataset(), toSpaceId: newSpace.id }),
    );
    expect(move.embeddedRows).toBe(0);
    // A tenant index from 100 rows: the move builds the tenant's own index of the new space once, at the end.
    await reembed(handle, {
      organizationId: org(),
      migrationId: move.id,
      embedder: newEmbedder,
      batchSize: 500,
      tenantIndexMinRows: 100,
    });
    expect(await newSpaceIndex(org())).toEqual([{ valid: true }]);
    await withTenant(handle.db, org(), (tx) => switchReembedding(tx, move.id));

    // The database refuses a vector outside the dataset's spaces: with the move switched, the old
    // space and the new one are the dataset's; a third is refused, in chunks and beside them.
    const third = await registerEmbeddingSpace(handle.db, { ...NEXT_LOCAL_EMBEDDING_SPACE, dimensions: 32 });
    const someChunk = () =>
      sql`(select id from chunks where organization_id = ${org()} and dataset_id = ${dataset()} order by id limit 1)`;
    const thirdVector = sql.raw(`'[${createLocalEmbedder(32).embed('outside').join(',')}]'::halfvec`);
    const inChunks = await failure(
      withTenant(handle.db, org(), (tx) =>
        tx.execute(sql`update chunks set embedding_space_id = ${third.id}, embedding_dimensions = 32, embedding = ${thirdVector}
          where organization_id = ${org()} and id = ${someChunk()}`),
      ),
    );
    console.log('a chunk in a third space:', inChunks.message);
    expect(inChunks.constraint).toBe('chunks_dataset_space_fkey');
    const beside = await failure(
      withTenant(handle.db, org(), (tx) =>
        tx.execute(sql`insert into chunk_embeddings (organization_id, id, dataset_id, content_hash, embedding_space_id, embedding_dimensions, embedding)
          select organization_id, id, dataset_id, content_hash, ${third.id}, 32, ${thirdVector}
          from chunks where organization_id = ${org()} and id = ${someChunk()}`),
      ),
    );
    expect(beside.constraint).toBe('chunk_embeddings_dataset_space_fkey');
    const oldIngest = await withTenant(handle.db, org(), (tx) =>
      ingestDocument(tx, {
        datasetId: dataset(),
        document: { title: 'Late', sourceUri: 'https://moving.example/late' },
        chunks: [{ content: 'late arrival written with the old model' }],
        embedder: localEmbedder,
      }),
    ).catch((e) => e);
    expect(String(oldIngest.message)).toContain('does not produce vectors of embedding space');
    await withTenant(handle.db, org(), async (tx) => {
      await ingestDocument(tx, {
        datasetId: dataset(),
        document: { title: 'Late', sourceUri: 'https://moving.example/late' },
        chunks: [{ content: 'velvet compass orchard late arrival after the switch' }],
        embedder: newEmbedder,
      });
      // A chunk changed after the switch: its own row now holds the new space's vector, once.
      await ingestDocument(tx, {
        datasetId: dataset(),
        document: { title: 'Added midway', sourceUri: 'https://moving.example/midway' },
        chunks: [
          { content: 'zephyr quartz lantern harbor midway added chunk' },
          { content: 'obsidian marmalade tandem glacier changed after the switch' },
        ],
        embedder: newEmbedder,
      });
    });
    const search = (text: string) =>
      withTenant(handle.db, org(), (tx) =>
        searchChunks(tx, {
          spaceId: newSpace.id,
          text,
          embedder: newEmbedder,
          k: 5,
          datasetIds: [dataset()],
        }),
      );
    const late = await search('velvet compass orchard late arrival after the switch');
    expect(late.hits[0]?.content).toBe('velvet compass orchard late arrival after the switch');
    // Past the exact threshold, the re-embedded vectors are searched through the tenant's own index
    // of the new space, beside the chunks written after the switch, in the search's one statement.
    const indexed = await withTenant(handle.db, org(), (tx) =>
      searchChunks(tx, {
        spaceId: newSpace.id,
        text: 'velvet compass orchard late arrival after the switch',
        embedder: newEmbedder,
        k: 5,
        datasetIds: [dataset()],
        exactThreshold: 100,
      }),
    );
    console.log(
      `after the switch: ${indexed.strategy} on the ${indexed.index} index over ${indexed.candidates} candidates`,
    );
    expect(indexed).toMatchObject({ strategy: 'hnsw', index: 'tenant', tenantIndexPending: false });
    expect(indexed.hits.map((hit) => hit.id)).toEqual(late.hits.map((hit) => hit.id));
    // Its explained plan reads both tables: the new space's own index of chunk_embeddings among them.
    const explained = await withTenant(handle.db, org(), (tx) =>
      explainSearchChunks(tx, {
        spaceId: newSpace.id,
        text: 'velvet compass orchard',
        embedder: newEmbedder,
        k: 5,
        datasetIds: [dataset()],
        exactThreshold: 100,
      }),
    );
    expect(explained.strategy).toBe('hnsw');
    expect(explained.plan).toContain(
      `Index Scan using ${tenantIndexName('chunk_embeddings', newSpace.id, org())}`,
    );
    expect(explained.plan).toMatch(/on chunks\b/);
    const changed = await search('obsidian marmalade tandem glacier changed after the switch');
    expect(changed.hits[0]?.content).toBe('obsidian marmalade tandem glacier changed after the switch');
    expect(new Set(changed.hits.map((hit) => hit.id)).size).toBe(changed.hits.length);

    const { removed } = await dropOldVectors(handle, {
      organizationId: org(),
      migrationId: move.id,
      batchSize: 100,
    });
    expect(removed).toBe(CHUNKS + 1);
    // The old space is no longer the dataset's: a vector written there is refused.
    const oldVector = sql.raw(`'[${localEmbedder.embed('old model').join(',')}]'::halfvec`);
    const dropped = await failure(
      withTenant(handle.db, org(), (tx) =>
        tx.execute(sql`update chunks set embedding_space_id = ${oldSpace.id}, embedding_dimensions = ${oldSpace.dimensions}, embedding = ${oldVector}
          where organization_id = ${org()} and id = ${someChunk()}`),
      ),
    );
    expect(dropped.constraint).toBe('chunks_dataset_space_fkey');
    const after = await search('velvet compass orchard late arrival after the switch');
    expect(after.hits.map((hit) => hit.id)).toEqual(late.hits.map((hit) => hit.id));
    const refused = await withTenant(handle.db, org(), (tx) => rollbackReembedding(tx, move.id)).catch(
      (e) => e,
    );
    expect(refused).toMatchObject({ kind: 'wrong_state' });
  });

  it('typed errors: a dimension mismatch, another move of the same dataset, a dataset deleted midway', async () => {
    const handle = database.current;
    const target = tenant.datasets[1]?.id ?? '';
    const move = await withTenant(handle.db, org(), (tx) =>
      startReembedding(tx, { datasetId: target, toSpaceId: newSpace.id }),
    );
    const mismatch = await reembed(handle, {
      organizationId: org(),
      migrationId: move.id,
      embedder: createLocalEmbedder(64),
    }).catch((e) => e);
    expect(mismatch).toMatchObject({ kind: 'dimension_mismatch', retryable: false });
    const lying: ReembedEmbedder = { dimensions: 128, embedMany: (texts) => texts.map(() => [1, 0, 0]) };
    const short = await reembed(handle, {
      organizationId: org(),
      migrationId: move.id,
      embedder: lying,
    }).catch((e) => e);
    expect(short).toMatchObject({ kind: 'dimension_mismatch' });
    expect((await withTenant(handle.db, org(), (tx) => getReembedding(tx, move.id))).embeddedRows).toBe(0);

    const third = await registerEmbeddingSpace(handle.db, { ...NEXT_LOCAL_EMBEDDING_SPACE, dimensions: 96 });
    const elsewhere = await withTenant(handle.db, org(), (tx) =>
      startReembedding(tx, { datasetId: target, toSpaceId: third.id }),
    ).catch((e) => e);
    expect(elsewhere).toMatchObject({ kind: 'wrong_state', reembeddingId: move.id });

    // Deleted between two batches, while the move runs.
    const gone = await reembed(handle, {
      organizationId: org(),
      migrationId: move.id,
      embedder: newEmbedder,
      batchSize: 50,
      onProgress: async () => {
        await withTenant(handle.db, org(), (tx) =>
          tx.execute(
            sql`update datasets set deleted_at = now() where organization_id = ${org()} and id = ${target}`,
          ),
        );
      },
    }).catch((e) => e);
    expect(gone).toMatchObject({ kind: 'target_deleted', retryable: false });
    const noSwitch = await withTenant(handle.db, org(), (tx) => switchReembedding(tx, move.id)).catch(
      (e) => e,
    );
    expect(noSwitch).toMatchObject({ kind: 'target_deleted' });
  });
});

describe('re-embedding called inside a scope', () => {
  it('runs on a server; on the embedded database, which a scope holds, it is refused at once, typed, with nothing written, and runs once called outside', async () => {
    const handle = database.current;
    const staying = other.organizationId;
    const move = await withTenant(handle.db, staying, (tx) =>
      startReembedding(tx, { datasetId: other.datasets[0]?.id ?? '', toSpaceId: newSpace.id }),
    );
    const run = () =>
      reembed(handle, {
        organizationId: staying,
        migrationId: move.id,
        embedder: newEmbedder,
        batchSize: 100,
      });
    const nested = await withTenant(handle.db, staying, () => run()).catch((error: unknown) => error);
    const written = async () =>
      (await withTenant(handle.db, staying, (tx) => getReembedding(tx, move.id))).embeddedRows;
    if (onServer) {
      expect(nested).toMatchObject({ remaining: 0, embeddedRows: 200 });
    } else {
      expect(nested).toBeInstanceOf(TenantScopeError);
      expect((nested as Error).message).toMatch(/from inside one of its transactions/);
      expect(await written()).toBe(0);
      expect(await run()).toMatchObject({ remaining: 0, embeddedRows: 200 });
    }
    expect(await written()).toBe(200);
  });
});

describe("re-embedding a brand's voices and a tenant's messages", () => {
  it('moves them, switches in one statement, rolls back', async () => {
    const { db } = database.current;
    const organizationId = other.organizationId;
    const brandId = await withTenant(db, organizationId, async (tx) => {
      const brand = await createBrand(tx, { slug: 'moving-brand', name: 'Moving brand' });
      for (const [name, tone] of [
        ['Playful', 'cheeky bright fun'],
        ['Formal', 'precise measured formal'],
        ['Calm', 'quiet gentle calm'],
      ] as const)
        await createBrandVoice(tx, {
          brandId: brand.id,
          name,
          promptTemplate: `Write as ${name}.`,
          styleRules: {
            tone: tone.split(' '),
            do: [],
            dont: [],
            preferredVocabulary: [],
            bannedVocabulary: [],
          },
          embed: { spaceId: oldSpace.id, embedder: localEmbedder },
        });
      const conversation = await createConversation(tx, { kind: 'chat', title: 'Moving' });
      for (const text of ['where is my order', 'refund the blue shoes', 'change my delivery address'])
        await appendMessage(tx, {
          conversationId: conversation.id,
          role: 'user',
          content: [{ type: 'text', text }],
          embedding: { spaceId: oldSpace.id, vector: localEmbedder.embed(text) },
        });
      return brand.id;
    });
    const voicesIn = (space: EmbeddingSpace, embedder: typeof localEmbedder) =>
      withTenant(db, organizationId, (tx) =>
        findSimilarBrandVoices(tx, { spaceId: space.id, text: 'quiet gentle calm', embedder, brandId }),
      );
    const messagesIn = (space: EmbeddingSpace, embedder: typeof localEmbedder) =>
      withTenant(db, organizationId, (tx) =>
        findSimilarMessages(tx, { spaceId: space.id, vector: embedder.embed('refund the blue shoes') }),
      );
    expect((await voicesIn(oldSpace, localEmbedder))[0]?.voice.name).toBe('Calm');
    const moves = await withTenant(db, organizationId, async (tx) => [
      await startReembedding(tx, { brandId, fromSpaceId: oldSpace.id, toSpaceId: newSpace.id }),
      await startReembedding(tx, { messages: true, fromSpaceId: oldSpace.id, toSpaceId: newSpace.id }),
    ]);
    expect(moves.map((m) => [m.target, m.total])).toEqual([
      ['brand_voices', 3],
      ['messages', 3],
    ]);
    for (const move of moves)
      await reembed(database.current, { organizationId, migrationId: move.id, embedder: newEmbedder });
    // Reads stay on the old space until the switch.
    expect(await voicesIn(newSpace, newEmbedder)).toEqual([]);
    for (const move of moves) await withTenant(db, organizationId, (tx) => switchReembedding(tx, move.id));
    expect((await voicesIn(newSpace, newEmbedder))[0]?.voice.name).toBe('Calm');
    expect(await voicesIn(oldSpace, localEmbedder)).toEqual([]);
    expect((await messagesIn(newSpace, newEmbedder))[0]?.text).toBe('refund the blue shoes');
    expect(await messagesIn(oldSpace, localEmbedder)).toEqual([]);
    for (const move of moves) await withTenant(db, organizationId, (tx) => rollbackReembedding(tx, move.id));
    expect((await voicesIn(oldSpace, localEmbedder))[0]?.voice.name).toBe('Calm');
    expect((await messagesIn(oldSpace, localEmbedder))[0]?.distance).toBeLessThan(0.01);
    expect(await voicesIn(newSpace, newEmbedder)).toEqual([]);
  });
});

describe('re-embedding many moves', () => {
  it('embeds every move two at a time, builds each tenant index of the new space once its moves are done, and analyzes the table once', async () => {
    const handle = database.current;
    const tenants = await loadCorpus(handle.db, oldSpace.id, [
      { slug: 'many', datasets: [150, 120] },
      { slug: 'many-too', datasets: [110] },
    ]);
    const moves: { organizationId: string; migrationId: string }[] = [];
    for (const tenant of tenants)
      await withTenant(handle.db, tenant.organizationId, async (tx) => {
        for (const d of tenant.datasets)
          moves.push({
            organizationId: tenant.organizationId,
            migrationId: (await startReembedding(tx, { datasetId: d.id, toSpaceId: newSpace.id })).id,
          });
      });
    // Manual analyzes of chunk_embeddings (autovacuum's are counted apart).
    const analyzed = async () =>
      rowsOf<{ n: number }>(
        await handle.db.execute(
          sql`select analyze_count::int as n from pg_stat_user_tables where relid = 'public.chunk_embeddings'::regclass`,
        ),
      )[0]?.n;
    const analyzedBefore = await analyzed();
    const seen: string[] = [];
    const done = await reembedMany(handle, {
      moves,
      embedder: newEmbedder,
      batchSize: 50,
      tenantIndexMinRows: 100,
      onMoved: (move) => {
        seen.push(move.id);
      },
    });
    expect(done.map((move) => move.remaining)).toEqual([0, 0, 0]);
    expect(done.map((move) => move.embeddedRows).sort()).toEqual([110, 120, 150]);
    expect(seen.sort()).toEqual(moves.map((move) => move.migrationId).sort());
    for (const tenant of tenants)
      expect(await newSpaceIndex(tenant.organizationId), tenant.organizationId).toEqual([{ valid: true }]);
    // Two builds, one analyze at the end: a build's own analyze reads the whole table each time.
    expect((await analyzed()) ?? 0).toBe((analyzedBefore ?? 0) + 1);
  });

  it('gives the largest tenants the indexes the cap leaves room for, whatever order the moves come in, and moves them first, the largest first', async () => {
    const handle = database.current;
    const plan = [
      { slug: 'capped-110', datasets: [110] },
      { slug: 'capped-120', datasets: [120] },
      { slug: 'capped-150', datasets: [90, 60] },
      { slug: 'capped-30', datasets: [30] },
    ];
    const tenants = (await loadCorpus(handle.db, oldSpace.id, plan)).map((tenant, i) => ({
      ...tenant,
      slug: plan[i]?.slug ?? '',
    }));
    const moves: { organizationId: string; migrationId: string }[] = [];
    const tenantOf = new Map<string, string>();
    for (const tenant of tenants)
      await withTenant(handle.db, tenant.organizationId, async (tx) => {
        for (const d of tenant.datasets) {
          const move = await startReembedding(tx, { datasetId: d.id, toSpaceId: newSpace.id });
          moves.push({ organizationId: tenant.organizationId, migrationId: move.id });
          tenantOf.set(move.id, tenant.slug);
        }
      });
    // Room for two more tenant indexes on chunk_embeddings, beside those other tests left.
    const held = 1000 - (await tenantIndexRoom(handle, 'chunk_embeddings', { maxIndexes: 1000 }));
    const order: string[] = [];
    await reembedMany(handle, {
      moves,
      embedder: newEmbedder,
      concurrency: 1,
      batchSize: 50,
      tenantIndexMinRows: 100,
      maxTenantIndexes: held + 2,
      onMoved: (move) => {
        order.push(tenantOf.get(move.id) ?? move.id);
      },
    });
    const indexed: Record<string, boolean> = {};
    for (const tenant of tenants)
      indexed[tenant.slug] = (await newSpaceIndex(tenant.organizationId))[0]?.valid === true;
    // Given smallest first, built in that order, the cap went to 110 and 120 and left 150 searched exactly.
    expect(indexed).toEqual({
      'capped-110': false,
      'capped-120': true,
      'capped-150': true,
      'capped-30': false,
    });
    expect(order).toEqual(['capped-150', 'capped-150', 'capped-120', 'capped-110', 'capped-30']);
  });

  it('refuses a bad threshold or cap before any move embeds', async () => {
    const handle = database.current;
    const [few] = (await loadCorpus(handle.db, oldSpace.id, [{ slug: 'few', datasets: [30] }])) as [
      CorpusTenant,
    ];
    const move = await withTenant(handle.db, few.organizationId, (tx) =>
      startReembedding(tx, { datasetId: few.datasets[0]?.id ?? '', toSpaceId: newSpace.id }),
    );
    for (const tenantIndexMinRows of [0, 1.5]) {
      const error = await failure(
        reembedMany(handle, {
          moves: [{ organizationId: few.organizationId, migrationId: move.id }],
          embedder: newEmbedder,
          tenantIndexMinRows,
        }),
      );
      expect(error.message).toContain(
        `tenantIndexMinRows must be an integer >= 1, got ${tenantIndexMinRows}`,
      );
    }
    for (const maxTenantIndexes of [-1, 2.5]) {
      const error = await failure(
        reembedMany(handle, {
          moves: [{ organizationId: few.organizationId, migrationId: move.id }],
          embedder: newEmbedder,
          maxTenantIndexes,
        }),
      );
      expect(error.message).toContain(`maxTenantIndexes must be an integer >= 0, got ${maxTenantIndexes}`);
    }
    const after = await withTenant(handle.db, few.organizationId, (tx) => getReembedding(tx, move.id));
    expect([after.embeddedRows, after.remaining]).toEqual([0, 30]);
  });

  it('gives a tenant its index once its rows in the new space pass the threshold across calls, and none before', async () => {
    const handle = database.current;
    const [split] = (await loadCorpus(handle.db, oldSpace.id, [{ slug: 'split', datasets: [80, 60] }])) as [
      CorpusTenant,
    ];
    const indexed = () => newSpaceIndex(split.organizationId);
    const moveOne = async (datasetId: string) => {
      const move = await withTenant(handle.db, split.organizationId, (tx) =>
        startReembedding(tx, { datasetId, toSpaceId: newSpace.id }),
      );
      return reembedMany(handle, {
        moves: [{ organizationId: split.organizationId, migrationId: move.id }],
        embedder: newEmbedder,
        tenantIndexMinRows: 100,
      });
    };
    const [first, second] = split.datasets;
    // 80 rows: under the threshold, searched exactly.
    expect((await moveOne(first?.id ?? '')).map((move) => move.embeddedRows)).toEqual([80]);
    expect(await indexed()).toEqual([]);
    // 60 more in another call: this call's moves alone are under it, the tenant's 140 rows are not.
    expect((await moveOne(second?.id ?? '')).map((move) => move.embeddedRows)).toEqual([60]);
    expect(await indexed()).toEqual([{ valid: true }]);
  });
});

describe('re-embedding a large dataset', () => {
  it('reads one batch of chunks per batch wherever its cursor stands, each checked by one primary-key probe', async () => {
    const handle = database.current;
    const { db } = handle;
    const [walk] = (await loadCorpus(db, oldSpace.id, [{ slug: 'walk', datasets: [1200, 300] }])) as [
      CorpusTenant,
    ];
    const [large, small] = walk.datasets.map((d) => d.id);
    // The chunks' statistics current; a space those of chunk_embeddings may not have seen yet,
    // holding the small dataset's 300 vectors.
    await db.execute(sql`analyze chunks`);
    const dimensions = NEXT_LOCAL_EMBEDDING_SPACE.dimensions;
    const walkSpace = await registerEmbeddingSpace(db, { provider: 'walk', model: 'walk-v1', dimensions });
    const walkEmbedder = { ...createLocalEmbedder(dimensions), provider: 'walk', model: 'walk-v1' };
    await db.execute(sql`analyze chunk_embeddings`);
    const first = await withTenant(db, walk.organizationId, (tx) =>
      startReembedding(tx, { datasetId: small ?? '', toSpaceId: walkSpace.id }),
    );
    await reembed(handle, {
      organizationId: walk.organizationId,
      migrationId: first.id,
      embedder: walkEmbedder,
      index: 'incremental',
    });
    const plan = await withTenant(db, walk.organizationId, async (tx) => {
      const { id } = await startReembedding(tx, { datasetId: large ?? '', toSpaceId: walkSpace.id });
      const ids = rowsOf<{ id: string }>(
        await tx.execute(
          sql`select id from chunks where organization_id = ${walk.organizationId} and dataset_id = ${large} order by id`,
        ),
      ).map((row) => row.id);
      // A tenth into the dataset: 1,100 rows after the cursor, a batch of 50 taken.
      const m = { ...(await loadMove(tx, id)), cursor: ids[99] ?? null };
      const [row] = rowsOf<{ 'QUERY PLAN': unknown }>(
        await tx.execute(
          sql`explain (analyze, buffers, format json) ${nextRows(m, sql`x.id > ${m.cursor}::uuid`, 50)}`,
        ),
      );
      return planOf(row);
    });
    const nodes = nodesOf(plan);
    const scans = (table: string) => nodes.filter((node) => node['Relation Name'] === table);
    const [chunkScan, ...moreChunkScans] = scans('chunks');
    const read = (chunkScan?.['Actual Rows'] ?? 0) + (chunkScan?.['Rows Removed by Filter'] ?? 0);
    // About one batch of chunks read, not the 1,100 after the cursor (each batch reading all of
    // them made a move of n chunks read n²/2)...
    expect(moreChunkScans).toEqual([]);
    expect(read).toBeGreaterThanOrEqual(50);
    expect(read).toBeLessThanOrEqual(100);
    // ...and each checked by one probe of the primary key, none reading the tenant's vectors of the space.
    expect(
      scans('chunk_embeddings').map((node) => [
        node['Index Name'],
        node['Actual Rows'],
        node['Actual Loops'],
      ]),
    ).toEqual([['chunk_embeddings_pkey', 0, read]]);
  });
});
