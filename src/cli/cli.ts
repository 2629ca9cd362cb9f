#!/usr/bin/env node
import { existsSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConnectionError, MigrationError, ServerRequirementError } from '../base/errors.ts';
import { createDb, type DbHandle, isLocalTarget } from '../client/client.ts';

// Each command imports what it uses when it runs: studio, drizzle-kit, Citus, the seeds and the
// domain APIs cost seconds of start-up on a busy machine, and most commands need none of them.

const usage = `neonhub-db <command>

  setup     migrate, then seed the demo organization (the quick start)
  migrate   apply pending migrations under an advisory lock
  seed      insert the demo data (idempotent)
  reset     drop everything, then setup (local databases only, unless --force)
  status    server and pgvector versions, applied and pending migrations
  studio    browse the database with Drizzle Studio (--port <n>, default 4983); --org <slug or id>
            shows one tenant as its scope sees it, whatever the login
  generate  drizzle-kit generate (--name <verb_noun>), plus the tenant hooks step for new tables
  check     drift check (drizzle-kit generate + check), then every tenant table of the migrations
            has forced RLS, its policy, its updated_at trigger and its neonhub_app grants, and every
            text column of a btree index a limit in bytes that keeps its entries within btree's
  maintain  create monthly partitions ahead of time, give tenants past the exact-search threshold
            their own vector index and drop those of tenants that shrank (run daily, or hourly);
            --watch then keeps running and builds them as searches ask (Ctrl-C stops)
  citus     print the SQL that distributes this schema on Citus by organization (dry run of distribute)
  distribute
            on a Citus coordinator: organizations and global tables become reference tables, every
            tenant table is distributed by organization_id (co-located); idempotent
  create-login <name> [--auth]
            create the role API services log in as (LOGIN, member of neonhub_app, nothing else);
            --auth: the Auth.js pool's login instead (member of neonhub_auth only);
            prints its password once (NEONHUB_LOGIN_PASSWORD sets it instead)
  rotate-tenant-key <slug or id> [--grace <seconds>]
            give an organization a new tenant key version from the key ring's active key; the old
            one keeps opening scopes for --grace seconds (default 600; 0: retired at once)
  ingest    load a JSONL file of documents into a dataset (bulk path, progress bar): ingest --help
  reembed   move a dataset to a new embedding space online (start, run, check, switch, rollback,
            drop): reembed --help
  audit verify
            check every organization's audit trail against the key ring (exit 1 on any finding)
  runs      the agent run queue per tenant and agent: queued, due, the oldest due run's wait,
            running, expired leases (needs the key ring, as workers do)

setup and seed also run an app's own seeds: --seed <module> (or NEONHUB_SEED), a module whose
default export receives { db, organizationId, ownerUserId } after the demo data.

Uses DATABASE_URL when set, else the embedded PostgreSQL in .data/ (NEONHUB_DATA_DIR overrides).`;

/** Where a run writes its lines and the code it ends with (see runCli). */
const io = {
  stdout: (text: string) => {
    process.stdout.write(text);
  },
  exitCode: 0,
};
const say = (line: string) => io.stdout(`${line}\n`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

function describe(handle: DbHandle): string {
  return handle.target.kind === 'server'
    ? `PostgreSQL at ${handle.target.display}`
    : `embedded PostgreSQL in ${path.relative(process.cwd(), handle.target.dataDir) || '.'}`;
}

async function runMigrate(handle: DbHandle): Promise<void> {
  const { migrate } = await import('../operator/migrate.ts');
  say(`migrating ${describe(handle)}`);
  if (handle.target.kind === 'embedded' && !existsSync(path.join(handle.target.dataDir, 'PG_VERSION')))
    say('  creating the embedded database (first run: a few seconds)');
  const result = await migrate(handle, {
    onProgress: (progress) => {
      if (progress.event === 'applied') {
        say(
          `  applied ${progress.migration} (${(progress.index ?? 0) + 1}/${progress.total}, ${Math.round(progress.ms ?? 0)} ms)`,
        );
      }
    },
  });
  say(
    result.applied.length === 0
      ? `  up to date (${result.alreadyApplied} migrations applied earlier)`
      : `  ${result.applied.length} applied, ${result.alreadyApplied} already there`,
  );
  const serviceKey = {
    registered: '  service key registered (person scopes and tenant key changes are proved with it)',
    present: '  service key present',
    'other key ring':
      '  warning: the service key was registered with another key ring: person scopes and key changes will be refused with this one',
    'no key ring':
      '  no key ring (NEONHUB_CREDENTIAL_KEYS): the service key is not registered yet; run migrate again with the ring before the first person scope',
    'no table yet': '  the service key waits for the migration that makes its table',
  }[result.serviceKey];
  say(serviceKey);
}

/** What an app's seed module (`--seed <module>` or NEONHUB_SEED) receives as its default export's argument. */
interface AppSeedContext {
  db: DbHandle['db'];
  organizationId: string;
  ownerUserId: string;
}

async function runSeed(handle: DbHandle, appSeed?: string): Promise<void> {
  const { seed } = await import('../seed/index.ts');
  say('seeding the demo organization');
  const started = performance.now();
  let domainStarted = started;
  let current = '';
  // Each domain's line is printed when it finishes, with its time, so a slow one shows which.
  const finishDomain = () => {
    if (current) say(`  ${current} (${seconds(domainStarted)})`);
  };
  const result = await seed(handle.db, {
    onDomain: (name) => {
      finishDomain();
      current = name;
      domainStarted = performance.now();
    },
  });
  finishDomain();
  const created = Object.entries(result.created).filter(([, count]) => count > 0);
  say(
    created.length === 0
      ? '  nothing new: the demo data is already there'
      : `  created ${created.map(([table, count]) => `${count} ${table}`).join(', ')}`,
  );
  say(`  demo organization ${result.organizationId}, owner user ${result.ownerUserId} (${seconds(started)})`);
  if (appSeed) {
    const appStarted = performance.now();
    say(`seeding the app: ${appSeed}`);
    const module = (await importAppModule(appSeed)) as { default?: unknown };
    if (typeof module.default !== 'function')
      throw new Error(
        `${appSeed} has no default export function (it receives { db, organizationId, ownerUserId })`,
      );
    const context: AppSeedContext = {
      db: handle.db,
      organizationId: result.organizationId,
      ownerUserId: result.ownerUserId,
    };
    await module.default(context);
    say(`  done (${seconds(appStarted)})`);
  }
}

/** Imports an app's module; a TypeScript one under the built CLI goes through the app's own tsx. */
async function importAppModule(file: string): Promise<unknown> {
  const url = pathToFileURL(path.resolve(file)).href;
  try {
    return await import(url);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    let tsxLoader: string;
    try {
      tsxLoader = createRequire(path.join(process.cwd(), 'package.json')).resolve('tsx/esm');
    } catch {
      throw new Error(
        `${file} is TypeScript: install tsx in the app (npm install -D tsx), or pass a .js module`,
      );
    }
    // Importing tsx/esm registers its loader hooks, as `node --import tsx/esm` does.
    await import(pathToFileURL(tsxLoader).href);
    // A new URL: the loader remembers the failed import of the first one.
    return import(`${url}?tsx`);
  }
}

async function status(handle: DbHandle): Promise<void> {
  const { planMigrations, readMigrations } = await import('../operator/migrate.ts');
  const [versions] = await handle.sql.query<{ server: string; vector: string | null }>(
    `select current_setting('server_version') as server, (select extversion from pg_extension where extname = 'vector') as vector`,
  );
  say(describe(handle));
  say(`  server ${versions?.server}, pgvector ${versions?.vector ?? 'not installed'}`);
  const journal = readMigrations();
  const [ledgerTable] = await handle.sql.query<{ exists: boolean }>(
    `select to_regclass('drizzle.__drizzle_migrations') is not null as exists`,
  );
  const ledger = ledgerTable?.exists
    ? await handle.sql.query<{ hash: string; created_at: string }>(
        'select hash, created_at from drizzle.__drizzle_migrations order by created_at',
      )
    : [];
  const pending = planMigrations(journal, ledger);
  say(`  migrations: ${ledger.length} applied, ${pending.length} pending`);
  for (const migration of pending) say(`    pending ${migration.tag}`);
}

// `public` as CREATE DATABASE makes it on PostgreSQL 15+: owned by pg_database_owner, usage for everyone.
const FRESH_PUBLIC_SCHEMA = [
  'drop schema if exists drizzle cascade',
  'drop schema public cascade',
  'create schema public authorization pg_database_owner',
  'grant usage on schema public to public',
  "comment on schema public is 'standard public schema'",
].join('; ');

async function reset(force: boolean, appSeed?: string): Promise<void> {
  let handle = createDb();
  if (!isLocalTarget(handle.target) && !force) {
    await handle.close();
    throw new Error(
      `refusing to reset ${describe(handle)}: not a local database (pass --force if you mean it)`,
    );
  }
  say(`resetting ${describe(handle)}`);
  if (handle.target.kind === 'embedded') {
    const { dataDir } = handle.target;
    await handle.close();
    rmSync(dataDir, { recursive: true, force: true });
    handle = createDb({ dataDir });
  } else {
    await handle.sql.exec(FRESH_PUBLIC_SCHEMA);
  }
  try {
    await runMigrate(handle);
    await runSeed(handle, appSeed);
  } finally {
    await handle.close();
  }
}

async function auditVerify(handle: DbHandle): Promise<void> {
  const [{ runtimeOf }, { verifyAllAuditChains }] = await Promise.all([
    import('../client/scope-runtime.ts'),
    import('../audit/audit.ts'),
  ]);
  // The ring every scope of this handle uses: the development ring only for a local target.
  const ring = runtimeOf(handle.db).keyRing();
  say(`verifying audit trails in ${describe(handle)} with key ring ${ring}`);
  const results = await verifyAllAuditChains(handle.db, ring);
  for (const { organizationId, report } of results) {
    say(
      report.reason === null
        ? `  ${organizationId}: ${report.checked} rows verified up to head ${report.head.seq}`
        : `  ${organizationId}: BROKEN at sequence ${report.firstBrokenSeq} (${report.reason}), ${report.checked} rows verified before it`,
    );
  }
  const structural = results[0]?.report.structural ?? [];
  for (const problem of structural) say(`  structure: ${problem}`);
  const failed = results.filter(({ report }) => !report.intact).length;
  say(
    failed === 0 ? `  ${results.length} trails intact` : `  ${failed} of ${results.length} trails not intact`,
  );
  if (failed > 0) io.exitCode = 1;
}

async function runDistribute(handle: DbHandle): Promise<void> {
  const { distribute } = await import('../operator/citus.ts');
  say(`distributing ${describe(handle)} by organization`);
  const started = performance.now();
  const report = await distribute(handle, {
    onTable: ({ table, kind, partitions }) =>
      say(
        `  ${table}: ${kind === 'reference' ? 'reference table (every node)' : 'distributed by organization_id'}${partitions > 0 ? `, with its ${partitions} partitions` : ''}`,
      ),
  });
  const reference = report.placed.filter((table) => table.kind === 'reference').length;
  say(
    report.placed.length === 0
      ? `  nothing to do: all ${report.alreadyPlaced} tables are already placed on ${report.workers} workers`
      : `  ${reference} reference tables, ${report.placed.length - reference} distributed tables by organization_id in ${report.colocationGroups} co-location groups on ${report.workers} workers; ${report.constraints} foreign keys set aside and restored${report.alreadyPlaced > 0 ? `; ${report.alreadyPlaced} tables were already placed` : ''} (${seconds(started)})`,
  );
  const blocked = report.workerLogins.filter((login) => login.unreachable.length > 0);
  for (const { role, unreachable } of report.workerLogins)
    say(
      unreachable.length === 0
        ? `  ${role} logs in to every worker`
        : `  ${role} cannot log in to ${unreachable.join(', ')}: give it a worker login and a pg_dist_authinfo row (README, Scale-out on Citus)`,
    );
  if (blocked.length > 0) io.exitCode = 1;
}

/** The value after `--<name>` (or `--<name>=value`), if given. */
function option(args: string[], name: string): string | undefined {
  const inline = args.find((arg) => arg.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

function studioPort(args: string[]): number {
  const value = option(args, 'port') ?? process.env.STUDIO_PORT ?? '4983';
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`--port ${value}: not a TCP port (1 to 65535)`);
  return port;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const force = rest.includes('--force');
  const appSeed = option(rest, 'seed') ?? process.env.NEONHUB_SEED;
  switch (command) {
    case 'check': {
      const { check, checkMigratedCatalog } = await import('./cli-drizzle-kit.ts');
      say('drift check');
      check();
      return checkMigratedCatalog();
    }
    case 'generate': {
      const { generate } = await import('./cli-drizzle-kit.ts');
      return generate(rest, option(rest, 'name'));
    }
    case 'studio': {
      const port = studioPort(rest);
      const { studio } = await import('./studio.ts');
      return studio(port, option(rest, 'org'));
    }
    case 'reset':
      return reset(force, appSeed);
    case 'citus': {
      const { citusDistributionPlan, scopeHardening } = await import('../operator/citus.ts');
      const handle = createDb();
      try {
        const plan = await citusDistributionPlan(handle.sql);
        if (plan.length === 0) say('-- every table is already placed on Citus: nothing to do');
        const hardening = await scopeHardening(handle.sql);
        for (const line of ['BEGIN;', ...plan.map((step) => step.sql), ...hardening, 'COMMIT;']) say(line);
      } finally {
        await handle.close();
      }
      return;
    }
    case 'rotate-tenant-key': {
      const org = rest.find((arg) => !arg.startsWith('--') && arg !== option(rest, 'grace'));
      if (!org) {
        say(usage);
        process.exitCode = 2;
        return;
      }
      const grace = Number(option(rest, 'grace') ?? 600);
      const { organizationIdOf, rotateTenantKey } = await import('../identity/organizations.ts');
      const handle = createDb();
      try {
        const organizationId = await organizationIdOf(handle.db, org);
        const { version } = await rotateTenantKey(handle.db, organizationId, { graceSeconds: grace });
        say(
          `organization ${organizationId}: tenant key version ${version}; the earlier one ${grace === 0 ? 'is retired' : `retires in ${grace} s`}`,
        );
      } finally {
        await handle.close();
      }
      return;
    }
    case 'distribute': {
      const handle = createDb();
      try {
        await runDistribute(handle);
      } finally {
        await handle.close();
      }
      return;
    }
    case 'create-login': {
      const name = rest.find((arg) => !arg.startsWith('--'));
      if (!name) {
        say(usage);
        io.exitCode = 2;
        return;
      }
      const { createServiceLogin, hideParametersSql, parametersHiddenFromLogs } = await import(
        '../operator/logins.ts'
      );
      const handle = createDb();
      try {
        const role = rest.includes('--auth') ? 'auth' : 'app';
        const password = await createServiceLogin(handle, name, process.env.NEONHUB_LOGIN_PASSWORD, { role });
        say(`created login ${name} on ${describe(handle)}: a member of neonhub_${role}, nothing else`);
        if (!process.env.NEONHUB_LOGIN_PASSWORD) say(`  password (shown once): ${password}`);
        if (!(await parametersHiddenFromLogs(handle, name))) {
          say(
            `  its bind parameters may reach the server log: a superuser runs once: ${hideParametersSql(name)};`,
          );
        }
      } finally {
        await handle.close();
      }
      return;
    }
    case 'ingest': {
      const { ingestUsage, runIngest } = await import('./ingest-cli.ts');
      if (rest.includes('--help')) {
        say(ingestUsage);
        return;
      }
      const handle = createDb();
      try {
        return await runIngest(handle, rest, say);
      } finally {
        await handle.close();
      }
    }
    case 'reembed': {
      const { reembedUsage, runReembed } = await import('./reembed-cli.ts');
      if (rest.includes('--help') || rest.length === 0) {
        say(reembedUsage);
        return;
      }
      const handle = createDb();
      try {
        return await runReembed(handle, rest, say);
      } finally {
        await handle.close();
      }
    }
    case 'runs': {
      const handle = createDb();
      try {
        return await runsReport(handle);
      } finally {
        await handle.close();
      }
    }
    case 'audit': {
      if (rest[0] !== 'verify') {
        say(usage);
        io.exitCode = 2;
        return;
      }
      const handle = createDb();
      try {
        return await auditVerify(handle);
      } finally {
        await handle.close();
      }
    }
    case 'setup':
    case 'migrate':
    case 'seed':
    case 'status':
    case 'maintain': {
      const handle = createDb();
      try {
        if (command === 'status') return await status(handle);
        if (command === 'maintain') {
          const [{ ensurePartitions }, { maintainTenantIndexes }] = await Promise.all([
            import('../operator/partitions.ts'),
            import('../rag/tenant-indexes.ts'),
          ]);
          say(`maintaining ${describe(handle)}`);
          say(`  ${await ensurePartitions(handle.db)} partitions created`);
          const indexes = await maintainTenantIndexes(handle);
          say(
            `  tenant vector indexes: ${indexes.built.length} built, ${indexes.dropped.length} dropped${indexes.busy ? ' (another maintainer was at work on some)' : ''}`,
          );
          if (rest.includes('--watch')) await watchUntilStopped(handle);
          return;
        }
        if (command !== 'seed') await runMigrate(handle);
        if (command !== 'migrate') await runSeed(handle, appSeed);
      } finally {
        await handle.close();
      }
      return;
    }
    default:
      say(usage);
      if (command && command !== 'help' && command !== '--help') io.exitCode = 2;
  }
}

/** `maintain --watch`: tenant indexes built as searches ask, until SIGINT or SIGTERM. */
async function watchUntilStopped(handle: DbHandle): Promise<void> {
  const { watchTenantIndexes } = await import('../rag/tenant-indexes.ts');
  const watch = await watchTenantIndexes(handle, {
    onMaintained: ({ spaceId, built, dropped }) => {
      if (built.length + dropped.length > 0)
        say(
          `  space ${spaceId}: built ${built.join(', ') || 'none'}; dropped ${dropped.join(', ') || 'none'}`,
        );
    },
  });
  say('  watching for tenants that need a vector index of their own (Ctrl-C stops)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await watch.stop();
}

/** The run queue, one line per tenant and agent with runs queued or running. */
async function runsReport(handle: DbHandle): Promise<void> {
  const { runQueueDepth } = await import('../agents/run-claims.ts');
  const depth = await runQueueDepth(handle.db);
  say(`agent run queue on ${describe(handle)}`);
  if (depth.length === 0) {
    say('  nothing queued or running');
    return;
  }
  const now = Date.now();
  const rows = depth.map((d) => [
    d.organizationSlug,
    d.agentSlug,
    String(d.queued),
    String(d.due),
    d.oldestDueAt ? `${Math.max(0, Math.round((now - d.oldestDueAt.getTime()) / 1000))} s` : '-',
    String(d.running),
    String(d.expiredLeases),
  ]);
  const header = ['organization', 'agent', 'queued', 'due', 'oldest due', 'running', 'expired leases'];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  for (const row of [header, ...rows])
    say(
      `  ${row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}`,
    );
  const sum = (pick: (d: (typeof depth)[number]) => number) => depth.reduce((total, d) => total + pick(d), 0);
  say(
    `  ${sum((d) => d.queued)} queued (${sum((d) => d.due)} due), ${sum((d) => d.running)} running, ${sum((d) => d.expiredLeases)} expired leases`,
  );
}

const known = [ConnectionError, ServerRequirementError, MigrationError];

/**
 * Runs one command (`argv` without the program name) and returns its exit code: lines go to
 * `stdout`, a failure is one line on `stderr`. What `neonhub-db` runs; tests run it in their process.
 */
export async function runCli(
  argv: string[],
  output: { stdout?: (text: string) => void; stderr?: (text: string) => void } = {},
): Promise<number> {
  const stderr = output.stderr ?? ((text: string) => process.stderr.write(text));
  if (output.stdout) io.stdout = output.stdout;
  io.exitCode = 0;
  try {
    await main(argv);
    return io.exitCode;
  } catch (error) {
    const expected = known.some((kind) => error instanceof kind) || error instanceof Error;
    const message = error instanceof Error ? error.message : String(error);
    stderr(`neonhub-db: ${message.split('\n')[0]}\n`);
    if (process.env.NEONHUB_DEBUG && expected) stderr(`${(error as Error).stack}\n`);
    return 1;
  } finally {
    io.stdout = (text) => {
      process.stdout.write(text);
    };
  }
}

// Run as a program (`tsx src/cli/cli.ts`, the bin): the process exits with the command's code.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url))
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
