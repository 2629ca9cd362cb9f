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

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    readonly server: string,
    readonly reason: string,
    cause?: unknown,
  ) {
    const hint = hints[reason];
    super(`cannot use PostgreSQL at ${server}: ${reason}${hint ? ` (${hint})` : ''}`, { cause });
  }
}

/** A tenant scope used wrongly: outside a scope, nested for another tenant, or run as a privileged login. */
export class TenantScopeError extends Error {
  override readonly name = 'TenantScopeError';
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
  '22003': 'out_of_range',
  '22023': 'invalid_input',
  '42501': 'permission_denied',
  P0001: 'raised',
};

export type DatabaseErrorKind =
  | 'unique_violation'
  | 'foreign_key_violation'
  | 'check_violation'
  | 'not_null_violation'
  | 'exclusion_violation'
  | 'invalid_input'
  | 'out_of_range'
  | 'permission_denied'
  | 'raised'
  | 'other';

/**
 * A database refusal, typed: `kind`, the SQLSTATE `code`, and the `table`, `column` and
 * `constraint` PostgreSQL names (row-level security refusals name the table only).
 */
export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';
  constructor(
    readonly kind: DatabaseErrorKind,
    readonly code: string,
    message: string,
    readonly table?: string,
    readonly column?: string,
    readonly constraint?: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/** The PostgreSQL error under whatever wrapped it (Drizzle puts it on `cause`). */
function pgErrorOf(error: unknown): PgErrorFields | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const fields = current as PgErrorFields & { cause?: unknown };
    if (typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code)) return fields;
    current = fields.cause;
  }
  return undefined;
}

const rlsTable = /row-level security policy for table "([^"]+)"/;

/** A monthly partition (`campaign_metrics_p2026_10`, `audit_logs_default`) is named after the table callers know. */
const parentTable = (table: string | undefined) => table?.replace(/_(p\d{4}_\d{2}|default)$/, '');

/** Turns a driver error into a `DatabaseError`; anything else is returned unchanged. */
export function toDatabaseError(error: unknown): unknown {
  if (error instanceof DatabaseError || error instanceof ConnectionError) return error;
  const pg = pgErrorOf(error);
  if (!pg?.code) return error;
  const kind = kinds[pg.code] ?? 'other';
  const table = parentTable(pg.table ?? pg.table_name ?? pg.message?.match(rlsTable)?.[1]);
  const column = pg.column ?? pg.column_name;
  const constraint = pg.constraint ?? pg.constraint_name;
  const where = [
    table && `table ${table}`,
    column && `column ${column}`,
    constraint && `constraint ${constraint}`,
  ]
    .filter(Boolean)
    .join(', ');
  const detail = (pg.message ?? 'database error').replace(/"(\w+)_(p\d{4}_\d{2}|default)"/g, '"$1"');
  const message = `${kind.replaceAll('_', ' ')}${where ? ` (${where})` : ''}: ${detail}`;
  return new DatabaseError(kind, pg.code, message, table, column, constraint, error);
}
