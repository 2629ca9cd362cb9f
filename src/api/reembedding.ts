import { type SQL, sql } from 'drizzle-orm';
import { type DbHandle, rowsOf, type Transaction } from '../client.ts';
import { ReembeddingError, toDatabaseError } from '../errors.ts';
import { halfvecLiteral } from '../halfvec.ts';
import { estimateTokens } from '../ingest-rows.ts';
import { InputError, invalidInput, isUuid } from '../input.ts';
import type { StyleRules } from '../schema/brand.ts';
import type { reembeddingStates, reembeddingTargets } from '../schema/enums.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import { currentTenant, withTenant } from '../tenant.ts';
import { voiceText } from './brands.ts';
import { REBUILD_MIN_ROWS } from './bulk-ingest.ts';
import {
  distanceOperator,
  type Embedder,
  getEmbeddingSpace,
  tenantIndexName,
  toVector,
  type VectorInput,
  vectorLiteral,
} from './embedding-spaces.ts';
import { dropIndex, indexRows } from './search-indexes.ts';
import { ensureTenantIndexes } from './tenant-indexes.ts';

// Moving embeddings to a new space online: a dataset's chunks, a brand's voices, a tenant's messages.
// New vectors are written beside the old ones while reads stay on the old space; the switch is one
// statement; a rollback is one call until the old vectors are dropped, which is a step of its own.

export type ReembeddingTarget = (typeof reembeddingTargets)[number];
export type ReembeddingState = (typeof reembeddingStates)[number];

export type StartReembeddingInput = { toSpaceId: string } & (
  | { datasetId: string }
  /** A brand's voices embedded in `fromSpaceId`. */
  | { brandId: string; fromSpaceId: string }
  /** The tenant's messages embedded in `fromSpaceId`. */
  | { messages: true; fromSpaceId: string }
);

export interface Reembedding {
  id: string;
  target: ReembeddingTarget;
  datasetId: string | null;
  brandId: string | null;
  fromSpaceId: string;
  toSpaceId: string;
  state: ReembeddingState;
  /** Rows embedded into the new space so far (a row changed meanwhile and embedded again counts twice). */
  embeddedRows: number;
  /** Tokens the embedder reported, else the rows' token counts: what the move cost. */
  embeddedTokens: number;
  /** The embedder's last failure, cleared by the next batch written. */
  lastError: string | null;
  /** Rows the move covers now. */
  total: number;
  /** Rows without a current vector in the new space (0: ready to switch). */
  remaining: number;
  switchedAt: Date | null;
  finishedAt: Date | null;
}

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

export interface ReembedInput {
  organizationId: string;
  migrationId: string;
  /** Produces the new space's vectors (its length is checked against the space). */
  embedder: ReembedEmbedder;
  /** Rows per batch, one transaction each (default 500). */
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

type Move = Omit<Reembedding, 'total' | 'remaining'> & {
  organizationId: string;
  cursor: string | null;
  targetDeleted: boolean;
};

type SourceRow = { id: string; hash: string; tokens: number; text: string };

/** Where a target's rows and their new vectors live, as SQL over the row alias `x`. */
interface Source {
  table: 'chunks' | 'brand_voices' | 'messages';
  /** The rows the move covers. */
  rows(m: Move): SQL;
  /** sha256 (hex) of what is embedded: a row whose fingerprint changed is embedded again. */
  fingerprint: SQL;
  /** The columns {@link text} reads. */
  columns: SQL;
  text(row: Record<string, unknown>): string;
  /** The row has a current vector in the new space. */
  fresh(m: Move): SQL;
}

const org = (m: Move) => sql`${m.organizationId}::uuid`;

const datasetSource: Source = {
  table: 'chunks',
  rows: (m) => sql`x.organization_id = ${org(m)} and x.dataset_id = ${m.datasetId}::uuid`,
  fingerprint: sql`x.content_hash`,
  columns: sql`x.content, x.token_count`,
  text: (row) => String(row.content),
  fresh: (m) => sql`exists (select 1 from chunk_embeddings e where e.organization_id = ${org(m)}
    and e.organization_id = x.organization_id and e.id = x.id
    and e.embedding_space_id = ${m.toSpaceId}::uuid and e.content_hash = x.content_hash)`,
};

const staged = (fingerprint: SQL) => (m: Move) =>
  sql`exists (select 1 from reembedding_vectors v where v.organization_id = ${org(m)}
    and v.organization_id = x.organization_id and v.reembedding_id = ${m.id}::uuid and v.id = x.id
    and v.content_hash = ${fingerprint})`;

const sha256Sql = (text: SQL) => sql`encode(sha256(convert_to(${text}, 'UTF8')), 'hex')`;

const voiceFingerprint = sha256Sql(sql`jsonb_build_array(x.name, x.style_rules, x.examples)::text`);
const voicesSource: Source = {
  table: 'brand_voices',
  rows: (m) =>
    sql`x.organization_id = ${org(m)} and x.brand_id = ${m.brandId}::uuid and x.embedding_space_id = ${m.fromSpaceId}::uuid`,
  fingerprint: voiceFingerprint,
  columns: sql`x.name, x.style_rules, x.examples`,
  text: (row) =>
    voiceText({
      name: String(row.name),
      styleRules: row.style_rules as StyleRules,
      examples: row.examples as { output: string }[],
    }),
  fresh: staged(voiceFingerprint),
};

const messageFingerprint = sha256Sql(sql`x.text`);
const messagesSource: Source = {
  table: 'messages',
  rows: (m) => sql`x.organization_id = ${org(m)} and x.embedding_space_id = ${m.fromSpaceId}::uuid`,
  fingerprint: messageFingerprint,
  columns: sql`x.text`,
  text: (row) => String(row.text),
  fresh: staged(messageFingerprint),
};

const sourceOf = (m: Move): Source =>
  m.target === 'dataset' ? datasetSource : m.target === 'brand_voices' ? voicesSource : messagesSource;

const notFound = (id: string) =>
  new ReembeddingError(
    'not_found',
    `no re-embedding ${id} in this organization (or its dataset was deleted)`,
    id,
  );

type MoveRow = {
  id: string;
  target: ReembeddingTarget;
  dataset_id: string | null;
  brand_id: string | null;
  from_space_id: string;
  to_space_id: string;
  state: ReembeddingState;
  cursor: string | null;
  embedded_rows: number;
  embedded_tokens: number | string;
  last_error: string | null;
  switched_at: string | Date | null;
  finished_at: string | Date | null;
  target_deleted: boolean | null;
};

const toDate = (value: string | Date | null) => (value === null ? null : new Date(value));

/** The move, locked until the transaction ends when `lock` (one worker writes a move at a time). */
async function loadMove(tx: Transaction, id: string, lock = false): Promise<Move> {
  if (!isUuid(id))
    throw invalidInput('reembeddings', 'id', `re-embedding id must be a UUID, got ${String(id)}`);
  const organizationId = currentTenant(tx);
  const [row] = rowsOf<MoveRow>(
    await tx.execute(sql`
      select r.id, r.target, r.dataset_id, r.brand_id, r.from_space_id, r.to_space_id, r.state, r.cursor,
             r.embedded_rows, r.embedded_tokens, r.last_error, r.switched_at, r.finished_at,
             case r.target
               when 'dataset' then (select d.deleted_at is not null from datasets d
                 where d.organization_id = ${organizationId}::uuid and d.organization_id = r.organization_id and d.id = r.dataset_id)
               when 'brand_voices' then (select b.deleted_at is not null from brands b
                 where b.organization_id = ${organizationId}::uuid and b.organization_id = r.organization_id and b.id = r.brand_id)
               else false end as target_deleted
      from reembeddings r
      where r.organization_id = ${organizationId}::uuid and r.id = ${id}::uuid
      ${lock ? sql`for update of r` : sql``}`),
  );
  if (!row) throw notFound(id);
  return {
    id: row.id,
    organizationId,
    target: row.target,
    datasetId: row.dataset_id,
    brandId: row.brand_id,
    fromSpaceId: row.from_space_id,
    toSpaceId: row.to_space_id,
    state: row.state,
    cursor: row.cursor,
    embeddedRows: Number(row.embedded_rows),
    embeddedTokens: Number(row.embedded_tokens),
    lastError: row.last_error,
    switchedAt: toDate(row.switched_at),
    finishedAt: toDate(row.finished_at),
    targetDeleted: row.target_deleted === true,
  };
}

const deleted = (m: Move) =>
  new ReembeddingError(
    'target_deleted',
    `the ${m.target === 'dataset' ? `dataset ${m.datasetId}` : `brand ${m.brandId}`} of re-embedding ${m.id} was deleted`,
    m.id,
  );

async function counts(tx: Transaction, m: Move): Promise<{ total: number; remaining: number }> {
  const source = sourceOf(m);
  const [row] = rowsOf<{ total: number; remaining: number }>(
    await tx.execute(sql`
      select count(*)::int as total, count(*) filter (where not ${source.fresh(m)})::int as remaining
      from ${sql.identifier(source.table)} x where ${source.rows(m)}`),
  );
  return { total: Number(row?.total ?? 0), remaining: Number(row?.remaining ?? 0) };
}

async function describe(tx: Transaction, m: Move): Promise<Reembedding> {
  const { organizationId: _org, cursor: _cursor, targetDeleted: _deleted, ...rest } = m;
  // Once switched, rows are read in the new space: what is left to embed no longer applies.
  const { total, remaining } =
    m.state === 'embedding' ? await counts(tx, m) : { total: m.embeddedRows, remaining: 0 };
  return { ...rest, total, remaining };
}

/** The re-embedding with its progress (`remaining` 0: ready to switch). */
export async function getReembedding(tx: Transaction, migrationId: string): Promise<Reembedding> {
  try {
    return await describe(tx, await loadMove(tx, migrationId));
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/**
 * Records the move of a dataset's chunks (or a brand's voices, or the tenant's messages) from its
 * current space to `toSpaceId`, or returns the live one already recorded for the same target and
 * space: idempotent. Nothing is embedded yet; reads stay on the old space until
 * {@link switchReembedding}. A live move of the same target to another space is refused.
 */
export async function startReembedding(tx: Transaction, input: StartReembeddingInput): Promise<Reembedding> {
  const organizationId = currentTenant(tx);
  try {
    const to = await getEmbeddingSpace(tx, input.toSpaceId, 'reembeddings');
    let target: ReembeddingTarget;
    let key: SQL;
    let from: string;
    let datasetId: string | null = null;
    let brandId: string | null = null;
    if ('datasetId' in input) {
      if (!isUuid(input.datasetId))
        throw invalidInput(
          'reembeddings',
          'dataset_id',
          `dataset id must be a UUID, got ${String(input.datasetId)}`,
        );
      const [dataset] = rowsOf<{ embedding_space_id: string; deleted: boolean }>(
        await tx.execute(sql`
          select embedding_space_id, deleted_at is not null as deleted from datasets
          where organization_id = ${organizationId} and id = ${input.datasetId}`),
      );
      if (!dataset || dataset.deleted)
        throw invalidInput(
          'reembeddings',
          'dataset_id',
          `dataset ${input.datasetId} is not a live dataset of this organization`,
        );
      target = 'dataset';
      datasetId = input.datasetId;
      key = sql`dataset_id = ${datasetId}`;
      from = dataset.embedding_space_id;
    } else {
      from = (await getEmbeddingSpace(tx, input.fromSpaceId, 'reembeddings')).id;
      if ('brandId' in input) {
        if (!isUuid(input.brandId))
          throw invalidInput(
            'reembeddings',
            'brand_id',
            `brand id must be a UUID, got ${String(input.brandId)}`,
          );
        target = 'brand_voices';
        brandId = input.brandId;
        key = sql`brand_id = ${brandId}`;
      } else if (input.messages === true) {
        target = 'messages';
        key = sql`true`;
      } else throw invalidInput('reembeddings', 'target', 'give datasetId, brandId or messages: true');
    }
    const live = async () =>
      rowsOf<{ id: string; to_space_id: string }>(
        await tx.execute(sql`
          select id, to_space_id from reembeddings
          where organization_id = ${organizationId} and target = ${target} and ${key}
            and state in ('embedding', 'switched')`),
      )[0];
    let found = await live();
    if (!found) {
      if (from === to.id)
        throw invalidInput(
          'reembeddings',
          'to_space_id',
          `the ${target} is already embedded in space ${to.id}`,
        );
      await tx.execute(sql`
        insert into reembeddings (organization_id, target, dataset_id, brand_id, from_space_id, to_space_id)
        values (${organizationId}, ${target}, ${datasetId}, ${brandId}, ${from}, ${to.id})
        on conflict (organization_id, target, coalesce(dataset_id, brand_id, organization_id))
          where state in ('embedding', 'switched') do nothing`);
      found = await live();
    }
    if (!found) throw new Error('the re-embedding was neither recorded nor found');
    if (found.to_space_id !== to.id)
      throw new ReembeddingError(
        'wrong_state',
        `the ${target} is already moving to space ${found.to_space_id} (re-embedding ${found.id}): switch and drop, or roll it back, first`,
        found.id,
      );
    // The new space becomes one the dataset's vectors may be in (`chunk_embeddings_dataset_space_fkey`).
    if (target === 'dataset')
      await tx.execute(sql`
        insert into dataset_spaces (organization_id, dataset_id, embedding_space_id)
        values (${organizationId}::uuid, ${datasetId}::uuid, ${to.id}::uuid)
        on conflict do nothing`);
    return await describe(tx, await loadMove(tx, found.id));
  } catch (error) {
    throw toDatabaseError(error);
  }
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

/** Writes the batch's vectors beside the rows (replacing stale ones) and advances the move. */
async function writeBatch(
  tx: Transaction,
  m: Move,
  space: EmbeddingSpace,
  rows: SourceRow[],
  vectors: number[][],
  tokens: number,
  cursor: string | null,
): Promise<void> {
  const values = JSON.stringify(
    rows.map((row, i) => ({ id: row.id, hash: row.hash, embedding: halfvecLiteral(vectors[i] ?? []) })),
  );
  const recordset = sql`json_to_recordset(${values}::json) as s(id uuid, hash text, embedding halfvec)`;
  // RETURNING keeps it an ordinary routed insert on Citus (not a COPY into the shards).
  if (m.target === 'dataset')
    await tx.execute(sql`
      insert into chunk_embeddings (organization_id, id, dataset_id, content_hash, embedding_space_id, embedding_dimensions, embedding)
      select ${org(m)}, s.id, ${m.datasetId}::uuid, s.hash, ${space.id}::uuid, ${space.dimensions}::int, s.embedding
      from ${recordset}
      on conflict (organization_id, id, embedding_space_id) do update
        set content_hash = excluded.content_hash, embedding = excluded.embedding
      returning id`);
  else
    await tx.execute(sql`
      insert into reembedding_vectors (organization_id, reembedding_id, id, content_hash, space_id, dimensions, vector)
      select ${org(m)}, ${m.id}::uuid, s.id, s.hash, ${space.id}::uuid, ${space.dimensions}::int, s.embedding
      from ${recordset}
      on conflict (organization_id, reembedding_id, id) do update
        set content_hash = excluded.content_hash, vector = excluded.vector
      returning id`);
  await tx.execute(sql`
    update reembeddings set cursor = ${cursor}::uuid, embedded_rows = embedded_rows + ${rows.length}::int,
      embedded_tokens = embedded_tokens + ${tokens}::bigint, last_error = null
    where organization_id = ${org(m)} and id = ${m.id}`);
}

/**
 * One batch in one tenant transaction, the move locked: the next rows without a current vector in
 * the new space (first in id order after the cursor, then any left behind: added before the cursor
 * or changed since they were embedded), embedded and written with the move's progress. A crash
 * anywhere loses at most this batch; nothing committed is embedded again.
 */
async function step(
  tx: Transaction,
  migrationId: string,
  space: EmbeddingSpace,
  embedder: ReembedEmbedder,
  batchSize: number,
): Promise<{ rows: number; tokens: number }> {
  const m = await loadMove(tx, migrationId, true);
  if (m.targetDeleted) throw deleted(m);
  if (m.state !== 'embedding') return { rows: 0, tokens: 0 };
  const source = sourceOf(m);
  const pick = async (after: string | null) =>
    rowsOf<Record<string, unknown> & { id: string; hash: string }>(
      await tx.execute(sql`
        select x.id, ${source.fingerprint} as hash, ${source.columns}
        from ${sql.identifier(source.table)} x
        where ${source.rows(m)} ${after === null ? sql`` : sql`and x.id > ${after}::uuid`}
          and not ${source.fresh(m)}
        order by x.id
        limit ${batchSize}`),
    );
  let picked = await pick(m.cursor ?? '00000000-0000-0000-0000-000000000000');
  const firstPass = picked.length > 0;
  if (!firstPass) picked = await pick(null);
  if (picked.length === 0) return { rows: 0, tokens: 0 };
  const rows = picked.map((row) => {
    const text = source.text(row);
    return {
      id: row.id,
      hash: row.hash,
      text,
      tokens: row.token_count === undefined ? estimateTokens(text) : Number(row.token_count),
    };
  });
  const { vectors, tokens } = await embedBatch(m, space, embedder, rows);
  await writeBatch(tx, m, space, rows, vectors, tokens, firstPass ? (rows.at(-1)?.id ?? null) : m.cursor);
  return { rows: rows.length, tokens };
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
  const batchSize = input.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw invalidInput(
      'reembeddings',
      'embedded_rows',
      `batchSize must be an integer from 1 to 10000, got ${batchSize}`,
    );
  const mode = input.index ?? 'auto';
  const first = await withTenant(handle.db, organizationId, async (tx) => {
    const m = await loadMove(tx, migrationId);
    return { m, ...(await describe(tx, m)) };
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
    const large =
      first.remaining >= REBUILD_MIN_ROWS && first.remaining >= (await indexRows(handle, own)) / 2;
    if (mode === 'rebuild' || mode === 'deferred' || (mode === 'auto' && large)) await dropIndex(handle, own);
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
  for (;;) {
    let done: { rows: number; tokens: number };
    try {
      done = await withTenant(handle.db, organizationId, (tx) => step(tx, m.id, space, embedder, batchSize));
    } catch (error) {
      if (error instanceof ReembeddingError && error.kind === 'embedder_failed')
        await withTenant(handle.db, organizationId, (tx) =>
          tx.execute(sql`update reembeddings set last_error = ${error.message.slice(0, 2000)}
            where organization_id = ${organizationId} and id = ${m.id}`),
        );
      throw error;
    }
    if (done.rows === 0) break;
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
  return withTenant(handle.db, organizationId, async (tx) => describe(tx, await loadMove(tx, m.id)));
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
    while ((await step(tx, m.id, space, input.embedder, input.batchSize ?? 500)).rows > 0);
    return await describe(tx, await loadMove(tx, m.id));
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/**
 * Gives every tenant (or the given ones) with at least `minRows` vectors of the space in
 * `chunk_embeddings` its own HNSW index there (`ensureTenantIndexes`: CONCURRENTLY on a server, so
 * every tenant keeps searching), after moves run with `index: 'deferred'`. Returns the names of the
 * indexes it built.
 */
export async function buildReembeddingIndex(
  handle: DbHandle,
  spaceId: string,
  options: { organizationIds?: string[]; minRows?: number } = {},
): Promise<string[]> {
  const built = await ensureTenantIndexes(handle, { spaceId, table: 'chunk_embeddings', ...options });
  if (built.length > 0) await handle.db.execute(sql`analyze chunk_embeddings`);
  return built;
}

/** Locks what the switch changes: a dataset's row (ingests hold it for share while they write its chunks). */
async function lockTarget(tx: Transaction, m: Move): Promise<void> {
  if (m.target === 'dataset')
    await tx.execute(
      sql`select id from datasets where organization_id = ${org(m)} and id = ${m.datasetId}::uuid for update`,
    );
}

/**
 * Swaps brand voices' or messages' own vectors with the staged ones in one statement (every part of
 * it reads the rows as they were before it), moving the state from `from` to `to`. `covered`: only
 * when every row of the move has a current staged vector.
 */
async function swapVectors(
  tx: Transaction,
  m: Move,
  fromState: ReembeddingState,
  toState: ReembeddingState,
  homeSpace: string,
  covered: boolean,
): Promise<boolean> {
  const source = sourceOf(m);
  const table = sql.identifier(source.table);
  const stamp = toState === 'switched' ? sql`switched_at = now()` : sql`finished_at = now()`;
  const [row] = rowsOf<{ moved: number }>(
    await tx.execute(sql`
      with moved as (
        update reembeddings set state = ${toState}, ${stamp}
        where organization_id = ${org(m)} and id = ${m.id} and state = ${fromState}
          ${covered ? sql`and not exists (select 1 from ${table} x where ${source.rows(m)} and not ${source.fresh(m)})` : sql``}
        returning id
      ),
      swapped as (
        update ${table} x set embedding_space_id = v.space_id, embedding_dimensions = v.dimensions, embedding = v.vector
        from reembedding_vectors v, moved
        where x.organization_id = ${org(m)} and v.organization_id = ${org(m)} and v.reembedding_id = moved.id
          and x.id = v.id and x.embedding_space_id = ${homeSpace}::uuid
        returning x.id
      ),
      kept as (
        update reembedding_vectors v set space_id = x.embedding_space_id, dimensions = x.embedding_dimensions, vector = x.embedding
        from ${table} x, moved
        where v.organization_id = ${org(m)} and x.organization_id = ${org(m)} and v.reembedding_id = moved.id
          and x.id = v.id and x.embedding_space_id = ${homeSpace}::uuid
        returning v.id
      )
      select (select count(*)::int from moved) as moved`),
  );
  return Number(row?.moved ?? 0) === 1;
}

/**
 * Switches reads to the new space in one statement, once every row has a current vector there
 * (else `ReembeddingError` `not_ready`, retryable after {@link reembed}): a dataset's searches use
 * the new space from the next query (and new ingests need the new space's embedder); a brand's
 * voices and the tenant's messages hold the new vectors, the old ones kept for a rollback.
 * Idempotent. Returns the move.
 */
export async function switchReembedding(tx: Transaction, migrationId: string): Promise<Reembedding> {
  try {
    let m = await loadMove(tx, migrationId, true);
    if (m.targetDeleted) throw deleted(m);
    if (m.state === 'switched') return await describe(tx, m);
    if (m.state !== 'embedding')
      throw new ReembeddingError(
        'wrong_state',
        `re-embedding ${m.id} is ${m.state}: nothing to switch`,
        m.id,
      );
    await lockTarget(tx, m);
    let switched: boolean;
    if (m.target === 'dataset') {
      const source = datasetSource;
      const rows = rowsOf<{ id: string }>(
        await tx.execute(sql`
          with moved as (
            update reembeddings set state = 'switched', switched_at = now()
            where organization_id = ${org(m)} and id = ${m.id} and state = 'embedding'
              and not exists (select 1 from chunks x where ${source.rows(m)} and not ${source.fresh(m)})
            returning dataset_id, to_space_id
          )
          update datasets d set embedding_space_id = moved.to_space_id from moved
          where d.organization_id = ${org(m)} and d.id = moved.dataset_id
          returning d.id`),
      );
      switched = rows.length === 1;
    } else switched = await swapVectors(tx, m, 'embedding', 'switched', m.fromSpaceId, true);
    if (!switched) {
      const { remaining } = await counts(tx, m);
      throw new ReembeddingError(
        'not_ready',
        `re-embedding ${m.id}: ${remaining} rows have no current vector in space ${m.toSpaceId}: run reembed, then switch`,
        m.id,
      );
    }
    m = await loadMove(tx, m.id);
    return await describe(tx, m);
  } catch (error) {
    throw toDatabaseError(error);
  }
}

export interface RollbackResult extends Reembedding {
  /** Rows with no vector in the old space (a dataset's chunks added or changed after the switch): searches miss them until re-ingested. */
  missingInOldSpace: number;
}

/**
 * Goes back to the old space in one call, before or after the switch, until the old vectors are
 * dropped: reads return to the old space in one statement, and the new space's vectors of the
 * move are deleted, with the dataset's leave to hold vectors there. Chunks ingested or changed
 * after the switch had only a new-space vector, deleted with the rest: they are counted in
 * `missingInOldSpace` and are embedded again in the old space when re-ingested.
 */
export async function rollbackReembedding(tx: Transaction, migrationId: string): Promise<RollbackResult> {
  try {
    const m = await loadMove(tx, migrationId, true);
    if (m.state === 'dropped')
      throw new ReembeddingError(
        'wrong_state',
        `re-embedding ${m.id}'s old vectors are dropped: no rollback`,
        m.id,
      );
    if (m.state === 'rolled_back') return { ...(await describe(tx, m)), missingInOldSpace: 0 };
    await lockTarget(tx, m);
    if (m.target === 'dataset') {
      await tx.execute(sql`
        with moved as (
          update reembeddings set state = 'rolled_back', finished_at = now()
          where organization_id = ${org(m)} and id = ${m.id} and state in ('embedding', 'switched')
          returning dataset_id, from_space_id
        )
        update datasets d set embedding_space_id = moved.from_space_id from moved
        where d.organization_id = ${org(m)} and d.id = moved.dataset_id`);
      await tx.execute(sql`
        delete from chunk_embeddings
        where organization_id = ${org(m)} and dataset_id = ${m.datasetId} and embedding_space_id = ${m.toSpaceId}`);
      // Chunks written after the switch hold only a new-space vector: it goes with the others, and
      // the dataset's vectors may no longer be in the new space.
      await tx.execute(sql`
        update chunks set embedding_space_id = null, embedding_dimensions = null, embedding = null
        where organization_id = ${org(m)} and dataset_id = ${m.datasetId} and embedding_space_id = ${m.toSpaceId}`);
      await tx.execute(sql`
        delete from dataset_spaces
        where organization_id = ${org(m)} and dataset_id = ${m.datasetId} and embedding_space_id = ${m.toSpaceId}`);
    } else {
      if (m.state === 'switched') await swapVectors(tx, m, 'switched', 'rolled_back', m.toSpaceId, false);
      else
        await tx.execute(sql`
          update reembeddings set state = 'rolled_back', finished_at = now()
          where organization_id = ${org(m)} and id = ${m.id} and state = 'embedding'`);
      await tx.execute(
        sql`delete from reembedding_vectors where organization_id = ${org(m)} and reembedding_id = ${m.id}`,
      );
    }
    let missingInOldSpace = 0;
    if (m.target === 'dataset') {
      const [row] = rowsOf<{ n: number }>(
        await tx.execute(sql`
          select count(*)::int as n from chunks x where ${datasetSource.rows(m)}
            and x.embedding_space_id is distinct from ${m.fromSpaceId}::uuid
            and not exists (select 1 from chunk_embeddings e where e.organization_id = ${org(m)}
              and e.organization_id = x.organization_id and e.id = x.id and e.embedding_space_id = ${m.fromSpaceId}::uuid)`),
      );
      missingInOldSpace = Number(row?.n ?? 0);
    }
    return { ...(await describe(tx, await loadMove(tx, m.id))), missingInOldSpace };
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/**
 * Drops a switched move's old vectors, the explicit last step: the state becomes `dropped` first
 * (no rollback from then on), then the old space's vectors go in batches of `batchSize`, each its
 * own tenant transaction, so the call can be repeated after an interruption. Returns how many
 * vectors it removed.
 */
export async function dropOldVectors(
  handle: DbHandle,
  input: { organizationId: string; migrationId: string; batchSize?: number },
): Promise<{ removed: number }> {
  const batchSize = input.batchSize ?? 2000;
  const m = await withTenant(handle.db, input.organizationId, async (tx) => {
    const move = await loadMove(tx, input.migrationId, true);
    if (move.state !== 'switched' && move.state !== 'dropped')
      throw new ReembeddingError(
        'wrong_state',
        `re-embedding ${move.id} is ${move.state}: only a switched move's old vectors can be dropped`,
        move.id,
      );
    await tx.execute(sql`
      update reembeddings set state = 'dropped', finished_at = now()
      where organization_id = ${org(move)} and id = ${move.id} and state = 'switched'`);
    return move;
  });
  let removed = 0;
  const batch = (statement: SQL) =>
    withTenant(
      handle.db,
      input.organizationId,
      async (tx) => rowsOf<{ id: string }>(await tx.execute(statement)).length,
    );
  const statements: SQL[] =
    m.target === 'dataset'
      ? [
          sql`delete from chunk_embeddings where organization_id = ${org(m)} and (organization_id, id, embedding_space_id) in (
                select organization_id, id, embedding_space_id from chunk_embeddings
                where organization_id = ${org(m)} and dataset_id = ${m.datasetId} and embedding_space_id = ${m.fromSpaceId}
                limit ${batchSize}) returning id`,
          sql`update chunks set embedding_space_id = null, embedding_dimensions = null, embedding = null
              where organization_id = ${org(m)} and id in (
                select id from chunks where organization_id = ${org(m)} and dataset_id = ${m.datasetId}
                  and embedding_space_id = ${m.fromSpaceId} limit ${batchSize}) returning id`,
        ]
      : [
          sql`delete from reembedding_vectors where organization_id = ${org(m)} and (organization_id, reembedding_id, id) in (
                select organization_id, reembedding_id, id from reembedding_vectors
                where organization_id = ${org(m)} and reembedding_id = ${m.id} limit ${batchSize}) returning id`,
        ];
  try {
    for (const statement of statements)
      for (let n = await batch(statement); n > 0; n = await batch(statement)) removed += n;
    // No vector of the dataset is in the old space any more: the database refuses new ones there.
    if (m.target === 'dataset')
      await batch(sql`
        delete from dataset_spaces
        where organization_id = ${org(m)} and dataset_id = ${m.datasetId} and embedding_space_id = ${m.fromSpaceId}
        returning embedding_space_id as id`);
  } catch (error) {
    throw toDatabaseError(error);
  }
  return { removed };
}

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
