import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import { BulkLoadError } from '../base/errors.ts';
import { isUuid } from '../base/input.ts';
import { type DbHandle, rowsOf } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import { type BulkDocument, type BulkProgress, openBulkLoad } from '../rag/bulk-ingest.ts';
import { createLocalEmbedder } from '../rag/embedder.ts';
import { getEmbeddingSpace } from '../rag/embedding-spaces.ts';
import { LOCAL_EMBEDDING_SPACE } from '../seed/brand.ts';

export const ingestUsage = `neonhub-db ingest <file.jsonl> --org <organization id> --dataset <dataset id or slug>

  One document per line: {"title", "sourceUri"?, "id"?, "metadata"?, and either
  "chunks": [{"content", "embedding"?, "metadata"?, "key"?}] or "text" (split on blank lines)}.
  Chunks without an embedding are embedded locally when the dataset is in the local space.`;

/** Splits a text into chunks of whole paragraphs, each about `size` characters. */
export function splitText(text: string, size = 1200): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const paragraph of text.split(/\n\s*\n/)) {
    const piece = paragraph.trim();
    if (!piece) continue;
    if (current && current.length + piece.length > size) {
      chunks.push(current);
      current = '';
    }
    current = current ? `${current}\n\n${piece}` : piece;
  }
  if (current) chunks.push(current);
  return chunks;
}

type Line = Omit<BulkDocument, 'chunks'> & { chunks?: BulkDocument['chunks']; text?: string };

/**
 * The documents of a JSONL file, one per non-empty line; a bad line fails with its number. `lines`
 * gets each document's line number, by the document's index.
 */
async function* readDocuments(file: string, lines: number[] = []): AsyncGenerator<BulkDocument> {
  let number = 0;
  for await (const text of createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    number++;
    if (!text.trim()) continue;
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch (error) {
      throw new Error(`${file}:${number}: not JSON (${(error as Error).message})`);
    }
    if (typeof line !== 'object' || line === null) throw new Error(`${file}:${number}: not a JSON object`);
    const { text: body, chunks, ...document } = line;
    if (chunks === undefined && typeof body !== 'string')
      throw new Error(`${file}:${number}: give "chunks" or "text"`);
    lines.push(number);
    yield { ...document, chunks: chunks ?? splitText(body ?? '').map((content) => ({ content })) };
  }
}

/** A one-line progress bar on stderr: rows, rate and time left. */
function progressBar(stream: NodeJS.WriteStream = process.stderr) {
  return (p: BulkProgress) => {
    const total = p.totalRows ?? 0;
    const share = total > 0 ? Math.min(1, p.rows / total) : 0;
    const bar = `${'#'.repeat(Math.round(share * 30))}${'-'.repeat(30 - Math.round(share * 30))}`;
    const eta = p.etaSeconds === undefined ? '' : ` ETA ${Math.ceil(p.etaSeconds)} s`;
    const text =
      p.phase === 'load'
        ? `[${bar}] ${(share * 100).toFixed(0)}% ${p.rows}/${total} rows, ${Math.round(p.rowsPerSecond)} rows/s${eta}`
        : `building ${p.index} after ${p.rows} rows`;
    stream.write(stream.isTTY ? `\r${text.padEnd(100)}` : `${text}\n`);
  };
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

/** `neonhub-db ingest`: a JSONL file of documents into one dataset, through the bulk path. */
export async function runIngest(
  handle: DbHandle,
  args: string[],
  say: (line: string) => void,
): Promise<void> {
  const file = args.find((arg, i) => !arg.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const org = option(args, '--org');
  const datasetKey = option(args, '--dataset');
  if (!file || !org || !datasetKey) throw new Error(`missing arguments\n${ingestUsage}`);
  if (!isUuid(org)) throw new Error(`--org must be an organization id (a UUID), got ${org}`);
  const dataset = await withTenant(handle.db, org, async (tx) => {
    const [row] = rowsOf<{ id: string; embedding_space_id: string }>(
      await tx.execute(sql`
        select id, embedding_space_id from datasets
        where organization_id = ${org} and deleted_at is null
          and ${isUuid(datasetKey) ? sql`id = ${datasetKey}` : sql`slug = ${datasetKey}`}`),
    );
    return row;
  });
  if (!dataset) throw new Error(`no live dataset ${datasetKey} in organization ${org}`);
  const space = await getEmbeddingSpace(handle.db, dataset.embedding_space_id);
  const local =
    space.provider === LOCAL_EMBEDDING_SPACE.provider && space.model === LOCAL_EMBEDDING_SPACE.model;
  let expectedRows = 0;
  for await (const document of readDocuments(file)) expectedRows += document.chunks.length;
  say(`ingesting ${expectedRows} chunks from ${file} into dataset ${dataset.id}`);
  const load = await openBulkLoad(handle, { spaceId: space.id, expectedRows, onProgress: progressBar() });
  const lines: number[] = [];
  const result = await load
    .ingest({
      organizationId: org,
      datasetId: dataset.id,
      documents: readDocuments(file, lines),
      expectedRows,
      embedder: local ? createLocalEmbedder(space.dimensions) : undefined,
    })
    .catch(async (error: unknown) => {
      if (!(error instanceof BulkLoadError)) throw error;
      process.stderr.write('\n');
      // The indexes of what was committed are built all the same: the rows are searchable.
      await load.finish().catch(() => {});
      const { documents, rows } = error.committed;
      const line = lines[error.stoppedAt];
      const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
      throw new Error(
        // A line that could not be read names itself.
        `${line === undefined ? '' : `${file}:${line}: `}${cause}; committed before it: ${documents} documents, ${rows} chunks (run again to load the rest)`,
      );
    });
  const { indexesBuilt } = await load.finish();
  process.stderr.write('\n');
  say(
    `${result.documents} documents (${result.updatedDocuments} already there), ${result.rows} chunks; ` +
      `tenant index ${load.rebuilt.has(org) ? 'rebuilt' : 'maintained row by row'}${indexesBuilt.length ? `, built ${indexesBuilt.join(', ')}` : ''}`,
  );
}
