import { availableParallelism } from 'node:os';
import type { DbHandle, DedicatedSession } from '../client.ts';
import { toDatabaseError } from '../errors.ts';
import { invalidInput, isUuid } from '../input.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import { embeddingIndexName, getEmbeddingSpace, tenantIndexName } from './embedding-spaces.ts';
import { defaultExactThreshold } from './vector-query.ts';

/**
 * Rows of one tenant in a space from which it gets an HNSW index of its own: the exact threshold,
 * so a tenant is either searched exactly (at most this many candidates) or through an index that
 * holds only its rows, and a tenant-filtered query costs about what an unfiltered one does.
 */
export const defaultTenantIndexMinRows = (dimensions: number) => defaultExactThreshold(dimensions);

/**
 * `maintenance_work_mem` for building an HNSW index over `rows` vectors: the whole graph in memory
 * (halfvec components, neighbour lists of m = 16), plus a quarter; from 64 MB to 4 GB.
 */
export function buildMemoryMb(rows: number, dimensions: number): number {
  const bytes = rows * (2 * dimensions + 16 * 2 * 6 * 2 + 64) * 1.25;
  return Math.min(4096, Math.max(64, Math.ceil(bytes / 2 ** 20)));
}

/** Runs `fn` on one connection with the build settings sized for `rows`, reset afterwards. */
async function withBuildSession<T>(
  handle: DbHandle,
  rows: number,
  dimensions: number,
  fn: (session: DedicatedSession) => Promise<T>,
): Promise<T> {
  const session = await handle.dedicated();
  const server = handle.target.kind === 'server';
  try {
    if (server) {
      // Session settings on a connection of our own: CREATE INDEX CONCURRENTLY cannot run in a
      // transaction, so SET LOCAL is not available; both are reset before the connection returns.
      const workers = Math.max(0, Math.min(4, availableParallelism() - 1));
      await session.exec(`set maintenance_work_mem = '${buildMemoryMb(rows, dimensions)}MB'`);
      await session.exec(`set max_parallel_maintenance_workers = ${workers}`);
    }
    return await fn(session);
  } finally {
    if (server) await session.exec('reset maintenance_work_mem; reset max_parallel_maintenance_workers');
    await session.release();
  }
}

const concurrently = (handle: DbHandle) => (handle.target.kind === 'server' ? 'concurrently ' : '');

/** The index's definition and whether it is valid, or undefined when it does not exist. */
async function indexState(
  session: DedicatedSession,
  name: string,
): Promise<{ definition: string; valid: boolean } | undefined> {
  const [row] = await session.query<{ definition: string; valid: boolean }>(
    `select pg_get_indexdef(i.indexrelid) as definition, i.indisvalid as valid
     from pg_index i where i.indexrelid = to_regclass($1)`,
    [`public.${name}`],
  );
  return row;
}

/**
 * Drops an index without blocking readers or writers of its table (CONCURRENTLY on a server);
 * returns its definition so {@link createIndex} can build it again.
 */
export async function dropIndex(handle: DbHandle, name: string): Promise<string | undefined> {
  const session = await handle.dedicated();
  try {
    const state = await indexState(session, name);
    if (!state) return undefined;
    await session.exec(`drop index ${concurrently(handle)}if exists public.${quoteName(name)}`);
    return state.definition;
  } catch (error) {
    throw toDatabaseError(error);
  } finally {
    await session.release();
  }
}

const quoteName = (name: string) => {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`refusing index name ${name}`);
  return name;
};

/**
 * Builds an index from its definition (`pg_get_indexdef`), CONCURRENTLY on a server so searches
 * and writes of every tenant go on; an invalid leftover of an interrupted build is dropped first.
 * Returns whether it built one.
 */
export async function createIndex(
  handle: DbHandle,
  name: string,
  definition: string,
  sizing: { rows: number; dimensions: number },
): Promise<boolean> {
  if (!/^CREATE INDEX \S+ ON public\.\w+ USING hnsw /.test(definition))
    throw new Error(`not an HNSW index definition: ${definition.slice(0, 80)}`);
  try {
    return await withBuildSession(handle, sizing.rows, sizing.dimensions, async (session) => {
      const state = await indexState(session, name);
      if (state?.valid) return false;
      if (state) await session.exec(`drop index ${concurrently(handle)}if exists public.${quoteName(name)}`);
      await session.exec(definition.replace(/^CREATE INDEX /, `CREATE INDEX ${concurrently(handle)}`));
      return true;
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** The definition of a space's HNSW index restricted to one tenant (same expression and operator class). */
function tenantIndexDefinition(spaceDefinition: string, name: string, organizationId: string): string {
  if (!isUuid(organizationId)) throw new Error(`organization id ${organizationId} is not a UUID`);
  const [head, predicate] = spaceDefinition.split(' WHERE ');
  if (!head || !predicate) throw new Error(`the space index is not partial: ${spaceDefinition}`);
  return `${head.replace(/^CREATE INDEX \S+ /, `CREATE INDEX ${name} `)} WHERE (${predicate} AND organization_id = '${organizationId}'::uuid)`;
}

/**
 * Gives every tenant with at least `minRows` rows in a space (default
 * {@link defaultTenantIndexMinRows}) an HNSW index of its own on `table`:
 * `<table>_<space tail>_<organization tail>_hnsw_idx`, partial on the space and the tenant, which
 * searches use through the same predicate (see `planNearest`). Idempotent; builds CONCURRENTLY
 * on a server, so every tenant keeps searching and writing meanwhile, and a search uses an index
 * only once it is valid. Run by the schema owner (index creation needs the table's owner), e.g.
 * after a bulk load or from a periodic job. Returns the names of the indexes it built.
 */
export async function ensureTenantIndexes(
  handle: DbHandle,
  input: { spaceId: string; table?: 'chunks'; minRows?: number; organizationIds?: string[] },
): Promise<string[]> {
  const table = input.table ?? 'chunks';
  const space = await getEmbeddingSpace(handle.db, input.spaceId, table);
  const minRows = input.minRows ?? defaultTenantIndexMinRows(space.dimensions);
  if (!Number.isInteger(minRows) || minRows < 1)
    throw invalidInput(table, 'embedding', `minRows must be an integer >= 1, got ${String(minRows)}`);
  const spaceDefinition = await spaceIndexDefinition(handle, table, space);
  const tenants = await handle.sql.query<{ organization_id: string; n: number }>(
    `select organization_id, count(*)::int as n from public.${table}
     where embedding_space_id = $1 and embedding_dimensions = $2
       and ($4::uuid[] is null or organization_id = any($4::uuid[]))
     group by organization_id having count(*) >= $3 order by count(*) desc`,
    [space.id, space.dimensions, minRows, input.organizationIds ?? null],
  );
  const built: string[] = [];
  for (const tenant of tenants) {
    const name = tenantIndexName(table, space.id, tenant.organization_id);
    const definition = tenantIndexDefinition(spaceDefinition, name, tenant.organization_id);
    if (await createIndex(handle, name, definition, { rows: tenant.n, dimensions: space.dimensions }))
      built.push(name);
  }
  return built;
}

/** The space's own index definition (created by `registerEmbeddingSpace`), as PostgreSQL prints it. */
export async function spaceIndexDefinition(
  handle: DbHandle,
  table: string,
  space: EmbeddingSpace,
): Promise<string> {
  const session = await handle.dedicated();
  try {
    const state = await indexState(session, embeddingIndexName(table, space.id));
    if (state) return state.definition;
  } finally {
    await session.release();
  }
  // Dropped for a bulk load: the definition app_ensure_embedding_indexes() writes.
  const [row] = await handle.sql.query<{ definition: string }>(
    `select format('CREATE INDEX %s ON public.%I USING hnsw (((embedding)::halfvec(%s)) %s) WHERE ((embedding_space_id = %L::uuid) AND (embedding_dimensions = %s))',
       app_embedding_index_name($1, $2::uuid), $1::text, $3::int, app_embedding_opclass($4::embedding_distance), $2::text, $3::int) as definition`,
    [table, space.id, space.dimensions, space.distance],
  );
  if (!row) throw new Error('no index definition');
  return row.definition;
}

/** Rows an index holds (the planner's estimate), 0 when it does not exist. */
export async function indexRows(handle: DbHandle, name: string): Promise<number> {
  const [row] = await handle.sql.query<{ n: number }>(
    `select coalesce((select greatest(reltuples, 0)::float8 from pg_class where oid = to_regclass($1)), 0) as n`,
    [`public.${name}`],
  );
  return Number(row?.n ?? 0);
}

/** Rows of a space in a table (the estimate of its index). */
export const spaceRows = (handle: DbHandle, table: string, space: EmbeddingSpace) =>
  indexRows(handle, embeddingIndexName(table, space.id));
