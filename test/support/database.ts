import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import {
  createDb,
  type DbHandle,
  openPglite,
  pgliteExtensions,
  pgliteStartParams,
} from '../../src/client/client.ts';
import { memoryCopyOf } from '../../src/embedded/embedded-template.ts';
import { adminUrlFor, type TestBackend } from './backend.ts';
import { startStatementCapture, statementCaptureDir } from './statement-capture.ts';

export const backend: TestBackend = inject('backend');
export const onServer = backend.kind === 'server';

export interface TestDatabase extends DbHandle {
  /** Server URL of this file's database (server backend only). */
  url?: string;
}

/**
 * A freshly migrated database of its own: a template clone on a server, a copy of the migrated data dir
 * in memory on PGlite.
 * Its statements are captured for the tenant check to `captureStatementsTo` (default:
 * `NEONHUB_STATEMENT_CAPTURE`, unset for no capture).
 */
export async function openTestDatabase(
  options: { captureStatementsTo?: string } = {},
): Promise<TestDatabase> {
  const captureTo = options.captureStatementsTo ?? statementCaptureDir;
  if (backend.kind === 'server') {
    const name = `neonhub_test_${randomBytes(6).toString('hex')}`;
    const admin = createDb({ url: backend.url, max: 1 });
    await admin.sql.exec(`create database ${name} template ${backend.template}`);
    const url = adminUrlFor(backend.url, name);
    const handle = captured(captureTo, (onStatement) => createDb({ url, max: 8, onStatement }));
    return {
      ...handle,
      url,
      close: async () => {
        await handle.close();
        await admin.sql.exec(`drop database if exists ${name} with (force)`);
        await admin.close();
      },
    };
  }
  const pglite = new PGlite({
    fs: memoryCopyOf(backend.dataDir),
    extensions: pgliteExtensions,
    startParams: pgliteStartParams,
  });
  // Started here, in the file's beforeAll, rather than by whichever test queries first.
  await pglite.waitReady;
  return captured(captureTo, (onStatement) => createDb({ pglite, onStatement }));
}

/** A handle `open` makes, its statements captured like a test database's (for the tenant check). */
export const withCapture = (open: (onStatement?: (text: string) => void) => DbHandle): DbHandle =>
  captured(statementCaptureDir, open);

function captured(
  dir: string | undefined,
  open: (onStatement?: (text: string) => void) => DbHandle,
): DbHandle {
  if (!dir) return open();
  const capture = startStatementCapture(dir, expect.getState().testPath ?? 'unknown');
  return capture.attach(open(capture.onStatement));
}

/** An empty database (no migrations) on the server, for tests of the migrator itself. */
export async function openEmptyServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (backend.kind !== 'server') throw new Error('an empty server database needs the server backend');
  const name = `neonhub_empty_${randomBytes(6).toString('hex')}`;
  const admin = createDb({ url: backend.url, max: 1 });
  await admin.sql.exec(`create database ${name}`);
  return {
    url: adminUrlFor(backend.url, name),
    drop: async () => {
      await admin.sql.exec(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}

/** Opens this file's database before its tests and closes it after. */
export function useTestDatabase(): { readonly current: TestDatabase } {
  const holder: { current?: TestDatabase } = {};
  beforeAll(async () => {
    holder.current = await openTestDatabase();
  });
  afterAll(async () => {
    await holder.current?.close();
  });
  return {
    get current() {
      if (!holder.current) throw new Error('the test database is opened in beforeAll');
      return holder.current;
    },
  };
}

/**
 * PGlite compiles its WebAssembly once per process, and each extension's on its first CREATE
 * EXTENSION: a file whose cases time embedded work (a migration, a command) does this first.
 */
export async function warmEmbeddedEngine(): Promise<void> {
  const warm = openPglite('memory://');
  await warm.exec('create extension vector; create extension pg_trgm; create extension btree_gin');
  await warm.close();
}
