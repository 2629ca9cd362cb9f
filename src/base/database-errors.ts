import { getTableName, is } from 'drizzle-orm';
import { getTableConfig, type IndexColumn, PgTable } from 'drizzle-orm/pg-core';
import * as schema from '../schema/index.ts';
import {
  ConnectionError,
  causeChain,
  DatabaseError,
  type DatabaseErrorKind,
  EmbeddedDatabaseError,
} from './errors.ts';

// PostgreSQL's refusals read as DatabaseError: the kind a SQLSTATE means, and the table, column and
// constraint under the names callers know (a partition's or a Citus shard's are the table's own).

type PgErrorFields = {
  code?: string;
  message?: string;
  detail?: string;
  table?: string;
  table_name?: string;
  column?: string;
  column_name?: string;
  constraint?: string;
  constraint_name?: string;
};

const kinds: Record<string, DatabaseErrorKind> = {
  '23505': 'unique_violation',
  '23503': 'foreign_key_violation',
  '23001': 'foreign_key_violation',
  '23514': 'check_violation',
  '23502': 'not_null_violation',
  '23P01': 'exclusion_violation',
  '22P02': 'invalid_input',
  '22007': 'invalid_input',
  '22023': 'invalid_input',
  '22032': 'invalid_input',
  '2202E': 'invalid_input',
  '22021': 'invalid_text',
  '22P05': 'invalid_text',
  '22003': 'out_of_range',
  '22008': 'out_of_range',
  '22001': 'too_large',
  '54000': 'too_large',
  '54001': 'too_large',
  '57014': 'timeout',
  '55P03': 'timeout',
  '40001': 'conflict',
  '40P01': 'conflict',
  // Reported on a live session: a Citus worker unreachable, the server out of slots, disk or memory.
  '08000': 'unavailable',
  '08001': 'unavailable',
  '08003': 'unavailable',
  '08006': 'unavailable',
  '53000': 'unavailable',
  '53100': 'unavailable',
  '53200': 'unavailable',
  '53300': 'unavailable',
  '53400': 'unavailable',
  // A Citus worker's session ended: the coordinator passes it on as an ERROR, its own session lives.
  '57P01': 'unavailable',
  '57P02': 'unavailable',
  '57P03': 'unavailable',
  '42501': 'permission_denied',
  P0001: 'raised',
};

/** The embedded database's fault under whatever wrapped it. */
const embeddedFaultOf = (error: unknown) =>
  [...causeChain(error)].find((link): link is EmbeddedDatabaseError => link instanceof EmbeddedDatabaseError);

/** The PostgreSQL error under whatever wrapped it. */
const pgErrorOf = (error: unknown) =>
  [...causeChain(error)].find(
    (link): link is PgErrorFields =>
      typeof (link as PgErrorFields).code === 'string' &&
      /^[0-9A-Z]{5}$/.test((link as PgErrorFields).code ?? ''),
  );

const rlsTable = /row-level security policy for table "([^"]+)"/;
const partitionSuffix = /_(p\d{4}_\d{2}|default)$/;
/** Citus names a shard, and its constraints, after the table with the shard id appended (`ab_tests_102060`). */
const shardSuffix = /_(\d{6,})$/;

/** A Citus shard's table as the name callers know, when it is one of the schema's tables. */
function shardlessTable(table: string | undefined): string | undefined {
  const base = table?.replace(shardSuffix, '');
  return base !== table && base && schemaTables().has(base.replace(partitionSuffix, '')) ? base : table;
}

/** A monthly partition (`campaign_metrics_p2026_10`, `audit_logs_default`) is named after the table callers know. */
const parentTable = (table: string | undefined) => table?.replace(partitionSuffix, '');

let tableNames: Set<string> | undefined;
const schemaTables = () =>
  (tableNames ??= new Set(
    (Object.values(schema) as unknown[])
      .filter((value) => is(value, PgTable))
      .map((value) => getTableName(value as PgTable)),
  ));

const stripShard = (name: string | undefined, shardId: string) =>
  name?.endsWith(`_${shardId}`) ? name.slice(0, -(shardId.length + 1)) : name;

/** Names in a message with their shard ids taken off, where they are named after one of the schema's tables. */
const withoutShardIds = (text: string) =>
  text.replace(/"(\w+?)_\d{6,}"/g, (whole, name: string) =>
    [...schemaTables()].some((table) => name === table || name.startsWith(`${table}_`)) ? `"${name}"` : whole,
  );

/**
 * The parent's name for a partition's constraint: `audit_logs_p2026_11_pkey` is `audit_logs_pkey`;
 * an index PostgreSQL named for the partition is found by its key columns.
 */
function parentConstraint(pg: PgErrorFields, partition: string | undefined): string | undefined {
  const constraint = pg.constraint ?? pg.constraint_name;
  if (!constraint || !partition || !partitionSuffix.test(partition)) return constraint;
  const parent = parentTable(partition) ?? partition;
  const renamed = constraint.startsWith(`${partition}_`)
    ? `${parent}_${constraint.slice(partition.length + 1)}`
    : constraint;
  if (schemaConstraints().has(renamed)) return renamed;
  const key = pg.detail?.match(/^Key \(([^)]*)\)=/)?.[1]?.split(', ');
  // Without SELECT on the partition there is no detail; PostgreSQL then named the index after its
  // columns, joined by `_` and cut to fit 63 bytes (`..._campaign_id_metri_key`).
  const fragment = constraint.slice(partition.length + 1).replace(/_(key|idx|excl)$/, '');
  const matches = (columns: string[]) =>
    key
      ? columns.length === key.length && columns.every((column) => key.includes(column))
      : columns.join('_').startsWith(fragment);
  for (const [name, found] of schemaConstraints())
    if (found.table === parent && matches(found.columns)) return name;
  return renamed;
}

type Constraint = { table: string; columns: string[] };
let constraintColumns: Map<string, Constraint> | undefined;

/** Constraint and unique index names of the schema, with the columns each is about. */
function schemaConstraints(): Map<string, Constraint> {
  if (constraintColumns) return constraintColumns;
  const map = new Map<string, Constraint>();
  for (const value of Object.values(schema) as unknown[]) {
    if (!is(value, PgTable)) continue;
    const config = getTableConfig(value);
    const table = config.name;
    const names = (columns: { name: string }[]) => ({ table, columns: columns.map((column) => column.name) });
    for (const fk of config.foreignKeys) map.set(fk.getName(), names(fk.reference().columns));
    for (const unique of config.uniqueConstraints) {
      const name = unique.getName();
      if (name) map.set(name, names(unique.columns));
    }
    for (const key of config.primaryKeys) map.set(key.getName(), names(key.columns));
    for (const index of config.indexes) {
      const columns = index.config.columns.filter((column): column is IndexColumn => 'name' in column);
      if (index.config.name && columns.length > 0) map.set(index.config.name, names(columns));
    }
    const primary = config.columns.filter((column) => column.primary);
    if (primary.length > 0) map.set(`${table}_pkey`, names(primary));
  }
  // PostgreSQL cuts names to 63 bytes: a longer name in the schema is known by its cut form too.
  for (const [name, found] of [...map]) if (Buffer.byteLength(name) > 63) map.set(name.slice(0, 63), found);
  constraintColumns = map;
  return map;
}

/** The columns a constraint is about: from the schema, else from its name (`<table>_<column>_..._check`). */
function columnsOf(table: string | undefined, constraint: string | undefined): string[] {
  if (!constraint) return [];
  const known = schemaConstraints().get(constraint)?.columns;
  if (known) {
    const own = known.filter((column) => column !== 'organization_id');
    return own.length > 0 ? own : known;
  }
  const tableSchema =
    table && Object.values(schema).find((value) => is(value, PgTable) && getTableName(value) === table);
  if (!tableSchema || !constraint.startsWith(`${table}_`)) return [];
  const rest = constraint.slice((table as string).length + 1);
  const candidates = getTableConfig(tableSchema as PgTable)
    .columns.map((column) => column.name)
    .filter((column) => rest.startsWith(`${column}_`))
    .sort((a, b) => b.length - a.length);
  return candidates.slice(0, 1);
}

/**
 * The error as if the table itself refused. Citus passes a shard's refusal on with its message only
 * (no table or constraint field) and the shard ids in the names: both are read back from the message.
 */
function unsharded(found: PgErrorFields & { code: string }) {
  const message = found.message ?? '';
  const constraintOnShard = found.constraint ?? message.match(/ constraint "([^"]+)"/)?.[1];
  const shardTable =
    found.table ?? message.match(/(?:relation|on table) "([^"]+)"/)?.[1] ?? message.match(rlsTable)?.[1];
  const shardId = (shardTable ?? constraintOnShard)?.match(shardSuffix)?.[1];
  if (!shardId || found.table) return { pg: found, rawTable: shardlessTable(shardTable) };
  const constraint = stripShard(constraintOnShard, shardId);
  const rawTable =
    shardlessTable(shardTable) ?? (constraint ? schemaConstraints().get(constraint)?.table : undefined);
  return { pg: { ...found, constraint }, rawTable };
}

/** Turns a driver error into a `DatabaseError`; anything else is returned unchanged. */
export function toDatabaseError(error: unknown): unknown {
  if (error instanceof DatabaseError || error instanceof ConnectionError) return error;
  const embedded = embeddedFaultOf(error);
  if (embedded) return embedded;
  const found = pgErrorOf(error);
  if (!found?.code) return error;
  const { pg, rawTable } = unsharded({
    code: found.code,
    message: found.message,
    detail: found.detail,
    table: found.table ?? found.table_name,
    column: found.column ?? found.column_name,
    constraint: found.constraint ?? found.constraint_name,
  });
  let kind = kinds[pg.code] ?? 'other';
  // Citus reports a worker connection it lost (a worker restarted under a cached connection) as an internal error.
  if (
    kind === 'other' &&
    /^(failure on connection marked as essential|connection to the remote node)/.test(pg.message ?? '')
  )
    kind = 'unavailable';
  // jsonb reports a lone surrogate as a syntax error: it is text PostgreSQL cannot hold.
  if (kind === 'invalid_input' && /Unicode|surrogate/.test(`${pg.message} ${pg.detail}`))
    kind = 'invalid_text';
  const table = parentTable(rawTable);
  const constraint = parentConstraint(pg, rawTable);
  const named = pg.column ?? pg.column_name;
  const columns = named ? [named] : columnsOf(table, constraint);
  const column = columns[0];
  const where = [
    table && `table ${table}`,
    columns.length > 0 && `column ${columns.join(', ')}`,
    constraint && `constraint ${constraint}`,
  ]
    .filter(Boolean)
    .join(', ');
  const detail = withoutShardIds(pg.message ?? 'database error').replace(
    /"(\w+)_(p\d{4}_\d{2}|default)(_\w+)?"/g,
    '"$1$3"',
  );
  const message = `${kind.replaceAll('_', ' ')}${where ? ` (${where})` : ''}: ${detail}`;
  return new DatabaseError(kind, pg.code, message, table, column, constraint, error, columns);
}
