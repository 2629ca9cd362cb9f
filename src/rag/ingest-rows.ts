import { createHash } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import { invalidInput, isUuid, labelled, parseInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import type { ChunkMetadata, Dataset, DocumentMetadata, EmbeddingSpace } from '../schema/index.ts';
import { chunkMetadataSchema, documentInputFieldsSchema, documentMetadataSchema } from '../validators/rag.ts';
import { refuseIssues } from './datasets.ts';
import { type Embedder, toVector, type VectorInput } from './embedding-spaces.ts';
import { halfvecLiteral } from './halfvec.ts';

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
  // What the table's CHECKs (lengths, bytes, the MIME pattern) would refuse, said before any write.
  const fields = { title: doc.title, sourceUri: doc.sourceUri ?? undefined, mimeType: doc.mimeType };
  labelled(label, () => parseInput(documentInputFieldsSchema, fields, 'documents'));
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

/**
 * The rows as a recordset an INSERT reads, bound as one JSON parameter: for one document's rows, one
 * statement costs about what COPY into a temporary table and an INSERT from it do (the bulk path
 * copies: src/rag/copy-staging.ts).
 */
export const recordset = (rows: LoadRow[], extraColumns: SQL = sql``) =>
  sql`json_to_recordset(${jsonParam(rows, 'json')})
    as s(ordinal int, content text, token_count int, content_hash text, metadata jsonb, embedding halfvec${extraColumns})`;

/**
 * The live dataset of the current tenant, or an `invalid_input` error naming it. Locked (key share)
 * until the caller's transaction ends, so a re-embedding's switch waits for chunks being written
 * (parameters typed: Citus plans a locking read without inferring them).
 */
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
      from datasets where organization_id = ${org}::uuid and id = ${datasetId}::uuid
      for key share`),
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
