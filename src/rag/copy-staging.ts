import { connectionFailure } from '../base/errors.ts';
import type { Transaction } from '../client/client.ts';
import { transactionDriverOf } from '../client/drizzle-internals.ts';
import type { LoadRow } from './ingest-rows.ts';

// The bulk path's binary COPY staging: a batch's rows in PostgreSQL's binary COPY format, copied
// into a temporary table of the batch's transaction (a server only). Bulk loads stage chunk rows,
// re-embedding stages new vectors.

/** A chunk row of a new document as the binary COPY stages it: the vector already in halfvec's binary form. */
export type StagedRow = Omit<LoadRow, 'embedding'> & { document_id: string; embedding: Buffer };

/** A re-embedded row as the binary COPY stages it: its id, the fingerprint it was embedded from, its new vector in halfvec's binary form. */
export type StagedVector = { id: string; hash: string; embedding: Buffer };

/** A staging table: lives in its batch's transaction only. */
export interface Staging {
  table: string;
  columns: readonly (readonly [name: string, type: string])[];
}

/** The chunk rows of one bulk batch ({@link copyBinary}). */
export const CHUNK_STAGING: Staging = {
  table: 'neonhub_bulk_chunks',
  columns: [
    ['document_id', 'uuid'],
    ['ordinal', 'int4'],
    ['content', 'text'],
    ['token_count', 'int4'],
    ['content_hash', 'text'],
    ['metadata', 'jsonb'],
    ['embedding', 'halfvec'],
  ],
};

/** The new vectors of one re-embedding batch ({@link copyVectors}). */
export const VECTOR_STAGING: Staging = {
  table: 'neonhub_reembed_vectors',
  columns: [
    ['id', 'uuid'],
    ['content_hash', 'text'],
    ['embedding', 'halfvec'],
  ],
};

const uuidBytes = (id: string) => Buffer.from(id.replaceAll('-', ''), 'hex');

interface CopyWriter {
  int16(value: number): void;
  int32(value: number): void;
  /** A field: its length, then its bytes. */
  field(bytes: Buffer): void;
  /** A jsonb field in its binary form: a version byte, then the text. */
  jsonb(text: Buffer): void;
}

/**
 * PostgreSQL's binary COPY stream of rows whose bytes add up to `rowBytes`: the signature, flags
 * and header extension, the rows `write` writes, then the trailer.
 */
function binaryCopy(rowBytes: number, write: (writer: CopyWriter) => void): Buffer {
  const size = 11 + 8 + rowBytes + 2;
  const out = Buffer.allocUnsafe(size);
  let at = out.write('PGCOPY\n\xff\r\n\0', 0, 'latin1');
  at = out.writeInt32BE(0, at);
  at = out.writeInt32BE(0, at);
  write({
    int16: (value) => {
      at = out.writeInt16BE(value, at);
    },
    int32: (value) => {
      at = out.writeInt32BE(value, at);
    },
    field: (bytes) => {
      at = out.writeInt32BE(bytes.length, at);
      at += bytes.copy(out, at);
    },
    jsonb: (text) => {
      at = out.writeInt32BE(1 + text.length, at);
      at = out.writeUInt8(1, at);
      at += text.copy(out, at);
    },
  });
  at = out.writeInt16BE(-1, at);
  if (at !== size) throw new Error(`binary COPY buffer: wrote ${at} of ${size} bytes`);
  return out;
}

/** Rows in PostgreSQL's binary COPY format for {@link CHUNK_STAGING}: no float is printed or parsed. */
export function copyBinary(rows: StagedRow[]): Buffer {
  const texts = rows.map((row) => ({
    content: Buffer.from(row.content, 'utf8'),
    hash: Buffer.from(row.content_hash, 'latin1'),
    metadata: Buffer.from(JSON.stringify(row.metadata), 'utf8'),
  }));
  let rowBytes = 0;
  for (const [i, row] of rows.entries()) {
    const t = texts[i] as (typeof texts)[number];
    rowBytes +=
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
  return binaryCopy(rowBytes, (w) => {
    for (const [i, row] of rows.entries()) {
      const t = texts[i] as (typeof texts)[number];
      w.int16(7);
      w.field(uuidBytes(row.document_id));
      w.int32(4);
      w.int32(row.ordinal);
      w.field(t.content);
      w.int32(4);
      w.int32(row.token_count);
      w.field(t.hash);
      w.jsonb(t.metadata);
      w.field(row.embedding);
    }
  });
}

/** Rows in PostgreSQL's binary COPY format for {@link VECTOR_STAGING}. */
export function copyVectors(rows: StagedVector[]): Buffer {
  const hashes = rows.map((row) => Buffer.from(row.hash, 'latin1'));
  let rowBytes = 0;
  for (const [i, row] of rows.entries())
    rowBytes += 2 + 4 + 16 + 4 + (hashes[i] as Buffer).length + 4 + row.embedding.length;
  return binaryCopy(rowBytes, (w) => {
    for (const [i, row] of rows.entries()) {
      w.int16(3);
      w.field(uuidBytes(row.id));
      w.field(hashes[i] as Buffer);
      w.field(row.embedding);
    }
  });
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

/** A postgres.js query: a promise, with the method that settles it with the COPY stream. */
type CopyQuery = Promise<unknown> & {
  writable(): Promise<NodeJS.WritableStream>;
  resolve?: (value: unknown) => void;
};

interface CopyClient {
  unsafe(text: string): CopyQuery;
}

/**
 * The writable stream of a `COPY ... FROM STDIN` query, listened to from the moment it exists.
 * postgres.js makes the stream and resolves the query with it in one step; when the same read off
 * the socket also brings an error (a backend ended just as the COPY began), it destroys the stream
 * before an awaiting caller can listen, and Node throws the unheard 'error' as an uncaught
 * exception. Settles with the stream, or fails with the error that ended it.
 */
async function copyStream(query: CopyQuery): Promise<NodeJS.WritableStream> {
  const resolve = query.resolve;
  if (typeof resolve !== 'function')
    throw new Error('postgres.js changed: a COPY query has no resolve() to hand its stream through');
  let failure: unknown;
  query.resolve = (value: unknown) => {
    (value as NodeJS.WritableStream).on('error', (error) => {
      failure ??= error;
    });
    resolve.call(query, value);
  };
  const stream = (await query.writable()) as NodeJS.WritableStream & { destroyed?: boolean };
  if (stream.destroyed) throw failure ?? new Error('the COPY stream closed before any row was sent');
  return stream;
}

/** The postgres.js transaction under a Drizzle transaction on a server, for COPY. */
function copyClient(tx: Transaction): CopyClient {
  const client = transactionDriverOf(tx) as Partial<CopyClient> | undefined;
  if (typeof client?.unsafe !== 'function') throw new Error('binary COPY needs a postgres.js transaction');
  return client as CopyClient;
}

/**
 * Stages rows in a temporary table (default {@link CHUNK_STAGING}) by binary COPY (a server only)
 * and returns its qualified name. One staging per transaction: the table is dropped at commit. The
 * COPY's stream finishes once the server took the rows and fails with its refusal (postgres.js 4;
 * 3.4.9 settled neither, and a probe queued behind the COPY told instead, a round trip a batch).
 * Every row is checked before, so a refusal ({@link CopyRefused}) is not expected; the caller then
 * writes the batch again as bound JSON.
 */
export async function stageRows(
  tx: Transaction,
  data: Buffer,
  staging: Staging = CHUNK_STAGING,
): Promise<string> {
  const client = copyClient(tx);
  const name = `pg_temp.${staging.table}`;
  try {
    await client.unsafe(
      `create temp table ${staging.table} (${staging.columns.map(([column, type]) => `${column} ${type}`).join(', ')}) on commit drop`,
    );
    const stream = await copyStream(
      client.unsafe(
        `copy ${name} (${staging.columns.map(([column]) => column).join(', ')}) from stdin (format binary)`,
      ),
    );
    await new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
      stream.end(data);
    });
  } catch (error) {
    // A lost connection is not a refusal of the rows: it goes up as it is, for the scope to report
    // (retryable), and no batch is written again as bound JSON on a connection that is gone.
    if (connectionFailure(error, '') !== undefined) throw error;
    throw new CopyRefused(error);
  }
  return name;
}
