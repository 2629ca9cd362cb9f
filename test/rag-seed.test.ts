import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { hybridSearch, searchChunks, searchDocumentTitles } from '../src/rag/search.ts';
import { LOCAL_EMBEDDING_SPACE, localEmbedder, localEmbeddingSpace } from '../src/seed/brand.ts';
import { seedTenant } from '../src/seed/index.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();
const input = { slug: 'acme', name: 'Acme', ownerEmail: 'owner@acme.example', ownerName: 'Acme Owner' };

describe('rag seed', () => {
  it('seeds every rag and brand table once, and a second run inserts nothing', async () => {
    const { db } = database.current;
    const first = await seedTenant(db, input);
    console.log('first seed run:', first.created);
    for (const table of [
      'embedding_spaces',
      'brands',
      'brand_voices',
      'datasets',
      'documents',
      'chunks',
      'model_versions',
      'training_jobs',
      'inference_endpoints',
    ])
      expect(first.created[table], table).toBeGreaterThan(0);
    const second = await seedTenant(db, input);
    console.log('second seed run:', second.created);
    expect(Object.values(second.created).every((n) => n === 0)).toBe(true);
  });

  it('returns sensible neighbours for questions about the seeded documents', async () => {
    const { db } = database.current;
    const { organizationId } = await seedTenant(db, input);
    const space = await localEmbeddingSpace(db);
    expect(space).toMatchObject(LOCAL_EMBEDDING_SPACE);
    const questions: [string, string][] = [
      ['how often do we post on Instagram each week', 'Social media posting schedule'],
      ['when is the launch date of the running shoe', 'Spring running shoe launch brief'],
      ['which words are banned in our tone of voice', 'Brand voice guidelines'],
      ['how much does the starter plan cost per month', 'Pricing and plans FAQ'],
      ['when should we send the newsletter', 'Email newsletter playbook'],
    ];
    await withTenant(db, organizationId, async (tx) => {
      for (const [text, title] of questions) {
        const { hits, strategy } = await searchChunks(tx, {
          spaceId: space.id,
          text,
          embedder: localEmbedder,
          k: 3,
        });
        console.log(
          `"${text}" -> ${hits[0]?.documentTitle} (${hits[0]?.score.toFixed(3)}, ${strategy}): ${hits[0]?.content}`,
        );
        expect(hits[0]?.documentTitle).toBe(title);
        expect(hits).toHaveLength(3);
        expect(Object.keys(hits[0] ?? {})).not.toContain('embedding');
      }
      const hybrid = await hybridSearch(tx, {
        spaceId: space.id,
        text: 'newsletter subject lines',
        embedder: localEmbedder,
        k: 3,
      });
      console.log(
        'hybrid:',
        hybrid.hits.map((h) => [h.documentTitle, h.score.toFixed(4), h.semanticRank, h.lexicalRank]),
      );
      expect(hybrid.hits[0]?.documentTitle).toBe('Email newsletter playbook');
      const titles = await searchDocumentTitles(tx, { query: 'pricng' });
      console.log('titles:', titles);
      expect(titles[0]?.title).toBe('Pricing and plans FAQ');
    });
    const indexes = rowsOf<{ indexname: string; indexdef: string }>(
      await db.execute(
        sql`select indexname, indexdef from pg_indexes where indexname like '%hnsw_idx' order by 1`,
      ),
    );
    console.log(indexes);
  });
});
