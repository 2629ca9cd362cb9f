import { sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { ReembeddingError } from '../base/errors.ts';
import { invalidInput } from '../base/input.ts';
import type { DbHandle, Transaction } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import { REBUILD_MIN_ROWS } from '../rag/bulk-ingest.ts';
import { CopyRefused } from '../rag/copy-staging.ts';
import { getEmbeddingSpace, tenantIndexName } from '../rag/embedding-spaces.ts';
import { dropIndex, indexRows } from '../rag/search-indexes.ts';
import { type ReembedEmbedder, type Stepped, step, type Writing } from './reembedding-batch.ts';
import { buildReembeddingIndex } from './reembedding-index.ts';
import { counts, deleted, loadMove, type Reembedding } from './reembedding-moves.ts';

// Embedding a move's rows into its new space, batch by batch (reembedding-batch.ts), resumable,
// while reads stay on the old one.

export type { ReembedEmbedder } from './reembedding-batch.ts';

export interface ReembedProgress {
  phase: 'embed' | 'index';
  /** Rows embedded by this call. */
  rows: number;
  /** Rows of the move without a current vector in the new space when this call began. */
  totalRows: number;
  rowsPerSecond: number;
  etaSeconds?: number;
  tokens: number;
}

/** Rows per batch of {@link reembed}: the bulk path's default batch. */
export const DEFAULT_BATCH_SIZE = 1000;

export interface ReembedInput {
  organizationId: string;
  migrationId: string;
  /** Produces the new space's vectors (its length is checked against the space). */
  embedder: ReembedEmbedder;
  /** Rows per batch, one transaction and one embedder call each (default {@link DEFAULT_BATCH_SIZE}). */
  batchSize?: number;
  /** Called after each committed batch (awaited), and before the index build. */
  onProgress?: (progress: ReembedProgress) => void | Promise<void>;
  /**
   * The tenant's own index of the new space on `chunk_embeddings` (searched as chunks are, through
   * one tenant's graph): `auto` (default) drops it and builds it once afterwards when the move is
   * at least {@link REBUILD_MIN_ROWS} rows and half what the index holds (the bulk path's rule),
   * else rows go into it one by one; either way a tenant past `tenantIndexMinRows` has it when the
   * call returns, so searches after the switch use it. `deferred` drops it and leaves building to
   * {@link buildReembeddingIndex}, for many moves of one tenant.
   */
  index?: 'auto' | 'rebuild' | 'incremental' | 'deferred';
  /** Rows of the tenant in the new space from which it gets its own index (default `defaultTenantIndexMinRows`). */
  tenantIndexMinRows?: number;
}

/**
 * Embeds every row of a move into its new space, batch by batch (each its own tenant transaction),
 * until none is left without a current vector there: rows added or changed while it runs are
 * embedded too. Resumable: after a crash, a kill or an embedder failure
 * (`ReembeddingError` `embedder_failed`, retryable) the next call goes on where the last committed
 * batch ended, and no committed row is embedded twice. Reads stay on the old space meanwhile. For
 * a dataset, the tenant's own index of the new space on `chunk_embeddings` is built once at the end
 * when the move is large (see {@link ReembedInput.index}). Needs the schema owner's handle for that index; the rows
 * are written in tenant scopes.
 */
export async function reembed(handle: DbHandle, input: ReembedInput): Promise<Reembedding> {
  const { organizationId, migrationId, embedder } = input;
  const batchSize = input.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw invalidInput(
      'reembeddings',
      'embedded_rows',
      `batchSize must be an integer from 1 to 10000, got ${batchSize}`,
    );
  const mode = input.index ?? 'auto';
  const first = await withTenant(handle.db, organizationId, async (tx) => {
    const m = await loadMove(tx, migrationId);
    // Rows left to embed: the progress's total and the index rule's size, counted only for them.
    const counted = input.onProgress !== undefined || (m.target === 'dataset' && mode === 'auto');
    return { m, remaining: counted && m.state === 'embedding' ? (await counts(tx, m)).remaining : 0 };
  });
  const { m } = first;
  if (m.targetDeleted) throw deleted(m);
  if (m.state === 'rolled_back' || m.state === 'dropped')
    throw new ReembeddingError('wrong_state', `re-embedding ${m.id} is ${m.state}`, m.id);
  const space = await getEmbeddingSpace(handle.db, m.toSpaceId, 'reembeddings');
  if (embedder.dimensions !== space.dimensions)
    throw new ReembeddingError(
      'dimension_mismatch',
      `the embedder makes ${embedder.dimensions}-dimension vectors; space ${space.id} (${space.provider}/${space.model}) has ${space.dimensions}`,
      m.id,
    );
  if (
    (embedder.provider !== undefined && embedder.provider !== space.provider) ||
    (embedder.model !== undefined && embedder.model !== space.model)
  )
    throw invalidInput(
      'reembeddings',
      'to_space_id',
      `the embedder (${embedder.provider}/${embedder.model}) is not space ${space.id}'s model (${space.provider}/${space.model})`,
    );

  if (m.target === 'dataset' && mode !== 'incremental') {
    const own = tenantIndexName('chunk_embeddings', space.id, organizationId);
    const large = async () =>
      first.remaining >= REBUILD_MIN_ROWS && first.remaining >= (await indexRows(handle, own)) / 2;
    if (mode !== 'auto' || (await large())) await dropIndex(handle, own);
  }

  const started = performance.now();
  let rows = 0;
  let tokens = 0;
  const report = async (phase: ReembedProgress['phase']) => {
    if (!input.onProgress) return;
    const seconds = (performance.now() - started) / 1000;
    const rowsPerSecond = seconds > 0 ? rows / seconds : 0;
    await input.onProgress({
      phase,
      rows,
      totalRows: first.remaining,
      rowsPerSecond,
      etaSeconds:
        phase === 'embed' && rowsPerSecond > 0
          ? Math.max(0, (first.remaining - rows) / rowsPerSecond)
          : undefined,
      tokens,
    });
  };
  // Vectors go by binary COPY on a server, else (and once the server refused one) as bound JSON.
  const writing: Writing = { copy: handle.target.kind === 'server' };
  let moved: Reembedding | undefined;
  while (!moved) {
    let done: Stepped;
    try {
      done = await withTenant(handle.db, organizationId, (tx) =>
        step(tx, m.id, space, embedder, batchSize, writing),
      );
    } catch (error) {
      if (error instanceof CopyRefused && writing.copy) {
        // Bound JSON names what the server refused; the rest of the move goes that way too.
        writing.copy = false;
        continue;
      }
      if (error instanceof ReembeddingError && error.kind === 'embedder_failed')
        await withTenant(handle.db, organizationId, (tx) =>
          tx.execute(sql`update reembeddings set last_error = ${error.message.slice(0, 2000)}
            where organization_id = ${organizationId} and id = ${m.id}`),
        );
      throw error;
    }
    writing.embedded = undefined;
    moved = done.last;
    if (done.rows === 0) continue;
    rows += done.rows;
    tokens += done.tokens;
    await report('embed');
  }
  if (m.target === 'dataset' && mode !== 'deferred') {
    await report('index');
    await buildReembeddingIndex(handle, space.id, {
      organizationIds: [organizationId],
      minRows: input.tenantIndexMinRows,
    });
  }
  return moved;
}

/**
 * {@link reembed} for a small move inside the caller's tenant transaction (seeds, a brand's few
 * voices): the same batches, no index handling, all or nothing. Returns the move.
 */
export async function reembedWithin(
  tx: Transaction,
  input: { migrationId: string; embedder: ReembedEmbedder; batchSize?: number },
): Promise<Reembedding> {
  try {
    const m = await loadMove(tx, input.migrationId);
    const space = await getEmbeddingSpace(tx, m.toSpaceId, 'reembeddings');
    const writing: Writing = { copy: false };
    for (;;) {
      const { last } = await step(tx, m.id, space, input.embedder, input.batchSize ?? 500, writing);
      writing.embedded = undefined;
      if (last) return last;
    }
  } catch (error) {
    throw toDatabaseError(error);
  }
}
