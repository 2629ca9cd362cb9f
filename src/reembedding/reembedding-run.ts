import { type SQL, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { ReembeddingError } from '../base/errors.ts';
import { InputError, invalidInput } from '../base/input.ts';
import { type DbHandle, rowsOf, type Transaction } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import { REBUILD_MIN_ROWS } from '../rag/bulk-ingest.ts';
import { CopyRefused, copyVectors, stageRows, VECTOR_STAGING } from '../rag/copy-staging.ts';
import {
  type Embedder,
  getEmbeddingSpace,
  tenantIndexName,
  toVector,
  type VectorInput,
} from '../rag/embedding-spaces.ts';
import { halfvecBinary, halfvecLiteral } from '../rag/halfvec.ts';
import { estimateTokens } from '../rag/ingest-rows.ts';
import { dropIndex, indexRows } from '../rag/search-indexes.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import { buildReembeddingIndex } from './reembedding-index.ts';
import {
  counts,
  deleted,
  describe,
  loadMove,
  type Move,
  org,
  type Reembedding,
  type SourceRow,
  sourceOf,
} from './reembedding-moves.ts';

// Embedding a move's rows into its new space, batch by batch, resumable, while reads stay on the old one.

/** An embedder that also says what a call cost (a provider's usage); without it the rows' token counts are recorded. */
export interface ReembedEmbedder extends Embedder {
  embedWithUsage?(texts: string[]): Promise<{ vectors: readonly VectorInput[]; tokens: number }>;
}

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

/** The embedder's vectors for the texts, each checked against the new space, and what they cost. */
async function embedBatch(
  m: Move,
  space: EmbeddingSpace,
  embedder: ReembedEmbedder,
  rows: SourceRow[],
): Promise<{ vectors: number[][]; tokens: number }> {
  const texts = rows.map((row) => row.text);
  let result: { vectors: readonly VectorInput[]; tokens: number };
  try {
    result = embedder.embedWithUsage
      ? await embedder.embedWithUsage(texts)
      : { vectors: await embedder.embedMany(texts), tokens: rows.reduce((n, row) => n + row.tokens, 0) };
  } catch (error) {
    throw new ReembeddingError(
      'embedder_failed',
      `the embedder failed on a batch of ${rows.length} rows of re-embedding ${m.id}: ${(error as Error)?.message ?? String(error)}; what was written stays, reembed again resumes`,
      m.id,
      error,
    );
  }
  if (!Array.isArray(result.vectors) || result.vectors.length !== rows.length)
    throw new ReembeddingError(
      'embedder_failed',
      `the embedder returned ${(result.vectors as unknown[] | undefined)?.length} vectors for ${rows.length} texts`,
      m.id,
    );
  try {
    return {
      vectors: result.vectors.map((v) => toVector(v, space, sourceOf(m).table)),
      tokens: result.tokens,
    };
  } catch (error) {
    if (error instanceof InputError && /dimensions/.test(error.message))
      throw new ReembeddingError('dimension_mismatch', error.message, m.id, error);
    throw error;
  }
}

/** A batch's vectors, kept until it commits: writing it again (bound JSON after a refused COPY) embeds nothing twice. */
interface Embedded {
  rows: SourceRow[];
  vectors: number[][];
  tokens: number;
}

/** How the loop writes: `copy` stages vectors by binary COPY (a server); `embedded`, the batch a refused COPY left. */
interface Writing {
  copy: boolean;
  embedded?: Embedded;
}

/**
 * Writes the batch's vectors beside the rows (replacing stale ones) and advances the move: the
 * vectors staged by binary COPY, as the bulk path stages chunks (halfvec's own bytes, nothing
 * printed or parsed), or bound as JSON; then one INSERT ... SELECT and one UPDATE.
 */
async function writeBatch(
  tx: Transaction,
  m: Move,
  space: EmbeddingSpace,
  batch: Embedded,
  cursor: string | null,
  copy: boolean,
): Promise<void> {
  const { rows, vectors, tokens } = batch;
  const staged = copy
    ? sql.raw(
        `${await stageRows(
          tx,
          copyVectors(
            rows.map((row, i) => ({
              id: row.id,
              hash: row.hash,
              embedding: halfvecBinary(vectors[i] ?? []),
            })),
          ),
          VECTOR_STAGING,
        )} s`,
      )
    : sql`json_to_recordset(${JSON.stringify(
        rows.map((row, i) => ({
          id: row.id,
          content_hash: row.hash,
          embedding: halfvecLiteral(vectors[i] ?? []),
        })),
      )}::json) as s(id uuid, content_hash text, embedding halfvec)`;
  // RETURNING keeps it an ordinary routed insert on Citus (not a COPY into the shards).
  if (m.target === 'dataset')
    await tx.execute(sql`
      insert into chunk_embeddings (organization_id, id, dataset_id, content_hash, embedding_space_id, embedding_dimensions, embedding)
      select ${org(m)}, s.id, ${m.datasetId}::uuid, s.content_hash, ${space.id}::uuid, ${space.dimensions}::int, s.embedding
      from ${staged}
      on conflict (organization_id, id, embedding_space_id) do update
        set content_hash = excluded.content_hash, embedding = excluded.embedding
      returning id`);
  else
    await tx.execute(sql`
      insert into reembedding_vectors (organization_id, reembedding_id, id, content_hash, space_id, dimensions, vector)
      select ${org(m)}, ${m.id}::uuid, s.id, s.content_hash, ${space.id}::uuid, ${space.dimensions}::int, s.embedding
      from ${staged}
      on conflict (organization_id, reembedding_id, id) do update
        set content_hash = excluded.content_hash, vector = excluded.vector
      returning id`);
  await tx.execute(sql`
    update reembeddings set cursor = ${cursor}::uuid, embedded_rows = embedded_rows + ${rows.length}::int,
      embedded_tokens = embedded_tokens + ${tokens}::bigint, last_error = null
    where organization_id = ${org(m)} and id = ${m.id}`);
}

/** The same rows, unchanged since they were embedded. */
const sameRows = (a: SourceRow[], b: SourceRow[]) =>
  a.length === b.length && a.every((row, i) => row.id === b[i]?.id && row.hash === b[i]?.hash);

/** Below every id: where a move's first pass starts. */
const NO_ROW = '00000000-0000-0000-0000-000000000000';

/** What one step did; `last` when no row of the move is left without a current vector, read in the step's transaction. */
type Stepped = { rows: number; tokens: number; last?: Reembedding };

/**
 * One batch in one tenant transaction, the move locked: the next rows without a current vector in
 * the new space (first in id order after the cursor, then any left behind: added before the cursor
 * or changed since they were embedded), embedded and written with the move's progress. A crash
 * anywhere loses at most this batch; nothing committed is embedded again. A batch short of
 * `batchSize` looks once more for any row left without a current vector (rows changed meanwhile),
 * so the last batch also says the move is done, with no transaction of its own for that.
 */
async function step(
  tx: Transaction,
  migrationId: string,
  space: EmbeddingSpace,
  embedder: ReembedEmbedder,
  batchSize: number,
  writing: Writing,
): Promise<Stepped> {
  const m = await loadMove(tx, migrationId, true);
  if (m.targetDeleted) throw deleted(m);
  if (m.state !== 'embedding') return { rows: 0, tokens: 0, last: await describe(tx, m) };
  const source = sourceOf(m);
  const pick = async (range: SQL) =>
    rowsOf<Record<string, unknown> & { id: string; hash: string }>(
      await tx.execute(sql`
        select x.id, ${source.fingerprint} as hash, ${source.columns}
        from ${sql.identifier(source.table)} x
        where ${source.rows(m)} and ${range} and not ${source.fresh(m)}
        order by x.id
        limit ${batchSize}`),
    );
  const cursor = m.cursor ?? NO_ROW;
  let picked = await pick(sql`x.id > ${cursor}::uuid`);
  const firstPass = picked.length > 0;
  // Then the rows left behind, all at or before the cursor.
  if (!firstPass) picked = await pick(sql`x.id <= ${cursor}::uuid`);
  // None left: where the move stands (its rows counted, none of them without a current vector as of the pick).
  if (picked.length === 0) return { rows: 0, tokens: 0, last: await describe(tx, m, 0) };
  const rows = picked.map((row) => {
    const text = source.text(row);
    return {
      id: row.id,
      hash: row.hash,
      text,
      tokens: row.token_count === undefined ? estimateTokens(text) : Number(row.token_count),
    };
  });
  const kept = writing.embedded;
  const batch =
    kept && sameRows(kept.rows, rows) ? kept : { rows, ...(await embedBatch(m, space, embedder, rows)) };
  writing.embedded = batch;
  const next = firstPass ? (rows.at(-1)?.id ?? null) : m.cursor;
  await writeBatch(tx, m, space, batch, next, writing.copy);
  const done = { rows: rows.length, tokens: batch.tokens };
  if (rows.length === batchSize) return done;
  // A batch short of batchSize took every row it found: counting the move's rows tells whether any
  // is left (changed meanwhile, or behind the cursor), and is where it stands when none is.
  const after = await describe(tx, {
    ...m,
    cursor: next,
    embeddedRows: m.embeddedRows + rows.length,
    embeddedTokens: m.embeddedTokens + batch.tokens,
    lastError: null,
  });
  return after.remaining === 0 ? { ...done, last: after } : done;
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
