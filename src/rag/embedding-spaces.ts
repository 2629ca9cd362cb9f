import { and, eq, sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { invalidInput, isUuid, parseInput } from '../base/input.ts';
import { type Database, rowsOf, type Transaction } from '../client/client.ts';
import type { embeddingDistances } from '../schema/enums.ts';
import { type EmbeddingSpace, embeddingSpaces } from '../schema/index.ts';
import { insertEmbeddingSpaceSchema } from '../validators/embeddings.ts';

export type EmbeddingDistance = (typeof embeddingDistances)[number];

/** Largest finite half-precision float: a component beyond it cannot be stored as `halfvec`. */
export const HALFVEC_MAX = 65504;

/**
 * A vector as embedders return it: a plain array or a typed array (`Float32Array` from ONNX or
 * transformers.js, `Float64Array`, ...). Checked by {@link assertVector} before use.
 */
export type VectorInput =
  | readonly number[]
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** Anything that turns texts into vectors of one space (the local embedder, a provider client). */
export interface Embedder {
  dimensions: number;
  /** When given, checked against the space's, so a vector of another model is never mixed in. */
  provider?: string;
  model?: string;
  embedMany(texts: string[]): readonly VectorInput[] | Promise<readonly VectorInput[]>;
}

export interface RegisterEmbeddingSpaceInput {
  provider: string;
  model: string;
  dimensions: number;
  distance?: EmbeddingDistance;
}

/**
 * Registers an embedding space and creates its HNSW index on every embedding table
 * (`app_register_embedding_space`). Idempotent by provider, model and dimensions; refuses the same
 * space with another distance. Run by the schema owner outside any tenant scope: index creation
 * takes a lock that blocks writes to those tables while it builds.
 */
export async function registerEmbeddingSpace(
  db: Database,
  input: RegisterEmbeddingSpaceInput,
): Promise<EmbeddingSpace> {
  const { provider, model, dimensions, distance } = parseInput(
    insertEmbeddingSpaceSchema,
    { ...input, distance: input.distance ?? 'cosine' },
    'embedding_spaces',
  );
  try {
    const [row] = rowsOf<{ id: string }>(
      await db.execute(
        sql`select app_register_embedding_space(${provider}, ${model}, ${dimensions}::int, ${distance}::embedding_distance) as id`,
      ),
    );
    const [space] = await db
      .select()
      .from(embeddingSpaces)
      .where(eq(embeddingSpaces.id, row?.id ?? ''));
    if (!space) throw new Error('embedding space registration returned no row');
    return space;
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** Creates any missing per-space ANN index on every embedding table; returns the new index names. */
export async function ensureEmbeddingIndexes(db: Database): Promise<string[]> {
  try {
    return rowsOf<{ name: string }>(await db.execute(sql`select app_ensure_embedding_indexes() as name`)).map(
      (row) => row.name,
    );
  } catch (error) {
    throw toDatabaseError(error);
  }
}

// A space never changes once registered (a referenced one cannot be deleted), and ids are random:
// remembering the ones seen saves searches a round trip.
const knownSpaces = new Map<string, EmbeddingSpace>();

/** The space with this id, or an `invalid_input` error naming it. Readable inside tenant scopes. */
export async function getEmbeddingSpace(
  db: Database | Transaction,
  spaceId: string,
  table = 'embedding_spaces',
): Promise<EmbeddingSpace> {
  if (!isUuid(spaceId))
    throw invalidInput(
      table,
      'embedding_space_id',
      `embedding space id must be a UUID, got ${String(spaceId)}`,
    );
  const cached = knownSpaces.get(spaceId.toLowerCase());
  if (cached) return cached;
  const [space] = await db.select().from(embeddingSpaces).where(eq(embeddingSpaces.id, spaceId));
  if (!space) throw invalidInput(table, 'embedding_space_id', `unknown embedding space ${spaceId}`);
  knownSpaces.set(space.id, space);
  return space;
}

/** The registered space of a provider, model and length, if any. */
export async function findEmbeddingSpace(
  db: Database | Transaction,
  key: { provider: string; model: string; dimensions: number },
): Promise<EmbeddingSpace | undefined> {
  const [space] = await db
    .select()
    .from(embeddingSpaces)
    .where(
      and(
        eq(embeddingSpaces.provider, key.provider),
        eq(embeddingSpaces.model, key.model),
        eq(embeddingSpaces.dimensions, key.dimensions),
      ),
    );
  return space;
}

/** Name of a table's ANN index for a space (same rule as the SQL `app_embedding_index_name`). */
export function embeddingIndexName(table: string, spaceId: string): string {
  return `${table}_embedding_${spaceId.replaceAll('-', '').slice(-12)}_hnsw_idx`;
}

/**
 * Name of a tenant's own ANN index for a space: `<table>_<space tail>_<organization tail>_hnsw_idx`,
 * the random last 12 hex digits of each id, 41 characters for `chunks` (PostgreSQL allows 63).
 */
export function tenantIndexName(table: string, spaceId: string, organizationId: string): string {
  return `${table}_${idTail(spaceId)}_${idTail(organizationId)}_hnsw_idx`;
}

/** A regular expression matching the names of every tenant's index of a space (of any space without one) on a table. */
export const tenantIndexNamePattern = (table: string, spaceId?: string) =>
  `^${table}_${spaceId ? idTail(spaceId) : '[0-9a-f]{12}'}_[0-9a-f]{12}_hnsw_idx$`;

const idTail = (id: string) => id.replaceAll('-', '').slice(-12).toLowerCase();

/**
 * Checks a vector against its space before anything is written or searched: an array of the
 * space's length whose components are finite and within halfvec's range. Throws `invalid_input`
 * naming the table, the column and the first offending component.
 */
export function assertVector(
  vector: unknown,
  space: Pick<EmbeddingSpace, 'id' | 'dimensions'>,
  table: string,
  column = 'embedding',
): asserts vector is number[] {
  if (!Array.isArray(vector))
    throw invalidInput(table, column, `vector must be an array of ${space.dimensions} numbers`);
  checkComponents(vector, space, table, column);
}

/**
 * {@link assertVector} for what embedders return: a plain array or a typed array (`Float32Array`
 * from ONNX or transformers.js, `Float64Array`, ...), returned as a plain array of its numbers.
 */
export function toVector(
  vector: unknown,
  space: Pick<EmbeddingSpace, 'id' | 'dimensions'>,
  table: string,
  column = 'embedding',
): number[] {
  if (Array.isArray(vector)) {
    checkComponents(vector, space, table, column);
    return vector;
  }
  if (
    !ArrayBuffer.isView(vector) ||
    vector instanceof DataView ||
    vector instanceof BigInt64Array ||
    vector instanceof BigUint64Array
  )
    throw invalidInput(
      table,
      column,
      `vector must be an array or a typed array (Float32Array, ...) of ${space.dimensions} numbers`,
    );
  const plain = Array.from(vector as unknown as ArrayLike<number>);
  checkComponents(plain, space, table, column);
  return plain;
}

function checkComponents(
  vector: unknown[],
  space: Pick<EmbeddingSpace, 'id' | 'dimensions'>,
  table: string,
  column: string,
): void {
  if (vector.length !== space.dimensions)
    throw invalidInput(
      table,
      column,
      `vector has ${vector.length} dimensions but embedding space ${space.id} has ${space.dimensions}`,
    );
  for (let i = 0; i < vector.length; i++) {
    const x: unknown = vector[i];
    if (typeof x !== 'number' || Number.isNaN(x))
      throw invalidInput(table, column, `vector component ${i} is not a number (${String(x)})`);
    if (!Number.isFinite(x)) throw invalidInput(table, column, `vector component ${i} is infinite (${x})`);
    if (Math.abs(x) > HALFVEC_MAX)
      throw invalidInput(
        table,
        column,
        `vector component ${i} (${x}) is outside halfvec's range ±${HALFVEC_MAX}`,
      );
  }
}

/** Checks that an embedder produces vectors of this space (length, and provider/model when it names them). */
export function assertEmbedderFits(embedder: Embedder, space: EmbeddingSpace, table: string): void {
  const mismatch =
    embedder.dimensions !== space.dimensions ||
    (embedder.provider !== undefined && embedder.provider !== space.provider) ||
    (embedder.model !== undefined && embedder.model !== space.model);
  if (mismatch)
    throw invalidInput(
      table,
      'embedding',
      `the embedder (${embedder.provider ?? '?'}/${embedder.model ?? '?'}, ${embedder.dimensions} dimensions) does not produce vectors of embedding space ${space.id} (${space.provider}/${space.model}, ${space.dimensions} dimensions)`,
    );
}

/** The text form pgvector parses (`[1,2,3]`). */
export function vectorLiteral(vector: readonly number[]): string {
  return `[${vector.join(',')}]`;
}

/** pgvector's distance operator for a space: smaller is nearer for all three. */
export function distanceOperator(distance: EmbeddingDistance): '<=>' | '<->' | '<#>' {
  if (distance === 'l2') return '<->';
  if (distance === 'inner_product') return '<#>';
  return '<=>';
}

/** A score where larger is better: cosine similarity, inner product, or 1 / (1 + l2 distance). */
export function scoreSql(distance: EmbeddingDistance, column: string): string {
  if (distance === 'l2') return `1 / (1 + ${column})`;
  if (distance === 'inner_product') return `-(${column})`;
  return `1 - ${column}`;
}
