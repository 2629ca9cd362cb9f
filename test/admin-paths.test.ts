import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { verifyAllAuditChains } from '../src/audit/audit.ts';
import { runtimeOf } from '../src/client/scope-runtime.ts';
import { withTenant } from '../src/client/tenant.ts';
import { getLiveDataset } from '../src/rag/datasets.ts';
import { ingestDocuments } from '../src/rag/ingest.ts';
import { datasets } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { seed } from '../src/seed/index.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

describe('the demo seed and the admin paths, as a service or an operator calls them', () => {
  it('seeds the demo organization once, verifies every trail, and ingests several documents into a live dataset', async () => {
    const { db } = database.current;
    const first = await seed(db);
    expect(Object.values(first.created).reduce((sum, n) => sum + n, 0)).toBeGreaterThan(0);
    const again = await seed(db);
    expect(again.organizationId).toBe(first.organizationId);
    expect(Object.values(again.created).every((n) => n === 0)).toBe(true);

    const trails = await verifyAllAuditChains(db, runtimeOf(db).keys.keyRing());
    expect(trails.map(({ organizationId }) => organizationId)).toContain(first.organizationId);
    expect(trails.every(({ report }) => report.intact)).toBe(true);

    const results = await withTenant(db, first.organizationId, async (tx) => {
      const [seeded] = await tx
        .select({ id: datasets.id })
        .from(datasets)
        .where(eq(datasets.organizationId, first.organizationId))
        .limit(1);
      if (!seeded) throw new Error('the demo seed has a dataset');
      const dataset = await getLiveDataset(tx, seeded.id);
      return ingestDocuments(tx, dataset.id, [
        {
          document: { sourceUri: 'https://kb.example/a', title: 'A' },
          chunks: [{ content: 'Spring launch checklist' }],
          embedder: localEmbedder,
        },
        {
          document: { sourceUri: 'https://kb.example/b', title: 'B' },
          chunks: [{ content: 'Brand voice guide' }, { content: 'Tone and style' }],
          embedder: localEmbedder,
        },
      ]);
    });
    expect(results.map((result) => [result.documentCreated, result.inserted])).toEqual([
      [true, 1],
      [true, 2],
    ]);
  });
});
