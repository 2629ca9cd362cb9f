import { type SQL, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { ReembeddingError } from '../base/errors.ts';
import { invalidInput, isUuid } from '../base/input.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { getEmbeddingSpace } from '../rag/embedding-spaces.ts';
import { describe, loadMove, type Reembedding, type ReembeddingTarget } from './reembedding-moves.ts';

// Moving embeddings to a new space online: a dataset's chunks, a brand's voices, a tenant's messages.
// A move is recorded here; its rows are embedded by reembedding-run.ts while reads stay on the old
// space; the switch, the rollback and dropping the old vectors are reembedding-switch.ts's.

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
 * `switchReembedding` (reembedding-switch.ts). A live move of the same target to another space is refused.
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
