import { sql } from 'drizzle-orm';
import type { DbHandle } from '../client.ts';
import { CopyRefused } from '../copy-staging.ts';
import { liveDataset } from '../ingest-rows.ts';
import { invalidInput } from '../input.ts';
import { withTenant } from '../tenant.ts';
import { type BulkDocument, prepareBatch, writeBatch } from './bulk-batch.ts';
import {
  assertEmbedderFits,
  type Embedder,
  embeddingIndexName,
  getEmbeddingSpace,
  tenantIndexName,
} from './embedding-spaces.ts';
import {
  createIndex,
  dropIndex,
  ensureTenantIndexes,
  indexRows,
  spaceIndexDefinition,
  spaceRows,
} from './search-indexes.ts';

export type { BulkDocument } from './bulk-batch.ts';

export interface BulkProgress {
  phase: 'load' | 'index';
  /** Chunks written so far (all of them during `index`). */
  rows: number;
  documents: number;
  /** Chunks expected in all, when known. */
  totalRows?: number;
  rowsPerSecond: number;
  /** Seconds left for the load phase, when the total is known. */
  etaSeconds?: number;
  /** During `index`: the index being built. */
  index?: string;
}

export interface BulkLoadOptions {
  spaceId: string;
  /** Chunks the load will write: decides the index handling under `auto`. */
  expectedRows?: number;
  /**
   * `rebuild`: the space's HNSW index is dropped for the load and built once afterwards, sized for
   * the space; `incremental`: each row goes into the index as it is written. `auto` (default)
   * rebuilds when the load holds at least {@link REBUILD_MIN_ROWS} chunks and at least half as many
   * as the space already has: building a graph once, in memory and in parallel, is several times
   * faster per row than inserting into it, but re-reads what the space already holds.
   */
  index?: 'auto' | 'rebuild' | 'incremental';
  /** Rows from which a tenant gets its own index at `finish` (default `defaultTenantIndexMinRows`). */
  tenantIndexMinRows?: number;
  /** Chunks per statement (default 1,000). */
  batchRows?: number;
  /**
   * Batches written at once, each in its own tenant transaction on its own connection (default 2
   * on a server, 1 on the embedded database): the next batch is checked and encoded while the
   * server stores the previous one. Keep it below the pool size (`createDb({ max })`).
   */
  parallel?: number;
  onProgress?: (progress: BulkProgress) => void;
}

export interface BulkIngestInput {
  organizationId: string;
  datasetId: string;
  documents: Iterable<BulkDocument> | AsyncIterable<BulkDocument>;
  /** Embeds chunks that carry no `embedding`, one call per batch. */
  embedder?: Embedder;
}

export interface BulkIngestResult {
  documents: number;
  /** Documents that existed already: re-ingested one by one, like `ingestDocument`. */
  updatedDocuments: number;
  rows: number;
}

const defaultParallel = (handle: DbHandle) => (handle.target.kind === 'server' ? 2 : 1);

/** The keys that find an existing document: its id, or its sourceUri within the dataset. */
const documentKeys = (document: BulkDocument): string[] => [
  ...(typeof document?.id === 'string' ? [`id:${document.id}`] : []),
  ...(typeof document?.sourceUri === 'string' ? [`uri:${document.sourceUri}`] : []),
];

/** Loads at least this large may rebuild the space's index (under `auto`). */
export const REBUILD_MIN_ROWS = 5000;

/**
 * A bulk load into one embedding space: initial imports, re-embedding, moving from another store.
 * Open it with {@link openBulkLoad}, call `ingest` for as many tenants and datasets as needed,
 * then `finish`. Documents go in batches of about `batchRows` chunks, each batch one tenant
 * transaction (as `neonhub_app`, every statement naming the tenant), `parallel` of them at once on
 * their own connections: the new documents in one INSERT from bound JSON, their chunks staged by a
 * binary COPY into a temporary table (vectors as halfvec's own bytes: nothing printed or parsed)
 * and inserted from it in one statement; bound JSON on the embedded database, or when the server
 * refuses the COPY. Documents that exist already (same id, or same sourceUri in the dataset) go
 * through `ingestDocument`, so re-runs change only what changed.
 *
 * The unit of atomicity is the batch. Every document of a batch is checked before the batch is
 * sent, and no batch is sent after a refused one, so bad input leaves the batches before it
 * committed and nothing of its own batch or later ones; a failure found only while writing (the
 * embedder's, or the server's: a dataset deleted meanwhile) may also leave committed the batch
 * that was in flight beside it. A re-run skips what is there already.
 *
 * Other tenants keep searching the same space throughout. Index changes are made CONCURRENTLY (no
 * lock that blocks their reads or writes), and searches plan only against valid indexes
 * (`pg_index.indisvalid`): while the space's index is rebuilt, a tenant with an index of its own
 * (see `ensureTenantIndexes`) keeps it, and the others are searched exactly: the same results,
 * slower, until the new index is valid. After a failed load `finish` rebuilds whatever index is
 * missing; so does running it again.
 *
 * Needs the schema owner's handle (index DDL); the rows themselves are written under tenant scopes.
 */
export interface BulkLoad {
  readonly rebuild: boolean;
  ingest(input: BulkIngestInput): Promise<BulkIngestResult>;
  /** Builds the indexes the load deferred and gives large tenants their own (idempotent). */
  finish(): Promise<{ indexesBuilt: string[] }>;
}

export async function openBulkLoad(handle: DbHandle, options: BulkLoadOptions): Promise<BulkLoad> {
  const space = await getEmbeddingSpace(handle.db, options.spaceId, 'chunks');
  const batchRows = options.batchRows ?? 1000;
  const parallel = options.parallel ?? defaultParallel(handle);
  if (!Number.isInteger(parallel) || parallel < 1)
    throw invalidInput('chunks', 'embedding', `parallel must be an integer >= 1, got ${String(parallel)}`);
  if (!Number.isInteger(batchRows) || batchRows < 1)
    throw invalidInput('chunks', 'embedding', `batchRows must be an integer >= 1, got ${String(batchRows)}`);
  const mode = options.index ?? 'auto';
  if (!['auto', 'rebuild', 'incremental'].includes(mode))
    throw invalidInput(
      'chunks',
      'embedding',
      `index must be auto, rebuild or incremental, got ${String(mode)}`,
    );
  const existingRows = await spaceRows(handle, 'chunks', space);
  const expected = options.expectedRows;
  const rebuild =
    mode === 'rebuild' ||
    (mode === 'auto' &&
      expected !== undefined &&
      expected >= REBUILD_MIN_ROWS &&
      expected >= existingRows / 2);
  const spaceIndex = embeddingIndexName('chunks', space.id);
  const spaceDefinition = await spaceIndexDefinition(handle, 'chunks', space);
  if (rebuild) await dropIndex(handle, spaceIndex);
  const touched = new Set<string>();
  // Rows of new documents go by binary COPY on a server (no float printed or parsed), else as bound JSON.
  let useCopy = handle.target.kind === 'server';
  const started = performance.now();
  let rows = 0;
  let totalDocuments = 0;
  const report = (phase: BulkProgress['phase'], index?: string) => {
    if (!options.onProgress) return;
    const seconds = (performance.now() - started) / 1000;
    const rowsPerSecond = seconds > 0 ? rows / seconds : 0;
    const etaSeconds =
      phase === 'load' && expected !== undefined && rowsPerSecond > 0
        ? Math.max(0, (expected - rows) / rowsPerSecond)
        : undefined;
    options.onProgress({
      phase,
      rows,
      documents: totalDocuments,
      totalRows: expected,
      rowsPerSecond,
      etaSeconds,
      index,
    });
  };

  return {
    rebuild,
    async ingest(input) {
      const result: BulkIngestResult = { documents: 0, updatedDocuments: 0, rows: 0 };
      if (input.embedder) assertEmbedderFits(input.embedder, space, 'chunks');
      if (!touched.has(input.organizationId)) {
        touched.add(input.organizationId);
        // The tenant's own index, maintained row by row, costs more than building it again when the
        // load is at least half its size: dropped (CONCURRENTLY), rebuilt by finish().
        const own = tenantIndexName('chunks', space.id, input.organizationId);
        if (rebuild || (expected !== undefined && expected >= (await indexRows(handle, own)) / 2))
          await dropIndex(handle, own);
      }
      let batch: BulkDocument[] = [];
      let batchSize = 0;
      // Batches in flight, each its own tenant transaction on its own connection, and the document
      // keys they write: a batch naming a document of one in flight waits for it, so it finds it.
      const inFlight = new Map<Promise<void>, Set<string>>();
      let failed: { error: unknown } | undefined;
      const settle = async (all: boolean) => {
        while (inFlight.size > 0 && (all || inFlight.size >= parallel)) await Promise.race(inFlight.keys());
        if (failed) throw failed.error;
      };
      const flush = async () => {
        if (batch.length === 0) return;
        const documents = batch;
        batch = [];
        batchSize = 0;
        // Checked before the batch starts, so no batch after a refused document is ever sent.
        const prepared = prepareBatch(space, documents);
        const keys = new Set(documents.flatMap(documentKeys));
        const clash = [...inFlight.values()].some((held) => [...keys].some((key) => held.has(key)));
        await settle(clash);
        const write = (copy: boolean) =>
          withTenant(handle.db, input.organizationId, (tx) => writeBatch(tx, space, input, prepared, copy));
        const writing: Promise<void> = write(useCopy)
          .catch((error: unknown) => {
            if (!(error instanceof CopyRefused)) throw error;
            // Bound JSON names what the server refused; the rest of the load goes that way too.
            useCopy = false;
            return write(false);
          })
          .then(
            (written) => {
              inFlight.delete(writing);
              result.documents += documents.length;
              result.updatedDocuments += written.updatedDocuments;
              result.rows += written.rows;
              rows += written.rows;
              totalDocuments += documents.length;
              report('load');
            },
            (error: unknown) => {
              inFlight.delete(writing);
              failed ??= { error };
            },
          );
        inFlight.set(writing, keys);
      };
      try {
        for await (const document of input.documents) {
          batch.push(document);
          batchSize += Array.isArray(document?.chunks) ? document.chunks.length : 0;
          if (batchSize >= batchRows) await flush();
        }
        await flush();
      } finally {
        // Never leave a batch running past the call, whatever stopped it.
        await Promise.allSettled(inFlight.keys());
      }
      await settle(true);
      return result;
    },
    async finish() {
      const built: string[] = [];
      if (rebuild) report('index', spaceIndex);
      const total = await spaceRows(handle, 'chunks', space);
      if (
        await createIndex(handle, spaceIndex, spaceDefinition, {
          rows: Math.max(total, rows),
          dimensions: space.dimensions,
        })
      )
        built.push(spaceIndex);
      // Statistics again when the load changed a tenth of the table, as autovacuum would; a small
      // load into an indexed space keeps them (a whole-table sample costs more than its rows).
      if (rebuild || rows * 10 >= total) await handle.db.execute(sql`analyze chunks`);
      report('index', 'tenant indexes');
      built.push(
        ...(await ensureTenantIndexes(handle, {
          spaceId: space.id,
          organizationIds: [...touched],
          minRows: options.tenantIndexMinRows,
        })),
      );
      return { indexesBuilt: built };
    },
  };
}

/** One call: {@link openBulkLoad}, `ingest`, `finish`. The index handling is chosen from the documents' chunk count. */
export async function bulkIngest(
  handle: DbHandle,
  input: BulkIngestInput & Omit<BulkLoadOptions, 'spaceId'>,
): Promise<BulkIngestResult & { indexesBuilt: string[]; rebuilt: boolean }> {
  const dataset = await withTenant(handle.db, input.organizationId, (tx) => liveDataset(tx, input.datasetId));
  const expectedRows =
    input.expectedRows ??
    (Array.isArray(input.documents)
      ? (input.documents as BulkDocument[]).reduce((n, d) => n + (d?.chunks?.length ?? 0), 0)
      : undefined);
  const load = await openBulkLoad(handle, { ...input, spaceId: dataset.embeddingSpaceId, expectedRows });
  const result = await load.ingest(input);
  const { indexesBuilt } = await load.finish();
  return { ...result, indexesBuilt, rebuilt: load.rebuild };
}
