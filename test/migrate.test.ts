import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationError, MigrationLedgerError, ServerRequirementError } from '../src/base/errors.ts';
import { createDb, type DbHandle, openPglite } from '../src/client/client.ts';
import { templatedFs } from '../src/embedded/embedded-template.ts';
import { createUser } from '../src/identity/users.ts';
import {
  defaultMigrationsFolder,
  migrate,
  planMigrations,
  readMigrations,
  writeDrizzleKit1Migrations,
} from '../src/operator/migrate.ts';
import { adminUrlFor } from './support/backend.ts';
import {
  backend,
  onServer,
  openEmptyServerDatabase,
  openTestDatabase,
  warmEmbeddedEngine,
} from './support/database.ts';
import {
  drizzleKitBin,
  drizzleKitPaired,
  drizzleKitVersion,
  runDrizzleKitMigrate,
} from './support/drizzle-line.ts';

const journal = readMigrations();
const scratch = mkdtempSync(path.join(tmpdir(), 'neonhub-migrations-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the shipped migrations that a test may extend or damage. */
function migrationsCopy(name: string): string {
  const folder = path.join(scratch, name);
  cpSync(defaultMigrationsFolder, folder, { recursive: true });
  return folder;
}

/** Appends a migration to a copy's journal, `when` milliseconds after the epoch of the last one (negative: before). */
function addMigration(folder: string, tag: string, sql: string, offsetMs: number) {
  const journalPath = path.join(folder, 'meta', '_journal.json');
  const data = JSON.parse(readFileSync(journalPath, 'utf8')) as {
    entries: { idx: number; when: number; tag: string }[];
  };
  const last = data.entries.at(-1);
  if (!last) throw new Error('empty journal');
  data.entries.push({ ...last, idx: last.idx + 1, when: last.when + offsetMs, tag });
  writeFileSync(journalPath, JSON.stringify(data, null, 2));
  writeFileSync(path.join(folder, `${tag}.sql`), sql);
}

/** An empty database on the current backend. */
async function emptyDatabase(): Promise<{ handle: DbHandle; drop(): Promise<void>; url?: string }> {
  if (onServer) {
    const empty = await openEmptyServerDatabase();
    const handle = createDb({ url: empty.url, max: 2 });
    return {
      handle,
      url: empty.url,
      drop: async () => {
        await handle.close();
        await empty.drop();
      },
    };
  }
  const handle = createDb({ pglite: openPglite('memory://') });
  return { handle, drop: () => handle.close() };
}

/**
 * A database every shipped migration was applied to, by this migrator: a clone of the suite's
 * migrated template (a loaded data dir on PGlite), for tests about what comes after the migrations.
 */
async function migratedDatabase(): Promise<{ handle: DbHandle; drop(): Promise<void> }> {
  const handle = await openTestDatabase();
  return { handle, drop: () => handle.close() };
}

const ledger = (handle: DbHandle) =>
  handle.sql.query<{ hash: string; created_at: string }>(
    'select hash, created_at from drizzle.__drizzle_migrations order by id',
  );

describe('migrator', () => {
  // Every case opens an embedded database, the first an empty one to migrate (on PGlite, or without
  // pgvector): the engine's one-time start-up is done before them.
  beforeAll(warmEmbeddedEngine);

  it('applies every migration to an empty database, and a second run is a no-op', async () => {
    const { handle, drop } = await emptyDatabase();
    try {
      const first = await migrate(handle);
      expect(first.applied).toEqual(journal.map((migration) => migration.tag));
      const second = await migrate(handle);
      expect(second).toEqual({ applied: [], alreadyApplied: journal.length, serviceKey: 'present' });
      expect((await ledger(handle)).map((row) => row.hash)).toEqual(
        journal.map((migration) => migration.hash),
      );
    } finally {
      await drop();
    }
  });

  it('refuses, before writing anything, a PostgreSQL without pgvector, saying how to get it', async () => {
    // PGlite opened without its vector extension has no pgvector to offer, like a bare server
    // (started from the initialised cluster's copy, as the package starts one, not from initdb).
    const bare = createDb({
      pglite: new PGlite({ dataDir: 'memory://bare', fs: templatedFs('memory://bare') }),
    });
    try {
      const error = await migrate(bare).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServerRequirementError);
      expect((error as Error).message).toMatch(
        /pgvector is not installed on this server; NeonHub needs pgvector >= 0\.8/,
      );
      expect((error as Error).message).toMatch(/pgvector\/pgvector docker image/);
      const [written] = await bare.sql.query<{ schemas: number; tables: number }>(
        `select (select count(*)::int from pg_namespace where nspname = 'drizzle') as schemas,
                (select count(*)::int from pg_tables where schemaname = 'public') as tables`,
      );
      expect(written).toEqual({ schemas: 0, tables: 0 });
    } finally {
      await bare.close();
    }
  });

  it('refuses a migration older than the newest applied one, naming it', async () => {
    const { handle, drop } = await migratedDatabase();
    try {
      const folder = migrationsCopy('out-of-order');
      addMigration(folder, '0099_backdated', 'create table backdated (id int);', -60_000);
      const error = await migrate(handle, { migrationsFolder: folder }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationLedgerError);
      expect((error as Error).message).toMatch(/0099_backdated is older than the newest applied migration/);
      const [table] = await handle.sql.query<{ exists: boolean }>(
        `select to_regclass('backdated') is not null as exists`,
      );
      expect(table?.exists).toBe(false);
    } finally {
      await drop();
    }
  });

  it('refuses an applied migration that was edited afterwards, and one the package does not know', async () => {
    const { handle, drop } = await migratedDatabase();
    try {
      const edited = migrationsCopy('edited');
      const target = journal[1]?.tag ?? '';
      writeFileSync(
        path.join(edited, `${target}.sql`),
        `${readFileSync(path.join(edited, `${target}.sql`), 'utf8')}\n-- edited`,
      );
      const error = await migrate(handle, { migrationsFolder: edited }).catch((e: unknown) => e);
      expect((error as Error).message).toContain(`migration ${target} was edited after it was applied`);

      const newer = migrationsCopy('newer');
      addMigration(newer, '0099_newer', 'select 1;', 60_000);
      await migrate(handle, { migrationsFolder: newer });
      const unknown = await migrate(handle).catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(MigrationLedgerError);
      expect((unknown as Error).message).toMatch(/does not know/);
    } finally {
      await drop();
    }
  });

  it('rolls a failing migration back whole and names the migration and the statement; a fixed rerun converges', async () => {
    const { handle, drop } = await migratedDatabase();
    try {
      const folder = migrationsCopy('failing');
      addMigration(
        folder,
        '0099_half_done',
        'create table half_done (id int);\n--> statement-breakpoint\ninsert into half_done values (1 / 0);',
        60_000,
      );
      const error = await migrate(handle, { migrationsFolder: folder }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(
        /migration 0099_half_done failed and was rolled back, at: insert into half_done/,
      );
      expect((error as Error).message).toMatch(/division by zero/);
      const [table] = await handle.sql.query<{ exists: boolean }>(
        `select to_regclass('half_done') is not null as exists`,
      );
      expect(table?.exists).toBe(false);
      expect(await ledger(handle)).toHaveLength(journal.length);
      writeFileSync(path.join(folder, '0099_half_done.sql'), 'create table half_done (id int);');
      expect((await migrate(handle, { migrationsFolder: folder })).applied).toEqual(['0099_half_done']);
    } finally {
      await drop();
    }
  });

  it('refuses, before applying anything, a migration that contains transaction control', async () => {
    const { handle, drop } = await migratedDatabase();
    try {
      const folder = migrationsCopy('transaction-control');
      addMigration(folder, '0099_before', 'create table before_commit (id int);', 60_000);
      addMigration(
        folder,
        '0100_commits',
        'create table committed_part (id int);\n--> statement-breakpoint\nCOMMIT;\n--> statement-breakpoint\ncreate table after_commit (id int);',
        60_000,
      );
      const error = await migrate(handle, { migrationsFolder: folder }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(
        /migration 0100_commits contains transaction control \(COMMIT\).*nothing was applied/,
      );
      const [state] = await handle.sql.query<{ before: boolean; part: boolean }>(
        `select to_regclass('before_commit') is not null as before, to_regclass('committed_part') is not null as part`,
      );
      expect(state).toEqual({ before: false, part: false });
      expect(await ledger(handle)).toHaveLength(journal.length);
      // BEGIN inside a function body is not transaction control: the same folder without the COMMIT
      // applies (and finds the lock_timeout the migrator sets for every migration).
      writeFileSync(
        path.join(folder, '0100_commits.sql'),
        "create table committed_part (id int);\n--> statement-breakpoint\nDO $$ BEGIN IF current_setting('lock_timeout') = '0' THEN RAISE EXCEPTION 'no lock_timeout'; END IF; END $$;",
      );
      expect((await migrate(handle, { migrationsFolder: folder })).applied).toEqual([
        '0099_before',
        '0100_commits',
      ]);
    } finally {
      await drop();
    }
  });

  it('refuses a ledger that lists a migration twice', async () => {
    const { handle, drop } = await migratedDatabase();
    try {
      await handle.sql.exec(
        'insert into drizzle.__drizzle_migrations (hash, created_at) select hash, created_at from drizzle.__drizzle_migrations order by id desc limit 1',
      );
      const error = await migrate(handle).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationLedgerError);
      expect((error as Error).message).toMatch(
        new RegExp(`lists migration ${journal.at(-1)?.tag} more than once`),
      );
    } finally {
      await drop();
    }
  });

  // Roles are per cluster: only a server has a second login to migrate as.
  it.skipIf(!onServer)(
    'bootstraps as a migrating role without CREATEROLE where neonhub_app already exists',
    async () => {
      if (backend.kind !== 'server') return;
      const suffix = randomBytes(4).toString('hex');
      const role = `neonhub_migrator_${suffix}`;
      const name = `neonhub_nocreaterole_${suffix}`;
      const admin = createDb({ url: backend.url, max: 1 });
      await admin.sql.exec(`create role ${role} login password '${suffix}' nocreaterole createdb`);
      await admin.sql.exec(`create database ${name} owner ${role}`);
      // Extensions that are not trusted are an administrator's, as on managed servers.
      const dba = createDb({ url: adminUrlFor(backend.url, name), max: 1 });
      await dba.sql.exec('create extension vector; create extension pg_trgm');
      // neonhub_definer owns the cross-tenant functions: a role that cannot grant itself
      // membership gets it from the administrator, once (the README's step).
      await dba.sql.exec(`grant neonhub_definer to ${role}`);
      await dba.close();
      const url = new URL(adminUrlFor(backend.url, name));
      url.username = role;
      url.password = suffix;
      const migrator = createDb({ url: url.toString(), max: 1 });
      try {
        const [before] = await migrator.sql.query<{ exists: boolean; createrole: boolean }>(
          `select exists (select from pg_roles where rolname = 'neonhub_app') as exists,
                  (select rolcreaterole from pg_roles where rolname = current_user) as createrole`,
        );
        expect(before).toEqual({ exists: true, createrole: false });
        const result = await migrate(migrator);
        expect(result.applied).toEqual(journal.map((migration) => migration.tag));
        const [tables] = await migrator.sql.query<{ count: number }>(
          `select count(*)::int as count from pg_tables where schemaname = 'public' and tableowner = current_user`,
        );
        expect(tables?.count).toBeGreaterThan(30);
        // It could not join neonhub_auth itself: adding a person names the grant that lets it.
        const person = { email: `${suffix}@example.com`, name: 'Back Office' };
        const refused = await createUser(migrator.db, person).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(ServerRequirementError);
        expect((refused as Error).message).toBe(
          `login "${role}" is not a member of neonhub_auth, the role that writes users: a superuser or an admin of that role runs GRANT neonhub_auth TO "${role}"`,
        );
        await admin.sql.exec(`grant neonhub_auth to ${role}`);
        expect((await createUser(migrator.db, person)).email).toBe(person.email);
      } finally {
        await migrator.close();
        await admin.sql.exec(`drop database if exists ${name} with (force)`);
        await admin.sql.exec(`drop role if exists ${role}`);
        await admin.close();
      }
    },
  );

  // The embedded database runs one transaction at a time: the migrator waits for it to be free.
  it.skipIf(onServer)(
    'on the embedded database, refuses at once to run inside one of its transactions, which it would wait for forever',
    async () => {
      const { handle, drop } = await emptyDatabase();
      try {
        const error = await handle.db
          .transaction(async () => migrate(handle))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        console.log(`migrate inside a transaction: ${(error as Error).message}`);
        expect(error).toBeInstanceOf(MigrationError);
        expect((error as Error).message).toMatch(/inside a transaction of the same embedded database/);
        const [schemas] = await handle.sql.query<{ count: number }>(
          `select count(*)::int as count from pg_namespace where nspname = 'drizzle'`,
        );
        expect(schemas?.count).toBe(0);
      } finally {
        await drop();
      }
    },
  );

  it.skipIf(onServer)(
    'on the embedded database, waits for a transaction another part of the process holds, then migrates',
    async () => {
      const { handle, drop } = await emptyDatabase();
      const folder = migrationsCopy('first-only');
      const journalPath = path.join(folder, 'meta', '_journal.json');
      const data = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: unknown[] };
      writeFileSync(journalPath, JSON.stringify({ ...data, entries: data.entries.slice(0, 1) }));
      try {
        const events: string[] = [];
        let finish = () => {};
        const held = new Promise<void>((resolve) => {
          finish = resolve;
        });
        const open = handle.db.transaction(async (tx) => {
          await tx.execute(sql`select 1`);
          events.push('transaction open');
          await held;
          events.push('transaction ends');
        });
        while (events.length === 0) await new Promise((resolve) => setImmediate(resolve));
        const migrating = migrate(handle, {
          migrationsFolder: folder,
          onProgress: ({ event }) => events.push(event),
        });
        // The migrator is queued behind the transaction: give it turns to run, then end the transaction.
        for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
        events.push('ending');
        finish();
        await open;
        const result = await migrating;
        console.log(`order: ${events.join(' -> ')}; applied ${result.applied.join(', ')}`);
        expect(events.indexOf('locked')).toBeGreaterThan(events.indexOf('transaction ends'));
        expect(result.applied).toHaveLength(1);
      } finally {
        await drop();
      }
    },
  );

  // Concurrency needs several connections to one database: PGlite has a single connection.
  it.skipIf(!onServer).each([4, 8])(
    '%i migrators started at once apply each migration exactly once',
    async (count) => {
      const empty = await openEmptyServerDatabase();
      const handles = Array.from({ length: count }, () => createDb({ url: empty.url, max: 1 }));
      try {
        const results = await Promise.allSettled(handles.map((handle) => migrate(handle)));
        const failed = results.filter((result) => result.status === 'rejected');
        const applied = results.flatMap((result) =>
          result.status === 'fulfilled' ? result.value.applied : [],
        );
        const rows = await ledger(handles[0] as DbHandle);
        const duplicates = rows.length - new Set(rows.map((row) => row.hash)).size;
        console.log(
          `${count} concurrent migrators: ${failed.length} failed, ${applied.length} migration applications for ${journal.length} migrations, ${duplicates} duplicate ledger rows`,
        );
        expect(failed).toEqual([]);
        expect(applied).toHaveLength(journal.length);
        expect(rows).toHaveLength(journal.length);
        expect(duplicates).toBe(0);
      } finally {
        await Promise.all(handles.map((handle) => handle.close()));
        await empty.drop();
      }
    },
  );

  // Killing a backend mid-migration needs a server (pg_terminate_backend).
  it.skipIf(!onServer)(
    'a migrator killed mid-migration leaves the schema before it, and a rerun converges',
    async () => {
      const empty = await openEmptyServerDatabase();
      const victim = createDb({ url: empty.url, max: 1 });
      const killer = createDb({ url: empty.url, max: 1 });
      try {
        await migrate(victim);
        const folder = migrationsCopy('killed');
        addMigration(
          folder,
          '0099_slow',
          'create table slow_one (id int);\n--> statement-breakpoint\nselect pg_sleep(5);\n--> statement-breakpoint\ncreate table slow_two (id int);',
          60_000,
        );
        const running = migrate(victim, { migrationsFolder: folder }).catch((e: unknown) => e);
        let killed = 0;
        for (let tries = 0; tries < 50 && killed === 0; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const rows = await killer.sql.query<{ killed: boolean }>(
            `select pg_terminate_backend(pid) as killed from pg_stat_activity where datname = current_database() and query like '%pg_sleep(5)%' and pid <> pg_backend_pid()`,
          );
          killed = rows.filter((row) => row.killed).length;
        }
        expect(killed).toBe(1);
        expect(await running).toBeInstanceOf(Error);
        const [state] = await killer.sql.query<{ one: boolean; two: boolean }>(
          `select to_regclass('slow_one') is not null as one, to_regclass('slow_two') is not null as two`,
        );
        expect(state).toEqual({ one: false, two: false });
        writeFileSync(
          path.join(folder, '0099_slow.sql'),
          'create table slow_one (id int);\n--> statement-breakpoint\ncreate table slow_two (id int);',
        );
        const rerun = await migrate(killer, { migrationsFolder: folder });
        expect(rerun.applied).toEqual(['0099_slow']);
      } finally {
        await victim.close().catch(() => {});
        await killer.close();
        await empty.drop();
      }
    },
  );

  // drizzle-kit's own migrator talks to servers only, and each drizzle-kit refuses the other line's drizzle-orm.
  it.skipIf(!onServer || !drizzleKitPaired)(
    `shares its ledger with \`drizzle-kit migrate\` (${drizzleKitVersion}), which deploys may run instead, both ways (server, the drizzle-kit paired with the drizzle-orm installed)`,
    async () => {
      const empty = await openEmptyServerDatabase();
      const handle = createDb({ url: empty.url, max: 1 });
      try {
        // The package's migrator first, up to five migrations before the end; drizzle-kit the rest.
        const earlier = migrationsCopy('earlier');
        const journalPath = path.join(earlier, 'meta', '_journal.json');
        const data = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: unknown[] };
        writeFileSync(journalPath, JSON.stringify({ ...data, entries: data.entries.slice(0, -5) }));
        expect((await migrate(handle, { migrationsFolder: earlier })).applied).toHaveLength(
          journal.length - 5,
        );
        const kit = runDrizzleKitMigrate(empty.url);
        expect(kit.status, kit.stderr || kit.stdout).toBe(0);
        expect(await ledger(handle)).toHaveLength(journal.length);
        expect(await migrate(handle)).toEqual({
          applied: [],
          alreadyApplied: journal.length,
          serviceKey: 'present',
        });
        // A migration the package's migrator applies after drizzle-kit's: drizzle-kit must not run it again.
        const later = migrationsCopy('later');
        addMigration(later, '0999_kit_probe', 'CREATE TABLE kit_probe (id int);', 60_000);
        expect((await migrate(handle, { migrationsFolder: later })).applied).toEqual(['0999_kit_probe']);
        const out = drizzleKitVersion.startsWith('0.') ? later : path.join(scratch, 'later-kit-1');
        if (out !== later) writeDrizzleKit1Migrations(out, later);
        const config = path.join(scratch, 'later.config.mjs');
        writeFileSync(
          config,
          `export default ${JSON.stringify({
            dialect: 'postgresql',
            out,
            dbCredentials: { url: empty.url },
            migrations: { table: '__drizzle_migrations', schema: 'drizzle' },
          })};`,
        );
        const again = runDrizzleKitMigrate(empty.url, config);
        expect(again.status, again.stderr || again.stdout).toBe(0);
        expect(await ledger(handle)).toHaveLength(journal.length + 1);
      } finally {
        await handle.close();
        await empty.drop();
      }
    },
  );

  it("names the rows a ledger with drizzle-orm 1.0's `name` column holds without one (drizzle-kit 0.31 adds them so), which drizzle-kit 1.0 would run again", async () => {
    const { handle, drop } = await migratedDatabase();
    try {
      // What drizzle-orm 1.0's migrator adds to the ledger, before it fills the names.
      await handle.sql.exec('alter table drizzle.__drizzle_migrations add column name text');
      const before = await handle.sql.query<{ named: number }>(
        'select count(name)::int as named from drizzle.__drizzle_migrations',
      );
      expect((await migrate(handle)).applied).toEqual([]);
      const names = await handle.sql.query<{ name: string }>(
        'select name from drizzle.__drizzle_migrations order by id',
      );
      expect(before).toEqual([{ named: 0 }]);
      expect(names.map((row) => row.name)).toEqual(journal.map((migration) => migration.name));
    } finally {
      await drop();
    }
  });

  it("reads a ledger drizzle-orm 1.0's migrator wrote (created_at to the second, identified by name); without the name such rows are unknown (the control)", () => {
    const wholeSecond = (ms: number) => Math.floor(ms / 1000) * 1000;
    const byName = journal.map((migration) => ({
      hash: migration.hash,
      created_at: wholeSecond(migration.createdAt),
      name: migration.name,
    }));
    expect(planMigrations(journal, byName)).toEqual([]);
    expect(planMigrations(journal, byName.slice(0, -2))).toEqual(journal.slice(-2));
    const unnamed = byName.map(({ name: _name, ...row }) => row);
    const subSecond = journal.find((migration) => migration.createdAt % 1000 !== 0);
    expect(subSecond).toBeDefined();
    expect(() => planMigrations(journal, unnamed)).toThrow(/does not know \(created_at \d+\)/);
    expect(() =>
      planMigrations(journal, [{ hash: 'x', created_at: 0, name: '20990101000000_elsewhere' }]),
    ).toThrow('does not know (name 20990101000000_elsewhere)');
  });
});

describe('drizzle/ as drizzle-kit 1.0 reads it', () => {
  it("is one folder per migration, in the journal's order, each migration.sql the same bytes (the ledger's hashes agree)", () => {
    const out = path.join(scratch, 'kit-1');
    const names = writeDrizzleKit1Migrations(out);
    expect(names).toEqual(journal.map((migration) => migration.name));
    expect([...names].sort()).toEqual(names);
    for (const [index, migration] of journal.entries()) {
      const text = readFileSync(path.join(out, names[index] ?? '', 'migration.sql'), 'utf8');
      expect(createHash('sha256').update(text).digest('hex')).toBe(migration.hash);
    }
  });

  it('refuses a journal whose migrations drizzle-kit 1.0 would apply in another order (it orders by folder name)', () => {
    const folder = migrationsCopy('reordered');
    addMigration(folder, '0999_back_in_time', 'select 1;', -86_400_000);
    expect(() => writeDrizzleKit1Migrations(path.join(scratch, 'reordered-kit-1'), folder)).toThrow(
      'migration 0999_back_in_time would run out of order under drizzle-kit 1.0, which orders by folder name',
    );
  });

  it.skipIf(drizzleKitVersion.startsWith('0.'))(
    `names each folder as \`drizzle-kit up\` (${drizzleKitVersion}) does when it converts drizzle/ (drizzle-kit 1.0 only)`,
    () => {
      const converted = migrationsCopy('up');
      const up = spawnSync(
        process.execPath,
        [drizzleKitBin, 'up', '--dialect', 'postgresql', '--out', converted],
        {
          encoding: 'utf8',
        },
      );
      expect(up.status, up.stderr || up.stdout).toBe(0);
      const ours = path.join(scratch, 'ours-kit-1');
      const names = writeDrizzleKit1Migrations(ours);
      expect(readdirSync(converted).sort()).toEqual(names);
      for (const name of names)
        expect(readFileSync(path.join(ours, name, 'migration.sql'))).toEqual(
          readFileSync(path.join(converted, name, 'migration.sql')),
        );
    },
  );
});
