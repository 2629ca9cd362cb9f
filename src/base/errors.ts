import { getTableName, is } from 'drizzle-orm';
import { getTableConfig, type IndexColumn, PgTable } from 'drizzle-orm/pg-core';
import * as schema from '../schema/index.ts';

/** Errors the package raises, each naming what is wrong without ever quoting a secret. */

/** Host, port and database of a `postgres://` URL: what may be shown (never the password). */
export function describeServer(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectionError(
      'DATABASE_URL',
      'malformed URL (expected postgres://user:password@host:5432/database)',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConnectionError(
      'DATABASE_URL',
      `unsupported scheme "${parsed.protocol.replace(/:$/, '')}" (expected postgres://user:password@host:5432/database)`,
    );
  }
  const database = parsed.pathname.replace(/^\//, '') || 'postgres';
  return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}/${database}`;
}

const hints: Record<string, string> = {
  ECONNREFUSED:
    'is the server running? `docker compose up -d` starts one, or unset DATABASE_URL for the embedded database',
  ENOTFOUND: 'the host name does not resolve: check DATABASE_URL',
  EAI_AGAIN: 'the host name does not resolve: check DATABASE_URL',
  ETIMEDOUT: 'no answer: check the host, port and firewall in DATABASE_URL',
  CONNECT_TIMEOUT: 'no answer: check the host, port and firewall in DATABASE_URL',
  ECONNRESET: 'the server closed the connection: check that it accepts connections from here',
  'authentication failed': 'check the user and password in DATABASE_URL',
  'database does not exist': 'create it, or fix the database name in DATABASE_URL',
};

/** Reasons a retry cannot cure: the URL, the login or the database name is wrong. */
const lastingReasons = new Set(['authentication failed', 'database does not exist', 'ENOTFOUND']);

/**
 * The connection failed or was lost: refused, reset, timed out, too many clients, the server
 * restarting or ending the session. `retryable` says whether trying again later can succeed (not
 * for a wrong URL, login or database name). A scope that loses its connection rolls back whole.
 */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly retryable: boolean;
  constructor(
    readonly server: string,
    readonly reason: string,
    cause?: unknown,
  ) {
    const hint = hints[reason];
    super(`cannot use PostgreSQL at ${server}: ${reason}${hint ? ` (${hint})` : ''}`, { cause });
    this.retryable = !lastingReasons.has(reason) && !/malformed URL|unsupported scheme/.test(reason);
  }
}

const socketReasons = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'CONNECT_TIMEOUT',
]);

/** What a session-ending server error says, by SQLSTATE. */
const endedSessionReasons: Record<string, string> = {
  '57P01': 'the server ended the session (shutdown or an administrator)',
  '57P02': 'the server ended the session (crash)',
  '57P03': 'the server is starting or shutting down',
  '25P03':
    'the server ended the session: idle in a transaction for longer than idle_in_transaction_session_timeout',
  '57P05': 'the server ended the session: idle for longer than idle_session_timeout',
  '53300': 'too many clients',
  '28P01': 'authentication failed',
  '28000': 'authentication failed',
  '3D000': 'database does not exist',
};

/**
 * The `ConnectionError` a driver error amounts to, when the connection is unusable or was never
 * made (the socket, the driver closing it, a FATAL from the server); undefined for an error of a
 * statement on a connection that lives on (a Citus worker unreachable is one of those).
 */
export function connectionFailure(error: unknown, server: string): ConnectionError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    if (current instanceof ConnectionError) return current;
    const { code, severity, cause } = current as { code?: unknown; severity?: unknown; cause?: unknown };
    if (typeof code === 'string') {
      if (socketReasons.has(code)) return new ConnectionError(server, code, error);
      if (code.startsWith('CONNECTION_'))
        return new ConnectionError(server, 'the connection was lost', error);
      const ended = endedSessionReasons[code];
      if (ended && severity !== 'ERROR') return new ConnectionError(server, ended, error);
      if (/^08...$/.test(code) && severity !== 'ERROR')
        return new ConnectionError(server, 'the connection was lost', error);
    }
    if (severity === 'FATAL' || severity === 'PANIC')
      return new ConnectionError(server, 'the server ended the session', error);
    current = cause;
  }
  return undefined;
}

/** What an embedded database's files are doing wrong (see {@link EmbeddedDatabaseError}). */
export type EmbeddedFault =
  /** No space left on the data dir's filesystem. */
  | 'disk_full'
  /** The data dir cannot be written (a read-only filesystem or directory, permissions). */
  | 'read_only'
  /** A file of the data dir is gone. */
  | 'missing_file'
  /** Another error reading or writing the data dir's files. */
  | 'io_error'
  /** PostgreSQL stopped, or would not start, for a reason that is not about its files. */
  | 'crashed';

/**
 * The embedded database (PGlite) cannot use its files: a full disk, a read-only or missing data
 * dir, a lost file. `stopped`: the instance is gone (what was committed before is on disk): close
 * the handle and open the data dir again once the cause is fixed; every later call on it gets this
 * error at once. Otherwise only the statement failed (its transaction rolled back) and the handle
 * keeps working.
 */
export class EmbeddedDatabaseError extends Error {
  override readonly name = 'EmbeddedDatabaseError';
  /** Trying again changes nothing until the disk or the directory does. */
  readonly retryable = false;
  constructor(
    readonly kind: EmbeddedFault,
    readonly dataDir: string,
    readonly stopped: boolean,
    message: string,
    /** The SQLSTATE, when PostgreSQL reported the fault. */
    readonly code?: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * A tenant scope used wrongly: outside a scope, nested for another tenant, run as a privileged
 * login, or the embedded database called from inside one of its own transactions.
 */
export class TenantScopeError extends Error {
  override readonly name = 'TenantScopeError';
}

/**
 * A worker acted on a run it no longer holds: its lease expired and another claim took the run,
 * or the run was released or finished. Nothing was written; the run's current holder finishes it.
 */
export class RunLeaseLostError extends Error {
  override readonly name = 'RunLeaseLostError';
  readonly table = 'agent_runs';
  readonly column = 'attempts';
  constructor(
    readonly runId: string,
    readonly attempt: number,
  ) {
    super(
      `agent run ${runId} is no longer held by attempt ${attempt} (table agent_runs, column attempts): ` +
        'its lease expired and another claim took it, or it was released or finished',
    );
  }
}

/** A server that lacks what the schema needs (pgvector >= 0.8, pg_trgm, PostgreSQL >= 15). */
export class ServerRequirementError extends Error {
  override readonly name = 'ServerRequirementError';
}

export class MigrationError extends Error {
  override readonly name: string = 'MigrationError';
  constructor(
    message: string,
    readonly migration?: string,
    readonly statement?: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/** The applied ledger and the journal disagree: applying anything would be a guess. */
export class MigrationLedgerError extends MigrationError {
  override readonly name = 'MigrationLedgerError';
}

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

export type DatabaseErrorKind =
  | 'unique_violation'
  | 'foreign_key_violation'
  | 'check_violation'
  | 'not_null_violation'
  | 'exclusion_violation'
  /** Malformed input for its type (a uuid, a date, JSON syntax). */
  | 'invalid_input'
  /** Text PostgreSQL cannot hold: a NUL character, invalid UTF-8, a lone surrogate in JSON. */
  | 'invalid_text'
  /** A number or timestamp outside its type's range (a real underflowing to 0, year 10000). */
  | 'out_of_range'
  /** Larger than a type or an index can hold (an index row, a tsvector, nesting depth). */
  | 'too_large'
  /** A statement or lock timeout, or a cancelled statement. */
  | 'timeout'
  /** A serialization failure or deadlock: retrying the transaction may succeed. */
  | 'conflict'
  /** The cluster cannot serve now (a Citus worker unreachable, no free slot, disk or memory full): retry later. */
  | 'unavailable'
  | 'permission_denied'
  | 'raised'
  | 'other';

/**
 * A database refusal, typed: `kind`, the SQLSTATE `code`, and the `table`, `column` and
 * `constraint` it concerns. A partition is reported as its parent table, with the parent's
 * constraint name. `column` is the one PostgreSQL names, else the one the constraint is about
 * (`columns` lists them all, the tenant key left out when others remain).
 */
export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';
  readonly columns: string[];
  /** Whether the same call may succeed later: a conflict, a timeout, the cluster unavailable. */
  readonly retryable: boolean;
  constructor(
    readonly kind: DatabaseErrorKind,
    readonly code: string,
    message: string,
    readonly table?: string,
    readonly column?: string,
    readonly constraint?: string,
    cause?: unknown,
    columns?: string[],
  ) {
    super(message, { cause });
    this.columns = columns ?? (column ? [column] : []);
    this.retryable = kind === 'conflict' || kind === 'timeout' || kind === 'unavailable';
  }
}

/** What a bulk load had committed when it stopped. */
export interface BulkCommitted {
  /** Documents written, new or already there. */
  documents: number;
  /** Of those, documents that were there already (re-ingested one by one). */
  updatedDocuments: number;
  /** Chunks written. */
  rows: number;
}

/**
 * A bulk load that stopped: bad input, the server's refusal or a fault. `cause` is the typed error
 * (a DatabaseError, an input error, a ConnectionError, an EmbeddedDatabaseError), `stoppedAt` the
 * index, in the documents of that `ingest` call, of the document refused or of the first document
 * of the batch that failed, and `committed` exactly what was written (batches commit whole, so
 * none of the stopped batch). A rerun of the same documents writes only what is missing when they
 * carry an `id` or a `sourceUri`.
 */
export class BulkLoadError extends Error {
  override readonly name = 'BulkLoadError';
  /** The cause's answer: a fault that may go away (the connection, the server) is worth a rerun. */
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly committed: BulkCommitted,
    readonly stoppedAt: number,
    cause: unknown,
  ) {
    super(message, { cause });
    this.retryable = isRetryable(cause);
  }
}

export type ReembeddingErrorKind =
  /** The embedder's vectors are not the new space's length. */
  | 'dimension_mismatch'
  /** The embedder failed midway: what was written stays, `reembed` again resumes. */
  | 'embedder_failed'
  /** The dataset (or brand) was deleted while it moved. */
  | 'target_deleted'
  /** Rows still lack a current vector in the new space: run `reembed` again, then switch. */
  | 'not_ready'
  /** The call does not apply in the move's state (another move is live, rollback after the drop, ...). */
  | 'wrong_state'
  | 'not_found';

/** A re-embedding that cannot go on as asked (`src/reembedding/reembedding.ts`); says whether to call again. */
export class ReembeddingError extends Error {
  override readonly name = 'ReembeddingError';
  readonly retryable: boolean;
  constructor(
    readonly kind: ReembeddingErrorKind,
    message: string,
    readonly reembeddingId?: string,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.retryable = kind === 'embedder_failed' || kind === 'not_ready';
  }
}

/** Whether an error the package raised may go away if the call is made again later. */
export function isRetryable(error: unknown): boolean {
  return (
    (error instanceof ConnectionError ||
      error instanceof DatabaseError ||
      error instanceof BulkLoadError ||
      error instanceof ReembeddingError) &&
    error.retryable
  );
}

/** An error and what it wraps (Drizzle and the package put the driver's on `cause`), a few levels deep. */
export function* causeChain(error: unknown): Generator<object> {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

/** Whether an error of the chain carries SQLSTATE `code`. */
export const hasCode = (error: unknown, code: string) =>
  [...causeChain(error)].some((link) => (link as { code?: unknown }).code === code);

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
