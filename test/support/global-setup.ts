import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDb, openPglite, type RawSql } from '../../src/client/client.ts';
import { migrate } from '../../src/operator/migrate.ts';
import { migratedCluster, startFromMigratedCluster } from '../../src/operator/migrated-cluster.ts';
import { adminUrlFor, type TestBackend } from './backend.ts';
import { captureFileSuffix, statementCaptureDir, tenantTablesFile } from './statement-capture.ts';
import { readTenantTables } from './tenant-statements.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    backend: TestBackend;
  }
}

let stopContainer: (() => Promise<void>) | undefined;
let dropTemplate: (() => Promise<void>) | undefined;
let removeCache: (() => Promise<void>) | undefined;

/** Where the suite runs: TEST_DATABASE_URL, else a pgvector container when Docker answers, else PGlite. */
async function serverUrl(): Promise<{ url: string; source: string } | undefined> {
  if (process.env.TEST_DATABASE_URL)
    return { url: process.env.TEST_DATABASE_URL, source: 'TEST_DATABASE_URL' };
  if (process.env.NEONHUB_TEST_CONTAINERS === '0') return undefined;
  try {
    // Imported lazily: without a Docker engine it throws within milliseconds and PGlite takes over.
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('pgvector/pgvector:pg18').start();
    stopContainer = async () => {
      await container.stop();
    };
    return { url: container.getConnectionUri(), source: 'a Testcontainers pgvector/pgvector:pg18 container' };
  } catch {
    return undefined;
  }
}

/** With a statement capture asked for: an empty capture dir, and the tenant tables of the migrated catalog. */
async function startCapture(sql: RawSql): Promise<void> {
  if (!statementCaptureDir) return;
  await mkdir(statementCaptureDir, { recursive: true });
  for (const file of await readdir(statementCaptureDir))
    if (file.endsWith(captureFileSuffix)) await rm(path.join(statementCaptureDir, file));
  const tables = Object.fromEntries(await readTenantTables(sql));
  await writeFile(path.join(statementCaptureDir, tenantTablesFile), `${JSON.stringify(tables, null, 1)}\n`);
}

export default async function setup(project: TestProject) {
  // The template is migrated here, outside the workers: the same development database they are told of.
  process.env.NEONHUB_DEVELOPMENT ??= '1';
  process.env.NEONHUB_QUIET_DEVELOPMENT_WARNINGS ??= '1';
  // The cached migrated cluster every new embedded database is set up from, as on a machine that
  // has run `db:setup` once (test/migrated-cluster.test.ts makes one in an empty cache).
  let cluster = await migratedCluster();
  if (!cluster) {
    // No writable cache directory (a read-only home): one of the run's own, removed at the end.
    const cache = path.join(tmpdir(), `neonhub-test-cache-${process.pid}`);
    process.env.NEONHUB_CACHE_DIR = cache;
    removeCache = () => rm(cache, { recursive: true, force: true });
    cluster = await migratedCluster();
  }
  console.log(`[neonhub-db tests] new embedded databases start from the migrated cluster ${cluster}`);
  const server = await serverUrl();
  if (server) {
    const template = `neonhub_test_template_${process.pid}`;
    const admin = createDb({ url: server.url, max: 1 });
    await admin.sql.exec(`drop database if exists ${template}`);
    await admin.sql.exec(`create database ${template}`);
    const target = createDb({ url: adminUrlFor(server.url, template), max: 1 });
    await migrate(target);
    await startCapture(target.sql);
    const [version] = await target.sql.query<{ server: string; vector: string }>(
      `select current_setting('server_version') as server, (select extversion from pg_extension where extname = 'vector') as vector`,
    );
    await target.close();
    dropTemplate = async () => {
      await admin.sql.exec(`drop database if exists ${template} with (force)`);
      await admin.close();
    };
    console.log(
      `[neonhub-db tests] PostgreSQL ${version?.server} with pgvector ${version?.vector} from ${server.source}; each file clones ${template}`,
    );
    project.provide('backend', { kind: 'server', url: server.url, template });
  } else {
    // Migrated on disk, then closed: each file copies the directory into memory (src/embedded/embedded-template.ts).
    const dataDir = path.join(tmpdir(), `neonhub-test-${process.pid}`, 'pglite');
    await rm(path.dirname(dataDir), { recursive: true, force: true });
    await startFromMigratedCluster(dataDir);
    const pglite = openPglite(dataDir);
    const handle = createDb({ pglite });
    await migrate(handle);
    await startCapture(handle.sql);
    const [version] = (
      await pglite.query<{ server: string; vector: string }>(
        `select current_setting('server_version') as server, (select extversion from pg_extension where extname = 'vector') as vector`,
      )
    ).rows;
    await handle.close();
    dropTemplate = () => rm(path.dirname(dataDir), { recursive: true, force: true });
    console.log(
      `[neonhub-db tests] embedded PGlite (PostgreSQL ${version?.server}, pgvector ${version?.vector}); no TEST_DATABASE_URL and no Docker engine; each file copies a migrated data dir`,
    );
    project.provide('backend', { kind: 'pglite', dataDir });
  }
  return async () => {
    await dropTemplate?.();
    await stopContainer?.();
    await removeCache?.();
  };
}
