import { randomBytes } from 'node:crypto';
import { createDb, type DbHandle } from '../../src/client/client.ts';
import { SERVICE_ROLES } from '../../src/operator/citus.ts';

/** A Citus coordinator with workers, as `CITUS_URL` names it; unset: the Citus suite is skipped. */
export const citusUrl = process.env.CITUS_URL;

/**
 * The password the suite gives the service roles' worker logins (README, "Scale-out on Citus").
 * Fixed, so databases of earlier runs and of other suites on the same test cluster keep working.
 */
export const WORKER_LOGIN_PASSWORD = 'neonhub-suite-worker-login';

interface Node {
  host: string;
  port: number;
}

/** The same login (user and password) on another node and database of the cluster. */
function nodeUrl(base: string, node: Node, database: string): string {
  const url = new URL(base);
  url.hostname = node.host;
  url.port = String(node.port);
  url.pathname = `/${database}`;
  return url.toString();
}

/** One statement per call on a connection of its own: CREATE/DROP DATABASE refuse a transaction block. */
async function onNode(base: string, node: Node, database: string, statements: string[]): Promise<void> {
  const handle = createDb({ url: nodeUrl(base, node, database), max: 1 });
  try {
    const session = await handle.dedicated();
    try {
      for (const statement of statements) await session.exec(statement);
    } finally {
      await session.release();
    }
  } finally {
    await handle.close();
  }
}

/** DROP DATABASE on one node, again for a few seconds while Citus' background connections let go of it. */
async function dropOnNode(base: string, node: Node, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await onNode(base, node, 'postgres', [
        'SET citus.enable_create_database_propagation = off',
        `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`,
      ]);
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt === 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

export interface ClusterDatabase {
  name: string;
  url: string;
  workers: Node[];
  /** The database's handle on the coordinator (opened lazily, closed by `drop`). */
  handle: DbHandle;
  drop(): Promise<void>;
}

/**
 * A fresh database on every node of the cluster `CITUS_URL` names, as a DBA makes one: created on
 * each node, extensions citus, vector, pg_trgm and btree_gin on each, then the coordinator's host and the
 * workers registered on the coordinator.
 */
export async function createClusterDatabase(base: string): Promise<ClusterDatabase> {
  const admin = createDb({ url: base, max: 1 });
  let workers: Node[];
  let coordinator: Node;
  try {
    workers = await admin.sql.query<Node & Record<string, unknown>>(
      `select nodename as host, nodeport as port from pg_dist_node
       where groupid <> 0 and noderole = 'primary' and isactive order by nodeport, nodename`,
    );
    const [registered] = await admin.sql.query<Node & Record<string, unknown>>(
      `select nodename as host, nodeport as port from pg_dist_node where groupid = 0`,
    );
    const url = new URL(base);
    coordinator = registered ?? { host: url.hostname, port: Number(url.port || 5432) };
  } finally {
    await admin.close();
  }
  if (workers.length === 0)
    throw new Error(`CITUS_URL names a coordinator without active workers (${new URL(base).host})`);
  const name = `neonhub_suite_${randomBytes(5).toString('hex')}`;
  const nodes = [...workers, coordinator];
  // Each node on its own: with propagation the coordinator would also try to create it on the workers.
  for (const node of nodes)
    await onNode(base, node, 'postgres', [
      'SET citus.enable_create_database_propagation = off',
      `CREATE DATABASE ${name}`,
    ]);
  for (const node of nodes)
    await onNode(base, node, name, [
      'CREATE EXTENSION citus',
      'CREATE EXTENSION vector',
      'CREATE EXTENSION pg_trgm',
      'CREATE EXTENSION btree_gin',
    ]);
  await onNode(base, coordinator, name, [
    `SELECT citus_set_coordinator_host('${coordinator.host}', ${coordinator.port})`,
    ...workers.map((worker) => `SELECT citus_add_node('${worker.host}', ${worker.port})`),
  ]);
  const url = nodeUrl(base, coordinator, name);
  const handle = createDb({ url, max: 8 });
  return {
    name,
    url,
    workers,
    handle,
    drop: async () => {
      await handle.close();
      // The coordinator first: its maintenance daemon would otherwise reconnect to the workers' copies.
      for (const node of [coordinator, ...workers]) await dropOnNode(base, node, name);
    },
  };
}

/**
 * Waits for, and holds until `release()`, the cluster's one turn among the suite's Citus files (they
 * run in parallel, each with databases of its own): two databases migrated or distributed at once
 * collide in what the workers share, their roles ("tuple concurrently updated" on a GRANT to
 * neonhub_app). The lock is taken in CITUS_URL's database, which every file reaches.
 */
export async function holdClusterTurn(): Promise<{ release(): Promise<void> }> {
  const admin = createDb({ url: citusUrl ?? '', max: 1 });
  const session = await admin.dedicated();
  await session.query('select pg_advisory_lock($1)', [CLUSTER_TURN_KEY]);
  return {
    release: async () => {
      await session.query('select pg_advisory_unlock($1)', [CLUSTER_TURN_KEY]).catch(() => {});
      await session.release();
      await admin.close();
    },
  };
}

const CLUSTER_TURN_KEY = 7_232_114_077;

/**
 * The DBA's part, as the README says: each service role may log in (ALTER ROLE on the
 * coordinator, which Citus copies to every worker, and copies again whenever it propagates the
 * role), and the coordinator finds its password in pg_dist_authinfo (nodeid 0: every node).
 */
export async function setUpWorkerLogins(database: ClusterDatabase): Promise<void> {
  await database.handle.sql.exec(
    SERVICE_ROLES.flatMap((role) => [
      `ALTER ROLE ${role} LOGIN PASSWORD '${WORKER_LOGIN_PASSWORD}'`,
      `INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES (0, '${role}', 'password=${WORKER_LOGIN_PASSWORD}') ON CONFLICT DO NOTHING`,
    ]).join('; '),
  );
}

/** Lets a login the suite creates reach the workers too (a service login that leaves its scope). */
export async function authorizeLoginOnWorkers(
  database: ClusterDatabase,
  login: string,
  password: string,
): Promise<void> {
  await database.handle.sql.exec(
    `INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES (0, '${login}', 'password=${password}')`,
  );
}

/** A login's URL on the node that holds `organizationId`'s shard of `table`, and that shard's name. */
export async function shardPlacement(
  database: ClusterDatabase,
  table: string,
  organizationId: string,
  login: { user: string; password: string },
): Promise<{ url: string; shard: string }> {
  const [placement] = await database.handle.sql.query<{ shard: string; host: string; port: number }>(
    `select $1 || '_' || s.shardid as shard, n.nodename as host, n.nodeport as port
     from pg_dist_shard s join pg_dist_placement p on p.shardid = s.shardid join pg_dist_node n on n.groupid = p.groupid
     where s.shardid = get_shard_id_for_distribution_column($1, $2::uuid)`,
    [table, organizationId],
  );
  if (!placement) throw new Error(`no placement of ${table} for ${organizationId}`);
  const url = new URL(nodeUrl(database.url, placement, database.name));
  url.username = login.user;
  url.password = login.password;
  return { url: url.toString(), shard: placement.shard };
}
