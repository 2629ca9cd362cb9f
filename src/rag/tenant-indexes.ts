import { invalidInput, isUuid } from '../base/input.ts';
import type { DbHandle } from '../client/client.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import {
  type EmbeddingDistance,
  embeddingIndexName,
  getEmbeddingSpace,
  tenantIndexName,
  tenantIndexNamePattern,
} from './embedding-spaces.ts';
import { createIndex, dropIndex } from './search-indexes.ts';
import { asOnlyMaintainer } from './tenant-index-lock.ts';
import {
  defaultWholeTenantThreshold,
  TENANT_INDEXED_TABLES,
  type TenantIndexedTable,
} from './vector-query.ts';

// Chunks (and their re-embedded vectors) are searched through an HNSW index of their tenant's rows only (see TENANT_INDEXED_TABLES):
// built once a tenant passes the whole-tenant threshold, dropped once it shrinks well under it, and
// no more of them than a search can lock (defaultMaxTenantIndexes).

/**
 * Rows of one tenant in a space from which it gets an HNSW index of its own: one more than the
 * whole-tenant threshold, so a search of the tenant's space runs either exactly (at most that many
 * candidates) or through an index that holds only its rows.
 */
export const defaultTenantIndexMinRows = (dimensions: number) => defaultWholeTenantThreshold(dimensions) + 1;

/**
 * Relation locks a search takes besides the tenant indexes (its tables, their other indexes, the
 * catalogs it reads): 28 to 36 measured, with room (`test/tenant-index-cap.test.ts`).
 */
export const SEARCH_LOCKS_BESIDE_TENANT_INDEXES = 40;

/**
 * The most tenant indexes each of `chunks` and `chunk_embeddings` holds, every space's counted:
 * `max_locks_per_transaction` less the other locks of a search (24 at PostgreSQL's default of 64).
 * The planner opens and locks every index of each table a statement names, the tenant indexes of
 * every other tenant included, and the server's lock table holds `max_locks_per_transaction` per
 * connection on average: with 2,026 tenant indexes on `chunks` a statement naming it planned in 21
 * ms instead of 0.1 and held 2,035 locks, and 40 sessions doing so at once failed with "out of
 * shared memory". Raising the setting (a restart) raises the cap; the tenants past the threshold
 * beyond it, the smallest, are searched exactly.
 */
export async function defaultMaxTenantIndexes(handle: DbHandle): Promise<number> {
  const [row] = await handle.sql.query<{ locks: string }>(
    `select current_setting('max_locks_per_transaction') as locks`,
  );
  return Math.max(0, Number(row?.locks ?? 64) - SEARCH_LOCKS_BESIDE_TENANT_INDEXES);
}

/** pgvector's halfvec operator class of a distance (as `app_embedding_opclass` says in SQL). */
const OPERATOR_CLASS: Record<EmbeddingDistance, string> = {
  cosine: 'halfvec_cosine_ops',
  l2: 'halfvec_l2_ops',
  inner_product: 'halfvec_ip_ops',
};

/**
 * A tenant's HNSW index: the expression and operator class searches use
 * (`embedding::halfvec(D) <op> query`), partial on the space and the tenant, so a search naming
 * both as literals (`nearestSql`) is served by it.
 */
export function tenantIndexDefinition(table: string, space: EmbeddingSpace, organizationId: string): string {
  if (!isUuid(organizationId) || !isUuid(space.id) || !Number.isInteger(space.dimensions))
    throw new Error(`refusing a tenant index for ${organizationId} in space ${space.id}`);
  const name = tenantIndexName(table, space.id, organizationId);
  const dims = space.dimensions;
  return `CREATE INDEX ${name} ON public.${table} USING hnsw (((embedding)::halfvec(${dims})) ${OPERATOR_CLASS[space.distance]}) WHERE ((embedding_space_id = '${space.id}'::uuid) AND (embedding_dimensions = ${dims}) AND (organization_id = '${organizationId.toLowerCase()}'::uuid))`;
}

export interface TenantIndexOptions {
  spaceId: string;
  /** Default `chunks`; `chunk_embeddings` holds re-embedded vectors (`src/reembedding/reembedding.ts`). */
  table?: TenantIndexedTable;
  /** Live rows from which a tenant gets its own index (default {@link defaultTenantIndexMinRows}). */
  minRows?: number;
  /** Only these tenants (default: every tenant with rows in the space). */
  organizationIds?: string[];
  /**
   * The most tenant indexes `table` holds, every space's counted (default
   * {@link defaultMaxTenantIndexes}); the largest tenants get them first.
   */
  maxIndexes?: number;
  /**
   * Parallel maintenance workers per build (default: all cores but one, at most 4); 0 keeps each
   * build to its own backend, one core, for builds beside searching services.
   */
  workers?: number;
  /** Called before each build, with the index name (progress). */
  onBuild?: (name: string) => void;
  /**
   * Analyze the table once something was built (default true); false for a caller that builds
   * many tenants' indexes one call at a time and analyzes once at the end.
   */
  analyze?: boolean;
}

export interface TenantIndexChanges {
  built: string[];
  dropped: string[];
  /** Tenants past the threshold left without an index of their own by the cap (`maxIndexes`): searched exactly. */
  capped: number;
}

/**
 * Gives every tenant with at least `minRows` live rows (rows of datasets not deleted) in a space
 * an HNSW index of its own on `table`: `<table>_<space tail>_<organization tail>_hnsw_idx`, which
 * its searches use (see `planNearest`), the largest tenants first while the table holds fewer than
 * `maxIndexes` (it drops none to make room: {@link maintainTenantIndexes} does). Idempotent;
 * builds CONCURRENTLY on a server, one at a time, so every tenant keeps searching and writing
 * meanwhile, and a search uses an index only once it is valid. Waits for another maintainer of
 * the table (another process's {@link maintainTenantIndexes}) to finish first. Run by the schema
 * owner (index creation needs the table's owner). Analyzes the table after building any, so the planner knows the tenants
 * that grew. Returns the names of the indexes it built.
 */
export async function ensureTenantIndexes(handle: DbHandle, input: TenantIndexOptions): Promise<string[]> {
  const changes = await reconcile(handle, input, { drop: false, wait: true });
  return changes?.built ?? [];
}

/**
 * {@link ensureTenantIndexes} for every space (or `spaceId`), and the other way too: drops the
 * index of a tenant whose live rows fell under half of `minRows` (datasets deleted, documents
 * removed, the organization gone) or whose place under the cap a larger tenant takes, invalid
 * leftovers of interrupted builds, and a space's shared index on a table searched through tenant
 * indexes (databases made before tenant indexes), all CONCURRENTLY. `neonhub-db maintain` runs
 * it; {@link watchTenantIndexes} runs it as searches ask. Skips a table another maintainer is
 * working on (`busy`).
 */
export async function maintainTenantIndexes(
  handle: DbHandle,
  input: { spaceId?: string; minRows?: number; maxIndexes?: number } = {},
): Promise<TenantIndexChanges & { busy: boolean }> {
  const spaceIds = input.spaceId
    ? [input.spaceId]
    : (await handle.sql.query<{ id: string }>('select id from embedding_spaces order by created_at, id')).map(
        (row) => row.id,
      );
  const maxIndexes = input.maxIndexes ?? (await defaultMaxTenantIndexes(handle));
  const total = { built: [] as string[], dropped: [] as string[], capped: 0, busy: false };
  for (const spaceId of spaceIds)
    for (const table of TENANT_INDEXED_TABLES) {
      const changes = await reconcile(
        handle,
        { spaceId, table, minRows: input.minRows, maxIndexes },
        { drop: true, wait: false },
      );
      if (!changes) total.busy = true;
      total.built.push(...(changes?.built ?? []));
      total.dropped.push(...(changes?.dropped ?? []));
      total.capped += changes?.capped ?? 0;
    }
  return total;
}

/**
 * How many more tenant indexes `table` can hold under the cap (`maxIndexes`, default
 * {@link defaultMaxTenantIndexes}), every space's counted, leaving out `rebuilt`: indexes the
 * caller drops and builds again (a re-embedding's moves drop their tenants' indexes of the new space).
 */
export async function tenantIndexRoom(
  handle: DbHandle,
  table: TenantIndexedTable,
  options: { maxIndexes?: number; rebuilt?: string[] } = {},
): Promise<number> {
  const maxIndexes = options.maxIndexes ?? (await defaultMaxTenantIndexes(handle));
  const rebuilt = new Set(options.rebuilt ?? []);
  const held = (await tenantIndexes(handle, table)).filter(
    (index) => (index.valid || index.building) && !rebuilt.has(index.name),
  );
  return Math.max(0, maxIndexes - held.length);
}

type TenantRows = { organization_id: string; n: number };
type TenantIndexRow = { name: string; valid: boolean; definition: string; building: boolean };

/** Builds (and with `drop`, drops) a space's tenant indexes on one table; undefined when another maintainer holds it and `wait` is false. */
async function reconcile(
  handle: DbHandle,
  input: TenantIndexOptions,
  how: { drop: boolean; wait: boolean },
): Promise<TenantIndexChanges | undefined> {
  const table = input.table ?? 'chunks';
  if (!(TENANT_INDEXED_TABLES as readonly string[]).includes(table))
    throw new Error(`${table} has no tenant indexes`);
  const space = await getEmbeddingSpace(handle.db, input.spaceId, table);
  const minRows = input.minRows ?? defaultTenantIndexMinRows(space.dimensions);
  if (!Number.isInteger(minRows) || minRows < 1)
    throw invalidInput(table, 'embedding', `minRows must be an integer >= 1, got ${String(minRows)}`);
  for (const id of input.organizationIds ?? [])
    if (!isUuid(id))
      throw invalidInput(table, 'organization_id', `organization id must be a UUID, got ${id}`);
  const maxIndexes = input.maxIndexes ?? (await defaultMaxTenantIndexes(handle));
  if (!Number.isInteger(maxIndexes) || maxIndexes < 0)
    throw invalidInput(table, 'embedding', `maxIndexes must be an integer >= 0, got ${String(maxIndexes)}`);
  return asOnlyMaintainer(handle, table, how.wait, async () => {
    // Live rows per tenant: chunks of deleted datasets stay in the table but are never searched.
    const tenants = await handle.sql.query<TenantRows>(
      `select c.organization_id, count(*)::int as n from public.${table} c
       join public.datasets d on d.organization_id = c.organization_id and d.id = c.dataset_id and d.deleted_at is null
       where c.embedding_space_id = $1 and c.embedding_dimensions = $2
         and ($3::uuid[] is null or c.organization_id = any($3::uuid[]))
       group by c.organization_id order by count(*) desc, c.organization_id`,
      [space.id, space.dimensions, input.organizationIds ?? null],
    );
    const every = await tenantIndexes(handle, table);
    const pattern = new RegExp(tenantIndexNamePattern(table, space.id));
    const ours = every.filter((index) => pattern.test(index.name));
    // Other spaces' indexes on the table count against the cap as they stand.
    const theirs = every.filter((index) => !ours.includes(index) && (index.valid || index.building)).length;
    const wanted = chooseIndexed(tenants, ours, minRows, Math.max(0, maxIndexes - theirs), how.drop);
    const changes: TenantIndexChanges = { built: [], dropped: [], capped: wanted.capped };
    if (how.drop) changes.dropped = await dropStale(handle, table, space, ours, wanted.tenants);
    const valid = new Set(ours.filter((index) => index.valid).map((index) => index.name));
    for (const tenant of tenants) {
      const name = tenantIndexName(table, space.id, tenant.organization_id);
      if (!wanted.tenants.has(tenant.organization_id) || valid.has(name)) continue;
      input.onBuild?.(name);
      const definition = tenantIndexDefinition(table, space, tenant.organization_id);
      const sizing = { rows: tenant.n, dimensions: space.dimensions, workers: input.workers };
      if (await createIndex(handle, name, definition, sizing)) changes.built.push(name);
    }
    // A tenant that just grew past the threshold may be one the statistics have not seen: the
    // planner would expect one row of it, and match all of its chunks' text rather than ask the GIN index.
    if (changes.built.length > 0 && input.analyze !== false)
      await handle.sql.query(`analyze public.${table}`);
    return changes;
  });
}

const tenantOf = (index: TenantIndexRow) =>
  /organization_id = '([0-9a-f-]{36})'::uuid/.exec(index.definition)?.[1];

/**
 * The tenants that should have an index of their own, the largest first, at most `room`: those
 * past `minRows`, and those holding one that have not shrunk under half of it (a tenant hovering
 * around the threshold keeps its index). Without `replace` (ensure), held indexes stay and only
 * the room they leave is given.
 */
function chooseIndexed(
  tenants: TenantRows[],
  ours: TenantIndexRow[],
  minRows: number,
  room: number,
  replace: boolean,
): { tenants: Set<string>; capped: number } {
  const held = new Set(ours.filter((index) => index.valid).map(tenantOf));
  const eligible = tenants.filter(
    (tenant) => tenant.n >= minRows || (held.has(tenant.organization_id) && tenant.n >= minRows / 2),
  );
  const kept = replace ? [] : ours.filter((index) => index.valid || index.building);
  const chosen = new Set(kept.map(tenantOf).filter((tenant) => tenant !== undefined));
  let left = room - kept.length;
  for (const tenant of eligible) {
    if (left <= 0) break;
    if (chosen.has(tenant.organization_id)) continue;
    chosen.add(tenant.organization_id);
    left -= 1;
  }
  const capped = tenants.filter(
    (tenant) => tenant.n >= minRows && !chosen.has(tenant.organization_id),
  ).length;
  return { tenants: chosen, capped };
}

/** The tenant indexes of every space on a table, with whether each is valid and whether a build of it is under way. */
const tenantIndexes = (handle: DbHandle, table: string) =>
  handle.sql.query<TenantIndexRow>(
    `select c.relname as name, i.indisvalid as valid, pg_get_indexdef(i.indexrelid) as definition,
            exists (select from pg_stat_progress_create_index p where p.index_relid = i.indexrelid) as building
     from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = to_regclass($1) and c.relname ~ $2`,
    [`public.${table}`, tenantIndexNamePattern(table)],
  );

/** Drops what no search of the space should keep on `table` (see {@link maintainTenantIndexes}); returns the names. */
async function dropStale(
  handle: DbHandle,
  table: string,
  space: EmbeddingSpace,
  ours: TenantIndexRow[],
  wanted: Set<string>,
): Promise<string[]> {
  const stale = ours.filter((index) => {
    if (index.building) return false;
    const tenant = tenantOf(index);
    return !index.valid || !tenant || !wanted.has(tenant);
  });
  const dropped: string[] = [];
  for (const name of [embeddingIndexName(table, space.id), ...stale.map((index) => index.name)])
    if (await dropIndex(handle, name)) dropped.push(name);
  return dropped;
}
