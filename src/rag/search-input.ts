import { type SQL, sql } from 'drizzle-orm';
import { invalidInput, isUuid } from '../base/input.ts';
import type { Transaction } from '../client/client.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import {
  assertEmbedderFits,
  type Embedder,
  getEmbeddingSpace,
  toVector,
  type VectorInput,
} from './embedding-spaces.ts';

// A search's input, checked before any plan: k, id lists inlined into SQL, the query vector.

/** Largest k a search accepts. */
export const MAX_K = 1000;

/** The query vector: given, or the embedding of `text` by an embedder of the same space. */
export type QueryVector = { vector: VectorInput; text?: undefined } | { text: string; embedder: Embedder };

/** Checks k: an integer from 1 to {@link MAX_K}. */
export function assertK(k: unknown, table: string): asserts k is number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K)
    throw invalidInput(table, 'embedding', `k must be an integer from 1 to ${MAX_K}, got ${String(k)}`);
}

/** A list of UUIDs as a SQL array literal (each checked, so inlining is safe). */
export function uuidArray(ids: readonly string[], table: string, column: string): SQL {
  for (const id of ids)
    if (!isUuid(id))
      throw invalidInput(table, column, `${column} must hold UUIDs, got ${JSON.stringify(id)}`);
  return sql.raw(`'{${ids.join(',')}}'::uuid[]`);
}

/** Loads the space, checks the query (vector or text + embedder) against it and returns the vector. */
export async function resolveQueryVector(
  tx: Transaction,
  spaceId: string,
  query: QueryVector,
  table: string,
): Promise<{ space: EmbeddingSpace; vector: number[] }> {
  const space = await getEmbeddingSpace(tx, spaceId, table);
  if (query.text !== undefined) {
    if (typeof query.text !== 'string' || !/[\p{L}\p{N}]/u.test(query.text))
      throw invalidInput(table, 'content', 'the query text is empty (it has no letters or digits)');
    if (!query.embedder) throw invalidInput(table, 'embedding', 'a text query needs an embedder');
    assertEmbedderFits(query.embedder, space, table);
    const [vector] = await query.embedder.embedMany([query.text]);
    return { space, vector: toVector(vector, space, table) };
  }
  if (query.vector === undefined) throw invalidInput(table, 'embedding', 'give a query vector or a text');
  return { space, vector: toVector(query.vector, space, table) };
}
