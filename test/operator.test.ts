// What an operator meets on a server: a migrating role that is not a superuser, db:reset, and
// PostgreSQL's hints in migration errors.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MigrationError, ServerRequirementError } from '../src/base/errors.ts';
import { createDb } from '../src/client/client.ts';
import { createUser } from '../src/identity/users.ts';
import { defaultMigrationsFolder, migrate } from '../src/operator/migrate.ts';
import { adminUrlFor } from './support/backend.ts';
import { cliHere } from './support/cli.ts';
import { backend, onServer, useTestDatabase, withCapture } from './support/database.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const database = useTestDatabase();
const serverUrl = backend.kind === 'server' ? backend.url : '';

/** Runs `fn` with a new empty database on the server, dropped afterwards. */
async function withEmptyDatabase<T>(owner: string | null, fn: (name: string) => Promise<T>): Promise<T> {
  const name = `neonhub_operator_${randomBytes(5).toString('hex')}`;
  const admin = createDb({ url: serverUrl, max: 1 });
  await admin.sql.exec(`create database ${name}${owner ? ` owner ${owner}` : ''}`);
  try {
    return await fn(name);
  } finally {
    await admin.sql.exec(`drop database if exists ${name} with (force)`);
    await admin.close();
  }
}

const publicSchemaOf = async (url: string) => {
  const handle = createDb({ url, max: 1 });
  try {
    const [row] = await handle.sql.query<{ owner: string; acl: string; comment: string }>(
      `select nspowner::regrole::text as owner, nspacl::text as acl, obj_description(oid, 'pg_namespace') as comment
         from pg_namespace where nspname = 'public'`,
    );
    return row;
  } finally {
    await handle.close();
  }
};

describe('a migrating role that is not a superuser', () => {
  it.skipIf(!onServer)(
    'is told the one line a superuser must run, migrates once the extensions exist, then sets up the demo, runs an app seed and adds a person',
    async () => {
      const role = `neonhub_migrator_${randomBytes(4).toString('hex')}`;
      const admin = createDb({ url: serverUrl, max: 1 });
      // CREATEROLE: the bootstrap creates neonhub_app when missing and joins the migrating role to it.
      await admin.sql.exec(`create role ${role} login password 'migrator-pw' createrole nosuperuser`);
      try {
        await withEmptyDatabase(role, async (name) => {
          const roleUrl = new URL(adminUrlFor(serverUrl, name));
          roleUrl.username = role;
          roleUrl.password = 'migrator-pw';
          const asRole = createDb({ url: roleUrl.toString(), max: 2 });
          try {
            const refused = await migrate(asRole).catch((error: unknown) => error);
            expect(refused).toBeInstanceOf(ServerRequirementError);
            const message = (refused as Error).message;
            expect(message).toContain(`role "${role}" cannot create the extension vector`);
            expect(message).toMatch(new RegExp(`in database "${name}": CREATE EXTENSION vector;$`));
            const [ledger] = await asRole.sql.query<{ exists: boolean }>(
              `select to_regclass('drizzle.__drizzle_migrations') is not null as exists`,
            );
            expect(ledger?.exists).toBe(false);

            // The superuser's step, exactly as printed, then the same role again.
            const step = message.slice(message.lastIndexOf(': ') + 2);
            const superuser = createDb({ url: adminUrlFor(serverUrl, name), max: 1 });
            await superuser.sql.exec(step).finally(() => superuser.close());
            const result = await migrate(asRole);
            expect(result.applied.length).toBeGreaterThan(5);
            const [brands] = await asRole.sql.query<{ owner: string; forced: boolean }>(
              `select relowner::regrole::text as owner, relforcerowsecurity as forced from pg_class where oid = 'public.brands'::regclass`,
            );
            expect(brands).toEqual({ owner: role, forced: true });

            // The same role sets up the demo data, runs an app's seed, and adds a person.
            const seedDir = mkdtempSync(path.join(tmpdir(), 'neonhub-app-seed-'));
            const seedModule = path.join(seedDir, 'seed.mjs');
            writeFileSync(
              seedModule,
              'export default async ({ organizationId }) => { globalThis.neonhubAppSeed = organizationId; };\n',
            );
            const setup = await cliHere(['setup', '--seed', seedModule], {
              DATABASE_URL: roleUrl.toString(),
            }).finally(() => rmSync(seedDir, { recursive: true, force: true }));
            expect(setup.status, setup.stderr + setup.stdout).toBe(0);
            expect(setup.stdout).toMatch(/created .*1 organizations/);
            expect((globalThis as { neonhubAppSeed?: string }).neonhubAppSeed).toMatch(/^[0-9a-f-]{36}$/);
            // Its statements go to the tenant check like any test database's.
            const backOffice = withCapture((onStatement) =>
              createDb({ url: roleUrl.toString(), max: 1, onStatement }),
            );
            const person = await createUser(backOffice.db, {
              email: 'back-office@example.com',
              name: 'Back Office',
            }).finally(() => backOffice.close());
            expect(person.email).toBe('back-office@example.com');
          } finally {
            await asRole.close();
          }
        });
      } finally {
        await admin.sql.exec(`drop role if exists ${role}`);
        await admin.close();
      }
    },
  );
});

describe('db:reset on a server', () => {
  it.skipIf(!onServer)(
    'leaves public as migrating a fresh database leaves it (owner, ACL, comment)',
    async () => {
      await withEmptyDatabase(null, async (name) => {
        const url = adminUrlFor(serverUrl, name);
        const fresh = createDb({ url, max: 2 });
        await migrate(fresh).finally(() => fresh.close());
        const expected = await publicSchemaOf(url);
        expect(expected?.owner).toBe('pg_database_owner');
        expect(expected?.acl).toContain('=U/pg_database_owner');

        const reset = await cliHere(['reset'], { DATABASE_URL: url });
        expect(reset.status, reset.stderr).toBe(0);
        expect(reset.stdout).toMatch(/created \d+ /);
        expect(await publicSchemaOf(url)).toEqual(expected);
      });
    },
  );
});

describe('migration errors', () => {
  it("keep PostgreSQL's hint", async () => {
    // The shipped migrations plus one that calls a function that does not exist.
    const folder = mkdtempSync(path.join(tmpdir(), 'neonhub-hint-'));
    try {
      cpSync(defaultMigrationsFolder, folder, { recursive: true });
      const journalPath = path.join(folder, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as {
        entries: { tag: string; when: number }[];
      };
      const tag = '9999_call_missing_function';
      journal.entries.push({ tag, when: Math.max(...journal.entries.map((entry) => entry.when)) + 1 });
      writeFileSync(journalPath, JSON.stringify(journal));
      writeFileSync(path.join(folder, `${tag}.sql`), 'SELECT neonhub_no_such_function(1);');
      const error = await migrate(database.current, { migrationsFolder: folder }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toContain('function neonhub_no_such_function(integer) does not exist');
      expect((error as Error).message).toMatch(
        /\(hint: No function matches the given name and argument types/,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('drizzle.config.ts', () => {
  it('falls back to the docker-compose server, which `docker compose up -d --wait` waits for', async () => {
    const compose = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    const setting = (name: string) => compose.match(new RegExp(`${name}: (\\S+)`))?.[1];
    const port = compose.match(/- "(\d+):5432"/)?.[1];
    const composeUrl = `postgres://${setting('POSTGRES_USER')}:${setting('POSTGRES_PASSWORD')}@localhost:${port}/${setting('POSTGRES_DB')}`;
    expect(composeUrl).toBe('postgres://neonhub:neonhub@localhost:5432/neonhub');
    expect(compose).toMatch(/healthcheck:\n\s+test: \["CMD-SHELL", "pg_isready/);

    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      const { default: config } = (await import('../drizzle.config.ts')) as {
        default: { dbCredentials: { url: string } };
      };
      const url = new URL(config.dbCredentials.url);
      expect(`${url.protocol}//${url.username}:${url.password}@${url.host}${url.pathname}`).toBe(composeUrl);
      expect(url.searchParams.get('options')).toBe('-c citus.multi_shard_modify_mode=sequential');
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });

  it("starts drizzle-kit's sessions sequential on Citus, keeping the options a URL has; a URL it cannot parse passes as it is", async () => {
    const { sequentialOnCitus } = await import('../drizzle.config.ts');
    const kept = new URL(
      sequentialOnCitus(
        'postgres://u:p%23w@db.example:6432/app?options=-c%20statement_timeout%3D0&sslmode=require',
      ),
    );
    expect(kept.searchParams.get('options')).toBe(
      '-c statement_timeout=0 -c citus.multi_shard_modify_mode=sequential',
    );
    expect(kept.searchParams.get('sslmode')).toBe('require');
    expect(kept.password).toBe('p%23w');
    expect(sequentialOnCitus('not a url')).toBe('not a url');
  });
});

describe('studio', () => {
  it('refuses a --port that is not a TCP port before opening anything', async () => {
    const dataDir = path.join(tmpdir(), `neonhub-studio-${randomBytes(6).toString('hex')}`);
    const run = await cliHere(['studio', '--port', '70000'], { NEONHUB_DATA_DIR: dataDir });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('neonhub-db: --port 70000: not a TCP port (1 to 65535)');
    expect(existsSync(dataDir)).toBe(false);
  });
});
