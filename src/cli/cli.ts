#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConnectionError, MigrationError, ServerRequirementError } from '../base/errors.ts';
import { createDb, type DbHandle } from '../client/client.ts';
import {
  auditVerify,
  createLogin,
  maintain,
  printCitusPlan,
  rotateKey,
  runDistribute,
  runsReport,
} from './operator-commands.ts';
import { io, say } from './output.ts';
import { reset, runSeed, setUp, status } from './setup-commands.ts';

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
  maintain  create monthly partitions ahead of time, give tenants past the whole-tenant threshold
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

/** Runs `command` on the database the environment names, and closes it whatever happens. */
async function onDatabase(command: (handle: DbHandle) => Promise<void>): Promise<void> {
  const handle = createDb();
  try {
    await command(handle);
  } finally {
    await handle.close();
  }
}

/** A command called without what it needs: the usage, and exit code 2. */
function misused(): void {
  say(usage);
  io.exitCode = 2;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const positional = rest.find((arg) => !arg.startsWith('--'));
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
      return reset(rest.includes('--force'), appSeed);
    case 'citus':
      return onDatabase(printCitusPlan);
    case 'rotate-tenant-key': {
      const grace = option(rest, 'grace');
      const org = rest.find((arg) => !arg.startsWith('--') && arg !== grace);
      if (!org) return misused();
      return onDatabase((handle) => rotateKey(handle, org, Number(grace ?? 600)));
    }
    case 'distribute':
      return onDatabase(runDistribute);
    case 'create-login': {
      if (!positional) return misused();
      return onDatabase((handle) =>
        createLogin(handle, positional, rest.includes('--auth') ? 'auth' : 'app'),
      );
    }
    case 'ingest': {
      const { ingestUsage, runIngest } = await import('./ingest-cli.ts');
      if (rest.includes('--help')) return say(ingestUsage);
      return onDatabase((handle) => runIngest(handle, rest, say));
    }
    case 'reembed': {
      const { reembedUsage, runReembed } = await import('./reembed-cli.ts');
      if (rest.includes('--help') || rest.length === 0) return say(reembedUsage);
      return onDatabase((handle) => runReembed(handle, rest, say));
    }
    case 'runs':
      return onDatabase(runsReport);
    case 'audit':
      if (rest[0] !== 'verify') return misused();
      return onDatabase(auditVerify);
    case 'status':
      return onDatabase(status);
    case 'maintain':
      return onDatabase((handle) => maintain(handle, rest.includes('--watch')));
    case 'migrate':
      return setUp(false);
    case 'seed':
      return onDatabase((handle) => runSeed(handle, appSeed));
    case 'setup':
      return setUp({ appSeed });
    default:
      say(usage);
      if (command && command !== 'help' && command !== '--help') io.exitCode = 2;
  }
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
