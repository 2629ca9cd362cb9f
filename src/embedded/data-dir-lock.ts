import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * The embedded database (PGlite) is one process's: a second process opening the same data dir
 * writes over the first one's pages, losing committed rows. A lock file next to the data dir, holding
 * the owner's pid, makes the second one refuse. A lock whose process is gone is taken over.
 */

interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly lockFile: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the embedded database at ${dataDir} is in use by process ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`} (since ${holder.since}); ` +
        `one process at a time may open it: stop that process, or run both against a PostgreSQL server (DATABASE_URL). ` +
        `If no such process runs, delete ${lockFile}`,
    );
  }
}

export interface DataDirLock {
  readonly lockFile: string;
  /** Gives the data dir up (also done when the process exits). */
  release(): void;
}

export const lockFileOf = (dataDir: string) => `${dataDir.replace(/[/\\]+$/, '')}.lock`;

function readHolder(lockFile: string): { text: string; holder?: LockHolder } | undefined {
  try {
    const text = readFileSync(lockFile, 'utf8');
    try {
      return { text, holder: JSON.parse(text) as LockHolder };
    } catch {
      return { text };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whether process `pid` still runs (signal 0 only checks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data dir for this process, or throws `DataDirLockedError` naming the process that has
 * it. Call it before opening the data dir; `memory://` dirs need no lock.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const lockFile = lockFileOf(dataDir);
  const mine: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = JSON.stringify(mine);
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockFile, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const found = readHolder(lockFile);
      if (!found) continue;
      const { holder } = found;
      // A holder we cannot check (another host, an unreadable file) is assumed alive.
      if (!holder || holder.host !== mine.host || holder.pid === process.pid || alive(holder.pid)) {
        throw new DataDirLockedError(dataDir, lockFile, holder ?? { pid: 0, host: '?', since: '?' });
      }
      // Stale: move it aside and check it is still the one we judged, so two processes taking
      // over at once cannot both win.
      const aside = `${lockFile}.stale-${process.pid}`;
      try {
        renameSync(lockFile, aside);
      } catch {
        continue;
      }
      if (readHolder(aside)?.text === found.text) unlinkSync(aside);
      else renameSync(aside, lockFile);
      continue;
    }
    writeSync(fd, text);
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      if (readHolder(lockFile)?.text === text) unlinkSync(lockFile);
    };
    process.on('exit', release);
    return { lockFile, release };
  }
  throw new Error(`could not take the lock ${lockFile} for ${dataDir}: it keeps changing`);
}
