import { randomBytes } from 'node:crypto';
import { createDb, type DbHandle, openPglite } from '../src/client/client.ts';
import { migrate } from '../src/operator/migrate.ts';

/** One line of the report: a measured path against its baseline, and the target ratio. */
export interface BenchRow {
  path: string;
  measured: string;
  baseline?: string;
  ratio?: number;
  target: string;
  ok: boolean;
}

export interface Bench {
  name: string;
  /** Why it cannot run on the embedded database, when it needs a server. */
  needsServer?: string;
  run(target: BenchTarget): Promise<BenchRow[]>;
}

export interface BenchTarget {
  /** A server URL whose user may create databases, or undefined for the embedded database. */
  serverUrl?: string;
  /** A freshly migrated database of its own (dropped by `close`). */
  fresh(options?: { migrated?: boolean }): Promise<BenchDatabase>;
}

export interface BenchDatabase {
  handle: DbHandle;
  url?: string;
  close(): Promise<void>;
}

export function benchTarget(serverUrl: string | undefined): BenchTarget {
  return {
    serverUrl,
    fresh: async ({ migrated = true } = {}) => {
      if (!serverUrl) {
        const handle = createDb({ pglite: openPglite('memory://') });
        if (migrated) await migrate(handle);
        return { handle, close: () => handle.close() };
      }
      // A shared server may reserve a prefix for each user's databases.
      const prefix = process.env.BENCH_DATABASE_PREFIX ?? 'neonhub_bench';
      if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix))
        throw new Error(`BENCH_DATABASE_PREFIX ${prefix} is not a plain name`);
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      const admin = createDb({ url: serverUrl, max: 1 });
      await admin.sql.exec(`create database ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const handle = createDb({ url: url.toString(), max: 1 });
      if (migrated) await migrate(handle);
      return {
        handle,
        url: url.toString(),
        close: async () => {
          await handle.close();
          await admin.sql.exec(`drop database if exists ${name} with (force)`);
          await admin.close();
        },
      };
    },
  };
}

/** Milliseconds per call, for `iterations` calls after a warm-up. */
export async function timeEach(
  fn: () => Promise<unknown>,
  iterations: number,
  warmup = Math.ceil(iterations / 10),
) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  return stats(samples);
}

/** Alternates two paths so drifts of a shared, noisy machine hit both alike. */
export async function timeSideBySide(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  iterations: number,
) {
  for (let i = 0; i < Math.ceil(iterations / 10); i++) {
    await a();
    await b();
  }
  const first: number[] = [];
  const second: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let started = performance.now();
    await a();
    first.push(performance.now() - started);
    started = performance.now();
    await b();
    second.push(performance.now() - started);
  }
  return [stats(first), stats(second)] as const;
}

export interface Stats {
  p50: number;
  p95: number;
  mean: number;
}

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    p50: at(0.5),
    p95: at(0.95),
    mean: samples.reduce((sum, x) => sum + x, 0) / Math.max(1, samples.length),
  };
}

export const ms = (value: number) => `${value < 1 ? value.toFixed(3) : value.toFixed(1)} ms`;
