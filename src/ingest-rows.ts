import { createHash } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { refuseIssues } from './api/datasets.ts';
import { type Embedder, toVector, type VectorInput } from './api/embedding-spaces.ts';
import { rowsOf, type Transaction } from './client.ts';
import { invalidInput, isUuid } from './input.ts';
import type { ChunkMetadata, Dataset, DocumentMetadata, EmbeddingSpace } from './schema/index.ts';
import { currentTenant } from './tenant.ts';
import { chunkMetadataSchema, documentMetadataSchema } from './validators/rag.ts';

// What ingestDocument and the bulk path share: input checks, the rows they write, the dataset look-up.

/** A JSON value as stored in a `jsonb` column. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A chunk's metadata: the known keys (page, heading, offsets; validated as before) plus any keys of
 * the caller's, JSON values, at most {@link MAX_METADATA_BYTES} and {@link MAX_METADATA_DEPTH} deep.
 */
export type OpenChunkMetadata = ChunkMetadata & { [key: string]: JsonValue | undefined };

/** Largest chunk metadata, as JSON text: it is stored in every row and returned with every hit. */
export const MAX_METADATA_BYTES = 16 * 1024;
/** Deepest nesting of chunk metadata. */
export const MAX_METADATA_DEPTH = 32;
/** The metadata key holding a chunk's caller key (see {@link IngestChunk.key}). */
export const CHUNK_KEY = 'chunkKey';

export interface IngestChunk {
  content: string;
  /** Position in the document; default the chunk's index in the list. Give all or none. */
  ordinal?: number;
  /** Default: an estimate of one token per 4 characters. */
  tokenCount?: number;
  metadata?: OpenChunkMetadata;
  /**
   * The caller's own id for the chunk (up to 200 characters), stored as metadata `chunkKey` and
   * returned as `ChunkHit.key`, so hits map back to the caller's records without bookkeeping.
   */
  key?: string;
  /** A precomputed vector of the dataset's space (plain or typed array); otherwise `embedder` computes it. */
  embedding?: VectorInput;
}

export interface IngestDocumentInput {
  datasetId: string;
  document: {
    /** Re-ingesting the same id (or, without an id, the same sourceUri) updates that document. */
    id?: string;
    sourceUri?: string | null;
    title: string;
    mimeType?: string;
    metadata?: DocumentMetadata;
  };
  /** The whole document: chunks missing from the list are deleted. */
  chunks: IngestChunk[];
  /** Embeds new and changed chunks that carry no `embedding`; must produce the dataset's space. */
  embedder?: Embedder;
}

/** One chunk row as the load statement reads it (from a JSON recordset). */
export type LoadRow = {
  ordinal: number;
  content: string;
  token_count: number;
  content_hash: string;
  metadata: Record<string, unknown>;
  /** null: content unchanged, keep the stored vector. */
  embedding: string | null;
};

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A rough token count (one token per 4 characters) for chunks that come without one. */
export const estimateTokens = (content: string) => Math.ceil(content.length / 4);

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text PostgreSQL stores as given: no NUL byte (the server refuses it) and no lone surrogate (it
 * would be stored as U+FFFD, so read back different).
 */
export function checkText(table: string, column: string, value: string, label: string): void {
  if (value.includes('\u0000')) throw invalidInput(table, column, `${label} contains a NUL byte`);
  if (loneSurrogate.test(value)) throw invalidInput(table, column, `${label} contains a lone surrogate`);
}

/** JSON the `jsonb` column stores as given: plain values, no NUL or lone surrogate, bounded depth and size. */
export function checkJson(table: string, column: string, value: unknown, label: string): void {
  const walk = (node: unknown, path: string, depth: number): void => {
    if (depth > MAX_METADATA_DEPTH)
      throw invalidInput(table, column, `${label} is nested deeper than ${MAX_METADATA_DEPTH} levels`);
    if (node === null || typeof node === 'boolean') return;
    if (typeof node === 'string') {
      checkText(table, column, node, `${label}${path}`);
      return;
    }
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) throw invalidInput(table, column, `${label}${path} is not a finite number`);
      return;
    }
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        walk(item, `${path}[${i}]`, depth + 1);
      });
      return;
    }
    if (typeof node === 'object' && Object.getPrototypeOf(node) === Object.prototype) {
      for (const [key, item] of Object.entries(node)) {
        checkText(table, column, key, `${label}${path} key ${JSON.stringify(key)}`);
        if (item !== undefined) walk(item, `${path}.${key}`, depth + 1);
      }
      return;
    }
    throw invalidInput(table, column, `${label}${path} is not a JSON value (${typeof node})`);
  };
  walk(value, '', 0);
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > MAX_METADATA_BYTES)
    throw invalidInput(table, column, `${label} is ${bytes} bytes of JSON, more than ${MAX_METADATA_BYTES}`);
}

const knownChunkKeys = new Set(['page', 'heading', 'startOffset', 'endOffset']);

/** The stored metadata of a chunk: known keys validated, caller keys checked as JSON, the caller key added. */
function chunkMetadata(chunk: IngestChunk, index: number): Record<string, unknown> {
  const metadata = chunk.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw invalidInput('chunks', 'metadata', `chunk ${index}: metadata must be an object`);
  const known = Object.fromEntries(Object.entries(metadata).filter(([key]) => knownChunkKeys.has(key)));
  refuseIssues('chunks', chunkMetadataSchema.safeParse(known), 'metadata');
  const stored: Record<string, unknown> = { ...metadata };
  if (chunk.key !== undefined) {
    if (typeof chunk.key !== 'string' || chunk.key.length === 0 || chunk.key.length > 200)
      throw invalidInput('chunks', 'metadata', `chunk ${index}: key must be a string of 1 to 200 characters`);
    stored[CHUNK_KEY] = chunk.key;
  }
  checkJson('chunks', 'metadata', stored, `chunk ${index} metadata`);
  return stored;
}

/** Checks every chunk before anything is written; returns their rows (no vectors yet). */
export function chunkRows(chunks: unknown): LoadRow[] {
  if (!Array.isArray(chunks)) throw invalidInput('chunks', 'content', 'chunks must be an array');
  const withOrdinal = chunks.filter((chunk) => chunk?.ordinal !== undefined).length;
  if (withOrdinal !== 0 && withOrdinal !== chunks.length)
    throw invalidInput('chunks', 'ordinal', 'give an ordinal for every chunk or for none');
  const seen = new Set<number>();
  return chunks.map((chunk: IngestChunk, index) => {
    if (typeof chunk?.content !== 'string' || chunk.content.length === 0)
      throw invalidInput('chunks', 'content', `chunk ${index} has no content`);
    checkText('chunks', 'content', chunk.content, `chunk ${index} content`);
    const ordinal = chunk.ordinal ?? index;
    if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal > 2_147_483_647)
      throw invalidInput(
        'chunks',
        'ordinal',
        `chunk ${index}: ordinal must be an integer from 0 to 2147483647, got ${ordinal}`,
      );
    if (seen.has(ordinal))
      throw invalidInput('chunks', 'ordinal', `ordinal ${ordinal} appears more than once`);
    seen.add(ordinal);
    if (
      chunk.tokenCount !== undefined &&
      (!Number.isInteger(chunk.tokenCount) || chunk.tokenCount < 0 || chunk.tokenCount > 2_147_483_647)
    )
      throw invalidInput('chunks', 'token_count', `chunk ${index}: tokenCount must be an integer >= 0`);
    return {
      ordinal,
      content: chunk.content,
      token_count: chunk.tokenCount ?? estimateTokens(chunk.content),
      content_hash: sha256(chunk.content),
      metadata: chunkMetadata(chunk, index),
      embedding: null,
    };
  });
}

/** Checks a document's own fields (title, source, type, metadata) before anything is written. */
export function checkDocument(doc: IngestDocumentInput['document'], label = 'the document'): void {
  if (typeof doc?.title !== 'string' || doc.title.trim() === '')
    throw invalidInput('documents', 'title', `${label} needs a title`);
  checkText('documents', 'title', doc.title, `${label}'s title`);
  if (doc.id !== undefined && !isUuid(doc.id))
    throw invalidInput('documents', 'id', `document id must be a UUID, got ${String(doc.id)}`);
  if (doc.sourceUri !== undefined && doc.sourceUri !== null) {
    if (typeof doc.sourceUri !== 'string')
      throw invalidInput('documents', 'source_uri', `${label}'s sourceUri must be a string`);
    checkText('documents', 'source_uri', doc.sourceUri, `${label}'s sourceUri`);
  }
  if (doc.mimeType !== undefined) {
    if (typeof doc.mimeType !== 'string' || doc.mimeType === '')
      throw invalidInput('documents', 'mime_type', `${label}'s mimeType must be a non-empty string`);
    checkText('documents', 'mime_type', doc.mimeType, `${label}'s mimeType`);
  }
  if (doc.metadata !== undefined) {
    refuseIssues('documents', documentMetadataSchema.safeParse(doc.metadata), 'metadata');
    checkJson('documents', 'metadata', doc.metadata, `${label}'s metadata`);
  }
}

/**
 * The vectors of new and changed rows: given ones, else the embedder's (one call for all), each
 * checked against the space. `stale` holds indexes into `rows` and `chunks`.
 */
export async function vectorsOf(
  rows: readonly { content: string }[],
  chunks: readonly { embedding?: VectorInput }[],
  stale: number[],
  space: EmbeddingSpace,
  embedder: Embedder | undefined,
): Promise<Map<number, number[]>> {
  const toEmbed = stale.filter((i) => chunks[i]?.embedding === undefined);
  if (toEmbed.length > 0 && !embedder)
    throw invalidInput(
      'chunks',
      'embedding',
      `${toEmbed.length} new or changed chunks have no embedding and no embedder was given`,
    );
  const computed = new Map<number, unknown>();
  if (toEmbed.length > 0 && embedder) {
    const vectors = await embedder.embedMany(toEmbed.map((i) => rows[i]?.content ?? ''));
    if (!Array.isArray(vectors) || vectors.length !== toEmbed.length)
      throw invalidInput(
        'chunks',
        'embedding',
        `the embedder returned ${(vectors as unknown[] | undefined)?.length} vectors for ${toEmbed.length} texts`,
      );
    toEmbed.forEach((i, n) => {
      computed.set(i, vectors[n]);
    });
  }
  return new Map(stale.map((i) => [i, toVector(chunks[i]?.embedding ?? computed.get(i), space, 'chunks')]));
}

/** Fills the vectors of new and changed rows (see {@link vectorsOf}) as halfvec text. */
export async function embedRows(
  rows: LoadRow[],
  chunks: readonly { embedding?: VectorInput }[],
  stale: number[],
  space: EmbeddingSpace,
  embedder: Embedder | undefined,
): Promise<void> {
  for (const [i, vector] of await vectorsOf(rows, chunks, stale, space, embedder))
    (rows[i] as LoadRow).embedding = halfvecLiteral(vector);
}

const float = new Float32Array(1);
const floatBits = new Uint32Array(float.buffer);

/**
 * The half-precision float (as bits) pgvector stores for `x`: `halfvec_in` reads a float4 and rounds
 * it to nearest, ties to even; so does this.
 */
export function halfBits(x: number): number {
  float[0] = x;
  const bits = floatBits[0] ?? 0;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 112;
  const mantissa = bits & 0x7fffff;
  if (exponent >= 143) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 31) return sign | 0x7c00;
  const [value, shift] =
    exponent > 0 ? [(exponent << 10) | (mantissa >>> 13), 13] : [mantissa | 0x800000, 14 - exponent];
  if (shift > 25) return sign;
  const kept = exponent > 0 ? value : value >>> shift;
  const rest = exponent > 0 ? mantissa & 0x1fff : value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return sign | (kept + (rest > half || (rest === half && kept & 1) ? 1 : 0));
}

/** The value of a half-precision float given as bits. */
export function halfValue(h: number): number {
  const magnitude = h & 0x7fff;
  const value =
    magnitude >= 0x7c00
      ? Number.POSITIVE_INFINITY
      : magnitude < 0x400
        ? magnitude * 2 ** -24
        : (1 + (magnitude & 0x3ff) / 1024) * 2 ** ((magnitude >>> 10) - 15);
  return h & 0x8000 ? -value : value;
}

let halfTexts: string[] | undefined;

/**
 * For each half-precision value, the shortest decimal that `halfvec_in` reads back as exactly that
 * value (within a quarter step, so the float4 it passes through cannot round it elsewhere).
 */
function halfText(h: number): string {
  halfTexts ??= Array.from({ length: 0x10000 }, (_, bits) => {
    const value = halfValue(bits);
    const magnitude = bits & 0x7fff;
    if (magnitude >= 0x7c00) return '';
    if (bits === 0x8000) return '-0';
    const step =
      magnitude < 0x7bff
        ? halfValue(magnitude + 1) - halfValue(magnitude)
        : halfValue(magnitude) - halfValue(magnitude - 1);
    for (let digits = 1; digits < 17; digits++) {
      const text = String(Number(value.toPrecision(digits)));
      if (Math.abs(Number(text) - value) <= step / 4 && halfBits(Number(text)) === bits) return text;
    }
    return String(value);
  });
  return halfTexts[h] ?? '';
}

/**
 * A vector as `halfvec` text with the fewest digits that keep its stored value: what the column
 * holds anyway, at about a third of the bytes of full doubles to send and parse.
 */
export function halfvecLiteral(vector: readonly number[]): string {
  const parts = new Array<string>(vector.length);
  for (let i = 0; i < vector.length; i++) parts[i] = halfText(halfBits(vector[i] ?? 0));
  return `[${parts.join(',')}]`;
}

/**
 * The rows as a recordset an INSERT reads, bound as one JSON parameter. Not COPY: postgres.js
 * (3.4.9) never settles a `COPY FROM STDIN` the server refuses (its ErrorResponse arrives after
 * CopyDone and is dropped), which held the connection forever; a bound parameter fails like any
 * statement, and one statement per batch costs about what COPY into a temporary table and an
 * INSERT from it did.
 */
export const recordset = (rows: LoadRow[], extraColumns: SQL = sql``) =>
  sql`json_to_recordset(${JSON.stringify(rows)}::json)
    as s(ordinal int, content text, token_count int, content_hash text, metadata jsonb, embedding halfvec${extraColumns})`;

/** A vector in halfvec's binary form, what `halfvec_recv` reads: dimensions, a zero, the values. */
export function halfvecBinary(vector: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(4 + 2 * vector.length);
  out.writeUInt16BE(vector.length, 0);
  out.writeUInt16BE(0, 2);
  for (let i = 0; i < vector.length; i++) out.writeUInt16BE(halfBits(vector[i] ?? 0), 4 + 2 * i);
  return out;
}

/** A chunk row of a new document as the binary COPY stages it: the vector already in halfvec's binary form. */
export type StagedRow = Omit<LoadRow, 'embedding'> & { document_id: string; embedding: Buffer };

/** The staging table of one bulk batch: lives in the batch's transaction only. */
const STAGING = 'pg_temp.neonhub_bulk_chunks';
const STAGING_COLUMNS =
  '(document_id uuid, ordinal int4, content text, token_count int4, content_hash text, metadata jsonb, embedding halfvec)';

/** Rows in PostgreSQL's binary COPY format for {@link STAGING}: no float is printed or parsed. */
export function copyBinary(rows: StagedRow[]): Buffer {
  const texts = rows.map((row) => ({
    content: Buffer.from(row.content, 'utf8'),
    hash: Buffer.from(row.content_hash, 'latin1'),
    metadata: Buffer.from(JSON.stringify(row.metadata), 'utf8'),
  }));
  let size = 11 + 8 + 2;
  for (const [i, row] of rows.entries()) {
    const t = texts[i] as (typeof texts)[number];
    size +=
      2 +
      7 * 4 +
      16 +
      4 +
      t.content.length +
      4 +
      t.hash.length +
      1 +
      t.metadata.length +
      row.embedding.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = out.write('PGCOPY\n\xff\r\n\0', 0, 'latin1');
  at = out.writeInt32BE(0, at);
  at = out.writeInt32BE(0, at);
  const field = (bytes: Buffer) => {
    at = out.writeInt32BE(bytes.length, at);
    at += bytes.copy(out, at);
  };
  for (const [i, row] of rows.entries()) {
    const t = texts[i] as (typeof texts)[number];
    at = out.writeInt16BE(7, at);
    field(Buffer.from(row.document_id.replaceAll('-', ''), 'hex'));
    at = out.writeInt32BE(4, at);
    at = out.writeInt32BE(row.ordinal, at);
    field(t.content);
    at = out.writeInt32BE(4, at);
    at = out.writeInt32BE(row.token_count, at);
    field(t.hash);
    // jsonb's binary form: a version byte, then the text.
    at = out.writeInt32BE(1 + t.metadata.length, at);
    at = out.writeUInt8(1, at);
    at += t.metadata.copy(out, at);
    field(row.embedding);
  }
  at = out.writeInt16BE(-1, at);
  if (at !== size) throw new Error(`binary COPY buffer: wrote ${at} of ${size} bytes`);
  return out;
}

/**
 * The server refused a binary COPY: the transaction is aborted; the same rows as bound JSON tell
 * why. Not a database error itself (no `cause` with a SQLSTATE), so scopes pass it on as it is.
 */
export class CopyRefused extends Error {
  constructor(readonly refusal: unknown) {
    super(`the server refused the staged rows: ${(refusal as Error)?.message ?? String(refusal)}`);
    this.name = 'CopyRefused';
  }
}

interface CopyClient {
  unsafe(text: string): Promise<unknown> & { writable(): Promise<NodeJS.WritableStream> };
}

/** The postgres.js transaction under a Drizzle transaction on a server, for COPY. */
function copyClient(tx: Transaction): CopyClient {
  const client = (tx as unknown as { session?: { client?: Partial<CopyClient> } }).session?.client;
  if (typeof client?.unsafe !== 'function') throw new Error('binary COPY needs a postgres.js transaction');
  return client as CopyClient;
}

/**
 * Stages rows in {@link STAGING} by binary COPY (a server only) and returns its name. postgres.js
 * (3.4.9) never settles a `COPY FROM STDIN` the server refuses: the error arrives after its stream
 * ended and is dropped, and the stream never finishes. So nothing here waits for the stream: the
 * data is written, the stream ended, and a probe queued behind the COPY tells, failing on the
 * aborted transaction, that the server refused it ({@link CopyRefused}). Every row is checked
 * before, so a refusal is not expected; the caller then writes the batch again as bound JSON.
 */
export async function stageRows(tx: Transaction, data: Buffer): Promise<string> {
  const client = copyClient(tx);
  try {
    await client.unsafe(`create temp table neonhub_bulk_chunks ${STAGING_COLUMNS} on commit drop`);
    const stream = await client
      .unsafe(
        `copy ${STAGING} (document_id, ordinal, content, token_count, content_hash, metadata, embedding) from stdin (format binary)`,
      )
      .writable();
    // A refusal shows in the probe; an error event without a listener would end the process.
    stream.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      stream.write(data, (error) => (error ? reject(error) : resolve()));
    });
    stream.end();
    // Ending hands the COPY's end to the connection on the next turn; queries after that queue behind it.
    await new Promise((resolve) => setImmediate(resolve));
    await client.unsafe('select 1');
  } catch (error) {
    throw new CopyRefused(error);
  }
  return STAGING;
}

/** The live dataset of the current tenant, or an `invalid_input` error naming it. */
export async function liveDataset(tx: Transaction, datasetId: string): Promise<Dataset> {
  if (!isUuid(datasetId))
    throw invalidInput('chunks', 'dataset_id', `dataset id must be a UUID, got ${String(datasetId)}`);
  const org = currentTenant(tx);
  const [row] = rowsOf<{
    id: string;
    embedding_space_id: string;
    deleted: boolean;
  }>(
    await tx.execute(sql`
      select id, embedding_space_id, deleted_at is not null as deleted
      from datasets where organization_id = ${org} and id = ${datasetId}`),
  );
  if (!row)
    throw invalidInput('chunks', 'dataset_id', `dataset ${datasetId} does not exist in this organization`);
  if (row.deleted) throw invalidInput('chunks', 'dataset_id', `dataset ${datasetId} is deleted`);
  return { id: row.id, embeddingSpaceId: row.embedding_space_id } as Dataset;
}

/** A dataset with chunks is ready (a no-op when it already is). `org`: the scope's tenant (savepoints do not carry it). */
export async function markReady(tx: Transaction, org: string, datasetId: string): Promise<void> {
  await tx.execute(sql`
    update datasets set status = 'ready'
    where organization_id = ${org} and id = ${datasetId} and status in ('empty', 'ingesting')`);
}
