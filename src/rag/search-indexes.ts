import { availableParallelism } from 'node:os';
import { toDatabaseError } from '../base/database-errors.ts';
import type { DbHandle, DedicatedSession } from '../client/client.ts';

// Index DDL that never blocks a tenant: builds and drops CONCURRENTLY on a server, on a connection
// of their own sized for the build.

/**
 * `maintenance_work_mem` for building an HNSW index over `rows` vectors: the whole graph in memory
 * (halfvec components, neighbour lists of m = 16), plus a quarter; from 64 MB to 4 GB.
 */
export function buildMemoryMb(rows: number, dimensions: number): number {
  const bytes = rows * (2 * dimensions + 16 * 2 * 6 * 2 + 64) * 1.25;
  return Math.min(4096, Math.max(64, Math.ceil(bytes / 2 ** 20)));
}

/** Parallel workers an index build takes by default: all cores but one (at most 4), so the server keeps answering meanwhile. */
export const defaultBuildWorkers = () => Math.max(0, Math.min(4, availableParallelism() - 1));

/**
 * Session settings for building an HNSW index over `rows` vectors: the graph's memory, and
 * `workers` parallel workers (default {@link defaultBuildWorkers}; 0: the build's own backend only).
 */
export function buildSettings(rows: number, dimensions: number, workers = defaultBuildWorkers()): string {
  if (!Number.isInteger(workers) || workers < 0 || workers > 64)
    throw new Error(`parallel build workers must be an integer from 0 to 64, got ${workers}`);
  return `set maintenance_work_mem = '${buildMemoryMb(rows, dimensions)}MB'; set max_parallel_maintenance_workers = ${workers}`;
}

/** What an index build is sized for: the rows it holds, their length, and its parallel workers (default {@link defaultBuildWorkers}). */
export interface BuildSizing {
  rows: number;
  dimensions: number;
  workers?: number;
}

/** Runs `fn` on one connection with the build settings sized for `rows`, reset afterwards. */
async function withBuildSession<T>(
  handle: DbHandle,
  sizing: BuildSizing,
  fn: (session: DedicatedSession) => Promise<T>,
): Promise<T> {
  const session = await handle.dedicated();
  const server = handle.target.kind === 'server';
  try {
    // Session settings on a connection of our own: CREATE INDEX CONCURRENTLY cannot run in a
    // transaction, so SET LOCAL is not available; both are reset before the connection returns.
    if (server) await session.exec(buildSettings(sizing.rows, sizing.dimensions, sizing.workers));
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
  sizing: BuildSizing,
): Promise<boolean> {
  if (!/^CREATE INDEX \S+ ON public\.\w+ USING hnsw /.test(definition))
    throw new Error(`not an HNSW index definition: ${definition.slice(0, 80)}`);
  try {
    return await withBuildSession(handle, sizing, async (session) => {
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

/** Rows an index holds (the planner's estimate), 0 when it does not exist. */
export async function indexRows(handle: DbHandle, name: string): Promise<number> {
  const [row] = await handle.sql.query<{ n: number }>(
    `select coalesce((select greatest(reltuples, 0)::float8 from pg_class where oid = to_regclass($1)), 0) as n`,
    [`public.${name}`],
  );
  return Number(row?.n ?? 0);
}
