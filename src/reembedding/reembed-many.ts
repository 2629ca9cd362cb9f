import { sql } from 'drizzle-orm';
import { invalidInput } from '../base/input.ts';
import type { DbHandle } from '../client/client.ts';
import { defaultTenantIndexMinRows } from '../rag/tenant-indexes.ts';
import { buildReembeddingIndex, REEMBED_BUILD_WORKERS } from './reembedding-index.ts';
import type { Reembedding } from './reembedding-moves.ts';
import { type ReembedEmbedder, reembed } from './reembedding-run.ts';

// Many moves at once (every dataset of many tenants), with each tenant's index built as soon as its
// moves are embedded, beside the moves still embedding.

export interface ReembedManyInput {
  /** The moves, each in its tenant; a tenant's moves are best given together, its largest first. */
  moves: { organizationId: string; migrationId: string }[];
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
  /** After each move is embedded (awaited). */
  onMoved?: (move: Reembedding) => void | Promise<void>;
}

/**
 * Every move embedded, `concurrency` at a time (each as {@link reembed} with `index: 'deferred'`),
 * and each tenant's index of its new space built once, as soon as the last of the tenant's moves
 * is embedded (tenants whose moves cover fewer than `tenantIndexMinRows` rows are checked together
 * after the last move, since rows moved before may still give them one): one build at a time on
 * its own backend ({@link REEMBED_BUILD_WORKERS}), beside the moves still embedding, so the builds'
 * CPU overlaps the embedding's instead of following it, and a core stays with the searches. No
 * build analyzes the table; `analyze chunk_embeddings` runs once at the end. Returns the moves.
 */
export async function reembedMany(handle: DbHandle, input: ReembedManyInput): Promise<Reembedding[]> {
  const concurrency = input.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16)
    throw invalidInput(
      'reembeddings',
      'id',
      `concurrency must be an integer from 1 to 16, got ${concurrency}`,
    );
  const left = new Map<string, number>();
  for (const move of input.moves) left.set(move.organizationId, (left.get(move.organizationId) ?? 0) + 1);
  const minRows = input.tenantIndexMinRows ?? defaultTenantIndexMinRows(input.embedder.dimensions);
  // Refused before any move embeds, not at the first build.
  if (!Number.isInteger(minRows) || minRows < 1)
    throw invalidInput(
      'chunk_embeddings',
      'embedding',
      `tenantIndexMinRows must be an integer >= 1, got ${String(minRows)}`,
    );
  // Each tenant's dataset moves: their new spaces, and the rows they cover.
  const spaces = new Map<string, Set<string>>();
  const rows = new Map<string, number>();
  // Tenants whose moves stayed under minRows, by space: asked about together, once, at the end
  // (rows moved before this call could still take one past it), not one build call each.
  const under = new Map<string, string[]>();
  const queue = [...input.moves];
  const done: Reembedding[] = [];
  // One build at a time, in the order the tenants' moves finish.
  let builds: Promise<unknown> = Promise.resolve();
  let buildFailed: unknown;
  let built = 0;
  const build = (spaceId: string, organizationIds: string[]) => {
    builds = builds.then(async () => {
      if (buildFailed) return;
      try {
        built += (await buildReembeddingIndex(handle, spaceId, { organizationIds, minRows, analyze: false }))
          .length;
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
      const tenantSpaces = spaces.get(tenant) ?? new Set<string>();
      if (moved.target === 'dataset') {
        spaces.set(tenant, tenantSpaces.add(moved.toSpaceId));
        rows.set(tenant, (rows.get(tenant) ?? 0) + moved.total);
      }
      const rest = (left.get(tenant) ?? 1) - 1;
      left.set(tenant, rest);
      if (rest === 0)
        for (const spaceId of tenantSpaces)
          if ((rows.get(tenant) ?? 0) >= minRows) build(spaceId, [tenant]);
          else under.set(spaceId, [...(under.get(spaceId) ?? []), tenant]);
      await input.onMoved?.(moved);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, mover));
    for (const [spaceId, tenants] of under) build(spaceId, tenants);
  } finally {
    // A build under way finishes (or fails) before the call returns, even when a move failed.
    await builds;
  }
  if (buildFailed) throw buildFailed;
  if (built > 0) await handle.db.execute(sql`analyze chunk_embeddings`);
  return done;
}
