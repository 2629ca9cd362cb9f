// The retrieval bench's corpus: tenants of Zipf sizes with datasets inside them, chunks whose
// vectors cluster around topics and whose words come from the same topic (so full text and
// vectors agree, as with real embeddings), the filters measured, and the rows added later.

import type { DbHandle } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import type { BulkDocument } from '../src/rag/bulk-ingest.ts';
import { createDataset } from '../src/rag/datasets.ts';
import { type EmbeddingSpace, users } from '../src/schema/index.ts';
import { rng } from './vectors.ts';

export interface Chunk {
  vector: number[];
  text: string;
  /** Unique in the corpus: maps LangChain's hits back to ours. */
  key: string;
}

export interface Dataset {
  id: string;
  name: string;
  tenant: Tenant;
  chunks: Chunk[];
}

export interface Tenant {
  organizationId: string;
  name: string;
  datasets: Dataset[];
}

export const CHUNKS_PER_DOCUMENT = 20;

/** A topic's query or chunk: a vector near the topic's centre and words mostly of its vocabulary. */
export type Topical = { vector: number[]; text: string };

const SYLLABLES = [
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

/**
 * Unit vectors around `topics` centres (noise 0.06 per component, like `vectorSource`), each with
 * a text of 12 to 30 words: 70% from its topic's 30-word vocabulary, 30% from 40 common words.
 * Queries take 3 to 5 words of their topic only, as a person types them.
 */
export function topicalSource(dims: number, seed: number, topics = 64) {
  const random = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
  const unit = (v: number[]) => {
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
    return v.map((x) => x / norm);
  };
  const word = () =>
    Array.from({ length: 2 + Math.floor(random() * 3) }, () => SYLLABLES[Math.floor(random() * 16)]).join('');
  const centres = Array.from({ length: topics }, () => unit(Array.from({ length: dims }, gauss)));
  const vocabularies = Array.from({ length: topics }, () => Array.from({ length: 30 }, word));
  const common = Array.from({ length: 40 }, word);
  const pick = (words: string[]) => words[Math.floor(random() * words.length)] ?? '';
  const draw = (words: number, shareOfTopic: number): Topical => {
    const topic = Math.floor(random() * topics);
    const vocabulary = vocabularies[topic] ?? [];
    return {
      vector: unit((centres[topic] ?? []).map((x) => x + 0.06 * gauss())),
      text: Array.from({ length: words }, () => pick(random() < shareOfTopic ? vocabulary : common)).join(
        ' ',
      ),
    };
  };
  return {
    chunk: () => draw(12 + Math.floor(random() * 19), 0.7),
    query: () => draw(3 + Math.floor(random() * 3), 1),
    random,
  };
}

/** Datasets per tenant: 144 over 50 tenants, more for the large ones (scaled for other counts). */
const datasetsFor = (rank: number, tenants: number) =>
  rank < tenants * 0.2 ? 6 : rank < tenants * 0.6 ? 3 : rank < tenants * 0.68 ? 2 : 1;

/** Tenants of Zipf sizes (exponent 1.2), datasets of Zipf sizes within each, created in the database. */
export async function makeCorpus(
  handle: DbHandle,
  space: EmbeddingSpace,
  options: { chunks: number; tenants: number },
  source: ReturnType<typeof topicalSource>,
): Promise<Tenant[]> {
  const weights = Array.from({ length: options.tenants }, (_, i) => 1 / (i + 1) ** 1.2);
  const total = weights.reduce((s, w) => s + w, 0);
  const tenants: Tenant[] = [];
  let serial = 0;
  for (const [rank, weight] of weights.entries()) {
    const rows = Math.max(CHUNKS_PER_DOCUMENT, Math.round((weight / total) * options.chunks));
    const [user] = await handle.db
      .insert(users)
      .values({ email: `bench-owner-${rank}@bench.example` })
      .returning();
    const { organization } = await createOrganization(handle.db, {
      slug: `bench-${rank}`,
      name: `Bench ${rank}`,
      ownerUserId: user?.id ?? '',
    });
    const tenant: Tenant = { organizationId: organization.id, name: `t${rank}`, datasets: [] };
    const shares = Array.from({ length: datasetsFor(rank, options.tenants) }, (_, j) => 1 / (j + 1));
    const sum = shares.reduce((s, w) => s + w, 0);
    await withTenant(handle.db, organization.id, async (tx) => {
      for (const [j, share] of shares.entries()) {
        const size = Math.max(CHUNKS_PER_DOCUMENT, Math.round((share / sum) * rows));
        const dataset = await createDataset(tx, {
          slug: `set-${j}`,
          name: `Set ${j}`,
          embeddingSpaceId: space.id,
        });
        const name = `${tenant.name}-d${j}`;
        const chunks = Array.from({ length: size }, () => ({ ...source.chunk(), key: `c${serial++}` }));
        tenant.datasets.push({ id: dataset.id, name, tenant, chunks });
      }
    });
    tenants.push(tenant);
  }
  return tenants;
}

/** Chunks as documents of {@link CHUNKS_PER_DOCUMENT}, titled after their dataset. */
export function documentsOf(name: string, chunks: Chunk[]): BulkDocument[] {
  const documents: BulkDocument[] = [];
  for (let start = 0; start < chunks.length; start += CHUNKS_PER_DOCUMENT)
    documents.push({
      title: `${name} doc ${start / CHUNKS_PER_DOCUMENT}`,
      chunks: chunks.slice(start, start + CHUNKS_PER_DOCUMENT).map((chunk) => ({
        content: chunk.text,
        key: chunk.key,
        embedding: chunk.vector,
      })),
    });
  return documents;
}

export interface Filter {
  label: string;
  tenant: Tenant;
  datasets?: Dataset[];
  rows: number;
}

const rowsOf = (tenant: Tenant) => tenant.datasets.reduce((s, d) => s + d.chunks.length, 0);

/** Filters near each wanted share of all rows (0.3% to 30% by tenant, 0.05% to 10% by tenant + one dataset). */
export function chooseFilters(tenants: Tenant[], total: number): Filter[] {
  const byTenant = tenants.map((tenant) => ({ tenant, rows: rowsOf(tenant) }));
  const byDataset = tenants.flatMap((tenant) =>
    tenant.datasets.map((d) => ({ tenant, datasets: [d], rows: d.chunks.length })),
  );
  const nearest = <T extends { rows: number }>(options: T[], share: number) =>
    options.reduce((best, o) =>
      Math.abs(Math.log(o.rows / total / share)) < Math.abs(Math.log(best.rows / total / share)) ? o : best,
    );
  const filters: Filter[] = [];
  const seen = new Set<string>();
  for (const share of [0.003, 0.01, 0.02, 0.09, 0.3]) {
    const f = nearest(byTenant, share);
    if (!seen.has(f.tenant.name)) filters.push({ ...f, label: `tenant ${f.tenant.name}` });
    seen.add(f.tenant.name);
  }
  for (const share of [0.0005, 0.005, 0.02, 0.1]) {
    const f = nearest(byDataset, share);
    const name = f.datasets[0]?.name ?? '';
    if (!seen.has(name)) filters.push({ ...f, label: `tenant+dataset ${name}` });
    seen.add(name);
  }
  return filters.sort((a, b) => a.rows - b.rows);
}

/**
 * New rows as a service's arrive: `rows` chunks in documents of {@link CHUNKS_PER_DOCUMENT}, each
 * document in a dataset drawn in proportion to its size, so they spread over many tenants and
 * datasets. Returns the documents in arrival order, each with its dataset.
 */
export function arrivingDocuments(
  tenants: Tenant[],
  rows: number,
  source: ReturnType<typeof topicalSource>,
  tag: string,
): { dataset: Dataset; chunks: Chunk[] }[] {
  const datasets = tenants.flatMap((tenant) => tenant.datasets);
  const sizes = datasets.map((d) => d.chunks.length);
  const total = sizes.reduce((s, n) => s + n, 0);
  const arriving: { dataset: Dataset; chunks: Chunk[] }[] = [];
  for (let made = 0; made < rows; made += CHUNKS_PER_DOCUMENT) {
    const at = source.random() * total;
    let below = 0;
    const index = sizes.findIndex((size) => {
      below += size;
      return at < below;
    });
    const dataset = datasets[index] ?? (datasets[0] as Dataset);
    const chunks = Array.from({ length: CHUNKS_PER_DOCUMENT }, (_, i) => ({
      ...source.chunk(),
      key: `${tag}${made + i}`,
    }));
    arriving.push({ dataset, chunks });
  }
  return arriving;
}
