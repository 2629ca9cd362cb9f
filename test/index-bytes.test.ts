// Btree entries are limited in bytes (2,704 on 8 kB pages), text columns in characters: every btree
// index holding text is found from the catalog, and each of its text columns must have a limit in
// bytes that keeps the whole entry within btree's. The computation is checked against PostgreSQL at
// the boundary, and the issue's case (1,990 CJK characters in a source URI) is refused whole.

import { getTableName, type Table } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { toDatabaseError } from '../src/base/database-errors.ts';
import { InputError, parseInput } from '../src/base/input.ts';
import { withTenant } from '../src/client/tenant.ts';
import { btreeIndexBounds, oversizedIndexes } from '../src/operator/index-bounds.ts';
import { createDataset } from '../src/rag/datasets.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { type Dataset, documents, textByteLimits, textBytesCheckName } from '../src/schema/index.ts';
import { localEmbedder } from '../src/seed/brand.ts';
import { insertDocumentSchema } from '../src/validators/index.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { localSpace, makeTenant } from './support/rag.ts';
import { CJK, randomText, randomUtf8 } from './support/text.ts';

const database = useTestDatabase();

const SOURCE_URI_INDEX = 'documents_organization_id_dataset_id_source_uri_key';
const SOURCE_URI_CHECK = 'documents_source_uri_bytes_check';

let organizationId: string;
let dataset: Dataset;

beforeAll(async () => {
  const { db } = database.current;
  const space = await localSpace(db);
  organizationId = await makeTenant(db, 'index-bytes');
  dataset = await withTenant(db, organizationId, (tx) =>
    createDataset(tx, { slug: 'kb', name: 'KB', embeddingSpaceId: space.id }),
  );
});

const documentCount = async () => {
  const [row] = await database.current.sql.query<{ count: number }>(
    'select count(*)::int as count from documents where organization_id = $1',
    [organizationId],
  );
  return row?.count ?? 0;
};

describe('btree entries fit in bytes', () => {
  it('every text column of every btree index has a byte limit that keeps the whole entry within btree’s', async () => {
    const bounds = await btreeIndexBounds(database.current.sql);
    const largest = [...bounds].sort((a, b) => (b.entryBytes ?? Infinity) - (a.entryBytes ?? Infinity));
    const oversized = oversizedIndexes(bounds);
    console.log(
      `${bounds.length} btree indexes hold variable-length values; largest entries: ${largest
        .slice(0, 4)
        .map((bound) => `${bound.index} ${bound.entryBytes} bytes`)
        .join(', ')}; limit ${bounds[0]?.limitBytes} bytes; ${oversized.length} unbounded or over`,
    );
    expect(bounds.length).toBeGreaterThanOrEqual(35);
    // Expression indexes are found too: users' and invitations' unique lower(email).
    expect(bounds.flatMap((bound) => bound.columns.map((column) => column.name))).toContain('lower(email)');
    expect(oversized).toEqual([]);
  });

  it('the catalog’s byte limits are the validators’, and cover every text column an index holds', async () => {
    const { sql } = database.current;
    const checks = await sql.query<{ name: string; definition: string; validated: boolean }>(
      `select con.conname as name, pg_get_constraintdef(con.oid) as definition, con.convalidated as validated
         from pg_constraint con join pg_class c on c.oid = con.conrelid
        where con.contype = 'c' and con.conname like '%\\_bytes\\_check' and not c.relispartition`,
    );
    const byName = new Map(checks.map((check) => [check.name, check]));
    const mismatched = [...textByteLimits]
      .filter(([column, bytes]) => {
        const check = byName.get(textBytesCheckName(column));
        return check?.definition !== `CHECK ((octet_length(${column.name}) <= ${bytes}))` || !check.validated;
      })
      .map(([column]) => textBytesCheckName(column));
    const limited = new Set(
      [...textByteLimits.keys()].map(
        (column) => `${getTableName((column as unknown as { table: Table }).table)}.${column.name}`,
      ),
    );
    const textColumns = (await btreeIndexBounds(sql)).flatMap((bound) =>
      bound.columns
        .filter((column) => column.type === 'text')
        .map((column) => `${bound.table}.${column.name.replace(/^(?:lower|upper)\((\w+)\)$/, '$1')}`),
    );
    const unknown = [...new Set(textColumns)].filter((column) => !limited.has(column));
    console.log(
      `${textByteLimits.size} byte limits in src/schema/byte-limits.ts, ${checks.length} validated _bytes_check constraints; ${new Set(textColumns).size} text columns in btree indexes, ${unknown.length} without a limit the validators know`,
    );
    expect(mismatched).toEqual([]);
    expect(unknown).toEqual([]);
  });

  it('at the boundary: the longest source URI its limit allows is stored, a byte more is refused by the CHECK, and without the CHECK PostgreSQL refuses exactly the entry the computation says is too large', async () => {
    const { sql } = database.current;
    const limit = textByteLimits.get(documents.sourceUri) ?? 0;
    const insert = (tx: typeof sql, uri: string) =>
      tx.query(
        'insert into documents (organization_id, dataset_id, title, source_uri) values ($1, $2, $3, $4)',
        [organizationId, dataset.id, 'boundary', uri],
      );
    const stored = randomUtf8(limit, 1);
    await insert(sql, stored);
    const over = await failure(insert(sql, randomUtf8(limit + 1, 2)));
    expect(over).toMatchObject({
      kind: 'check_violation',
      table: 'documents',
      column: 'source_uri',
      constraint: SOURCE_URI_CHECK,
    });

    // The entry with no null: 8 bytes of header, the two uuids, the text's 4-byte header, its bytes.
    const bound = (await btreeIndexBounds(sql)).find((found) => found.index === SOURCE_URI_INDEX);
    const ids = (bound?.columns ?? []).filter((column) => column.name !== 'source_uri');
    const room = (bound?.limitBytes ?? 0) - 8 - ids.reduce((sum, column) => sum + (column.bytes ?? 0), 0) - 4;
    const session = await database.current.dedicated();
    let indexRefusal: unknown;
    try {
      await session.exec(`begin; alter table documents drop constraint ${SOURCE_URI_CHECK}`);
      await insert(session, randomUtf8(room, 3));
      indexRefusal = toDatabaseError(await insert(session, randomUtf8(room + 1, 4)).catch((e) => e));
    } finally {
      await session.exec('rollback');
      await session.release();
    }
    console.log(
      `${SOURCE_URI_INDEX}: ${limit} bytes stored, ${limit + 1} refused by ${SOURCE_URI_CHECK}; without it ${room} bytes stored and ${room + 1} refused by the index: ${(indexRefusal as Error).message}`,
    );
    expect(room).toBeGreaterThanOrEqual(limit);
    expect(indexRefusal).toMatchObject({ kind: 'too_large', constraint: SOURCE_URI_INDEX });
  });

  it('a source URI of 1,990 CJK characters (5,970 bytes) is refused naming table, column and constraint, with nothing written', async () => {
    const { db } = database.current;
    const sourceUri = randomText(CJK, 1990, 5);
    const before = await documentCount();
    const input = { datasetId: dataset.id, title: 'CJK', sourceUri };
    let refused: unknown;
    try {
      parseInput(insertDocumentSchema, input, 'documents');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(InputError);
    expect(refused).toMatchObject({ table: 'documents', column: 'source_uri', constraint: SOURCE_URI_CHECK });
    expect((refused as Error).message).toContain('5970 bytes');
    const ingest = await failure(
      withTenant(db, organizationId, (tx) =>
        ingestDocument(tx, {
          datasetId: dataset.id,
          document: { sourceUri, title: 'CJK' },
          chunks: [{ content: 'one chunk' }],
          embedder: localEmbedder,
        }),
      ),
    );
    expect(ingest).toMatchObject({ table: 'documents', column: 'source_uri', constraint: SOURCE_URI_CHECK });
    expect(await documentCount()).toBe(before);
    console.log(`validator: ${(refused as Error).message.slice(0, 160)}`);
    console.log(
      `ingestDocument: ${ingest.message.slice(0, 160)}; documents before ${before}, after ${await documentCount()}`,
    );
  });
});
