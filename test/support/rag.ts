// Shared by the brand, rag and search test files: tenants, the local space, a generated corpus.

import { sql } from 'drizzle-orm';
import { rng } from '../../bench/vectors.ts';
import type { Database } from '../../src/client/client.ts';
import { withTenant } from '../../src/client/tenant.ts';
import { createOrganization } from '../../src/identity/organizations.ts';
import { createDataset } from '../../src/rag/datasets.ts';
import { registerEmbeddingSpace } from '../../src/rag/embedding-spaces.ts';
import { ingestDocument } from '../../src/rag/ingest.ts';
import { users } from '../../src/schema/index.ts';
import { LOCAL_EMBEDDING_SPACE, localEmbedder } from '../../src/seed/brand.ts';

export { rng };

/** An organization with an owner; returns its id. */
export async function makeTenant(db: Database, slug: string): Promise<string> {
  const [user] = await db
    .insert(users)
    .values({ email: `owner@${slug}.example` })
    .returning();
  if (!user) throw new Error('no user');
  const created = await createOrganization(db, { slug, name: slug, ownerUserId: user.id });
  return created.organization.id;
}

export const localSpace = (db: Database) => registerEmbeddingSpace(db, LOCAL_EMBEDDING_SPACE);

const syllables = [
  'ka',
  'lo',
  'mi',
  'ra',
  'ne',
  'su',
  'to',
  'vi',
  'ze',
  'po',
  'qu',
  'fa',
  'di',
  'be',
  'ro',
  'ly',
];

function word(random: () => number): string {
  const length = 2 + Math.floor(random() * 3);
  let w = '';
  for (let i = 0; i < length; i++) w += syllables[Math.floor(random() * syllables.length)];
  return w;
}

/** Topic vocabularies: texts of one topic share words, so their embeddings cluster. */
export function makeTopics(count: number, seed = 7): string[][] {
  const random = rng(seed);
  return Array.from({ length: count }, () => Array.from({ length: 30 }, () => word(random)));
}

const common = makeTopics(1, 99)[0] ?? [];

/** A text of 12-30 words: mostly its topic's words, some common ones. */
export function topicText(random: () => number, topic: string[]): string {
  const length = 12 + Math.floor(random() * 19);
  const words: string[] = [];
  for (let i = 0; i < length; i++) {
    const pool = random() < 0.7 ? topic : common;
    words.push(pool[Math.floor(random() * pool.length)] ?? 'x');
  }
  return words.join(' ');
}

export interface CorpusTenant {
  organizationId: string;
  /** Dataset ids with their chunk counts. */
  datasets: { id: string; chunks: number }[];
}

/**
 * Loads tenants of the given sizes (chunks per dataset), 200 chunks per document, through
 * `ingestDocument`. Texts come from `topics`, so similar texts exist across tenants. Chunks go into
 * no HNSW index: a tenant gets its own when a test builds it (`ensureTenantIndexes`).
 */
export async function loadCorpus(
  db: Database,
  spaceId: string,
  plan: { slug: string; datasets: number[] }[],
  options: { seed?: number; topics?: number; analyze?: boolean } = {},
): Promise<CorpusTenant[]> {
  const random = rng(options.seed ?? 42);
  const topics = makeTopics(options.topics ?? 40);
  const tenants: CorpusTenant[] = [];
  let serial = 0;
  for (const tenant of plan) {
    const organizationId = await makeTenant(db, tenant.slug);
    const datasets = await withTenant(db, organizationId, async (tx) => {
      const made: { id: string; chunks: number }[] = [];
      for (const [index, size] of tenant.datasets.entries()) {
        const dataset = await createDataset(tx, {
          slug: `set-${index}`,
          name: `Set ${index}`,
          embeddingSpaceId: spaceId,
        });
        for (let start = 0; start < size; start += 200) {
          const chunks = Array.from({ length: Math.min(200, size - start) }, () => {
            const topic = topics[Math.floor(random() * topics.length)] ?? [];
            return { content: `${topicText(random, topic)} n${serial++}` };
          });
          await ingestDocument(tx, {
            datasetId: dataset.id,
            document: { title: `Doc ${index}-${start}` },
            chunks,
            embedder: localEmbedder,
          });
        }
        made.push({ id: dataset.id, chunks: size });
      }
      return made;
    });
    tenants.push({ organizationId, datasets });
  }
  if (options.analyze !== false) await db.execute(sql`analyze chunks`);
  return tenants;
}

/** A query text drawn like the corpus texts. */
export function queryTexts(count: number, seed: number, topicCount = 40): string[] {
  const random = rng(seed);
  const topics = makeTopics(topicCount);
  return Array.from({ length: count }, () =>
    topicText(random, topics[Math.floor(random() * topics.length)] ?? []),
  );
}
