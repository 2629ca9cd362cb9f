import { sql } from 'drizzle-orm';
import { invalidInput } from '../base/input.ts';
import { type DbHandle, rowsOf } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import { tenantIndexName } from '../rag/embedding-spaces.ts';
import { uuidArray } from '../rag/search-input.ts';
import { defaultTenantIndexMinRows, tenantIndexRoom } from '../rag/tenant-indexes.ts';
import { buildReembeddingIndex, REEMBED_BUILD_WORKERS } from './reembedding-index.ts';
import type { Reembedding } from './reembedding-moves.ts';
import { type ReembedEmbedder, reembed } from './reembedding-run.ts';

// Many moves at once (every dataset of many tenants), with each tenant's index built as soon as its
// moves are embedded, beside the moves still embedding.

export type ReembedManyMove = { organizationId: string; migrationId: string };

export interface ReembedManyInput {
  /** The moves, each in its tenant (embedded in the order {@link reembedMany} chooses, not as given). */
  moves: ReembedManyMove[];
  embedder: ReembedEmbedder;
  /**
   * Moves embedded at a time (default 2: one waits on the embedder while the other's batch is
   * written); 1 when the embedder computes on the database's own cores, where a second move only
   * takes CPU from the builds and the searches. The handle needs `concurrency + 2` connections: a
   * build holds two (its lock's and its own).
   */
  concurrency?: number;
  batchSize?: number;
  tenantIndexMinRows?: number;
  /** The most tenant indexes `chunk_embeddings` holds, every space's counted (default `defaultMaxTenantIndexes`). */
  maxTenantIndexes?: number;
  /** After each move is embedded (awaited). */
  onMoved?: (move: Reembedding) => void | Promise<void>;
}

/**
 * Every move embedded, `concurrency` at a time (each as {@link reembed} with `index: 'deferred'`),
 * a tenant's moves together in the order {@link planMoves} gives, and each tenant's index of its
 * new space built once, as soon as the last of the tenant's moves is embedded: one build at a time
 * on its own backend ({@link REEMBED_BUILD_WORKERS}), beside the moves still embedding, so the
 * builds' CPU overlaps the embedding's instead of following it, and a core stays with the
 * searches. Tenants left without a build of their own (under `tenantIndexMinRows`, or past
 * the room under the cap) are checked together after the last move, since rows moved before may
 * still give them one. No build analyzes the table; `analyze chunk_embeddings` runs once at the
 * end. Returns the moves.
 */
export async function reembedMany(handle: DbHandle, input: ReembedManyInput): Promise<Reembedding[]> {
  const concurrency = input.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16)
    throw invalidInput(
      'reembeddings',
      'id',
      `concurrency must be an integer from 1 to 16, got ${concurrency}`,
    );
  const minRows = input.tenantIndexMinRows ?? defaultTenantIndexMinRows(input.embedder.dimensions);
  // Refused before any move embeds, not at the first build.
  if (!Number.isInteger(minRows) || minRows < 1)
    throw invalidInput(
      'chunk_embeddings',
      'embedding',
      `tenantIndexMinRows must be an integer >= 1, got ${String(minRows)}`,
    );
  const maxIndexes = input.maxTenantIndexes;
  if (maxIndexes !== undefined && (!Number.isInteger(maxIndexes) || maxIndexes < 0))
    throw invalidInput(
      'chunk_embeddings',
      'embedding',
      `maxTenantIndexes must be an integer >= 0, got ${String(maxIndexes)}`,
    );
  const plan = await planMoves(handle, input.moves, minRows, maxIndexes);
  const queue = [...plan.queue];
  const left = new Map<string, number>();
  for (const move of queue) left.set(move.organizationId, (left.get(move.organizationId) ?? 0) + 1);
  // Tenants without a build of their own, by space: asked about together, once, at the end.
  const later = new Map<string, string[]>();
  const done: Reembedding[] = [];

  // One build at a time, in the order the tenants' moves finish.
  let builds: Promise<unknown> = Promise.resolve();
  let buildFailed: unknown;
  let built = 0;
  const build = (spaceId: string, organizationIds: string[]) => {
    builds = builds.then(async () => {
      if (buildFailed) return;
      try {
        built += (
          await buildReembeddingIndex(handle, spaceId, {
            organizationIds,
            minRows,
            maxIndexes,
            analyze: false,
          })
        ).length;
      } catch (error) {
        buildFailed = error;
      }
    });
  };
  const mover = async () => {
    for (let move = queue.shift(); move && !buildFailed; move = queue.shift()) {
      const tenant = move.organizationId;
      const moved = await reembed(handle, {
        organizationId: tenant,
        migrationId: move.migrationId,
        embedder: input.embedder,
        batchSize: input.batchSize,
        index: 'deferred',
      });
      done.push(moved);
      const rest = (left.get(tenant) ?? 1) - 1;
      left.set(tenant, rest);
      if (rest === 0)
        for (const spaceId of plan.spaces.get(tenant) ?? [])
          if (plan.indexed.has(tenant)) build(spaceId, [tenant]);
          else later.set(spaceId, [...(later.get(spaceId) ?? []), tenant]);
      await input.onMoved?.(moved);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, mover));
    for (const [spaceId, tenants] of later) build(spaceId, tenants);
  } finally {
    // A build under way finishes (or fails) before the call returns, even when a move failed.
    await builds;
  }
  if (buildFailed) throw buildFailed;
  if (built > 0) await handle.db.execute(sql`analyze chunk_embeddings`);
  return done;
}

/**
 * The moves, a tenant's together, each tenant's new spaces, and the tenants that get a build of
 * their own: those with at least `minRows` rows to move, the largest first while the cap leaves
 * room (as `ensureTenantIndexes` chooses, whatever order the moves come in: one build call per
 * tenant in the given order gave the room to whichever came first). Those tenants' moves go first, the
 * largest first, so the longest build starts early and the last builds are short; the rest
 * follow as given. Each tenant's rows are counted in its own scope.
 */
async function planMoves(
  handle: DbHandle,
  moves: ReembedManyMove[],
  minRows: number,
  maxIndexes: number | undefined,
): Promise<{ queue: ReembedManyMove[]; indexed: Set<string>; spaces: Map<string, string[]> }> {
  const byTenant = new Map<string, ReembedManyMove[]>();
  for (const move of moves)
    byTenant.set(move.organizationId, [...(byTenant.get(move.organizationId) ?? []), move]);
  const tenants: { organizationId: string; moves: ReembedManyMove[]; rows: number }[] = [];
  // Each tenant's new spaces of its dataset moves, where its builds go.
  const spaces = new Map<string, string[]>();
  // The tenants' indexes of their new spaces: each move drops its tenant's and the builds make it again.
  const rebuilt: string[] = [];
  for (const [organizationId, own] of byTenant) {
    const counted = await withTenant(handle.db, organizationId, async (tx) =>
      rowsOf<{ space_id: string; n: number }>(
        await tx.execute(sql`
          select r.to_space_id as space_id, sum((select count(*) from chunks x
            where x.organization_id = ${organizationId}::uuid and x.organization_id = r.organization_id
              and x.dataset_id = r.dataset_id))::int as n
          from reembeddings r
          where r.organization_id = ${organizationId}::uuid and r.target = 'dataset'
            and r.id = any(${uuidArray(
              own.map((move) => move.migrationId),
              'reembeddings',
              'id',
            )})
          group by r.to_space_id`),
      ),
    );
    for (const space of counted)
      rebuilt.push(tenantIndexName('chunk_embeddings', space.space_id, organizationId));
    spaces.set(
      organizationId,
      counted.map((space) => space.space_id),
    );
    tenants.push({ organizationId, moves: own, rows: counted.reduce((n, space) => n + Number(space.n), 0) });
  }
  const room = await tenantIndexRoom(handle, 'chunk_embeddings', { maxIndexes, rebuilt });
  const chosen = tenants
    .filter((tenant) => tenant.rows >= minRows)
    .sort((a, b) => b.rows - a.rows)
    .slice(0, room);
  const indexed = new Set(chosen.map((tenant) => tenant.organizationId));
  const rest = tenants.filter((tenant) => !indexed.has(tenant.organizationId));
  return { queue: [...chosen, ...rest].flatMap((tenant) => tenant.moves), indexed, spaces };
}
