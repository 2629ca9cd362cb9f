import { sql } from 'drizzle-orm';
import { BulkLoadError } from '../base/errors.ts';
import { guarded, invalidInput } from '../base/input.ts';
import type { DbHandle } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import { type BulkDocument, committedAnyway, prepareBatch, writeBatch } from './bulk-batch.ts';
import { CopyRefused } from './copy-staging.ts';
import { assertEmbedderFits, type Embedder, getEmbeddingSpace, tenantIndexName } from './embedding-spaces.ts';
import { liveDataset } from './ingest-rows.ts';
import { dropIndex, indexRows } from './search-indexes.ts';
import { ensureTenantIndexes } from './tenant-indexes.ts';

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
  /** Chunks the whole load will write (progress and its ETA). */
  expectedRows?: number;
  /**
   * What happens to the HNSW index of a tenant that has one. `rebuild`: dropped for the load and
   * built once by `finish`; `incremental`: each row goes into it as it is written. `auto`
   * (default) rebuilds when one `ingest` call brings the tenant at least {@link REBUILD_MIN_ROWS}
   * chunks and at least half as many as its index holds: building a graph once, in memory, is
   * several times faster per row than inserting into it, but reads the whole table again.
   * Tenants without an index get theirs at `finish` once they pass `tenantIndexMinRows`.
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
  /** Chunks this call writes, when `documents` is not an array (which is counted): decides `index: 'auto'`. */
  expectedRows?: number;
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

/** Loads bringing a tenant at least this many chunks may rebuild its index (under `auto`). */
export const REBUILD_MIN_ROWS = 5000;

/** Chunks of the documents, when they are an array. */
const chunksIn = (documents: BulkIngestInput['documents']) =>
  Array.isArray(documents)
    ? (documents as BulkDocument[]).reduce((n, d) => n + (Array.isArray(d?.chunks) ? d.chunks.length : 0), 0)
    : undefined;

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
 * that was in flight beside it. A re-run skips what is there already. Whatever stops it (bad
 * input, a refusal, a killed connection, a full disk), `ingest` settles with a `BulkLoadError`:
 * the typed cause, the document where it stopped, and exactly what was committed.
 *
 * Every tenant keeps searching the space throughout. Index changes are made CONCURRENTLY (no lock
 * that blocks reads or writes), and searches plan only against valid indexes
 * (`pg_index.indisvalid`): a tenant whose index is dropped for the load, or not built yet, is
 * searched exactly (the same results, slower) until `finish` has built it. After a failed load
 * `finish` builds whatever index is missing; so does running it again.
 *
 * Needs the schema owner's handle (index DDL); the rows themselves are written under tenant scopes.
 */
export interface BulkLoad {
  /** Tenants whose own index the load dropped, to build it again at `finish`. */
  readonly rebuilt: ReadonlySet<string>;
  ingest(input: BulkIngestInput): Promise<BulkIngestResult>;
  /** Builds the indexes the load dropped and gives tenants that passed the threshold their own (idempotent). */
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
  const expected = options.expectedRows;
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

  const rebuilt = new Set<string>();
  /** Drops the tenant's own index when building it again costs less than the rows it would take one by one. */
  const deferIndex = async (input: BulkIngestInput) => {
    if (mode === 'incremental' || rebuilt.has(input.organizationId)) return;
    const own = tenantIndexName('chunks', space.id, input.organizationId);
    const rows = input.expectedRows ?? chunksIn(input.documents);
    const worth =
      mode === 'rebuild' ||
      (rows !== undefined && rows >= REBUILD_MIN_ROWS && rows >= (await indexRows(handle, own)) / 2);
    if (worth && (await dropIndex(handle, own))) rebuilt.add(input.organizationId);
  };

  return {
    rebuilt,
    async ingest(input) {
      const result: BulkIngestResult = { documents: 0, updatedDocuments: 0, rows: 0 };
      if (input.embedder) assertEmbedderFits(input.embedder, space, 'chunks');
      touched.add(input.organizationId);
      await deferIndex(input);
      let batch: BulkDocument[] = [];
      let batchSize = 0;
      let seen = 0;
      // Batches in flight, each its own tenant transaction on its own connection, and the document
      // keys they write: a batch naming a document of one in flight waits for it, so it finds it.
      const inFlight = new Map<Promise<void>, Set<string>>();
      // The first document of each batch not yet committed: where a failed load stopped.
      const pending = new Set<number>();
      let failed: { error: unknown; at: number } | undefined;
      const fail = (error: unknown, at: number) => {
        if (!failed || at < failed.at) failed = { error, at };
      };
      const settle = async (all: boolean) => {
        while (inFlight.size > 0 && (all || inFlight.size >= parallel)) await Promise.race(inFlight.keys());
        if (failed) throw failed.error;
      };
      const flush = async () => {
        if (batch.length === 0) return;
        const documents = batch;
        const first = seen - documents.length;
        batch = [];
        batchSize = 0;
        // Checked before the batch starts, so no batch after a refused document is ever sent.
        const prepared = prepareBatch(space, documents, first, fail);
        const keys = new Set(documents.flatMap(documentKeys));
        const clash = [...inFlight.values()].some((held) => [...keys].some((key) => held.has(key)));
        await settle(clash);
        // What the batch wrote, once its statements are done: its COMMIT may still be lost on the way.
        let done: Awaited<ReturnType<typeof writeBatch>> | undefined;
        const write = (copy: boolean) =>
          withTenant(handle.db, input.organizationId, async (tx) => {
            done = await writeBatch(tx, space, input, prepared, copy);
            return done;
          });
        const committed = (written: { rows: number; updatedDocuments: number }) => {
          inFlight.delete(writing);
          pending.delete(first);
          result.documents += documents.length;
          result.updatedDocuments += written.updatedDocuments;
          result.rows += written.rows;
          rows += written.rows;
          totalDocuments += documents.length;
          report('load');
        };
        pending.add(first);
        const writing: Promise<void> = write(useCopy)
          .catch((error: unknown) => {
            if (!(error instanceof CopyRefused)) throw error;
            // Bound JSON names what the server refused; the rest of the load goes that way too.
            useCopy = false;
            return write(false);
          })
          .then(committed, async (error: unknown) => {
            if (done && (await committedAnyway(handle, error, done.xid))) return committed(done);
            inFlight.delete(writing);
            fail(error, first);
          });
        inFlight.set(writing, keys);
      };
      try {
        for await (const document of input.documents) {
          batch.push(document);
          seen++;
          batchSize += Array.isArray(document?.chunks) ? document.chunks.length : 0;
          if (batchSize >= batchRows) await flush();
        }
        await flush();
        await settle(true);
      } catch (error) {
        // Never leave a batch running past the call, whatever stopped it; then say what is committed.
        await Promise.allSettled(inFlight.keys());
        const cause = failed?.error ?? error;
        const at = failed?.at ?? Math.min(seen, ...pending);
        throw new BulkLoadError(
          `bulk load into dataset ${input.datasetId} stopped at document ${at}: ${(cause as Error)?.message ?? String(cause)}; ` +
            `committed: ${result.documents} documents (${result.updatedDocuments} already there), ${result.rows} chunks`,
          { ...result },
          at,
          cause,
        );
      }
      return result;
    },
    finish: () =>
      // A fault while building (a full disk) comes back typed, as the load's own do.
      guarded(async () => {
        // When the load wrote a tenth of the table, what autovacuum would do, at once: statistics, and
        // the visibility map that lets searches count candidates from the index alone. A small load
        // leaves it to autovacuum (a pass over the whole table costs more than its rows).
        const [table] = await handle.sql.query<{ n: number }>(
          `select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'public.chunks'::regclass`,
        );
        if (rows * 10 >= Number(table?.n ?? 0)) await handle.db.execute(sql`vacuum (analyze) chunks`);
        const indexesBuilt = await ensureTenantIndexes(handle, {
          spaceId: space.id,
          organizationIds: [...touched],
          minRows: options.tenantIndexMinRows,
          onBuild: (name) => report('index', name),
        });
        return { indexesBuilt };
      }),
  };
}

/** One call: {@link openBulkLoad}, `ingest`, `finish`. The index handling is chosen from the documents' chunk count. */
export async function bulkIngest(
  handle: DbHandle,
  input: BulkIngestInput & Omit<BulkLoadOptions, 'spaceId'>,
): Promise<BulkIngestResult & { indexesBuilt: string[]; rebuilt: boolean }> {
  const dataset = await withTenant(handle.db, input.organizationId, (tx) => liveDataset(tx, input.datasetId));
  const expectedRows = input.expectedRows ?? chunksIn(input.documents);
  const load = await openBulkLoad(handle, { ...input, spaceId: dataset.embeddingSpaceId, expectedRows });
  const result = await load.ingest({ ...input, expectedRows });
  const { indexesBuilt } = await load.finish().catch((error: unknown) => {
    // Every document is in; what failed is the index work after them (`finish` again redoes it).
    throw new BulkLoadError(
      `bulk load into dataset ${input.datasetId} wrote every document, then its index work failed: ${(error as Error)?.message ?? String(error)}; committed: ${result.documents} documents (${result.updatedDocuments} already there), ${result.rows} chunks`,
      { ...result },
      result.documents,
      error,
    );
  });
  return { ...result, indexesBuilt, rebuilt: load.rebuilt.has(input.organizationId) };
}
