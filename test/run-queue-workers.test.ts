import { describe, expect, it } from 'vitest';
import { onServer, useTestDatabase } from './support/database.ts';
import { expectExactlyOnce, killWorkersMidRun } from './support/run-queue-processes.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

// Worker processes share the queue through a server: the embedded database has one process.
const database = useTestDatabase();

describe.skipIf(!onServer)('run queue workers, 8 processes, 3 killed with SIGKILL mid-run', () => {
  it('complete every run exactly once: 0 lost, 0 completed twice', { timeout: 600_000 }, async () => {
    const { db, url } = database.current;
    if (!url) throw new Error('a server database has a URL');
    const { acme, globex } = await seedAcmeAndGlobex(db);
    const report = await killWorkersMidRun(db, url, [acme.organizationId, globex.organizationId], {
      runs: 240,
      workers: 8,
    });
    console.log(report.summary);
    for (const line of report.errors.slice(0, 5)) console.log(line);
    expectExactlyOnce(report, 240);
    expect(report.survivorExits).toEqual([0, 0, 0, 0, 0]);
  });
});
