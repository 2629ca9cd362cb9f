import { MigrationError, MigrationLedgerError } from '../base/errors.ts';
import type { DbHandle, RawSql } from '../client/client.ts';
import { driverOf } from '../client/drizzle-internals.ts';
import { runtimeOf } from '../client/scope-runtime.ts';
import { insideTransactionOf } from '../embedded/embedded-guard.ts';
import type { KeyRing } from '../security/key-ring.ts';
import { hmacPads, padsMatch, serviceKey } from '../security/tenant-keys.ts';
import {
  defaultMigrationsFolder,
  type Migration,
  readMigrations,
  writeDrizzleKit1Migrations,
} from './migration-files.ts';
import { checkServerRequirements } from './server-requirements.ts';

export {
  checkServerRequirements,
  defaultMigrationsFolder,
  type Migration,
  readMigrations,
  writeDrizzleKit1Migrations,
};

// Any fixed key works as long as every migrator of this schema uses the same one.
const MIGRATION_LOCK_KEY = 7_232_114_001;

export interface MigrateProgress {
  event: 'locked' | 'applying' | 'applied';
  migration?: string;
  index?: number;
  total?: number;
  ms?: number;
}

export interface MigrateOptions {
  migrationsFolder?: string;
  /**
   * How long a migration statement may wait for a table lock before the migration fails (and is
   * rolled back): waiting longer would queue every query behind it. Default 30 s.
   */
  lockTimeoutMs?: number;
  onProgress?: (progress: MigrateProgress) => void;
  /** The key ring the service key is derived from. Default: the handle's (`createDb({ keys })`, else the environment's). */
  keys?: KeyRing;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
  /**
   * The service key person scopes and tenant key changes are proved with: `registered` by this run,
   * already `present` for this ring, registered under an `other key ring`, or not registered for
   * want of a key ring (`no key ring`: run migrate again with NEONHUB_CREDENTIAL_KEYS) or of the
   * table that holds it (`no table yet`: a folder that stops before the scope_key_tables migration).
   */
  serviceKey: 'registered' | 'present' | 'other key ring' | 'no key ring' | 'no table yet';
}

/** A ledger row; `name` exists once drizzle-orm 1.0's migrator has upgraded the ledger. */
export type LedgerRow = { hash: string; created_at: string | number | null; name?: string | null };

/**
 * Compares what the database has applied with the journal and returns what is pending, or refuses:
 * an applied migration that was edited, one the journal does not know, or a pending one older than
 * the newest applied one (drizzle-kit's migrator would skip it silently). A row is matched by its
 * `name` when it has one (drizzle-orm 1.0 records `created_at` to the second only), else by
 * `created_at` (drizzle-orm 0.45 and this migrator record the journal's `when`).
 */
export function planMigrations(journal: Migration[], ledger: LedgerRow[]): Migration[] {
  const byCreatedAt = new Map(journal.map((migration) => [migration.createdAt, migration]));
  const byName = new Map(journal.map((migration) => [migration.name, migration]));
  const applied = new Set<number>();
  for (const row of ledger) {
    const known = row.name ? byName.get(row.name) : byCreatedAt.get(Number(row.created_at));
    if (!known) {
      throw new MigrationLedgerError(
        `the database has a migration applied that this package does not know (${row.name ? `name ${row.name}` : `created_at ${row.created_at}`}); deploy the package version that wrote it, or newer`,
      );
    }
    const createdAt = known.createdAt;
    if (applied.has(createdAt)) {
      throw new MigrationLedgerError(
        `the ledger (drizzle.__drizzle_migrations) lists migration ${known.tag} more than once; a migrator without a lock ran it twice: check the schema, then delete the extra row`,
        known.tag,
      );
    }
    if (known.hash !== row.hash) {
      throw new MigrationLedgerError(
        `migration ${known.tag} was edited after it was applied (its hash differs from the ledger); shipped migrations are immutable: revert the edit and add a new migration`,
        known.tag,
      );
    }
    applied.add(createdAt);
  }
  const newestApplied = Math.max(0, ...applied);
  const pending = journal.filter((migration) => !applied.has(migration.createdAt));
  const outOfOrder = pending.find((migration) => migration.createdAt < newestApplied);
  if (outOfOrder) {
    const newest = journal.find((migration) => migration.createdAt === newestApplied);
    throw new MigrationLedgerError(
      `migration ${outOfOrder.tag} is older than the newest applied migration ${newest?.tag ?? newestApplied} and was never applied; regenerate it after the applied ones (drizzle-kit generate) instead of applying it out of order`,
      outOfOrder.tag,
    );
  }
  return pending;
}

/**
 * The ledger's rows, with `name` once drizzle-orm 1.0's migrator has added that column (`named`);
 * none when there is no ledger yet.
 */
export async function readLedger(
  session: Pick<RawSql, 'query'>,
): Promise<{ rows: (LedgerRow & { id: number })[]; named: boolean }> {
  const [shape] = await session.query<{ exists: boolean; named: boolean }>(
    `select to_regclass('drizzle.__drizzle_migrations') is not null as exists,
       exists (select from pg_attribute where attrelid = to_regclass('drizzle.__drizzle_migrations')
               and attname = 'name' and not attisdropped) as named`,
  );
  if (!shape?.exists) return { rows: [], named: false };
  const rows = await session.query<LedgerRow & { id: number }>(
    `select id, hash, created_at${shape.named ? ', name' : ''} from drizzle.__drizzle_migrations order by created_at`,
  );
  return { rows, named: shape.named };
}

/**
 * Names the rows of a named ledger that a migrator of drizzle-orm 0.45 added without one, which
 * drizzle-orm 1.0's migrator would otherwise run again (it identifies applied migrations by name only).
 */
async function nameUnnamedRows(session: RawSql, journal: Migration[], rows: (LedgerRow & { id: number })[]) {
  const byCreatedAt = new Map(journal.map((migration) => [migration.createdAt, migration]));
  for (const row of rows) {
    const known = row.name ? undefined : byCreatedAt.get(Number(row.created_at));
    if (known)
      await session.query('update drizzle.__drizzle_migrations set name = $1 where id = $2', [
        known.name,
        row.id,
      ]);
  }
}

/** Statements that end or split the transaction a migration runs in. */
const TRANSACTION_CONTROL =
  /^(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i;

/** SQL with comments, string literals, quoted identifiers and dollar-quoted bodies blanked out. */
function codeOnly(sql: string): string {
  return sql.replace(
    /--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|"(?:[^"]|"")*"|(\$[A-Za-z_]*\$)[\s\S]*?\1/g,
    (match) => (match.startsWith('--') || match.startsWith('/*') ? ' ' : "''"),
  );
}

/**
 * The first transaction-control statement (BEGIN, COMMIT, ROLLBACK, SAVEPOINT...) outside function
 * bodies, or undefined. The migrator runs each migration in one transaction of its own: a COMMIT
 * inside would make part of it permanent even when a later statement fails.
 */
export function findTransactionControl(sql: string): string | undefined {
  let atomicBody = false;
  for (const part of codeOnly(sql).split(';')) {
    const statement = part.trim();
    // A `BEGIN ATOMIC ... END` function body holds statements of its own.
    if (/\bbegin\s+atomic\b/i.test(statement)) atomicBody = true;
    else if (atomicBody && /^end\b/i.test(statement)) atomicBody = false;
    else if (!atomicBody && TRANSACTION_CONTROL.test(statement))
      return statement.split(/\s+/).slice(0, 2).join(' ');
  }
  return undefined;
}

const firstLine = (statement: string) =>
  statement
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.startsWith('--'))
    ?.slice(0, 120) ?? '';

/**
 * Applies pending migrations under a PostgreSQL advisory lock, each in its own transaction, using
 * drizzle's own ledger (`drizzle.__drizzle_migrations`) so `drizzle-kit migrate` stays usable.
 * Concurrent callers wait for the lock and then find nothing left to do. Then the database's own
 * secrets: the ticket secret if it has none, and the service key of the key ring.
 */
export function migrate(handle: DbHandle, options: MigrateOptions = {}): Promise<MigrateResult> {
  return underMigrationLock(handle, options, async (session, applied) => {
    await ensureTicketSecret(session);
    const serviceKey = await registerServiceKey(
      session,
      () => options.keys ?? runtimeOf(handle.db).keys.keyRing(),
    );
    return { ...applied, serviceKey };
  });
}

/**
 * The schema alone, without any secret of this database: what a cluster copied to many databases
 * holds (src/operator/migrated-cluster.ts), each of which then gets its own from `migrate`.
 */
export function migrateSchema(
  handle: DbHandle,
  options: MigrateOptions = {},
): Promise<Omit<MigrateResult, 'serviceKey'>> {
  return underMigrationLock(handle, options, async (session, applied) => {
    await session.exec(
      `do $$ begin if to_regclass('public.scope_secrets') is not null then delete from public.scope_secrets; end if; end $$`,
    );
    return applied;
  });
}

async function underMigrationLock<T>(
  handle: DbHandle,
  options: MigrateOptions,
  then: (session: RawSql, applied: Omit<MigrateResult, 'serviceKey'>) => Promise<T>,
): Promise<T> {
  const journal = readMigrations(options.migrationsFolder);
  // The embedded database serves one transaction at a time: called from inside one of them, the
  // migrator would wait for it to end, and it waits for the migrator. Other transactions of the
  // process end by themselves, and a slow start is only slow: both are waited for.
  if (insideTransactionOf(driverOf(handle.db)))
    throw new MigrationError(
      'migrate was called inside a transaction of the same embedded database (withTenant or db.transaction), which it would wait for forever: call it outside; nothing was applied',
    );
  const session = await handle.dedicated();
  try {
    await checkServerRequirements(session);
    await session.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    options.onProgress?.({ event: 'locked' });
    try {
      await session.exec(
        'create schema if not exists drizzle; create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)',
      );
      const { rows: ledger, named } = await readLedger(session);
      const pending = planMigrations(journal, ledger);
      if (named) await nameUnnamedRows(session, journal, ledger);
      for (const migration of pending) {
        const control = findTransactionControl(migration.statements.join(';\n'));
        if (control) {
          throw new MigrationError(
            `migration ${migration.tag} contains transaction control (${control}); each migration runs in one transaction of its own, so nothing was applied: remove it (split the migration instead)`,
            migration.tag,
          );
        }
      }
      const applied: string[] = [];
      for (const [index, migration] of pending.entries()) {
        const started = performance.now();
        options.onProgress?.({ event: 'applying', migration: migration.tag, index, total: pending.length });
        await applyOne(session, migration, named, options.lockTimeoutMs ?? 30_000);
        applied.push(migration.tag);
        options.onProgress?.({
          event: 'applied',
          migration: migration.tag,
          index,
          total: pending.length,
          ms: performance.now() - started,
        });
      }
      return await then(session, { applied, alreadyApplied: ledger.length });
    } finally {
      await session.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await session.release();
  }
}

/**
 * The secret scope tickets are sealed with, as the scope_tickets migration makes it (256 bits from
 * the server's strong random source), for a database that has none: one copied from a cluster
 * made without it. A database that has one keeps it, so tickets in flight stay valid.
 */
async function ensureTicketSecret(session: RawSql): Promise<void> {
  await session.exec(`do $$ begin
    if to_regclass('public.scope_secrets') is not null then
      if not exists (select from public.scope_secrets where name = 'ticket') then
        insert into public.scope_secrets (name, verifier)
        select 'ticket', public.app_hmac_pads(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')))
        on conflict (name) do nothing;
      end if;
    end if;
  end $$`);
}

/**
 * The service key (person scopes, tenant key changes) is derived from the key ring, and only the
 * migrating role may register what checks it: a statement in a scope can never choose it. Without a
 * ring (a deploy that has no keys) nothing is registered, and person scopes say how to fix it.
 */
async function registerServiceKey(
  session: RawSql,
  ringOf: () => KeyRing,
): Promise<MigrateResult['serviceKey']> {
  let ring: KeyRing;
  try {
    ring = ringOf();
  } catch {
    return 'no key ring';
  }
  const [table] = await session.query<{ exists: boolean }>(
    `select to_regclass('public.scope_secrets') is not null as exists`,
  );
  if (!table?.exists) return 'no table yet';
  const keyId = ring.activeKeyId;
  const added = await session.query(
    `insert into public.scope_secrets (name, key_id, verifier) values ('service', $1, $2)
     on conflict (name) do nothing returning name`,
    [keyId, hmacPads(serviceKey(ring, keyId))],
  );
  if (added.length > 0) return 'registered';
  const [registered] = await session.query<{ key_id: string; verifier: Uint8Array }>(
    `select key_id, verifier from public.scope_secrets where name = 'service'`,
  );
  if (!registered || !ring.has(registered.key_id)) return 'other key ring';
  return padsMatch(registered.verifier, serviceKey(ring, registered.key_id)) ? 'present' : 'other key ring';
}

async function applyOne(
  session: RawSql,
  migration: Migration,
  named: boolean,
  lockTimeoutMs: number,
): Promise<void> {
  await session.exec(`begin; set local lock_timeout = ${Math.max(0, Math.floor(lockTimeoutMs))}`);
  // On a distributed database one migration's DDL and grants reach many shards of several tables,
  // which Citus refuses in parallel inside one transaction: run them one after the other.
  const [citus] = await session.query<{ installed: boolean }>(
    `select exists (select from pg_extension where extname = 'citus') as installed`,
  );
  if (citus?.installed) await session.exec(`set local citus.multi_shard_modify_mode = 'sequential'`);
  let current = '';
  try {
    for (const statement of migration.statements) {
      current = statement;
      await session.exec(statement);
    }
    await (named
      ? session.query(
          'insert into drizzle.__drizzle_migrations (hash, created_at, name) values ($1, $2, $3)',
          [migration.hash, migration.createdAt, migration.name],
        )
      : session.query('insert into drizzle.__drizzle_migrations (hash, created_at) values ($1, $2)', [
          migration.hash,
          migration.createdAt,
        ]));
    await session.exec('commit');
  } catch (error) {
    await session.exec('rollback').catch(() => {});
    // PostgreSQL's hint often says what to do (which privilege, which extension): keep it.
    const hint = (error as { hint?: unknown }).hint;
    const reason = `${error instanceof Error ? error.message : String(error)}${typeof hint === 'string' && hint ? ` (hint: ${hint})` : ''}`;
    throw new MigrationError(
      `migration ${migration.tag} failed and was rolled back, at: ${firstLine(current)}: ${reason}`,
      migration.tag,
      current,
      error,
    );
  }
}
