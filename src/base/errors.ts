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
 * for a wrong URL, login or database name). A scope that loses its connection rolls back whole,
 * unless it was lost while its COMMIT was on its way (`duringCommit`): the server may have
 * committed before the connection went, and only the server can say (`pg_xact_status`).
 */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly retryable: boolean;
  constructor(
    readonly server: string,
    readonly reason: string,
    cause?: unknown,
    readonly duringCommit = false,
  ) {
    const hint = hints[reason];
    const outcome = duringCommit ? '; lost while committing, the transaction may have committed' : '';
    super(`cannot use PostgreSQL at ${server}: ${reason}${hint ? ` (${hint})` : ''}${outcome}`, { cause });
    this.retryable = !lastingReasons.has(reason) && !/malformed URL|unsupported scheme/.test(reason);
  }

  /** The same loss, noticed on the way of a COMMIT. */
  whileCommitting(): ConnectionError {
    return new ConnectionError(this.server, this.reason, this.cause, true);
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
