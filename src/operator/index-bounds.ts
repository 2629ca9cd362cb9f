import type { RawSql } from '../client/client.ts';

// How large an entry of each btree index can grow, from the catalog: what a value may hold is
// bounded in bytes only by CHECKs, so an index whose text columns have none can refuse a row that
// every constraint accepted ("index row size exceeds btree version 4 maximum 2704").

/** One column of a btree index entry, with the most bytes it can take. */
export interface IndexColumnBound {
  /** The column, or the expression (`lower(email)`). */
  name: string;
  type: string;
  /** Its type's alignment in the entry (`pg_type.typalign`). */
  align: string;
  /** Most bytes of the value, header included; undefined when nothing bounds it. */
  bytes?: number;
  /** What bounds it: a fixed-size type, or the CHECK on the column's bytes. */
  bound: string;
}

export interface IndexBound {
  table: string;
  index: string;
  columns: IndexColumnBound[];
  /** The largest entry the bounds allow, in bytes, alignment included; undefined when a column is unbounded. */
  entryBytes?: number;
  /** The largest entry btree stores on this server's pages (2,704 bytes on 8 kB pages). */
  limitBytes: number;
}

/**
 * Lowercasing changes a character's UTF-8 length: `İ` (2 bytes) becomes `i̇` (3), under Lithuanian
 * rules `Ì` (2) becomes `i̇̀` (5). No case mapping reaches three times the bytes it started from.
 */
const CASE_MAPPING_GROWTH = 3;

const maxAlign = (n: number) => Math.ceil(n / 8) * 8;
const alignTo = (n: number, align: string) => {
  const by = align === 'd' ? 8 : align === 'i' ? 4 : align === 's' ? 2 : 1;
  return Math.ceil(n / by) * by;
};

/** `octet_length(col) <= N` or `= N`, as pg_get_constraintdef prints a validated CHECK. */
const bytesCheck = /^CHECK \(\(octet_length\("?(\w+)"?\) (<=|=) (\d+)\)\)$/;
const caseMapped = /^(?:lower|upper)\("?(\w+)"?\)$/;

/**
 * Every btree index of the public schema (primary keys and unique constraints included,
 * partitions left out: they repeat their table's) that holds a variable-length column, with the
 * largest entry its columns' bounds allow. Uncompressed: an index compresses only what it can
 * shrink, so random text takes its full size.
 */
export async function btreeIndexBounds(sql: RawSql): Promise<IndexBound[]> {
  const [page] = await sql.query<{ block_size: number }>(
    `select current_setting('block_size')::int as block_size`,
  );
  const blockSize = page?.block_size ?? 8192;
  // BTMaxItemSize: a third of a page after its header and three line pointers, less a heap TID.
  const limitBytes = Math.floor((blockSize - maxAlign(24 + 3 * 4) - maxAlign(16)) / 3 / 8) * 8 - maxAlign(6);
  const rows = await sql.query<{
    table: string;
    index: string;
    position: number;
    column: string | null;
    expression: string;
    type: string;
    length: number;
    align: string;
    not_null: boolean;
  }>(
    `select c.relname as table, i.relname as index, k.position::int,
            a.attname as column, pg_get_indexdef(x.indexrelid, k.position::int, true) as expression,
            format_type(ia.atttypid, ia.atttypmod) as type, t.typlen::int as length, t.typalign::text as align,
            coalesce(a.attnotnull, false) as not_null
       from pg_index x
       join pg_class i on i.oid = x.indexrelid
       join pg_am am on am.oid = i.relam and am.amname = 'btree'
       join pg_class c on c.oid = x.indrelid
       cross join lateral unnest(x.indkey) with ordinality k(attnum, position)
       join pg_attribute ia on ia.attrelid = x.indexrelid and ia.attnum = k.position
       join pg_type t on t.oid = ia.atttypid
       left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum and k.attnum > 0
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
      order by c.relname, i.relname, k.position`,
  );
  const checks = await sql.query<{ table: string; definition: string }>(
    `select c.relname as table, pg_get_constraintdef(con.oid) as definition
       from pg_constraint con join pg_class c on c.oid = con.conrelid
      where con.contype = 'c' and con.convalidated and c.relnamespace = 'public'::regnamespace
        and not c.relispartition`,
  );
  const byteLimit = new Map<string, { bytes: number; check: string }>();
  for (const { table, definition } of checks) {
    const match = definition.match(bytesCheck);
    if (match?.[1] && match[3]) {
      const key = `${table}.${match[1]}`;
      const bytes = Number(match[3]);
      if (bytes < (byteLimit.get(key)?.bytes ?? Number.POSITIVE_INFINITY))
        byteLimit.set(key, { bytes, check: definition });
    }
  }
  const indexes = new Map<string, IndexBound & { nullable: boolean }>();
  for (const row of rows) {
    const id = `${row.table}.${row.index}`;
    const index = indexes.get(id) ?? {
      table: row.table,
      index: row.index,
      columns: [],
      limitBytes,
      nullable: false,
    };
    indexes.set(id, index);
    index.nullable ||= !row.not_null;
    const column = { name: row.column ?? row.expression, type: row.type, align: row.align };
    if (row.length > 0) {
      index.columns.push({ ...column, bytes: row.length, bound: 'fixed size' });
      continue;
    }
    // A variable-length value carries a 4-byte header (1 byte when short: 4 is the most).
    const own = row.column && byteLimit.get(`${row.table}.${row.column}`);
    const mapped = !row.column ? row.expression.match(caseMapped)?.[1] : undefined;
    const under = mapped ? byteLimit.get(`${row.table}.${mapped}`) : undefined;
    if (own) index.columns.push({ ...column, bytes: 4 + own.bytes, bound: own.check });
    else if (under)
      index.columns.push({
        ...column,
        bytes: 4 + CASE_MAPPING_GROWTH * under.bytes,
        bound: `${under.check}, at most ${CASE_MAPPING_GROWTH}x when case-mapped`,
      });
    else index.columns.push({ ...column, bound: 'nothing bounds its bytes' });
  }
  const bounds: IndexBound[] = [];
  for (const { nullable, ...index } of indexes.values()) {
    if (index.columns.every((column) => column.bound === 'fixed size')) continue;
    if (index.columns.every((column) => column.bytes !== undefined)) {
      // Tuple header (8 bytes, 16 with a null bitmap), then each value at its type's alignment.
      let offset = nullable ? 16 : 8;
      for (const column of index.columns) offset = alignTo(offset, column.align) + (column.bytes ?? 0);
      index.entryBytes = maxAlign(offset);
    }
    bounds.push(index);
  }
  return bounds;
}

/** The indexes whose entries could outgrow btree's limit, each with why: empty when every entry fits. */
export function oversizedIndexes(bounds: IndexBound[]): string[] {
  return bounds.flatMap(({ table, index, columns, entryBytes, limitBytes }) => {
    const unbounded = columns.filter((column) => column.bytes === undefined).map((column) => column.name);
    if (unbounded.length > 0)
      return [
        `${index} on ${table}: nothing bounds the bytes of ${unbounded.join(', ')} (add ${unbounded.map((name) => `${table}_${name}_bytes_check`).join(', ')}: octet_length(...) <= N, see src/schema/byte-limits.ts)`,
      ];
    if ((entryBytes ?? 0) > limitBytes)
      return [
        `${index} on ${table}: an entry may take ${entryBytes} bytes, more than the ${limitBytes} btree stores (${columns.map((c) => `${c.name} ${c.bytes}`).join(', ')})`,
      ];
    return [];
  });
}
