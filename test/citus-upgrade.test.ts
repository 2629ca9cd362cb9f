import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRuns } from '../src/agents/run-claims.ts';
import { enqueueRuns } from '../src/agents/run-queue.ts';
import { withTenant } from '../src/client/tenant.ts';
import { distribute } from '../src/operator/citus.ts';
import { defaultMigrationsFolder, migrate, readMigrations } from '../src/operator/migrate.ts';
import {
  type ClusterDatabase,
  citusUrl,
  createClusterDatabase,
  setUpWorkerLogins,
} from './support/citus-cluster.ts';
import { drizzleKitPaired, drizzleKitVersion, runDrizzleKitMigrate } from './support/drizzle-line.ts';
import { queueAgent } from './support/run-queue-processes.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

// A deploy migrates a database that is already distributed: the newest migration must apply there,
// not only to a new database distributed afterwards (what citus-cluster.test.ts sets up).

if (!citusUrl)
  console.log('[citus-upgrade] skipped: CITUS_URL is not set (a Citus coordinator with workers added)');

const migrations = readMigrations();
const newest = migrations.at(-1)?.tag ?? '';

describe.skipIf(!citusUrl)(`the newest migration (${newest}) on a distributed database (CITUS_URL)`, () => {
  let cluster: ClusterDatabase;
  let folder = '';

  beforeAll(async () => {
    // The migrations before the newest: the journal without its last entry.
    folder = mkdtempSync(path.join(tmpdir(), 'neonhub-citus-upgrade-'));
    cpSync(defaultMigrationsFolder, folder, { recursive: true });
    const journalFile = path.join(folder, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] };
    journal.entries = journal.entries.filter((entry) => entry.tag !== newest);
    writeFileSync(journalFile, JSON.stringify(journal));
    cluster = await createClusterDatabase(citusUrl ?? '');
  }, 600_000);

  afterAll(async () => {
    await cluster?.drop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('applies after distribute, and a tenant enqueues and a worker claims on it', async () => {
    const { handle } = cluster;
    expect((await migrate(handle, { migrationsFolder: folder })).applied).toHaveLength(migrations.length - 1);
    await setUpWorkerLogins(cluster);
    const tenants = await seedAcmeAndGlobex(handle.db);
    await distribute(handle);
    expect((await migrate(handle)).applied).toEqual([newest]);
    const org = tenants.acme.organizationId;
    await withTenant(handle.db, org, async (tx) => {
      const agent = await queueAgent(tx, 'upgrade-probe', 'custom');
      await enqueueRuns(
        tx,
        Array.from({ length: 5 }, (_, n) => ({ agentId: agent.id, input: { n } })),
      );
    });
    const claimed = await claimRuns(handle.db, { kinds: ['custom'], limit: 10 });
    expect(claimed.map((run) => run.organizationId)).toEqual(Array(5).fill(org));
  }, 600_000);

  // drizzle-kit's migrator runs the pending migrations in one transaction with no setting of its
  // own: in parallel mode Citus refuses the newest one there ("a parallel operation on a distributed
  // table in the transaction"); the package's drizzle.config.ts starts its sessions sequential.
  it.skipIf(!drizzleKitPaired)(
    `applies after distribute with \`drizzle-kit migrate\` (${drizzleKitVersion}) and the package's config`,
    async () => {
      const kitCluster = await createClusterDatabase(citusUrl ?? '');
      try {
        const { handle } = kitCluster;
        await migrate(handle, { migrationsFolder: folder });
        await setUpWorkerLogins(kitCluster);
        await seedAcmeAndGlobex(handle.db);
        await distribute(handle);
        const kit = runDrizzleKitMigrate(kitCluster.url);
        expect(kit.status, kit.stderr || kit.stdout).toBe(0);
        expect(await migrate(handle)).toMatchObject({ applied: [], alreadyApplied: migrations.length });
      } finally {
        await kitCluster.drop();
      }
    },
    600_000,
  );
});
