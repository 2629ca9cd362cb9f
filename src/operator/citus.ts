import { ServerRequirementError } from '../base/errors.ts';
import type { DbHandle, RawSql } from '../client/client.ts';

export interface DistributionStep {
  table: string;
  /**
   * `session`: a setting the placement needs (for its transaction, or for the database where later
   * partitions and migrations need it too); `reference`: copied to
   * every node (global tables and organizations); `distributed`: sharded by `organization_id`;
   * `drop-constraint` / `add-constraint`: a foreign key of a table being placed, set aside while
   * the tables are placed and put back after.
   */
  kind: 'session' | 'reference' | 'distributed' | 'drop-constraint' | 'add-constraint';
  sql: string;
}

/**
 * Tenant tables sharded apart from the others, each list its own co-location group. The audit trail
 * is written by a definer function inside tenant scopes: Citus refuses, for the rest of a
 * transaction, a shard group one role wrote and another then touches, so the trail's shards must
 * not be the group the scope's own statements use. They keep no foreign key to other tenant tables.
 */
export const COLOCATION_GROUPS: readonly (readonly string[])[] = [
  ['audit_chain_heads', 'audit_logs'],
  ['agent_run_queues'],
];

/**
 * Tenant tables of one shard: the run queue's index of tenants, which every claim reads whole to
 * find the tenants with due runs. One shard keeps that read to one node, whatever the shard count.
 */
export const SINGLE_SHARD_TABLES: readonly string[] = ['agent_run_queues'];

/** The distribution column of every tenant table. */
export const TENANT_COLUMN = 'organization_id';

type Table = { name: string; tenant: boolean; placed: 'reference' | 'distributed' | null };
type Reference = { name: string; table: string; referenced: string; definition: string };

const SESSION_SETTINGS = [
  // Triggers are shard-safe by design (the Citus rules check guards it); Citus asks to be told.
  'SET LOCAL citus.enable_unsafe_triggers = on;',
  // One connection per node for the whole placement: foreign keys to reference tables are added in
  // the same transaction as the tables they join, which Citus allows only sequentially.
  "SET LOCAL citus.multi_shard_modify_mode = 'sequential';",
  "SET LOCAL citus.propagate_set_commands = 'local';",
  // The rows moved into the shards were checked where they were: their triggers must neither
  // rewrite them (updated_at, hashes) nor leave deferred checks that block the foreign keys' return.
  'SET LOCAL session_replication_role = replica;',
];

/** Whether the server has the citus extension (the catalog tables exist). */
async function hasCitus(sql: RawSql): Promise<boolean> {
  const [row] = await sql.query<{ citus: boolean }>(
    `select exists (select from pg_extension where extname = 'citus') as citus`,
  );
  return row?.citus === true;
}

async function readTables(sql: RawSql, citus: boolean): Promise<Table[]> {
  const placement = citus
    ? `(select case when p.partmethod = 'h' then 'distributed' when p.repmodel = 't' then 'reference' end
          from pg_dist_partition p where p.logicalrelid = c.oid)`
    : 'null';
  return sql.query<Table & Record<string, unknown>>(`
    select c.relname as name,
           c.relname <> 'organizations' and exists (
             select from pg_attribute a
             where a.attrelid = c.oid and a.attname = '${TENANT_COLUMN}' and not a.attisdropped
           ) as tenant,
           ${placement} as placed
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname`);
}

/**
 * The Citus plan for this schema, read from the catalog so tables added later are covered: global
 * tables and organizations become reference tables (on every node, so a tenant table's key to them
 * stays local), and every table with an `organization_id` is distributed by it, co-located with one
 * another (the audit trail in a group of its own: `COLOCATION_GROUPS`), so one tenant's rows share
 * a shard and every composite reference stays local. The
 * foreign keys of the tables being placed are set aside first and put back last: placing a table
 * that local tables still point at would drag their whole graph along, and cycles need no order.
 * Partitions follow their parent (now and later); indexes follow their table. On a server already
 * distributed, only tables not yet placed appear; an empty plan means there is nothing to do.
 */
export async function citusDistributionPlan(sql: RawSql): Promise<DistributionStep[]> {
  const tables = await readTables(sql, await hasCitus(sql));
  const placing = tables.filter((table) => table.placed === null);
  if (placing.length === 0) return [];
  const misplaced = tables.filter(
    (table) => table.placed !== null && table.placed !== (table.tenant ? 'distributed' : 'reference'),
  );
  if (misplaced.length > 0) {
    throw new ServerRequirementError(
      `already placed otherwise on Citus: ${misplaced.map((t) => `${t.name} (${t.placed}, expected ${t.tenant ? 'distributed' : 'reference'})`).join(', ')}; undistribute them first (undistribute_table)`,
    );
  }
  const [database] = await sql.query<{ name: string }>('select current_database() as name');
  const unplaced = new Set(placing.map((table) => table.name));
  const references = (
    await sql.query<Reference & Record<string, unknown>>(`
      select f.conname as name, c.relname as table, p.relname as referenced, pg_get_constraintdef(f.oid) as definition
      from pg_constraint f join pg_class c on c.oid = f.conrelid join pg_class p on p.oid = f.confrelid
      where f.contype = 'f' and f.conparentid = 0 and c.relnamespace = 'public'::regnamespace
      order by c.relname, f.conname`)
  ).filter((reference) => unplaced.has(reference.table) || unplaced.has(reference.referenced));
  // Each group co-located with its first distributed table (already placed, or the first placed now).
  const groupOf = (table: string) => COLOCATION_GROUPS.find((group) => group.includes(table)) ?? null;
  const anchorOf = (table: string) =>
    (
      tables.find((t) => t.tenant && t.placed === 'distributed' && groupOf(t.name) === groupOf(table)) ??
      placing.find((t) => t.tenant && groupOf(t.name) === groupOf(table))
    )?.name;
  const place = (table: Table): DistributionStep => {
    if (!table.tenant)
      return { table: table.name, kind: 'reference', sql: `SELECT create_reference_table('${table.name}');` };
    const anchor = anchorOf(table.name);
    // A group's first table starts a group of its own: by default Citus would join any group of the same shape.
    const colocateWith = anchor !== table.name ? anchor : 'none';
    return {
      table: table.name,
      kind: 'distributed',
      sql: `SELECT create_distributed_table('${table.name}', '${TENANT_COLUMN}', colocate_with => '${colocateWith}'${SINGLE_SHARD_TABLES.includes(table.name) ? ', shard_count => 1' : ''});`,
    };
  };
  return [
    ...SESSION_SETTINGS.map((text): DistributionStep => ({ table: '', kind: 'session', sql: text })),
    {
      table: '',
      kind: 'session',
      // Partitions made later (app_create_monthly_partition) and later migrations add triggers to distributed tables too.
      sql: `ALTER DATABASE "${(database?.name ?? '').replaceAll('"', '""')}" SET citus.enable_unsafe_triggers = on;`,
    },
    ...references.map(
      (r): DistributionStep => ({
        table: r.table,
        kind: 'drop-constraint',
        sql: `ALTER TABLE ${r.table} DROP CONSTRAINT ${r.name};`,
      }),
    ),
    // Reference tables first: distributed tables point at them, never the other way round.
    ...placing.filter((table) => !table.tenant).map(place),
    ...placing.filter((table) => table.tenant).map(place),
    { table: '', kind: 'session', sql: 'SET LOCAL session_replication_role = origin;' },
    ...references.map(
      (r): DistributionStep => ({
        table: r.table,
        kind: 'add-constraint',
        sql: `ALTER TABLE ${r.table} ADD CONSTRAINT ${r.name} ${r.definition};`,
      }),
    ),
  ];
}

export interface DistributionReport {
  /** Tables placed by this run, in order, with what became of them. */
  placed: { table: string; kind: 'reference' | 'distributed'; partitions: number }[];
  /** Foreign keys set aside and put back. */
  constraints: number;
  /** Tables that were already placed before this run. */
  alreadyPlaced: number;
  /** Worker nodes the tables are spread over. */
  workers: number;
  /** Co-location groups of the distributed tables (see `COLOCATION_GROUPS`). */
  colocationGroups: number;
  /** Each service role, and the workers it cannot log in to (empty: it reaches them all). */
  workerLogins: { role: string; unreachable: string[] }[];
}

/**
 * The roles statements run as on the coordinator (tenant scopes, definer functions, the Auth.js
 * pool): Citus opens its worker connections as the current role, so each must log in to every worker.
 */
export const SERVICE_ROLES = ['neonhub_app', 'neonhub_definer', 'neonhub_auth'] as const;

/**
 * Citus functions that run a statement of the caller's on other nodes, and the one that names a
 * transaction: with any of them a scope could open a worker transaction of its own, assign it the
 * distributed transaction id of another scope, and present that scope's ticket (which every
 * worker connection of the role can read). `distribute` takes them from PUBLIC on the coordinator.
 */
export const COMMAND_FUNCTIONS = [
  'run_command_on_workers(text, boolean)',
  'run_command_on_all_nodes(text, boolean, boolean)',
  'run_command_on_coordinator(text, boolean)',
  'run_command_on_shards(regclass, text, boolean)',
  'run_command_on_placements(regclass, text, boolean)',
  'run_command_on_colocated_placements(regclass, regclass, text, boolean)',
  'master_run_on_worker(text[], integer[], text[], boolean)',
  'assign_distributed_transaction_id(integer, bigint, timestamp with time zone)',
] as const;

/**
 * Functions that policies call and that read a reference table (scope_secrets, copied to every
 * node): Citus runs them inside shard queries only when marked for nested execution.
 */
export const NESTED_EXECUTION_FUNCTIONS = ['app_scope_subject(text)'] as const;

/**
 * What `distribute` does for the scope tickets besides placing tables: marks the function that
 * checks tickets for Citus's nested execution (on a worker it reads the node's copy of the
 * reference table scope_secrets from inside a shard query), takes the command functions from
 * PUBLIC, and takes from PUBLIC the languages a statement could write a function or DO block in
 * (a SET LOCAL inside one is forwarded to the workers with the whole text around it); the owner keeps them.
 */
export async function scopeHardening(sql: RawSql): Promise<string[]> {
  const [owner] = await sql.query<{ owner: string }>(
    `select pg_get_userbyid(relowner) as owner from pg_class where oid = 'public.organizations'::regclass`,
  );
  const ownerRole = `"${(owner?.owner ?? 'postgres').replaceAll('"', '""')}"`;
  return [
    ...NESTED_EXECUTION_FUNCTIONS.map(
      (fn) => `ALTER FUNCTION public.${fn} SET citus.allow_nested_distributed_execution = on;`,
    ),
    ...COMMAND_FUNCTIONS.map((fn) => `REVOKE EXECUTE ON FUNCTION pg_catalog.${fn} FROM PUBLIC;`),
    'REVOKE USAGE ON LANGUAGE plpgsql, sql FROM PUBLIC;',
    `GRANT USAGE ON LANGUAGE plpgsql, sql TO ${ownerRole};`,
  ];
}

/** Which workers each service role cannot open a connection to, as Citus itself opens them. */
export async function checkWorkerLogins(
  handle: Pick<DbHandle, 'dedicated'>,
): Promise<DistributionReport['workerLogins']> {
  const session = await handle.dedicated();
  try {
    const results: DistributionReport['workerLogins'] = [];
    for (const role of SERVICE_ROLES) {
      // distribute takes run_command_on_workers (and what it calls) from PUBLIC: lent for this check only.
      await session.exec(
        `BEGIN; GRANT EXECUTE ON FUNCTION pg_catalog.run_command_on_workers(text, boolean), pg_catalog.master_run_on_worker(text[], integer[], text[], boolean) TO ${role}; SET LOCAL ROLE ${role}`,
      );
      try {
        const rows = await session.query<{ node: string; success: boolean }>(
          `select nodename || ':' || nodeport as node, success from run_command_on_workers('select 1') order by 1`,
        );
        results.push({ role, unreachable: rows.filter((row) => !row.success).map((row) => row.node) });
      } finally {
        await session.exec('ROLLBACK');
      }
    }
    return results;
  } finally {
    await session.release();
  }
}

/**
 * Distributes this schema on the Citus coordinator `handle` points at, in one transaction (all or
 * nothing): see `citusDistributionPlan`. Refuses a server without Citus, or one without workers.
 * Idempotent: a second run places nothing. `onTable` hears each table as it is placed. Then checks
 * that every service role logs in to every worker (the DBA's part: see the README), and reports it.
 */
export async function distribute(
  handle: Pick<DbHandle, 'sql' | 'dedicated'>,
  options: { onTable?: (placed: DistributionReport['placed'][number]) => void } = {},
): Promise<DistributionReport> {
  if (!(await hasCitus(handle.sql))) {
    throw new ServerRequirementError(
      'distribute needs a Citus coordinator: this server has no citus extension (CREATE EXTENSION citus on every node, then add the workers with citus_add_node)',
    );
  }
  const [nodes] = await handle.sql.query<{ workers: number }>(
    'select count(*)::int as workers from citus_get_active_worker_nodes()',
  );
  const workers = nodes?.workers ?? 0;
  if (workers === 0) {
    throw new ServerRequirementError(
      'distribute needs worker nodes: this Citus coordinator has none active (add them with citus_add_node)',
    );
  }
  const session = await handle.dedicated();
  try {
    await session.exec('BEGIN');
    try {
      // Nobody else places tables meanwhile: two runs at once would both find them unplaced.
      await session.exec(`SELECT pg_advisory_xact_lock(hashtext('neonhub-db distribute'))`);
      const plan = await citusDistributionPlan(session);
      const tables = await readTables(session, true);
      const report: DistributionReport = {
        placed: [],
        constraints: plan.filter((step) => step.kind === 'add-constraint').length,
        alreadyPlaced: tables.filter((table) => table.placed !== null).length,
        workers,
        colocationGroups: 0,
        workerLogins: [],
      };
      for (const step of plan) {
        await session.exec(step.sql).catch((error: unknown) => {
          throw new ServerRequirementError(
            `Citus refused ${step.sql.replace(/;$/, '')}: ${(error as Error).message}`,
            { cause: error },
          );
        });
        if (step.kind === 'reference' || step.kind === 'distributed') {
          const [row] = await session.query<{ partitions: number }>(
            'select count(*)::int as partitions from pg_inherits where inhparent = $1::regclass',
            [step.table],
          );
          const placed = { table: step.table, kind: step.kind, partitions: row?.partitions ?? 0 };
          report.placed.push(placed);
          options.onTable?.(placed);
        }
      }
      for (const statement of await scopeHardening(session)) await session.exec(statement);
      const [groups] = await session.query<{ n: number }>(
        `select count(distinct colocationid)::int as n from pg_dist_partition p join pg_class c on c.oid = p.logicalrelid
         where p.partmethod = 'h' and c.relnamespace = 'public'::regnamespace`,
      );
      report.colocationGroups = groups?.n ?? 0;
      await session.exec('COMMIT');
      report.workerLogins = await checkWorkerLogins(handle);
      return report;
    } catch (error) {
      await session.exec('ROLLBACK').catch(() => {});
      throw error;
    }
  } finally {
    await session.release();
  }
}
