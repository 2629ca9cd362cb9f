import { sql } from 'drizzle-orm';
import { toDatabaseError } from '../base/database-errors.ts';
import { ConnectionError } from '../base/errors.ts';
import { uuidv7 } from '../base/ids.ts';
import { invalidInput, labelled } from '../base/input.ts';
import { jsonParam } from '../base/json-param.ts';
import { type DbHandle, rowsOf, type Transaction } from '../client/client.ts';
import type { EmbeddingSpace } from '../schema/index.ts';
import { CopyRefused, copyBinary, stageRows } from './copy-staging.ts';
import { type Embedder, toVector } from './embedding-spaces.ts';
import { halfvecBinary, halfvecLiteral } from './halfvec.ts';
import { ingestDocument } from './ingest.ts';
import {
  checkDocument,
  chunkRows,
  type IngestChunk,
  type IngestDocumentInput,
  type LoadRow,
  liveDataset,
  markReady,
  recordset,
  sha256,
  vectorsOf,
} from './ingest-rows.ts';

// One batch of a bulk load (see `openBulkLoad`): its documents checked, then written in the
// caller's tenant transaction.

/** A document of a bulk load: its fields and all its chunks (see `ingestDocument`). */
export type BulkDocument = IngestDocumentInput['document'] & { chunks: IngestChunk[] };

/** Where a batch goes: the tenant, its dataset, and the embedder for chunks given without a vector. */
export interface BatchTarget {
  organizationId: string;
  datasetId: string;
  embedder?: Embedder;
}

/** A batch's documents with their chunk rows, checked. */
export type PreparedBatch = { document: BulkDocument; rows: LoadRow[] }[];

/** How an error names a document of a load: its index in the `ingest` call, and its key when it has one. */
export function documentLabel(document: BulkDocument | undefined, index: number): string {
  const key =
    typeof document?.id === 'string'
      ? ` (id ${document.id})`
      : typeof document?.sourceUri === 'string'
        ? ` (sourceUri ${JSON.stringify(document.sourceUri.length > 80 ? `${document.sourceUri.slice(0, 80)}…` : document.sourceUri)})`
        : '';
  return `document ${index}${key}`;
}

/**
 * Checks a batch's documents (the same checks as `ingestDocument`), chunks and given vectors;
 * returns their rows (vectors not yet encoded). `first`: the index of the batch's first document in
 * the load; `refused` hears of the document a check refused, with its index.
 */
export function prepareBatch(
  space: EmbeddingSpace,
  batch: BulkDocument[],
  first = 0,
  refused: (error: unknown, index: number) => void = () => {},
): PreparedBatch {
  return batch.map((document, i) => {
    const label = documentLabel(document, first + i);
    try {
      checkDocument(document, label);
      const rows = labelled(label, () => chunkRows(document.chunks));
      for (const chunk of document.chunks)
        if (chunk.embedding !== undefined) labelled(label, () => toVector(chunk.embedding, space, 'chunks'));
      return { document, rows };
    } catch (error) {
      refused(error, first + i);
      throw error;
    }
  });
}

/** Writes one batch in the caller's tenant transaction: new documents in two statements, known ones one by one. */
export async function writeBatch(
  tx: Transaction,
  space: EmbeddingSpace,
  input: BatchTarget,
  prepared: PreparedBatch,
  copy: boolean,
): Promise<{ rows: number; updatedDocuments: number; xid?: string }> {
  try {
    const org = input.organizationId;
    const dataset = await liveDataset(tx, input.datasetId);
    if (dataset.embeddingSpaceId !== space.id)
      throw invalidInput('chunks', 'dataset_id', `dataset ${dataset.id} is not in space ${space.id}`);
    const ids = prepared.flatMap(({ document }) => (document.id ? [document.id] : []));
    const uris = prepared.flatMap(({ document }) => (document.sourceUri ? [document.sourceUri] : []));
    const known = rowsOf<{ id: string; source_uri: string | null }>(
      await tx.execute(sql`
        select id, source_uri from documents
        where organization_id = ${org}
          and (id in (select value::uuid from json_array_elements_text(${jsonParam(ids, 'json')}))
               or (dataset_id = ${dataset.id}
                   and source_uri in (select value from json_array_elements_text(${jsonParam(uris, 'json')}))))`),
    );
    const exists = (document: BulkDocument) =>
      known.some(
        (row) => row.id === document.id || (document.sourceUri && row.source_uri === document.sourceUri),
      );
    const fresh = prepared.filter(({ document }) => !exists(document));
    const again = prepared.filter(({ document }) => exists(document));

    const rows: (LoadRow & { document_id: string })[] = [];
    const chunks: IngestChunk[] = [];
    const documents = fresh.map(({ document, rows: documentRows }) => {
      const id = document.id ?? uuidv7();
      for (const [i, row] of documentRows.entries()) {
        rows.push({ ...row, document_id: id });
        chunks.push(document.chunks[i] as IngestChunk);
      }
      return {
        id,
        source_uri: document.sourceUri ?? null,
        title: document.title.trim(),
        mime_type: document.mimeType ?? 'text/plain',
        content_hash: sha256(documentRows.map((row) => row.content_hash).join('\n')),
        metadata: document.metadata ?? {},
      };
    });
    const vectors = await vectorsOf(
      rows,
      chunks,
      rows.map((_, i) => i),
      space,
      input.embedder,
    );
    if (documents.length > 0) {
      // Both inserts return rows: Citus sends an INSERT ... SELECT without RETURNING as COPY, which RLS refuses.
      await tx.execute(sql`
        insert into documents (organization_id, id, dataset_id, source_uri, title, mime_type, content_hash, metadata, status)
        select ${org}::uuid, d.id, ${dataset.id}::uuid, d.source_uri, d.title, d.mime_type, d.content_hash, d.metadata, 'ready'
        from json_to_recordset(${jsonParam(documents, 'json')})
          as d(id uuid, source_uri text, title text, mime_type text, content_hash text, metadata jsonb)
        returning id`);
      const source = copy
        ? sql.raw(
            `${await stageRows(
              tx,
              copyBinary(rows.map((row, i) => ({ ...row, embedding: halfvecBinary(vectors.get(i) ?? []) }))),
            )} s`,
          )
        : recordset(
            rows.map((row, i) => ({ ...row, embedding: halfvecLiteral(vectors.get(i) ?? []) })),
            sql`, document_id uuid`,
          );
      await tx.execute(sql`
        insert into chunks (organization_id, dataset_id, document_id, ordinal, content, token_count, content_hash,
                            metadata, embedding_space_id, embedding_dimensions, embedding)
        select ${org}::uuid, ${dataset.id}::uuid, s.document_id, s.ordinal, s.content, s.token_count, s.content_hash,
               s.metadata, ${space.id}::uuid, ${space.dimensions}::int, s.embedding
        from ${source}
        returning id`);
      await markReady(tx, org, dataset.id);
    }
    for (const { document } of again)
      await ingestDocument(tx, {
        datasetId: dataset.id,
        document,
        chunks: document.chunks,
        embedder: input.embedder,
      });
    // The transaction's id, to ask the server whether it committed if the connection goes with the COMMIT.
    const [transaction] = rowsOf<{ xid: string }>(
      await tx.execute(sql`select pg_current_xact_id()::text as xid`),
    );
    return {
      rows: rows.length + again.reduce((n, { rows: r }) => n + r.length, 0),
      updatedDocuments: again.length,
      xid: transaction?.xid,
    };
  } catch (error) {
    throw error instanceof CopyRefused ? error : toDatabaseError(error);
  }
}

/**
 * Whether a batch whose scope failed committed all the same: its connection was lost with the
 * COMMIT on its way (`ConnectionError.duringCommit`), and the server says its transaction
 * committed (asked on another connection). An ended backend rolling back shows the transaction in
 * progress for a moment; one whose client vanished (a network cut) holds it open until the
 * server notices, so after a few seconds that backend is ended, and the answer is final.
 */
export async function committedAnyway(
  handle: DbHandle,
  error: unknown,
  xid: string | undefined,
): Promise<boolean> {
  if (!(error instanceof ConnectionError && error.duringCommit) || xid === undefined) return false;
  const ask = (text: string) =>
    handle.sql.query<{ status: string | null }>(text, [xid]).then(
      ([row]) => row?.status ?? null,
      () => null,
    );
  for (let attempt = 0, pause = 10; attempt < 40; attempt++, pause = Math.min(250, pause * 2)) {
    if (attempt === 20)
      await ask(
        `select pg_terminate_backend(pid)::text as status from pg_stat_activity where backend_xid = xid($1::xid8)`,
      );
    const status = await ask('select pg_xact_status($1::xid8) as status');
    if (status !== 'in progress') return status === 'committed';
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return false;
}
