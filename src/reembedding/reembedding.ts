import { type SQL, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { ReembeddingError } from '../base/errors.ts';
import { invalidInput, isUuid } from '../base/input.ts';
import { type DbHandle, rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant, withTenant } from '../client/tenant.ts';
import { getEmbeddingSpace } from '../rag/embedding-spaces.ts';
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
  type ReembeddingTarget,
  sourceOf,
} from './reembedding-moves.ts';

// Moving embeddings to a new space online: a dataset's chunks, a brand's voices, a tenant's messages.
// New vectors are written beside the old ones while reads stay on the old space; the switch is one
// statement; a rollback is one call until the old vectors are dropped, which is a step of its own.

export type { Reembedding, ReembeddingState, ReembeddingTarget } from './reembedding-moves.ts';

export type StartReembeddingInput = { toSpaceId: string } & (
  | { datasetId: string }
  /** A brand's voices embedded in `fromSpaceId`. */
  | { brandId: string; fromSpaceId: string }
  /** The tenant's messages embedded in `fromSpaceId`. */
  | { messages: true; fromSpaceId: string }
);

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
