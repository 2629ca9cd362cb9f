import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { EmbeddedDatabaseError, type EmbeddedFault, TenantScopeError } from '../base/errors.ts';
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts';

// The embedded database runs PostgreSQL inside this process, so its storage faults are ours to
// report: after a PANIC (a full disk under the WAL, a lost file) PGlite's WebAssembly runtime has
// aborted, and the next message it is given spins forever on the event loop's thread (no timer, no
// other work runs again). The guard types those faults, and never enters a stopped instance again.

/** PostgreSQL's log of one embedded instance (its stderr): says why it stopped or would not start. */
export class EmbeddedLog {
  /** PANIC, FATAL and ERROR lines, newest last (the last few only). */
  readonly lines: string[] = [];
  /** PostgreSQL panicked or the runtime aborted: the instance can run nothing more. */
  stopped = false;

  /** For `new PGlite({ onStderr })`. */
  readonly record = (text: string): boolean => {
    if (text.startsWith('Aborted(') || /\b(PANIC|FATAL):/.test(text)) this.stopped = true;
    const line = text.match(/\b((?:PANIC|FATAL|ERROR):\s+.*)$/)?.[1];
    if (line) this.lines.push(line);
    if (this.lines.length > 10) this.lines.shift();
    return false;
  };

  /** The last PANIC or FATAL line, else the last error line. */
  get reason(): string | undefined {
    return this.lines.findLast((line) => /^(PANIC|FATAL)/.test(line)) ?? this.lines.at(-1);
  }
}

/**
 * A file or directory of the data dir, as PostgreSQL's messages name it (`could not open file
 * "base/5/16384"`, `WAL directory "pg_wal"`), relative or under /pglite/data: not a relation or an
 * extension library that happens to be called `pg_something`.
 */
const dataDirFile =
  /(?:file|directory) "(?:\/pglite\/data\/)?(?:base|global|pg_\w+|postmaster\.\w+|PG_VERSION|postgresql\.[\w.]+)[^"]*"/;

/** What a message or an errno says is wrong with the files, or undefined when it is not about them. */
function faultIn(text: string, code?: string, errno?: string): EmbeddedFault | undefined {
  // strerror's own words (capitalised), never PostgreSQL's "permission denied for table".
  if (code === '53100' || errno === 'ENOSPC' || /No space left on device/.test(text)) return 'disk_full';
  if (['EROFS', 'EACCES', 'EPERM'].includes(errno ?? '')) return 'read_only';
  if (errno === 'ENOENT') return 'missing_file';
  if (!dataDirFile.test(text)) return undefined;
  if (/Read-only file system|Permission denied|Operation not permitted/.test(text)) return 'read_only';
  if (/No such file or directory|does not exist/.test(text)) return 'missing_file';
  return code?.startsWith('58') ? 'io_error' : undefined;
}

/** Emscripten's errno numbers (PGlite's file system) and Node's codes, by name. */
const errnoNames: Record<number, string> = {
  51: 'ENOSPC',
  69: 'EROFS',
  2: 'EACCES',
  63: 'EPERM',
  44: 'ENOENT',
};
const errnoOf = (error: { code?: unknown; errno?: unknown }) =>
  typeof error.code === 'string' && /^E[A-Z]+$/.test(error.code)
    ? error.code
    : typeof error.errno === 'number'
      ? errnoNames[error.errno]
      : undefined;

const described: Record<EmbeddedFault, { what: string; remedy: string }> = {
  disk_full: { what: 'its disk is full', remedy: 'free space on that filesystem' },
  read_only: {
    what: 'it cannot write its files',
    remedy: 'make the directory writable, or use a writable one (NEONHUB_DATA_DIR)',
  },
  missing_file: {
    what: 'a file of its data directory is missing',
    remedy: 'restore the directory from a copy',
  },
  io_error: { what: 'it cannot read or write its files', remedy: 'check the disk' },
  crashed: { what: 'PostgreSQL stopped', remedy: 'if it happens again, restore the directory from a copy' },
};

type Moment = 'start' | 'stopped' | 'statement';

function embeddedError(
  kind: EmbeddedFault,
  dataDir: string,
  moment: Moment,
  reason: string,
  code?: string,
  cause?: unknown,
): EmbeddedDatabaseError {
  const { what, remedy } = described[kind];
  // PostgreSQL's log pads its severity (`PANIC:  could not ...`).
  const said = reason.replace(/\s+/g, ' ');
  // A full or read-only disk refuses writes before they commit: what committed before stays on disk.
  const kept = kind === 'disk_full' || kind === 'read_only' ? '; what was committed before is kept' : '';
  const message =
    moment === 'start'
      ? `the embedded database in ${dataDir} cannot start: ${what} (${said}): ${remedy}`
      : moment === 'stopped'
        ? `the embedded database in ${dataDir} stopped: ${what} (${said})${kept}: ${kind === 'crashed' ? `open it again; ${remedy}` : `${remedy}, then open it again`}`
        : `the embedded database in ${dataDir} refused a statement: ${what} (${said}); its transaction was rolled back: ${remedy}`;
  return new EmbeddedDatabaseError(kind, dataDir, moment !== 'statement', message, code, cause);
}

/** `error` typed when it is a storage fault or stopped the instance; undefined leaves it as it is. */
function classify(
  error: unknown,
  dataDir: string,
  log: EmbeddedLog | undefined,
): EmbeddedDatabaseError | undefined {
  if (error instanceof EmbeddedDatabaseError) return error;
  const found = (error ?? {}) as { message?: unknown; code?: unknown; severity?: unknown };
  const message = String(found.message ?? error);
  const code = typeof found.code === 'string' && /^[0-9A-Z]{5}$/.test(found.code) ? found.code : undefined;
  const fatal = found.severity === 'PANIC' || found.severity === 'FATAL';
  const kind = faultIn(message, code) ?? (fatal ? (faultIn(log?.reason ?? '') ?? 'crashed') : undefined);
  if (!kind) return undefined;
  return embeddedError(kind, dataDir, fatal ? 'stopped' : 'statement', message, code, error);
}

/** Why the instance could not start, typed: PostgreSQL said why in its log, or the file system did. */
function startFailure(error: unknown, dataDir: string, log: EmbeddedLog | undefined): EmbeddedDatabaseError {
  const reason = log?.reason ?? String((error as { message?: unknown })?.message ?? error);
  const errno = errnoOf((error ?? {}) as { code?: unknown; errno?: unknown });
  const kind = faultIn(reason, undefined, errno) ?? faultIn(String(error)) ?? 'crashed';
  return embeddedError(kind, dataDir, 'start', errno ? `${errno}: ${reason}` : reason, undefined, error);
}

/** The transaction of an embedded instance the current async call runs inside, if any, while it is open. */
const transactionOf = new AsyncLocalStorage<{ pglite: PGlite; open: boolean }>();
const guarded = new WeakSet<PGlite>();

/**
 * Whether the caller runs inside an open transaction of `client` (an embedded instance): a
 * statement sent outside that transaction would wait for it to end, and it waits for the caller.
 */
export const insideTransactionOf = (client: unknown): boolean => {
  const store = transactionOf.getStore();
  return client !== undefined && store?.pglite === client && store.open;
};

/**
 * Guards an embedded instance (once; later calls do nothing): a storage fault becomes an
 * `EmbeddedDatabaseError`, a startup failure too (never an unhandled rejection), and once
 * PostgreSQL has stopped every call but `close()` fails at once with the reason, without entering
 * the instance. `log` (its `record` given as `onStderr`) names the reason when the error alone
 * does not.
 */
export function guardEmbedded(pglite: PGlite, dataDir: string, log?: EmbeddedLog): void {
  if (guarded.has(pglite)) return;
  guarded.add(pglite);
  let stopped: EmbeddedDatabaseError | undefined;
  const refuse = (): never => {
    const cause = stopped as EmbeddedDatabaseError;
    throw new EmbeddedDatabaseError(cause.kind, dataDir, true, cause.message, cause.code, cause);
  };

  const ready = pglite.waitReady.catch((error: unknown) => {
    throw startFailure(error, dataDir, log);
  });
  ready.catch(() => {});
  Object.defineProperty(pglite, 'waitReady', { value: ready });

  // Every protocol message passes here: a stopped instance is never entered again.
  const rawSync = pglite.execProtocolRawSync.bind(pglite);
  pglite.execProtocolRawSync = (message: Uint8Array) => {
    if (stopped) refuse();
    const result = rawSync(message);
    if (log?.stopped) {
      const reason = log.reason ?? 'the WebAssembly runtime aborted';
      stopped =
        classify({ message: reason, severity: 'PANIC' }, dataDir, log) ??
        embeddedError('crashed', dataDir, 'stopped', reason);
      // Its answer, if any, is not to be trusted: the statement did not complete.
      refuse();
    }
    return result;
  };

  for (const name of ['execProtocol', 'execProtocolStream'] as const) {
    const original = pglite[name].bind(pglite) as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(pglite, name, {
      value: async (...args: unknown[]) => {
        try {
          return await original(...args);
        } catch (error) {
          const typed = classify(error, dataDir, log);
          if (typed?.stopped) stopped ??= typed;
          throw typed ?? error;
        }
      },
    });
  }

  // One transaction at a time: a call on the instance from inside one of its transactions would
  // wait for it to end, and it waits for the call. Refused at once instead of hanging.
  const outside = (call: string) => {
    if (insideTransactionOf(pglite))
      throw new TenantScopeError(
        `${call} on the embedded database from inside one of its transactions (withTenant or db.transaction) would wait for that transaction forever: use the transaction (tx) it gives you, or make the call after it ends`,
      );
  };
  const transaction = pglite.transaction.bind(pglite);
  pglite.transaction = (async (callback: Parameters<PGlite['transaction']>[0]) => {
    outside('a transaction');
    return await transaction(async (tx) => {
      const store = { pglite, open: true };
      try {
        return await transactionOf.run(store, () => callback(tx));
      } finally {
        store.open = false;
      }
    });
  }) as PGlite['transaction'];
  for (const name of ['query', 'exec'] as const) {
    const original = pglite[name].bind(pglite) as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(pglite, name, {
      configurable: true,
      writable: true,
      value: async (...args: unknown[]) => {
        outside('a statement');
        return await original(...args);
      },
    });
  }

  // Nothing to flush or shut down in an instance that never started or has stopped, and entering
  // a stopped one would hang.
  const close = pglite.close.bind(pglite);
  pglite.close = async () => {
    const started = await ready.then(
      () => true,
      () => false,
    );
    if (started && !stopped) await close();
  };
}

/**
 * Creates the data dir if need be and takes its lock (src/embedded/data-dir-lock.ts). Refuses, typed, a
 * directory that cannot be created or locked, and one that holds files but no `PG_VERSION`: PGlite
 * would take it for a new one and write a fresh database over what is there.
 */
export function takeDataDir(dataDir: string): DataDirLock {
  let lock: DataDirLock | undefined;
  try {
    mkdirSync(dataDir, { recursive: true });
    lock = lockDataDir(dataDir);
    const entries = readdirSync(dataDir);
    if (entries.length > 0 && !entries.includes('PG_VERSION'))
      throw embeddedError(
        'missing_file',
        dataDir,
        'start',
        `${path.join(dataDir, 'PG_VERSION')} is gone but ${entries.length} other entries are there; opening it would initialise a new database over them`,
      );
    return lock;
  } catch (error) {
    lock?.release();
    const errno = errnoOf((error ?? {}) as { code?: unknown; errno?: unknown });
    const kind = errno && faultIn('', undefined, errno);
    throw kind ? embeddedError(kind, dataDir, 'start', (error as Error).message, undefined, error) : error;
  }
}
