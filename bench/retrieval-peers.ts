// What the retrieval bench measures the package against, over the same rows on the same server:
// LangChain's PGVectorStore, and the ceiling of the machine, a bare binary COPY of the halfvec
// rows plus one HNSW index built with the package's build settings. The ceiling's table also
// serves the unfiltered HNSW query every filtered search is compared with.
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { Embeddings } from '@langchain/core/embeddings';
import type pg from 'pg';
import type postgres from 'postgres';
import { halfvecBinary } from '../src/rag/halfvec.ts';
import { buildSettings } from '../src/rag/search-indexes.ts';
import type { Chunk, Dataset } from './retrieval-corpus.ts';

const vectorText = (vector: readonly number[]) => `[${vector.join(',')}]`;

/** LangChain needs an embeddings object; the bench gives it vectors directly. */
class GivenVectors extends Embeddings {
  embedDocuments(): Promise<number[][]> {
    throw new Error('the bench passes vectors');
  }
  embedQuery(): Promise<number[]> {
    throw new Error('the bench passes vectors');
  }
}

/** Where a chunk is, as LangChain's metadata filter sees it. */
export type Where = { tenant: string; dataset?: string };

/** LangChain's PGVectorStore with its documented setup: cosine distance, rows with their tenant and dataset as metadata. */
export class LangChainPeer {
  private constructor(
    private readonly pool: pg.Pool,
    readonly store: PGVectorStore,
  ) {}

  static async open(pool: pg.Pool, dims: number): Promise<LangChainPeer> {
    const store = await PGVectorStore.initialize(new GivenVectors({}), {
      pool,
      tableName: 'langchain_pg_embedding',
      columns: {
        idColumnName: 'id',
        vectorColumnName: 'embedding',
        contentColumnName: 'text',
        metadataColumnName: 'metadata',
      },
      distanceStrategy: 'cosine',
      dimensions: dims,
    });
    return new LangChainPeer(pool, store);
  }

  /** `addVectors` of one dataset's chunks. */
  add(dataset: Dataset, chunks: Chunk[]): Promise<unknown> {
    return this.store.addVectors(
      chunks.map((chunk) => chunk.vector),
      chunks.map((chunk) => ({
        pageContent: chunk.text,
        metadata: { tenant: dataset.tenant.name, dataset: dataset.name, key: chunk.key },
      })),
    );
  }

  /** Its top-k keys for a filter, as a user searches it. */
  async search(vector: number[], k: number, where: Where): Promise<string[]> {
    const found = await this.store.similaritySearchVectorWithScore(vector, k, where);
    return found.map(([doc]) => String(doc.metadata.key));
  }

  /** The exact top-k of the same filter (no index), its ground truth. */
  async exact(vector: number[], k: number, where: Where): Promise<string[]> {
    const client = await this.pool.connect();
    try {
      await client.query('begin; set local enable_indexscan = off');
      const exact = await client.query(
        `select metadata->>'key' as key from langchain_pg_embedding where metadata @> $1::jsonb
         order by embedding <=> $2::vector limit ${k}`,
        [JSON.stringify(where), vectorText(vector)],
      );
      await client.query('commit');
      return exact.rows.map((row: { key: string }) => row.key);
    } finally {
      client.release();
    }
  }

  async end(): Promise<void> {
    // The store holds one of the pool's clients; end() releases it and ends the pool.
    await this.store.end();
  }
}

const CEILING = 'bench_ceiling';

/** Rows in PostgreSQL's binary COPY format for (id int4, embedding halfvec). */
function copyRows(chunks: Chunk[]): Buffer {
  const vectors = chunks.map((chunk) => halfvecBinary(chunk.vector));
  const size = 19 + vectors.reduce((n, v) => n + 2 + 8 + 4 + v.length, 0) + 2;
  const out = Buffer.allocUnsafe(size);
  let at = out.write('PGCOPY\n\xff\r\n\0', 0, 'latin1');
  at = out.writeInt32BE(0, at);
  at = out.writeInt32BE(0, at);
  for (const [i, vector] of vectors.entries()) {
    at = out.writeInt16BE(2, at);
    at = out.writeInt32BE(4, at);
    at = out.writeInt32BE(i, at);
    at = out.writeInt32BE(vector.length, at);
    at += vector.copy(out, at);
  }
  out.writeInt16BE(-1, at);
  return out;
}

/**
 * The machine's ceiling for a searchable store of these rows: a bare binary COPY of the halfvec
 * rows into a table without constraints, then one HNSW index built with the package's build
 * settings. Returns the milliseconds of each step.
 */
export async function loadCeiling(
  sql: postgres.Sql,
  chunks: Chunk[],
  dims: number,
): Promise<{ copyMs: number; indexMs: number }> {
  const connection = await sql.reserve();
  try {
    await connection.unsafe(`create table ${CEILING} (id int4, embedding halfvec(${dims}))`);
    // Encoded before the clock starts: the ceiling is the server's work alone.
    const data = copyRows(chunks);
    const started = performance.now();
    const stream = await connection
      .unsafe(`copy ${CEILING} (id, embedding) from stdin (format binary)`)
      .writable();
    await new Promise<void>((resolve, reject) => {
      stream.write(data, (error) => (error ? reject(error) : resolve()));
    });
    stream.end();
    // The COPY ends on the next turn; a query queued behind it returns once it is done.
    await new Promise((resolve) => setImmediate(resolve));
    const [copied] = await connection.unsafe(`select count(*)::int as n from ${CEILING}`);
    if (copied?.n !== chunks.length)
      throw new Error(`the ceiling's COPY wrote ${copied?.n} of ${chunks.length} rows`);
    const copiedAt = performance.now();
    await connection.unsafe(buildSettings(chunks.length, dims)).simple();
    await connection.unsafe(`create index on ${CEILING} using hnsw (embedding halfvec_cosine_ops)`);
    await connection.unsafe('reset maintenance_work_mem; reset max_parallel_maintenance_workers').simple();
    await connection.unsafe(`analyze ${CEILING}`);
    return { copyMs: copiedAt - started, indexMs: performance.now() - copiedAt };
  } finally {
    connection.release();
  }
}

/**
 * The unfiltered HNSW query over the same rows: one statement outside any transaction, with the
 * server's settings (pgvector's `ef_search` of 40), as anyone runs it.
 */
export const unfilteredQuery = (sql: postgres.Sql, vector: number[], k: number) =>
  sql.unsafe(`select id from ${CEILING} order by embedding <=> $1::halfvec limit ${k}`, [vectorText(vector)]);
