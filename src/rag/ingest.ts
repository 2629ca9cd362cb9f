import { sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { invalidInput } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import { assertEmbedderFits, getEmbeddingSpace } from './embedding-spaces.ts';
import {
  checkDocument,
  chunkRows,
  embedRows,
  type IngestDocumentInput,
  liveDataset,
  markReady,
  recordset,
  sha256,
} from './ingest-rows.ts';

export {
  CHUNK_KEY,
  estimateTokens,
  type IngestChunk,
  type IngestDocumentInput,
  type JsonValue,
  MAX_METADATA_BYTES,
  MAX_METADATA_DEPTH,
  type OpenChunkMetadata,
} from './ingest-rows.ts';

export interface IngestResult {
  documentId: string;
  /** The document did not exist before this call. */
  documentCreated: boolean;
  /** The document row itself changed (created, or title, metadata or content changed). */
  documentChanged: boolean;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Vectors computed by the embedder or taken from the input for new and changed chunks. */
  embedded: number;
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

/**
 * Stores one document and its chunks with embeddings, inside the caller's tenant transaction.
 * Idempotent by (document, ordinal): a re-run with the same content writes nothing (not even the
 * document's `updated_at`); changed chunks are re-embedded and updated, new ones inserted, missing
 * ones deleted. Only chunks whose content hash changed are embedded. The rows go to the database
 * as one bound JSON parameter and one upsert, on both targets.
 *
 * Everything is checked before the first write (text without NUL bytes or lone surrogates,
 * metadata as bounded JSON, vectors against the space), and the writes run in a savepoint: bad
 * input or a refused row leaves nothing behind even if the caller catches the error. For many
 * documents at once see `bulkIngest`.
 */
export async function ingestDocument(tx: Transaction, input: IngestDocumentInput): Promise<IngestResult> {
  const rows = chunkRows(input.chunks);
  const doc = input.document;
  checkDocument(doc);
  const org = currentTenant(tx);
  try {
    const dataset = await liveDataset(tx, input.datasetId);
    const space = await getEmbeddingSpace(tx, dataset.embeddingSpaceId, 'chunks');
    if (input.embedder) assertEmbedderFits(input.embedder, space, 'chunks');

    const existing = await findExistingDocument(tx, dataset.id, doc);
    const stored = new Map<number, string>();
    if (existing) {
      // A re-embedded chunk's vector in the dataset's space may be in chunk_embeddings (src/reembedding/reembedding.ts).
      const found = rowsOf<{ ordinal: number; content_hash: string; embedded: boolean }>(
        await tx.execute(sql`
          select ordinal, content_hash,
                 embedding_space_id is not null or exists (
                   select 1 from chunk_embeddings e where e.organization_id = ${org}
                     and e.organization_id = chunks.organization_id and e.id = chunks.id
                     and e.embedding_space_id = ${space.id}::uuid and e.content_hash = chunks.content_hash) as embedded
          from chunks where organization_id = ${org} and document_id = ${existing}`),
      );
      for (const row of found) if (row.embedded) stored.set(Number(row.ordinal), row.content_hash);
    }
    const stale = rows.flatMap((row, i) => (stored.get(row.ordinal) !== row.content_hash ? [i] : []));
    await embedRows(rows, input.chunks, stale, space, input.embedder);

    const documentHash = sha256(rows.map((row) => row.content_hash).join('\n'));
    return await tx.transaction(async (sp) => {
      const { id: documentId, changed } = await upsertDocument(
        sp,
        org,
        dataset.id,
        existing,
        doc,
        documentHash,
      );
      const written = rowsOf<{ id: string; inserted: boolean; embedding_space_id: string | null }>(
        await sp.execute(sql`
          insert into chunks (organization_id, dataset_id, document_id, ordinal, content, token_count, content_hash,
                              metadata, embedding_space_id, embedding_dimensions, embedding)
          select ${org}::uuid, ${dataset.id}::uuid, ${documentId}::uuid, s.ordinal, s.content, s.token_count,
                 s.content_hash, s.metadata,
                 case when s.embedding is not null then ${space.id}::uuid end,
                 case when s.embedding is not null then ${space.dimensions}::int end,
                 s.embedding
          from ${recordset(rows)}
          ${existing === undefined ? sql`` : onConflictUpdate}
          returning id, (xmax = 0) as inserted, embedding_space_id`),
      );
      // A vector written here supersedes a re-embedding's vector of the same space for that chunk.
      const superseded = written
        .filter((row) => !row.inserted && row.embedding_space_id === space.id)
        .map((row) => row.id);
      if (superseded.length > 0)
        await sp.execute(sql`
          delete from chunk_embeddings
          where organization_id = ${org} and embedding_space_id = ${space.id}
            and id = any(${sql.raw(`'{${superseded.join(',')}}'::uuid[]`)})`);
      const ordinals = sql.raw(`'{${rows.map((row) => row.ordinal).join(',')}}'::int[]`);
      const deleted =
        existing === undefined
          ? 0
          : rowsOf<{ id: string }>(
              await sp.execute(sql`
                delete from chunks
                where organization_id = ${org} and document_id = ${documentId} and not (ordinal = any(${ordinals}))
                returning id`),
            ).length;
      await markReady(sp, org, dataset.id);
      const inserted = written.filter((row) => row.inserted).length;
      return {
        documentId,
        documentCreated: existing === undefined,
        documentChanged: changed,
        inserted,
        updated: written.length - inserted,
        unchanged: rows.length - written.length,
        deleted,
        embedded: stale.length,
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
  const org = currentTenant(tx);
  const where = doc.id
    ? sql`id = ${doc.id}`
    : doc.sourceUri
      ? sql`dataset_id = ${datasetId} and source_uri = ${doc.sourceUri}`
      : undefined;
  if (!where) return undefined;
  const [row] = rowsOf<{ id: string; dataset_id: string }>(
    await tx.execute(sql`select id, dataset_id from documents where organization_id = ${org} and ${where}`),
  );
  if (row && row.dataset_id !== datasetId)
    throw invalidInput(
      'documents',
      'dataset_id',
      `document ${row.id} belongs to dataset ${row.dataset_id}, not ${datasetId}`,
    );
  return row?.id;
}

/** Inserts the document, or updates it only where something differs (so `updated_at` stays put). */
async function upsertDocument(
  tx: Transaction,
  org: string,
  datasetId: string,
  existing: string | undefined,
  doc: IngestDocumentInput['document'],
  contentHash: string,
): Promise<{ id: string; changed: boolean }> {
  const values = sql`${doc.title.trim()}, ${doc.mimeType ?? 'text/plain'}, ${contentHash}, ${jsonParam(doc.metadata ?? {})}`;
  if (existing) {
    const sourceUri = sql`coalesce(${doc.sourceUri ?? null}, source_uri)`;
    const [row] = rowsOf<{ id: string }>(
      await tx.execute(sql`
        update documents set (title, mime_type, content_hash, metadata) = (${values}),
          source_uri = ${sourceUri}, status = 'ready', error = null
        where organization_id = ${org} and id = ${existing}
          and ((title, mime_type, content_hash, metadata) is distinct from (${values})
               or source_uri is distinct from ${sourceUri} or status <> 'ready' or error is not null)
        returning id`),
    );
    return { id: existing, changed: row !== undefined };
  }
  const [row] = rowsOf<{ id: string }>(
    await tx.execute(sql`
      insert into documents (organization_id, id, dataset_id, source_uri, title, mime_type, content_hash, metadata, status)
      values (${org}, coalesce(${doc.id ?? null}::uuid, uuidv7()), ${datasetId}, ${doc.sourceUri ?? null}, ${values}, 'ready')
      returning id`),
  );
  if (!row) throw new Error('document insert returned no row');
  return { id: row.id, changed: true };
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
