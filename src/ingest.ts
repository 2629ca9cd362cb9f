import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { is, type SQL, sql } from 'drizzle-orm';
import { PostgresJsSession } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { rowsOf, type Transaction } from './client.ts';
import { getLiveDataset, refuseIssues } from './datasets.ts';
import {
  assertEmbedderFits,
  assertVector,
  type Embedder,
  getEmbeddingSpace,
  vectorLiteral,
} from './embedding-spaces.ts';
import { toDatabaseError } from './errors.ts';
import { invalidInput, isUuid } from './input.ts';
import type { ChunkMetadata, DocumentMetadata } from './schema/index.ts';
import { chunkMetadataSchema, documentMetadataSchema } from './validators/rag.ts';

export interface IngestChunk {
  content: string;
  /** Position in the document; default the chunk's index in the list. Give all or none. */
  ordinal?: number;
  /** Default: an estimate of one token per 4 characters. */
  tokenCount?: number;
  metadata?: ChunkMetadata;
  /** A precomputed vector of the dataset's space; otherwise `embedder` computes it when needed. */
  embedding?: number[];
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

export interface IngestResult {
  documentId: string;
  /** The document did not exist before this call. */
  documentCreated: boolean;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Vectors computed by the embedder or taken from the input for new and changed chunks. */
  embedded: number;
  /** `copy`: COPY into a temporary table (server); `json`: one INSERT from json_to_recordset (embedded). */
  loadPath: 'copy' | 'json';
}

type LoadRow = {
  ordinal: number;
  content: string;
  token_count: number;
  content_hash: string;
  metadata: ChunkMetadata;
  /** null: content unchanged, keep the stored vector. */
  embedding: string | null;
};

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A rough token count (one token per 4 characters) for chunks that come without one. */
export const estimateTokens = (content: string) => Math.ceil(content.length / 4);

function checkChunks(chunks: unknown): asserts chunks is IngestChunk[] {
  if (!Array.isArray(chunks)) throw invalidInput('chunks', 'content', 'chunks must be an array');
  const withOrdinal = chunks.filter((chunk) => chunk?.ordinal !== undefined).length;
  if (withOrdinal !== 0 && withOrdinal !== chunks.length)
    throw invalidInput('chunks', 'ordinal', 'give an ordinal for every chunk or for none');
  const seen = new Set<number>();
  chunks.forEach((chunk: IngestChunk, index) => {
    if (typeof chunk?.content !== 'string' || chunk.content.length === 0)
      throw invalidInput('chunks', 'content', `chunk ${index} has no content`);
    const ordinal = chunk.ordinal ?? index;
    if (!Number.isInteger(ordinal) || ordinal < 0)
      throw invalidInput(
        'chunks',
        'ordinal',
        `chunk ${index}: ordinal must be an integer >= 0, got ${ordinal}`,
      );
    if (seen.has(ordinal))
      throw invalidInput('chunks', 'ordinal', `ordinal ${ordinal} appears more than once`);
    seen.add(ordinal);
    if (chunk.tokenCount !== undefined && (!Number.isInteger(chunk.tokenCount) || chunk.tokenCount < 0))
      throw invalidInput('chunks', 'token_count', `chunk ${index}: tokenCount must be an integer >= 0`);
    if (chunk.metadata !== undefined)
      refuseIssues('chunks', chunkMetadataSchema.safeParse(chunk.metadata), 'metadata');
  });
}

/** The postgres.js connection under a Drizzle transaction, when the target is a server. */
function serverClient(tx: Transaction): postgres.Sql | undefined {
  const session = tx._.session;
  return is(session, PostgresJsSession) ? (session.client as postgres.Sql) : undefined;
}

/** COPY text format: backslash, tab, newline and carriage return escaped; `\N` is null. */
const copyField = (value: string | null) =>
  value === null
    ? '\\N'
    : value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

async function* copyLines(rows: LoadRow[]): AsyncGenerator<string> {
  let batch = '';
  for (const row of rows) {
    batch += `${row.ordinal}\t${copyField(row.content)}\t${row.token_count}\t${row.content_hash}\t${copyField(JSON.stringify(row.metadata))}\t${copyField(row.embedding)}\n`;
    if (batch.length > 1 << 16) {
      yield batch;
      batch = '';
    }
  }
  if (batch) yield batch;
}

/**
 * Re-ingesting a document updates chunks whose content, tokens or metadata changed, keeping the stored
 * vector of unchanged content (a new document skips this: nothing can conflict, and a plain INSERT is
 * cheaper).
 */
const onConflictUpdate = sql`
          on conflict (organization_id, document_id, ordinal) do update set
            content = excluded.content,
            token_count = excluded.token_count,
            content_hash = excluded.content_hash,
            metadata = excluded.metadata,
            embedding_space_id = coalesce(excluded.embedding_space_id, chunks.embedding_space_id),
            embedding_dimensions = coalesce(excluded.embedding_dimensions, chunks.embedding_dimensions),
            embedding = coalesce(excluded.embedding, chunks.embedding)
          where excluded.embedding is not null
             or (chunks.content_hash, chunks.token_count, chunks.metadata)
                is distinct from (excluded.content_hash, excluded.token_count, excluded.metadata)`;

/** Loads the rows where the upsert can read them: a COPY-filled temp table, or a JSON recordset. */
async function loadSource(tx: Transaction, rows: LoadRow[]): Promise<{ source: SQL; path: 'copy' | 'json' }> {
  const client = serverClient(tx);
  if (!client) {
    return {
      path: 'json',
      source: sql`json_to_recordset(${JSON.stringify(rows)}::json)
        as s(ordinal int, content text, token_count int, content_hash text, metadata jsonb, embedding halfvec)`,
    };
  }
  await tx.execute(sql`
    create temp table if not exists neonhub_ingest_chunks
      (ordinal int, content text, token_count int, content_hash text, metadata jsonb, embedding halfvec)
      on commit drop`);
  await tx.execute(sql`truncate neonhub_ingest_chunks`);
  const writable =
    await client`copy neonhub_ingest_chunks (ordinal, content, token_count, content_hash, metadata, embedding) from stdin`.writable();
  await pipeline(Readable.from(copyLines(rows)), writable);
  return { path: 'copy', source: sql`neonhub_ingest_chunks as s` };
}

/**
 * Stores one document and its chunks with embeddings, inside the caller's tenant transaction.
 * Idempotent by (document, ordinal): a re-run with the same content writes nothing; changed chunks
 * are re-embedded and updated, new ones inserted, missing ones deleted. Only chunks whose content
 * hash changed are embedded. On a server the rows go through COPY into a temporary table and one
 * upsert; on the embedded database through one INSERT from a JSON recordset.
 *
 * Takes the Drizzle transaction rather than a `DbHandle`: the COPY runs on the transaction's own
 * postgres.js connection (`tx._.session.client`), so it sees the tenant scope and commits or rolls
 * back with it. Everything is checked before the first write, and the writes run in a savepoint:
 * bad input or a refused row leaves nothing behind even if the caller catches the error.
 */
export async function ingestDocument(tx: Transaction, input: IngestDocumentInput): Promise<IngestResult> {
  checkChunks(input.chunks);
  const doc = input.document;
  if (typeof doc?.title !== 'string' || doc.title.trim() === '')
    throw invalidInput('documents', 'title', 'the document needs a title');
  if (doc.id !== undefined && !isUuid(doc.id))
    throw invalidInput('documents', 'id', `document id must be a UUID, got ${String(doc.id)}`);
  if (doc.metadata !== undefined)
    refuseIssues('documents', documentMetadataSchema.safeParse(doc.metadata), 'metadata');
  try {
    const dataset = await getLiveDataset(tx, input.datasetId, 'chunks');
    const space = await getEmbeddingSpace(tx, dataset.embeddingSpaceId, 'chunks');
    if (input.embedder) assertEmbedderFits(input.embedder, space, 'chunks');

    const existing = await findExistingDocument(tx, dataset.id, doc);
    const stored = new Map<number, string>();
    if (existing) {
      const rows = rowsOf<{ ordinal: number; content_hash: string; embedded: boolean }>(
        await tx.execute(sql`
          select ordinal, content_hash, embedding_space_id is not null as embedded
          from chunks where document_id = ${existing}`),
      );
      for (const row of rows) if (row.embedded) stored.set(Number(row.ordinal), row.content_hash);
    }

    const rows: LoadRow[] = input.chunks.map((chunk, index) => ({
      ordinal: chunk.ordinal ?? index,
      content: chunk.content,
      token_count: chunk.tokenCount ?? estimateTokens(chunk.content),
      content_hash: sha256(chunk.content),
      metadata: chunk.metadata ?? {},
      embedding: null,
    }));
    const stale = rows
      .map((row, index) => ({ row, chunk: input.chunks[index] as IngestChunk }))
      .filter(({ row }) => stored.get(row.ordinal) !== row.content_hash);
    const toEmbed = stale.filter(({ chunk }) => chunk.embedding === undefined);
    if (toEmbed.length > 0 && !input.embedder)
      throw invalidInput(
        'chunks',
        'embedding',
        `${toEmbed.length} new or changed chunks have no embedding and no embedder was given`,
      );
    const vectors = new Map<number, unknown>();
    for (const { row, chunk } of stale)
      if (chunk.embedding !== undefined) vectors.set(row.ordinal, chunk.embedding);
    if (toEmbed.length > 0 && input.embedder) {
      const computed = await input.embedder.embedMany(toEmbed.map(({ row }) => row.content));
      if (!Array.isArray(computed) || computed.length !== toEmbed.length)
        throw invalidInput(
          'chunks',
          'embedding',
          `the embedder returned ${computed?.length} vectors for ${toEmbed.length} texts`,
        );
      toEmbed.forEach(({ row }, index) => {
        vectors.set(row.ordinal, computed[index]);
      });
    }
    for (const { row } of stale) {
      const vector = vectors.get(row.ordinal);
      assertVector(vector, space, 'chunks');
      row.embedding = vectorLiteral(vector);
    }

    const documentHash = sha256(rows.map((row) => row.content_hash).join('\n'));
    return await tx.transaction(async (sp) => {
      const documentId = await upsertDocument(sp, dataset.id, existing, doc, documentHash);
      const { source, path } = await loadSource(sp, rows);
      const written = rowsOf<{ inserted: boolean }>(
        await sp.execute(sql`
          insert into chunks (dataset_id, document_id, ordinal, content, token_count, content_hash, metadata,
                              embedding_space_id, embedding_dimensions, embedding)
          select ${dataset.id}::uuid, ${documentId}::uuid, s.ordinal, s.content, s.token_count, s.content_hash, s.metadata,
                 case when s.embedding is not null then ${space.id}::uuid end,
                 case when s.embedding is not null then ${space.dimensions}::int end,
                 s.embedding
          from ${source}
          ${existing === undefined ? sql`` : onConflictUpdate}
          returning (xmax = 0) as inserted`),
      );
      const ordinals = sql.raw(`'{${rows.map((row) => row.ordinal).join(',')}}'::int[]`);
      const deleted =
        existing === undefined
          ? 0
          : rowsOf<{ id: string }>(
              await sp.execute(sql`
                delete from chunks where document_id = ${documentId} and not (ordinal = any(${ordinals}))
                returning id`),
            ).length;
      await sp.execute(sql`
        update datasets set status = 'ready' where id = ${dataset.id} and status in ('empty', 'ingesting')`);
      const inserted = written.filter((row) => row.inserted).length;
      return {
        documentId,
        documentCreated: existing === undefined,
        inserted,
        updated: written.length - inserted,
        unchanged: rows.length - written.length,
        deleted,
        embedded: stale.length,
        loadPath: path,
      };
    });
  } catch (error) {
    throw toDatabaseError(error);
  }
}

async function findExistingDocument(
  tx: Transaction,
  datasetId: string,
  doc: IngestDocumentInput['document'],
): Promise<string | undefined> {
  const where = doc.id
    ? sql`id = ${doc.id}`
    : doc.sourceUri
      ? sql`dataset_id = ${datasetId} and source_uri = ${doc.sourceUri}`
      : undefined;
  if (!where) return undefined;
  const [row] = rowsOf<{ id: string; dataset_id: string }>(
    await tx.execute(sql`select id, dataset_id from documents where ${where}`),
  );
  if (row && row.dataset_id !== datasetId)
    throw invalidInput(
      'documents',
      'dataset_id',
      `document ${row.id} belongs to dataset ${row.dataset_id}, not ${datasetId}`,
    );
  return row?.id;
}

async function upsertDocument(
  tx: Transaction,
  datasetId: string,
  existing: string | undefined,
  doc: IngestDocumentInput['document'],
  contentHash: string,
): Promise<string> {
  const values = sql`${doc.title.trim()}, ${doc.mimeType ?? 'text/plain'}, ${contentHash}, ${JSON.stringify(doc.metadata ?? {})}::jsonb`;
  const [row] = rowsOf<{ id: string }>(
    await tx.execute(
      existing
        ? sql`update documents set (title, mime_type, content_hash, metadata) = (${values}),
                source_uri = coalesce(${doc.sourceUri ?? null}, source_uri), status = 'ready', error = null
              where id = ${existing} returning id`
        : sql`insert into documents (id, dataset_id, source_uri, title, mime_type, content_hash, metadata, status)
              values (coalesce(${doc.id ?? null}::uuid, uuidv7()), ${datasetId}, ${doc.sourceUri ?? null}, ${values}, 'ready')
              returning id`,
    ),
  );
  if (!row) throw new Error('document upsert returned no row');
  return row.id;
}

/** Ingests several documents of one dataset in order; see {@link ingestDocument}. */
export async function ingestDocuments(
  tx: Transaction,
  datasetId: string,
  documents: Omit<IngestDocumentInput, 'datasetId'>[],
): Promise<IngestResult[]> {
  const results: IngestResult[] = [];
  for (const document of documents) results.push(await ingestDocument(tx, { ...document, datasetId }));
  return results;
}
