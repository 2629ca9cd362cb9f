// Run as its own process by test/embedded-faults.test.ts, so that a call which never returns (an
// embedded database spinning after a PANIC blocks the whole thread) cannot stop the test with it.
// Reads one command a line on stdin, `{"dataDir":...,"plan":{...}}`: opens that data dir, makes the
// fault, and prints one JSON line per call of the package's API, `{"call":n,"what":...}` when it
// starts and `{"call":n,"outcome":"ok"|"typed"|"other",...}` when it ends, then `{"done":true}`.
// `{"uncaught":...}` reports an exception nothing caught. One process for every case: PGlite's
// WebAssembly is compiled once.

import { execFileSync } from 'node:child_process';
import { rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BulkLoadError, EmbeddedDatabaseError } from '../../src/base/errors.ts';
import { createDb, type DbHandle } from '../../src/client/client.ts';
import { bulkIngest } from '../../src/rag/bulk-ingest.ts';
import { localEmbedder } from '../../src/seed/brand.ts';

export interface FaultPlan {
  organizationId: string;
  datasetId: string;
  /**
   * `fill`: the disk fills up under the load (a table or index cannot grow); `fill-wal`: the disk
   * fills up and each call starts a new WAL segment, so PostgreSQL itself stops (a PANIC);
   * `remove-wal`: pg_wal is deleted under the running database; `none`: opens and closes it.
   */
  fault: 'fill' | 'fill-wal' | 'remove-wal' | 'none';
  /** Where the filler file goes (on the data dir's filesystem), and the space it leaves. */
  filler?: string;
  freeMb?: number;
}

export type CallReport =
  | { call: number; what: string }
  | {
      call: number;
      outcome: 'ok' | 'typed' | 'other';
      ms: number;
      /** Documents the call loaded, or counted. */
      documents?: number;
      kind?: string;
      stopped?: boolean;
      message?: string;
    };

const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
process.on('uncaughtException', (error) => print({ uncaught: String(error) }));
process.on('unhandledRejection', (error) => print({ uncaught: String(error) }));

let calls = 0;
async function call(what: string, work: () => Promise<number | undefined>): Promise<CallReport> {
  const n = ++calls;
  print({ call: n, what });
  const started = performance.now();
  let report: CallReport;
  try {
    const documents = await work();
    report = { call: n, outcome: 'ok', ms: Math.round(performance.now() - started), documents };
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    // A bulk load says what it committed, the storage fault under it.
    const fault = error instanceof BulkLoadError ? error.cause : error;
    report =
      fault instanceof EmbeddedDatabaseError
        ? {
            call: n,
            outcome: 'typed',
            ms,
            kind: fault.kind,
            stopped: fault.stopped,
            message: fault.message,
            documents: error instanceof BulkLoadError ? error.committed.documents : undefined,
          }
        : { call: n, outcome: 'other', ms, message: String(error) };
  }
  print(report);
  return report;
}

let batch = 0;
const word = () => Math.random().toString(36).slice(2, 9);
/** Five new documents of two chunks each, through the bulk path. */
const load = (handle: DbHandle, plan: FaultPlan) => async () => {
  batch++;
  const documents = Array.from({ length: 5 }, (_, i) => ({
    title: `batch ${batch} document ${i}`,
    sourceUri: `https://faults.example/${batch}/${i}`,
    chunks: Array.from({ length: 2 }, () => ({ content: Array.from({ length: 120 }, word).join(' ') })),
  }));
  const { organizationId, datasetId } = plan;
  const result = await bulkIngest(handle, { organizationId, datasetId, documents, embedder: localEmbedder });
  return result.documents;
};

/** Fills the data dir's filesystem, leaving `freeMb`. */
function fill(dataDir: string, plan: FaultPlan): void {
  const { bavail, bsize } = statfsSync(dataDir);
  const mb = Math.floor((bavail * bsize) / 2 ** 20) - (plan.freeMb ?? 1);
  if (plan.filler && mb > 0) execFileSync('fallocate', ['-l', `${mb}M`, plan.filler]);
}

async function runCase(dataDir: string, plan: FaultPlan): Promise<void> {
  const handle = createDb({ dataDir });
  if (plan.fault !== 'none') {
    // Control: the load works before the fault.
    await call('bulkIngest before the fault', load(handle, plan));
    // A fresh WAL segment in use (the checkpoint writes into it): the tables run out of room first.
    if (plan.fault === 'fill') await handle.sql.exec('select pg_switch_wal(); checkpoint');
    if (plan.fault === 'remove-wal') rmSync(path.join(dataDir, 'pg_wal'), { recursive: true, force: true });
    else fill(dataDir, plan);
    let after = 0;
    for (let attempt = 0; attempt < 20 && after < 3; attempt++) {
      const report = await call('bulkIngest', async () => {
        // Each load needs a new WAL segment, which a full disk cannot hold.
        if (plan.fault !== 'fill') await handle.sql.query('select pg_switch_wal()');
        return load(handle, plan)();
      });
      if ('outcome' in report && report.outcome !== 'ok') after++;
    }
    if (plan.fault === 'fill' && plan.filler) {
      // Space freed: the same handle works again, the statement's transaction having rolled back.
      rmSync(plan.filler);
      await call('bulkIngest after space is freed', load(handle, plan));
      await call('count documents', async () => {
        const [row] = await handle.sql.query<{ count: number }>(
          'select count(*)::int as count from documents',
        );
        return row?.count;
      });
    }
  } else await call('open', () => handle.sql.query('select 1').then(() => undefined));
  await call('close', async () => {
    await handle.close();
    return undefined;
  });
}

for await (const line of createInterface({ input: process.stdin })) {
  const { dataDir, plan } = JSON.parse(line) as { dataDir: string; plan: FaultPlan };
  await runCase(dataDir, plan).catch((error: unknown) =>
    print({ call: ++calls, outcome: 'other', ms: 0, message: `the case itself failed: ${String(error)}` }),
  );
  print({ done: true });
}
