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
  holdClusterTurn,
  setUpWorkerLogins,
} from './support/citus-cluster.ts';
import { drizzleKitPaired, drizzleKitVersion, runDrizzleKitMigrate } from './support/drizzle-line.ts';
import { queueAgent } from './support/run-queue-processes.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';

// A deploy migrates a database that is already distributed: the newest migrations must apply there,
// not only to a new database distributed afterwards (what citus-cluster.test.ts sets up), with the
// package's migrator and with drizzle-kit's, in the cluster's turn (holdClusterTurn).

if (!citusUrl)
  console.log('[citus-upgrade] skipped: CITUS_URL is not set (a Citus coordinator with workers added)');

const migrations = readMigrations();
const [nextToNewest, newest] = migrations.slice(-2).map((migration) => migration.tag) as [string, string];

/** A copy of drizzle/ whose journal stops `dropped` migrations before the end. */
function migrationsBefore(dropped: number): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'neonhub-citus-upgrade-'));
  cpSync(defaultMigrationsFolder, folder, { recursive: true });
  const journalFile = path.join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: unknown[] };
  journal.entries = journal.entries.slice(0, -dropped);
  writeFileSync(journalFile, JSON.stringify(journal));
  return folder;
}

describe.skipIf(!citusUrl)(
  `the newest migrations (${nextToNewest}, ${newest}) on a distributed database (CITUS_URL)`,
  () => {
    let cluster: ClusterDatabase;
    let turn: Awaited<ReturnType<typeof holdClusterTurn>> | undefined;
    const folders: string[] = [];

    beforeAll(async () => {
      folders.push(migrationsBefore(2), migrationsBefore(1));
      turn = await holdClusterTurn();
      cluster = await createClusterDatabase(citusUrl ?? '');
    }, 600_000);

    afterAll(async () => {
      await cluster?.drop();
      await turn?.release();
      for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    });

    // drizzle-kit's migrator runs the pending migrations in one transaction with no setting of its
    // own: in parallel mode Citus refuses the newest one there ("a parallel operation on a distributed
    // table in the transaction"); the package's drizzle.config.ts starts its sessions sequential.
    it(`apply after distribute, ${nextToNewest} with neonhub-db migrate and ${newest} with ${drizzleKitPaired ? `\`drizzle-kit migrate\` (${drizzleKitVersion}) and the package's config` : 'neonhub-db migrate (no paired drizzle-kit)'}; a tenant enqueues and a worker claims on it`, async () => {
      const { handle } = cluster;
      const [beforeTwo, beforeOne] = folders as [string, string];
      expect((await migrate(handle, { migrationsFolder: beforeTwo })).applied).toHaveLength(
        migrations.length - 2,
      );
      await setUpWorkerLogins(cluster);
      const tenants = await seedAcmeAndGlobex(handle.db);
      await distribute(handle);
      expect((await migrate(handle, { migrationsFolder: beforeOne })).applied).toEqual([nextToNewest]);
      if (drizzleKitPaired) {
        const kit = runDrizzleKitMigrate(cluster.url);
        expect(kit.status, kit.stderr || kit.stdout).toBe(0);
        expect(await migrate(handle)).toMatchObject({ applied: [], alreadyApplied: migrations.length });
      } else expect((await migrate(handle)).applied).toEqual([newest]);
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
  },
);
