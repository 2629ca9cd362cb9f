import { type SQL, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { invalidInput } from '../base/input.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import {
  distanceOperator,
  type Embedder,
  getEmbeddingSpace,
  toVector,
  type VectorInput,
  vectorLiteral,
} from '../rag/embedding-spaces.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import { loadMove, type Move, org, sourceOf } from './reembedding-moves.ts';

// The check before a switch: how many of each sample query's top-k rows the new space returns too.

export interface OverlapReport {
  k: number;
  queries: number;
  /** Mean share of the old space's top-k that the new space's top-k also returns (1: the same rows). */
  overlap: number;
  perQuery: { query: string; overlap: number }[];
}

/** A move's rows with their vectors in one space, wherever they are (own rows or beside them). */
function vectorsIn(m: Move, space: string): SQL {
  if (m.target === 'dataset')
    return sql`
      select id, embedding from chunks where organization_id = ${org(m)} and dataset_id = ${m.datasetId}
        and embedding_space_id = ${space}::uuid
      union all
      select id, embedding from chunk_embeddings where organization_id = ${org(m)} and dataset_id = ${m.datasetId}
        and embedding_space_id = ${space}::uuid`;
  const source = sourceOf(m);
  const brand = m.target === 'brand_voices' ? sql`and x.brand_id = ${m.brandId}::uuid` : sql``;
  return sql`
    select x.id, x.embedding from ${sql.identifier(source.table)} x
    where x.organization_id = ${org(m)} ${brand} and x.embedding_space_id = ${space}::uuid
    union all
    select v.id, v.vector from reembedding_vectors v
    where v.organization_id = ${org(m)} and v.reembedding_id = ${m.id} and v.space_id = ${space}::uuid`;
}

/**
 * The check to run before switching: for each query, the move's top-k rows in the old space
 * (query embedded by `oldEmbedder`) and in the new one (`newEmbedder`), exactly (no index), and the
 * share of rows both return. Reads only; any state but `dropped`.
 */
export async function compareSpaces(
  tx: Transaction,
  input: {
    migrationId: string;
    queries: string[];
    oldEmbedder: Embedder;
    newEmbedder: Embedder;
    k?: number;
  },
): Promise<OverlapReport> {
  const k = input.k ?? 10;
  if (!Number.isInteger(k) || k < 1 || k > 100)
    throw invalidInput('reembeddings', 'to_space_id', `k must be an integer from 1 to 100, got ${k}`);
  if (!Array.isArray(input.queries) || input.queries.length === 0)
    throw invalidInput('reembeddings', 'to_space_id', 'give at least one sample query');
  try {
    const m = await loadMove(tx, input.migrationId);
    const from = await getEmbeddingSpace(tx, m.fromSpaceId, 'reembeddings');
    const to = await getEmbeddingSpace(tx, m.toSpaceId, 'reembeddings');
    const oldVectors = await input.oldEmbedder.embedMany(input.queries);
    const newVectors = await input.newEmbedder.embedMany(input.queries);
    const top = async (space: EmbeddingSpace, vector: VectorInput | undefined) =>
      rowsOf<{ id: string }>(
        await tx.execute(sql`
          select id from (${vectorsIn(m, space.id)}) v
          order by embedding ${sql.raw(distanceOperator(space.distance))} ${vectorLiteral(toVector(vector, space, 'reembeddings'))}::halfvec, id
          limit ${k}`),
      ).map((row) => row.id);
    const perQuery: OverlapReport['perQuery'] = [];
    for (const [i, query] of input.queries.entries()) {
      const before = await top(from, oldVectors[i]);
      const after = new Set(await top(to, newVectors[i]));
      const shared = before.filter((id) => after.has(id)).length;
      perQuery.push({ query, overlap: before.length === 0 ? 1 : shared / before.length });
    }
    const overlap = perQuery.reduce((sum, q) => sum + q.overlap, 0) / perQuery.length;
    return { k, queries: perQuery.length, overlap, perQuery };
  } catch (error) {
    throw toDatabaseError(error);
  }
}
