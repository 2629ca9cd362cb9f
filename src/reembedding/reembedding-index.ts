import type { DbHandle } from '../client/client.ts';
import { ensureTenantIndexes, type TenantIndexOptions } from '../rag/tenant-indexes.ts';

// The tenant indexes of a move's new space, built once its rows are embedded.

/**
 * Parallel maintenance workers of a re-embedding's index builds: none. A move runs beside services
 * that keep searching; a build with workers takes every core of a small server (two cores: the
 * build's backend and its worker) and the searches wait for CPU, while a build on its own backend
 * leaves them the other cores. {@link reembedMany} overlaps these builds with the embedding instead.
 */
export const REEMBED_BUILD_WORKERS = 0;

export type ReembeddingIndexOptions = Pick<
  TenantIndexOptions,
  'organizationIds' | 'minRows' | 'analyze' | 'maxIndexes'
> & {
  /** Parallel maintenance workers per build (default {@link REEMBED_BUILD_WORKERS}). */
  workers?: number;
};

/**
 * Gives every tenant (or the given ones) with at least `minRows` vectors of the space in
 * `chunk_embeddings` its own HNSW index there (`ensureTenantIndexes`: CONCURRENTLY on a server, so
 * every tenant keeps searching), after moves run with `index: 'deferred'`. Each build on its own
 * backend unless told otherwise ({@link REEMBED_BUILD_WORKERS}). Returns the names of the indexes
 * it built.
 */
export async function buildReembeddingIndex(
  handle: DbHandle,
  spaceId: string,
  options: ReembeddingIndexOptions = {},
): Promise<string[]> {
  const { workers = REEMBED_BUILD_WORKERS, ...rest } = options;
  // Awaited, not returned: the statements it causes then show this function in their async stack.
  const built = await ensureTenantIndexes(handle, { spaceId, table: 'chunk_embeddings', workers, ...rest });
  return built;
}
