import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, DatabaseError } from '../src/base/errors.ts';
import { createDb } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { readMigrations } from '../src/operator/migrate.ts';
import { migratedClusterDir } from '../src/operator/migrated-cluster.ts';
import { roles, users } from '../src/schema/index.ts';
import { cliHere, cliProcessArgs, cliProcessEnv, tsxLoader } from './support/cli.ts';
import { useTestDatabase, warmEmbeddedEngine } from './support/database.ts';
import { drizzleKitGenerates } from './support/drizzle-line.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const database = useTestDatabase();
/** The CLI as its own process. */
const cli = (args: string[], env: Record<string, string>, cwd = root) =>
  spawnSync(process.execPath, cliProcessArgs(args), { cwd, env: cliProcessEnv(env), encoding: 'utf8' });

describe('connecting', () => {
  it('names the host, never the password, when the server is unreachable', async () => {
    const handle = createDb({ url: 'postgres://neonhub:s3cret-pw@127.0.0.1:1/neonhub' });
    const error = await handle.sql.query('select 1').catch((e: unknown) => e);
    await handle.close();
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain('127.0.0.1:1/neonhub');
    expect((error as Error).message).not.toContain('s3cret-pw');
  });

  it('refuses a malformed URL without echoing it', () => {
    expect(() => createDb({ url: 'postgres//neonhub:s3cret-pw@host' })).toThrow(ConnectionError);
    expect(() => createDb({ url: 'postgres//neonhub:s3cret-pw@host' })).not.toThrow(/s3cret-pw/);
  });

  it('the CLI exits non-zero with one line, no stack trace and no password', () => {
    const run = cli(['migrate'], { DATABASE_URL: 'postgres://neonhub:s3cret-pw@127.0.0.1:1/neonhub' });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^neonhub-db: cannot use PostgreSQL at 127\.0\.0\.1:1\/neonhub: ECONNREFUSED/);
    expect(run.stderr + run.stdout).not.toContain('s3cret-pw');
  });

  it('`reset` refuses a database that is not local unless forced, before connecting', () => {
    const run = cli(['reset'], { DATABASE_URL: 'postgres://neonhub:s3cret-pw@db.example.com:5432/prod' });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'neonhub-db: refusing to reset PostgreSQL at db.example.com:5432/prod: not a local database (pass --force if you mean it)',
    );
  });

  it('a command without what it needs prints the usage and exits 2, connecting to nothing', async () => {
    const unreachable = { DATABASE_URL: 'postgres://neonhub:s3cret-pw@127.0.0.1:1/neonhub' };
    for (const args of [
      ['rotate-tenant-key', '--grace', '60'],
      ['create-login'],
      ['audit'],
      ['no-such-command'],
    ]) {
      const run = await cliHere(args, unreachable);
      expect({ args, status: run.status, stderr: run.stderr }).toEqual({ args, status: 2, stderr: '' });
      expect(run.stdout).toMatch(/^neonhub-db <command>/);
    }
  });

  // One data dir for both: the first run creates it, the second finds everything there.
  const setupDir = path.join(mkdtempSync(path.join(tmpdir(), 'neonhub-setup-')), 'pglite');
  afterAll(() => rmSync(path.dirname(setupDir), { recursive: true, force: true }));
  // The test runner transforms the seeds the CLI loads when it first needs them: done first, with
  // the engine's warm-up, so the cases time their commands.
  beforeAll(async () => {
    await import('../src/seed/index.ts');
    await warmEmbeddedEngine();
  });

  it('`setup` on a fresh embedded database starts it from the migrated cluster, with its own secrets, and creates the demo data', async () => {
    const first = await cliHere(['setup'], { NEONHUB_DATA_DIR: setupDir });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`created as a copy of the migrated cluster in ${migratedClusterDir()}`);
    expect(first.stdout).toContain(`up to date (${readMigrations().length} migrations applied earlier)`);
    expect(first.stdout).toMatch(/service key registered/);
    expect(first.stdout).toMatch(/created .*1 organizations/);
  });

  it('a second `setup` changes nothing, and `status` shows nothing pending', async () => {
    const second = await cliHere(['setup'], { NEONHUB_DATA_DIR: setupDir });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/up to date/);
    expect(second.stdout).toMatch(/nothing new: the demo data is already there/);
    const status = await cliHere(['status'], { NEONHUB_DATA_DIR: setupDir });
    expect(status.stdout).toMatch(/pgvector 0\.8\.\d+/);
    expect(status.stdout).toMatch(/0 pending/);
    expect(status.status).toBe(0);
  });

  it('opens nothing on import: no data directory appears until a query runs', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'neonhub-import-'));
    try {
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          tsxLoader,
          '--input-type=module',
          '-e',
          `import('${path.join(root, 'src', 'index.ts')}').then((m) => console.log(typeof m.createDb))`,
        ],
        { cwd, encoding: 'utf8' },
      );
      expect(run.stdout.trim()).toBe('function');
      expect(existsSync(path.join(cwd, '.data'))).toBe(false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('the commands that drive drizzle-kit', () => {
  it.skipIf(drizzleKitGenerates)(
    'on drizzle-orm 1.0, generate and check (drizzle-kit 0.31 writes drizzle/) refuse, naming the line, before drizzle-kit starts (1.0 only)',
    async () => {
      for (const command of [['generate', '--name', 'probe'], ['check']]) {
        const run = await cliHere(command, { NEONHUB_DATA_DIR: 'memory://' });
        expect(run.status).not.toBe(0);
        expect(run.stderr).toContain(
          `${command[0]} drives drizzle-kit 0.31, which runs with drizzle-orm 0.45 only, and drizzle-orm 1.0`,
        );
      }
    },
  );
});

describe('bad input', () => {
  it('comes back as a DatabaseError naming table, column or constraint, with nothing written', async () => {
    const { db } = database.current;
    const [owner] = await db.insert(users).values({ email: 'errors@example.com' }).returning();
    const { organization } = await createOrganization(db, {
      slug: 'errors',
      name: 'Errors',
      ownerUserId: owner?.id ?? '',
    });
    const check = await withTenant(db, organization.id, (tx) =>
      tx.insert(roles).values({ key: 'Bad Key', name: 'x' }),
    ).catch((e: unknown) => e);
    expect(check).toBeInstanceOf(DatabaseError);
    expect(check).toMatchObject({
      kind: 'check_violation',
      table: 'roles',
      constraint: 'roles_key_format_check',
    });
    const missing = await withTenant(db, organization.id, (tx) =>
      tx.insert(roles).values({ key: 'ok_key', name: null as unknown as string }),
    ).catch((e: unknown) => e);
    expect(missing).toMatchObject({ kind: 'not_null_violation', table: 'roles', column: 'name' });
    // A batch with one bad row writes none of them.
    const batch = await withTenant(db, organization.id, (tx) =>
      tx.insert(roles).values([
        { key: 'fine_one', name: 'Fine' },
        { key: 'owner', name: 'Duplicate of a system role' },
      ]),
    ).catch((e: unknown) => e);
    expect(batch).toMatchObject({ kind: 'unique_violation', constraint: 'roles_organization_id_key_key' });
    const keys = await withTenant(db, organization.id, (tx) => tx.select({ key: roles.key }).from(roles));
    expect(keys.map((row) => row.key).sort()).toEqual(['admin', 'editor', 'owner', 'viewer']);
  });

  it('refuses a tenant id that is not a UUID before touching the database', async () => {
    const { db } = database.current;
    await expect(withTenant(db, "1' or '1'='1", async () => 1)).rejects.toThrow(
      /organizationId must be a UUID/,
    );
  });
});
