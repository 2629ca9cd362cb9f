import { type SQL, sql } from 'drizzle-orm';
import { ReembeddingError } from '../base/errors.ts';
import { InputError } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { copyVectors, stageRows, VECTOR_STAGING } from '../rag/copy-staging.ts';
import { type Embedder, toVector, type VectorInput } from '../rag/embedding-spaces.ts';
import { halfvecBinary, halfvecLiteral } from '../rag/halfvec.ts';
import { estimateTokens } from '../rag/ingest-rows.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import {
  deleted,
  describe,
  loadMove,
  type Move,
  org,
  type Reembedding,
  type SourceRow,
  sourceOf,
} from './reembedding-moves.ts';

// One batch of a move: the next rows without a current vector in the new space, embedded and
// written beside them with the move's progress, in one tenant transaction.

/** An embedder that also says what a call cost (a provider's usage); without it the rows' token counts are recorded. */
export interface ReembedEmbedder extends Embedder {
  embedWithUsage?(texts: string[]): Promise<{ vectors: readonly VectorInput[]; tokens: number }>;
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
export interface Writing {
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
    : sql`json_to_recordset(${jsonParam(
        rows.map((row, i) => ({
          id: row.id,
          content_hash: row.hash,
          embedding: halfvecLiteral(vectors[i] ?? []),
        })),
        'json',
      )}) as s(id uuid, content_hash text, embedding halfvec)`;
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

/**
 * The next `batchSize` rows of a move in `range` (SQL over the row alias `x`) without a current
 * vector in the new space, in id order: for a dataset, a walk of its chunks from the cursor that
 * stops at the batch's last row (`chunks_dataset_id_id_idx`), one probe each.
 */
export const nextRows = (m: Move, range: SQL, batchSize: number): SQL => {
  const source = sourceOf(m);
  return sql`
    select x.id, ${source.fingerprint} as hash, ${source.columns}
    from ${sql.identifier(source.table)} x
    where ${source.rows(m)} and ${range} and not ${source.fresh(m)}
    order by x.id
    limit ${batchSize}`;
};

/** Below every id: where a move's first pass starts. */
const NO_ROW = '00000000-0000-0000-0000-000000000000';

/** What one step did; `last` when no row of the move is left without a current vector, read in the step's transaction. */
export type Stepped = { rows: number; tokens: number; last?: Reembedding };

/**
 * One batch in one tenant transaction, the move locked: the next rows without a current vector in
 * the new space (first in id order after the cursor, then any left behind: added before the cursor
 * or changed since they were embedded), embedded and written with the move's progress. A crash
 * anywhere loses at most this batch; nothing committed is embedded again. A batch short of
 * `batchSize` looks once more for any row left without a current vector (rows changed meanwhile),
 * so the last batch also says the move is done, with no transaction of its own for that.
 */
export async function step(
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
      await tx.execute(nextRows(m, range, batchSize)),
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
