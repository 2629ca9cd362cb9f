// The embedded database's storage faults: a full disk, a read-only data directory, a lost file.
// Each ends in an EmbeddedDatabaseError for the caller (never a hang or an uncaught exception),
// and what was committed before is readable once the cause is gone. A fault that stops PostgreSQL
// (a PANIC) used to leave PGlite spinning on the thread forever, so those loads run in a child
// process (test/support/embedded-fault-child.ts) that the test watches. The full-disk cases need a
// filesystem of their own: a tmpfs this test mounts when it runs as root (as CI does).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDatabaseError } from '../src/base/errors.ts';
import {
  createDb,
  type DbHandle,
  openPglite,
  pgliteExtensions,
  pgliteStartParams,
} from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { migrate } from '../src/operator/migrate.ts';
import { createDataset } from '../src/rag/datasets.ts';
import { backend } from './support/database.ts';
import type { CallReport, FaultPlan } from './support/embedded-fault-child.ts';
import { suiteNodeFlags } from './support/node-flags.ts';
import { localSpace, makeTenant } from './support/rag.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const childScript = fileURLToPath(new URL('./support/embedded-fault-child.ts', import.meta.url));
const scratch = mkdtempSync(path.join(tmpdir(), 'neonhub-faults-'));
const template = path.join(scratch, 'template');
const disk = path.join(scratch, 'disk');
const asRoot = process.getuid?.() === 0;
const mounts: string[] = [];

/** Every call of the package's API these tests made, by how it ended. */
const tally = { calls: 0, ok: 0, typed: 0, other: 0, hung: 0, uncaught: 0 };
const countUncaught = () => {
  tally.uncaught++;
};

function run(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0
    ? undefined
    : (result.stderr || result.error?.message || `exit ${result.status}`).trim();
}

/** Why a small filesystem cannot be had here, or undefined once one is mounted at `disk`. */
function mountDisk(): string | undefined {
  if (!asRoot) return 'not running as root: mounting a size-limited tmpfs needs root (CI runs as root)';
  mkdirSync(disk, { recursive: true });
  const refused = run('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', disk]);
  if (refused) return `mount -t tmpfs refused: ${refused}`;
  mounts.push(disk);
  return undefined;
}
const noDisk = mountDisk();
if (noDisk) console.warn(`embedded faults: the full-disk cases are skipped: ${noDisk}`);

let organizationId = '';
let datasetId = '';

beforeAll(async () => {
  process.on('unhandledRejection', countUncaught);
  // A migrated data dir with a tenant and a dataset, copied for each case.
  if (backend.kind === 'pglite') cpSync(backend.dataDir, template, { recursive: true });
  const handle = createDb({
    pglite: new PGlite({
      dataDir: template,
      ...(backend.kind !== 'pglite' && { loadDataDir: await migratedDump() }),
      extensions: pgliteExtensions,
      startParams: pgliteStartParams,
    }),
  });
  try {
    const space = await localSpace(handle.db);
    organizationId = await makeTenant(handle.db, 'faults');
    const dataset = await withTenant(handle.db, organizationId, (tx) =>
      createDataset(tx, { slug: 'kb', name: 'KB', embeddingSpaceId: space.id }),
    );
    datasetId = dataset.id;
  } finally {
    await handle.close();
  }
  // The child compiles PGlite once, opening a copy of the template, before the cases are timed.
  child = startChild();
  const warm = await inChild(copyTemplate(path.join(scratch, 'warm', 'pglite')), { fault: 'none' });
  expect(warm.ended.map((call) => call.outcome)).toEqual(['ok', 'ok']);
});

afterAll(() => {
  process.off('unhandledRejection', countUncaught);
  child?.kill('SIGKILL');
  for (const mount of mounts.reverse()) run('umount', ['-l', mount]);
  rmSync(scratch, { recursive: true, force: true });
  console.log(
    `embedded faults: ${tally.calls} calls: ${tally.ok} ok, ${tally.typed} typed errors, ${tally.other} other errors, hung ${tally.hung}, uncaught ${tally.uncaught}`,
  );
});

async function migratedDump(): Promise<Blob> {
  const pglite = openPglite('memory://');
  const handle = createDb({ pglite });
  try {
    await migrate(handle);
    return await pglite.dumpDataDir('none');
  } finally {
    await handle.close();
  }
}

/** A copy of the template data dir at `dataDir`. */
function copyTemplate(dataDir: string): string {
  mkdirSync(path.dirname(dataDir), { recursive: true });
  cpSync(template, dataDir, { recursive: true });
  return dataDir;
}

/** One call of the package's API, counted: its result, or the error it ended with. */
async function attempt<T>(work: () => Promise<T> | T): Promise<{ value?: T; error?: unknown }> {
  tally.calls++;
  try {
    const value = await work();
    tally.ok++;
    return { value };
  } catch (error) {
    if (error instanceof EmbeddedDatabaseError) tally.typed++;
    else tally.other++;
    return { error };
  }
}

type Ended = Extract<CallReport, { outcome: string }>;

/** The child that runs the cases whose calls could hang, and the lines it has printed since the last case. */
let child: ChildProcess | undefined;
let pending: { lines: Line[]; settle: () => void } | undefined;
type Line = CallReport & { uncaught?: string; done?: boolean };

function startChild(): ChildProcess {
  const started = spawn(process.execPath, [...suiteNodeFlags, '--import', 'tsx', childScript], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let buffered = '';
  started.stdout?.on('data', (chunk) => {
    buffered += String(chunk);
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const text of lines.filter(Boolean)) {
      const line = JSON.parse(text) as Line;
      pending?.lines.push(line);
      if (line.done) pending?.settle();
    }
  });
  // A child gone mid-case ends the case with what it printed (its unfinished calls count as hung).
  started.on('exit', () => pending?.settle());
  return started;
}

/** Runs one case in the child on `dataDir`; a call it started and never ended is counted hung. */
async function inChild(dataDir: string, plan: Omit<FaultPlan, 'organizationId' | 'datasetId'>) {
  const lines: Line[] = [];
  const finished = new Promise<void>((settle) => {
    pending = { lines, settle };
  });
  child?.stdin?.write(`${JSON.stringify({ dataDir, plan: { organizationId, datasetId, ...plan } })}\n`);
  await finished;
  pending = undefined;
  const ended = lines.filter((line): line is Ended => 'outcome' in line);
  const started = lines.filter((line) => 'what' in line).length;
  tally.calls += started;
  tally.hung += started - ended.length;
  tally.uncaught += lines.filter((line) => line.uncaught).length;
  for (const line of ended)
    tally[line.outcome === 'ok' ? 'ok' : line.outcome === 'typed' ? 'typed' : 'other']++;
  for (const line of ended)
    console.log(
      `  call ${line.call}: ${line.outcome} in ${line.ms} ms${line.kind ? ` (${line.kind}${line.stopped ? ', stopped' : ''})` : ''}${line.message ? `: ${line.message.slice(0, 220)}` : ''}`,
    );
  return {
    ended,
    hung: started - ended.length,
    uncaught: lines.filter((line) => line.uncaught).map((line) => line.uncaught),
    done: lines.some((line) => line.done),
  };
}

const documentsIn = async (handle: DbHandle) =>
  (await handle.sql.query<{ count: number }>('select count(*)::int as count from documents'))[0]?.count;

/** What every faulted run must show: it finished, nothing hung, nothing uncaught, no untyped error. */
function expectClean(result: Awaited<ReturnType<typeof inChild>>) {
  expect(result.hung).toBe(0);
  expect(result.uncaught).toEqual([]);
  expect(result.ended.filter((call) => call.outcome === 'other')).toEqual([]);
  expect(result.done).toBe(true);
}

describe('the embedded database on a full disk', () => {
  it.skipIf(noDisk)(
    `tables that cannot grow: the load fails typed within the call, the same handle works once space is freed, committed rows all there${noDisk ? ` (skipped: ${noDisk})` : ''}`,
    async () => {
      const dataDir = copyTemplate(path.join(disk, 'tables', 'pglite'));
      const result = await inChild(dataDir, { fault: 'fill', filler: path.join(disk, 'filler'), freeMb: 0 });
      expectClean(result);
      const [control, ...rest] = result.ended;
      expect(control?.outcome).toBe('ok');
      const failed = rest.filter((call) => call.outcome === 'typed');
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed[0]).toMatchObject({ kind: 'disk_full', stopped: false });
      // After the filler went: the same handle loaded again, counted every document, closed.
      const [again, counted, closed] = result.ended.slice(-3);
      expect(again?.outcome).toBe('ok');
      expect(closed?.outcome).toBe('ok');
      const loaded = result.ended
        .filter((call) => call !== counted)
        .reduce((sum, call) => sum + (call.documents ?? 0), 0);
      console.log(
        `full disk (tables): ${loaded} documents committed by the calls (a stopped load says its count), ${counted?.documents} counted`,
      );
      expect(counted?.documents).toBe(loaded);
    },
  );

  it.skipIf(noDisk)(
    `no room for the WAL: PostgreSQL stops, the call fails typed, every later call at once, close works; reopened after space is freed, committed rows intact${noDisk ? ` (skipped: ${noDisk})` : ''}`,
    async () => {
      const dataDir = copyTemplate(path.join(disk, 'wal', 'pglite'));
      const filler = path.join(disk, 'filler');
      const result = await inChild(dataDir, { fault: 'fill-wal', filler, freeMb: 12 });
      expectClean(result);
      expect(result.ended[0]?.outcome).toBe('ok');
      const failed = result.ended.filter((call) => call.outcome === 'typed');
      expect(failed.length).toBeGreaterThanOrEqual(3);
      expect(failed[0]).toMatchObject({ kind: 'disk_full', stopped: true });
      // Once stopped, every later call (close excepted, which succeeds) is refused without entering it.
      expect(failed.slice(1).every((call) => call.stopped)).toBe(true);
      expect(result.ended.at(-1)?.outcome).toBe('ok');
      rmSync(filler);
      const loaded = result.ended.reduce((sum, call) => sum + (call.documents ?? 0), 0);
      const handle = createDb({ dataDir });
      try {
        const read = await attempt(() => documentsIn(handle));
        const write = await attempt(() =>
          handle.sql.query(`insert into users (email) values ('after@faults.example')`),
        );
        console.log(
          `full disk (WAL): ${loaded} documents loaded before the stop, ${read.value} read back after space was freed; a write afterwards: ${write.error ? 'refused' : 'ok'}`,
        );
        expect(read.value).toBe(loaded);
        expect(write.error).toBeUndefined();
      } finally {
        await handle.close();
      }
    },
  );
});

describe('a read-only data directory', () => {
  /** Makes `dir` read-only (a read-only bind mount as root, whom permissions do not stop); returns the undo. */
  function readOnly(dir: string): () => void {
    if (asRoot) {
      const refused = run('mount', ['--bind', dir, dir]) ?? run('mount', ['-o', 'remount,bind,ro', dir]);
      if (refused) throw new Error(`cannot make ${dir} read-only: ${refused}`);
      return () => run('umount', [dir]);
    }
    chmodSync(dir, 0o555);
    return () => chmodSync(dir, 0o755);
  }

  it('is refused at the first query with a typed error naming it, and read again once writable; its parent read-only too', async () => {
    const dataDir = copyTemplate(path.join(scratch, 'read-only', 'pglite'));
    const writable = readOnly(dataDir);
    let refused: unknown;
    try {
      const handle = createDb({ dataDir });
      refused = (await attempt(() => handle.sql.query('select 1'))).error;
      await handle.close();
    } finally {
      writable();
    }
    console.log(`read-only data dir: ${(refused as Error).message}`);
    expect(refused).toBeInstanceOf(EmbeddedDatabaseError);
    expect(refused).toMatchObject({ kind: 'read_only', stopped: true, dataDir });

    // The directory holding it read-only: its lock file cannot be written, refused before PGlite starts.
    const parentWritable = readOnly(path.dirname(dataDir));
    let lockRefused: unknown;
    try {
      lockRefused = (await attempt(() => createDb({ dataDir }))).error;
    } finally {
      parentWritable();
    }
    console.log(`read-only parent: ${(lockRefused as Error).message}`);
    expect(lockRefused).toMatchObject({ kind: 'read_only', dataDir });

    // Control: writable again, the same data dir opens and its rows are there.
    const handle = createDb({ dataDir });
    try {
      const users = await attempt(() =>
        handle.sql.query<{ count: number }>('select count(*)::int as count from users'),
      );
      expect(users.value?.[0]?.count).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }
  });
});

describe('a lost file', () => {
  it('a table’s file deleted while closed: reading that table is a typed error, the others read fine', async () => {
    const dataDir = copyTemplate(path.join(scratch, 'lost-table', 'pglite'));
    let handle = createDb({ dataDir });
    const [file] = await handle.sql.query<{ path: string }>(`select pg_relation_filepath('users') as path`);
    await handle.close();
    rmSync(path.join(dataDir, file?.path ?? 'missing'));
    handle = createDb({ dataDir });
    try {
      const lost = await attempt(() => handle.sql.query('select count(*) from users'));
      const other = await attempt(() =>
        handle.sql.query<{ count: number }>('select count(*)::int as count from embedding_spaces'),
      );
      console.log(
        `lost ${file?.path}: ${(lost.error as Error).message}; embedding_spaces still read: ${other.value?.[0]?.count} rows`,
      );
      expect(lost.error).toMatchObject({ kind: 'missing_file', stopped: false });
      expect(other.value?.[0]?.count).toBe(1);
    } finally {
      await handle.close();
    }
  });

  it('PG_VERSION deleted: refused at open, and nothing is written over the data dir', async () => {
    const dataDir = copyTemplate(path.join(scratch, 'lost-version', 'pglite'));
    rmSync(path.join(dataDir, 'PG_VERSION'));
    const before = readdirSync(path.join(dataDir, 'base'), { recursive: true }).length;
    const opened = await attempt(() => createDb({ dataDir }));
    console.log(`lost PG_VERSION: ${(opened.error as Error).message}`);
    expect(opened.error).toMatchObject({ kind: 'missing_file', dataDir });
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(false);
    expect(readdirSync(path.join(dataDir, 'base'), { recursive: true }).length).toBe(before);
  });

  it('pg_wal deleted under the running database: the next write stops it typed, later calls are refused at once, close works', async () => {
    const dataDir = copyTemplate(path.join(scratch, 'lost-wal', 'pglite'));
    const result = await inChild(dataDir, { fault: 'remove-wal' });
    expectClean(result);
    expect(result.ended[0]?.outcome).toBe('ok');
    const failed = result.ended.filter((call) => call.outcome === 'typed');
    expect(failed[0]).toMatchObject({ kind: 'missing_file', stopped: true });
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(result.ended.at(-1)?.outcome).toBe('ok');
    // Without its WAL the database cannot start again: said so, typed.
    const reopened = createDb({ dataDir });
    const start = await attempt(() => reopened.sql.query('select 1'));
    await reopened.close();
    console.log(`reopened without pg_wal: ${(start.error as Error).message}`);
    expect(start.error).toBeInstanceOf(EmbeddedDatabaseError);
  });
});
