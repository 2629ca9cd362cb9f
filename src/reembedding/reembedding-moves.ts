import { type SQL, sql } from 'drizzle-orm';
import { ReembeddingError } from '../base/errors.ts';
import { invalidInput, isUuid } from '../base/input.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { voiceText } from '../domains/brands.ts';
import type { StyleRules } from '../schema/brand.ts';
import type { reembeddingStates, reembeddingTargets } from '../schema/enums.ts';

// What a re-embedding is (the move, its target's rows), shared by its lifecycle and its embedding loop.

export type ReembeddingTarget = (typeof reembeddingTargets)[number];
export type ReembeddingState = (typeof reembeddingStates)[number];

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

export type Move = Omit<Reembedding, 'total' | 'remaining'> & {
  organizationId: string;
  cursor: string | null;
  targetDeleted: boolean;
};

export type SourceRow = { id: string; hash: string; tokens: number; text: string };

/** Where a target's rows and their new vectors live, as SQL over the row alias `x`. */
export interface Source {
  table: 'chunks' | 'brand_voices' | 'messages';
  /** The rows the move covers. */
  rows(m: Move): SQL;
  /** sha256 (hex) of what is embedded: a row whose fingerprint changed is embedded again. */
  fingerprint: SQL;
  /** The columns {@link text} reads. */
  columns: SQL;
  text(row: Record<string, unknown>): string;
  /** The row has a current vector in the new space (a boolean, never null). */
  fresh(m: Move): SQL;
}

export const org = (m: Move) => sql`${m.organizationId}::uuid`;

export const datasetSource: Source = {
  table: 'chunks',
  rows: (m) => sql`x.organization_id = ${org(m)} and x.dataset_id = ${m.datasetId}::uuid`,
  fingerprint: sql`x.content_hash`,
  columns: sql`x.content, x.token_count`,
  text: (row) => String(row.content),
  // One primary-key probe per row, whatever the statistics say: a scalar subquery stays a per-row
  // subplan (an EXISTS became a hash join over all the tenant's vectors of the space, every batch,
  // while the statistics had not seen the space), and the space, compared as text, leaves the
  // probe no index but (organization_id, id) (a space index scan per row, once they had).
  fresh: (m) => sql`(select e.content_hash from chunk_embeddings e where e.organization_id = ${org(m)}
    and e.organization_id = x.organization_id and e.id = x.id
    and e.embedding_space_id::text = ${m.toSpaceId}::uuid::text) is not distinct from x.content_hash`,
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

export const sourceOf = (m: Move): Source =>
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
export async function loadMove(tx: Transaction, id: string, lock = false): Promise<Move> {
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

export const deleted = (m: Move) =>
  new ReembeddingError(
    'target_deleted',
    `the ${m.target === 'dataset' ? `dataset ${m.datasetId}` : `brand ${m.brandId}`} of re-embedding ${m.id} was deleted`,
    m.id,
  );

/**
 * Rows the move covers and how many lack a current vector in the new space; `remaining` when the
 * caller knows it (a pick that found none), so only the rows are counted.
 */
export async function counts(
  tx: Transaction,
  m: Move,
  remaining?: number,
): Promise<{ total: number; remaining: number }> {
  const source = sourceOf(m);
  // The rows without a current vector counted in a WHERE of their own, the check a probe per row.
  const left =
    remaining === undefined
      ? sql`(select count(*) from ${sql.identifier(source.table)} x where ${source.rows(m)} and not ${source.fresh(m)})::int`
      : sql`null::int`;
  const [row] = rowsOf<{ total: number; remaining: number | null }>(
    await tx.execute(sql`
      select count(*)::int as total, ${left} as remaining
      from ${sql.identifier(source.table)} x where ${source.rows(m)}`),
  );
  return { total: Number(row?.total ?? 0), remaining: remaining ?? Number(row?.remaining ?? 0) };
}

/** The move as callers see it; `remaining` as in {@link counts}. */
export async function describe(tx: Transaction, m: Move, remaining?: number): Promise<Reembedding> {
  const { organizationId: _org, cursor: _cursor, targetDeleted: _deleted, ...rest } = m;
  // Once switched, rows are read in the new space: what is left to embed no longer applies.
  const { total, remaining: left } =
    m.state === 'embedding' ? await counts(tx, m, remaining) : { total: m.embeddedRows, remaining: 0 };
  return { ...rest, total, remaining: left };
}
