import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { deleteModelVersion } from '../src/domains/deletions.ts';
import { createDataset, deleteDataset } from '../src/rag/datasets.ts';
import { embedText } from '../src/rag/embedder.ts';
import {
  embeddingIndexName,
  ensureEmbeddingIndexes,
  registerEmbeddingSpace,
} from '../src/rag/embedding-spaces.ts';
import {
  chunks,
  datasets,
  documents,
  type EmbeddingSpace,
  inferenceEndpoints,
  modelVersions,
  trainingJobs,
} from '../src/schema/index.ts';
import {
  insertChunkSchema,
  insertInferenceEndpointSchema,
  insertTrainingJobSchema,
} from '../src/validators/rag.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { localSpace, makeTenant } from './support/rag.ts';

const database = useTestDatabase();
const hash = (text: string) => createHash('sha256').update(text).digest('hex');

let space: EmbeddingSpace;
let orgId: string;

beforeAll(async () => {
  space = await localSpace(database.current.db);
  orgId = await makeTenant(database.current.db, 'rag-tables');
});

describe('embedding spaces', () => {
  it('registers idempotently and indexes every embedding table found in the catalog', async () => {
    const { db } = database.current;
    const again = await registerEmbeddingSpace(db, {
      provider: 'neonhub-local',
      model: 'feature-hash-v1',
      dimensions: 256,
    });
    expect(again.id).toBe(space.id);
    const l2 = await registerEmbeddingSpace(db, {
      provider: 'test',
      model: 'l2',
      dimensions: 8,
      distance: 'l2',
    });
    const ip = await registerEmbeddingSpace(db, {
      provider: 'test',
      model: 'ip',
      dimensions: 3,
      distance: 'inner_product',
    });
    const indexes = rowsOf<{ indexname: string; indexdef: string }>(
      await db.execute(
        sql`select indexname, indexdef from pg_indexes where schemaname = 'public' and indexname like '%_hnsw_idx'`,
      ),
    );
    console.log(`${indexes.length} per-space HNSW indexes:`, indexes.map((i) => i.indexname).join(', '));
    for (const [s, ops] of [
      [space, 'halfvec_cosine_ops'],
      [l2, 'halfvec_l2_ops'],
      [ip, 'halfvec_ip_ops'],
    ] as const) {
      for (const table of ['brand_voices', 'messages']) {
        const index = indexes.find((i) => i.indexname === embeddingIndexName(table, s.id));
        expect(index, `${table} index of ${s.model}`).toBeDefined();
        expect(index?.indexdef).toContain(`USING hnsw (((embedding)::halfvec(${s.dimensions})) ${ops})`);
        expect(index?.indexdef).toContain(
          `WHERE ((embedding_space_id = '${s.id}'::uuid) AND (embedding_dimensions = ${s.dimensions}))`,
        );
      }
      // Chunks are searched through each tenant's own index, never a shared one.
      expect(indexes.find((i) => i.indexname === embeddingIndexName('chunks', s.id))).toBeUndefined();
    }
    expect(await ensureEmbeddingIndexes(db)).toEqual([]);
  });

  it('indexes a table added later when its migration calls app_ensure_embedding_indexes()', async () => {
    const { db } = database.current;
    await db.execute(
      sql`create table later_notes (id uuid primary key, embedding_space_id uuid, embedding_dimensions int, embedding halfvec)`,
    );
    const created = await ensureEmbeddingIndexes(db);
    console.log('created for later_notes:', created);
    expect(created).toContain(embeddingIndexName('later_notes', space.id));
    expect(created.every((name) => name.startsWith('later_notes_'))).toBe(true);
    await db.execute(sql`drop table later_notes`);
  });

  it('refuses another distance for a registered space, bad dimensions, and tenants', async () => {
    const { db } = database.current;
    const mismatch = await failure(
      registerEmbeddingSpace(db, {
        provider: 'neonhub-local',
        model: 'feature-hash-v1',
        dimensions: 256,
        distance: 'l2',
      }),
    );
    expect(mismatch.message).toContain('registered with distance cosine, not l2');
    for (const dimensions of [0, 4001, 2.5]) {
      const error = await failure(registerEmbeddingSpace(db, { provider: 'x', model: 'y', dimensions }));
      expect(error.column).toBe('dimensions');
    }
    const denied = await failure(
      withTenant(db, orgId, (tx) => tx.execute(sql`select app_register_embedding_space('a', 'b', 4)`)),
    );
    expect(denied.kind).toBe('permission_denied');
  });
});

describe('rag tables', () => {
  async function fixture() {
    const { db } = database.current;
    return withTenant(db, orgId, async (tx) => {
      const dataset = await createDataset(tx, {
        slug: `ds-${Math.random().toString(36).slice(2, 8)}`,
        name: 'Docs',
        embeddingSpaceId: space.id,
      });
      const [document] = await tx
        .insert(documents)
        .values({ datasetId: dataset.id, title: 'Doc' })
        .returning();
      if (!document) throw new Error('no document');
      return { dataset, document };
    });
  }

  const chunk = (datasetId: string, documentId: string, content: string, ordinal = 0) => ({
    datasetId,
    documentId,
    ordinal,
    content,
    contentHash: hash(content),
    embeddingSpaceId: space.id,
    embeddingDimensions: space.dimensions,
    embedding: embedText(content, space.dimensions),
  });

  it('stores a chunk with its generated tsvector and refuses duplicates by (document, ordinal)', async () => {
    const { dataset, document } = await fixture();
    const { db } = database.current;
    await withTenant(db, orgId, async (tx) => {
      await tx.insert(chunks).values(chunk(dataset.id, document.id, 'Running shoes for spring'));
      const [row] = rowsOf<{ search_vector: string }>(
        await tx.execute(sql`select search_vector::text from chunks where document_id = ${document.id}`),
      );
      expect(row?.search_vector).toBe("'run':1 'shoe':2 'spring':4");
    });
    const duplicate = await failure(
      withTenant(db, orgId, (tx) => tx.insert(chunks).values(chunk(dataset.id, document.id, 'Other text'))),
    );
    expect(duplicate.constraint).toBe('chunks_organization_id_document_id_ordinal_key');
  });

  it('refuses vectors of the wrong length, unknown spaces, NaN, and chunks outside their dataset', async () => {
    const { dataset, document } = await fixture();
    const other = await fixture();
    const { db } = database.current;
    const attempt = (values: Record<string, unknown>) =>
      failure(
        withTenant(db, orgId, (tx) =>
          tx.insert(chunks).values({ ...chunk(dataset.id, document.id, 'text', 5), ...values }),
        ),
      );
    const short = await attempt({ embedding: [0.1, 0.2, 0.3] });
    expect(short.constraint).toBe('chunks_embedding_dimensions_check');
    const lying = await attempt({ embedding: [0.1, 0.2, 0.3], embeddingDimensions: 3 });
    expect(lying.constraint).toBe('chunks_embedding_space_fkey');
    const unknown = await attempt({ embeddingSpaceId: '0190aaaa-0000-7000-8000-000000000000' });
    // Both references name the space; PostgreSQL checks them in name order.
    expect(unknown.constraint).toMatch(/^chunks_(dataset|embedding)_space_fkey$/);
    const halfSet = await attempt({ embedding: null });
    expect(halfSet.constraint).toBe('chunks_embedding_dimensions_check');
    const nan = await attempt({
      embedding: Array.from({ length: 256 }, (_, i) => (i === 7 ? Number.NaN : 0.1)),
    });
    console.log('NaN refused by pgvector:', nan.message);
    expect(nan.message).toMatch(/NaN/i);
    const wrongDocument = await attempt({ documentId: other.document.id });
    expect(wrongDocument.constraint).toBe('chunks_document_fkey');

    const smallSpace = await registerEmbeddingSpace(db, { provider: 'test', model: 'tiny', dimensions: 4 });
    const wrongSpace = await attempt({
      embeddingSpaceId: smallSpace.id,
      embeddingDimensions: 4,
      embedding: [1, 0, 0, 0],
    });
    expect(wrongSpace.constraint).toBe('chunks_dataset_space_fkey');
    const count = await withTenant(db, orgId, (tx) =>
      tx.select().from(chunks).where(eq(chunks.documentId, document.id)),
    );
    expect(count).toHaveLength(0);
  });

  it('validators refuse what the database refuses', () => {
    const base = {
      datasetId: '0190aaaa-0000-7000-8000-000000000001',
      documentId: '0190aaaa-0000-7000-8000-000000000002',
      ordinal: 0,
      content: 'x',
      contentHash: hash('x'),
      embeddingSpaceId: space.id,
      embeddingDimensions: 3,
    };
    expect(insertChunkSchema.safeParse({ ...base, embedding: [0.1, 0.2, 0.3] }).success).toBe(true);
    expect(insertChunkSchema.safeParse({ ...base, embedding: [0.1, 0.2] }).success).toBe(false);
    expect(insertChunkSchema.safeParse({ ...base, embedding: [0.1, Number.NaN, 0.3] }).success).toBe(false);
    expect(insertChunkSchema.safeParse({ ...base, embedding: [0.1, Infinity, 0.3] }).success).toBe(false);
    expect(insertChunkSchema.safeParse({ ...base, embedding: [0.1, 70000, 0.3] }).success).toBe(false);
    expect(insertChunkSchema.safeParse({ ...base, embedding: null }).success).toBe(false);
    expect(insertChunkSchema.safeParse({ ...base, ordinal: -1, embedding: [1, 2, 3] }).success).toBe(false);
    expect(insertChunkSchema.safeParse({ ...base, contentHash: 'abc', embedding: [1, 2, 3] }).success).toBe(
      false,
    );
    const job = { datasetId: base.datasetId, baseModel: 'm' };
    expect(insertTrainingJobSchema.safeParse({ ...job, status: 'queued' }).success).toBe(true);
    expect(insertTrainingJobSchema.safeParse({ ...job, status: 'succeeded' }).success).toBe(false);
    expect(
      insertTrainingJobSchema.safeParse({
        ...job,
        status: 'failed',
        startedAt: new Date(),
        finishedAt: new Date(),
      }).success,
    ).toBe(false);
    const endpoint = { modelVersionId: base.datasetId, name: 'e' };
    expect(insertInferenceEndpointSchema.safeParse({ ...endpoint, url: 'https://x.example' }).success).toBe(
      true,
    );
    expect(insertInferenceEndpointSchema.safeParse({ ...endpoint, url: 'ftp://x' }).success).toBe(false);
  });

  it('frees a dataset slug on soft delete and keeps live slugs unique', async () => {
    const { db } = database.current;
    await withTenant(db, orgId, async (tx) => {
      const first = await createDataset(tx, { slug: 'faq', name: 'FAQ', embeddingSpaceId: space.id });
      const taken = await failure(
        tx.transaction((sp) => createDataset(sp, { slug: 'faq', name: 'FAQ 2', embeddingSpaceId: space.id })),
      );
      expect(taken.constraint).toBe('datasets_organization_id_slug_key');
      expect(await deleteDataset(tx, first.id)).toBe(true);
      const second = await createDataset(tx, { slug: 'faq', name: 'FAQ 2', embeddingSpaceId: space.id });
      expect(second.id).not.toBe(first.id);
      const badSlug = await failure(
        createDataset(tx, { slug: 'Bad Slug', name: 'x', embeddingSpaceId: space.id }),
      );
      expect(badSlug.column).toBe('slug');
    });
  });

  it('keeps training jobs sane and nulls only their model reference when the model goes', async () => {
    const { dataset } = await fixture();
    const { db } = database.current;
    const [model] = await withTenant(db, orgId, (tx) =>
      tx
        .insert(modelVersions)
        .values({ name: 'writer', provider: 'self-hosted', baseModel: 'llama', status: 'training' })
        .returning(),
    );
    if (!model) throw new Error('no model');
    const finishedWithoutTimes = await failure(
      withTenant(db, orgId, (tx) =>
        tx.insert(trainingJobs).values({ datasetId: dataset.id, baseModel: 'llama', status: 'succeeded' }),
      ),
    );
    expect(finishedWithoutTimes.constraint).toBe('training_jobs_status_check');
    const backwards = await failure(
      withTenant(db, orgId, (tx) =>
        tx.insert(trainingJobs).values({
          datasetId: dataset.id,
          baseModel: 'llama',
          status: 'succeeded',
          startedAt: new Date('2026-01-02'),
          finishedAt: new Date('2026-01-01'),
          queuedAt: new Date('2026-01-01'),
        }),
      ),
    );
    expect(backwards.constraint).toBe('training_jobs_finished_check');
    const readyWithoutArtifact = await failure(
      withTenant(db, orgId, (tx) =>
        tx.update(modelVersions).set({ status: 'ready' }).where(eq(modelVersions.id, model.id)),
      ),
    );
    expect(readyWithoutArtifact.constraint).toBe('model_versions_ready_artifact_check');

    await withTenant(db, orgId, async (tx) => {
      const [job] = await tx
        .insert(trainingJobs)
        .values({ datasetId: dataset.id, baseModel: 'llama', outputModelVersionId: model.id })
        .returning();
      expect(await deleteModelVersion(tx, model.id)).toBe(true);
      const [after] = await tx
        .select()
        .from(trainingJobs)
        .where(eq(trainingJobs.id, job?.id ?? ''));
      expect(after?.outputModelVersionId).toBeNull();
      expect(after?.organizationId).toBe(orgId);
    });
  });

  it('refuses deleting a model version that an endpoint serves, and malformed endpoint URLs', async () => {
    const { db } = database.current;
    const [model] = await withTenant(db, orgId, (tx) =>
      tx
        .insert(modelVersions)
        .values({ name: 'served', provider: 'p', baseModel: 'b', status: 'ready', artifactUri: 's3://m' })
        .returning(),
    );
    if (!model) throw new Error('no model');
    await withTenant(db, orgId, (tx) =>
      tx
        .insert(inferenceEndpoints)
        .values({ modelVersionId: model.id, name: 'ep', url: 'https://ep.example/v1' }),
    );
    const inUse = await failure(
      withTenant(db, orgId, (tx) => tx.delete(modelVersions).where(eq(modelVersions.id, model.id))),
    );
    expect(inUse.constraint).toBe('inference_endpoints_model_version_id_fkey');
    const badUrl = await failure(
      withTenant(db, orgId, (tx) =>
        tx.insert(inferenceEndpoints).values({ modelVersionId: model.id, name: 'ep2', url: 'not a url' }),
      ),
    );
    expect(badUrl.constraint).toBe('inference_endpoints_url_check');
  });

  it('cascades a hard-deleted dataset to its documents and chunks', async () => {
    const { dataset, document } = await fixture();
    const { db } = database.current;
    await withTenant(db, orgId, async (tx) => {
      await tx.insert(chunks).values(chunk(dataset.id, document.id, 'to be removed'));
      await tx.delete(datasets).where(eq(datasets.id, dataset.id));
      expect(await tx.select().from(documents).where(eq(documents.datasetId, dataset.id))).toHaveLength(0);
      expect(await tx.select().from(chunks).where(eq(chunks.datasetId, dataset.id))).toHaveLength(0);
    });
  });
});
