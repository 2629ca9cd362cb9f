import { type SQL, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { ReembeddingError } from '../base/errors.ts';
import { type DbHandle, rowsOf, type Transaction } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import {
  counts,
  datasetSource,
  deleted,
  describe,
  loadMove,
  type Move,
  org,
  type Reembedding,
  type ReembeddingState,
  sourceOf,
} from './reembedding-moves.ts';

// The cut-over of a move: reads switched to the new space in one statement, a rollback in one call
// until the old vectors are dropped, and that drop, an explicit step of its own.

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
 * (else `ReembeddingError` `not_ready`, retryable after `reembed` (reembedding-run.ts)): a dataset's searches use
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
