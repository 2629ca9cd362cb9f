import { randomBytes } from 'node:crypto';
import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentRunStats,
  finishRun,
  listAgentRuns,
  listToolExecutions,
  markRunStarted,
  recordToolExecution,
  startRun,
} from '../src/agents/agent-runs.ts';
import { createAgent, createTool, grantTool, publishAgentConfig } from '../src/agents/agents.ts';
import { claimRuns, finishClaimedRuns } from '../src/agents/run-claims.ts';
import { enqueueRuns } from '../src/agents/run-queue.ts';
import { recordAudit, verifyAuditChain } from '../src/audit/audit.ts';
import { DatabaseError, isRetryable } from '../src/base/errors.ts';
import { createDb, type Database, type DbHandle, rowsOf, type Transaction } from '../src/client/client.ts';
import { runtimeOf } from '../src/client/scope-runtime.ts';
import { withTenant } from '../src/client/tenant.ts';
import { appendMessage, contextWindow, listMessages } from '../src/domains/chat.ts';
import { campaignMetricSeries, upsertMetricPoints } from '../src/domains/metrics.ts';
import { createApiKey, verifyApiKey } from '../src/identity/api-keys.ts';
import { createOrganization, listUserOrganizations } from '../src/identity/organizations.ts';
import {
  checkWorkerLogins,
  citusDistributionPlan,
  type DistributionReport,
  distribute,
} from '../src/operator/citus.ts';
import { createServiceLogin } from '../src/operator/logins.ts';
import { migrate } from '../src/operator/migrate.ts';
import { bulkIngest } from '../src/rag/bulk-ingest.ts';
import { createDataset } from '../src/rag/datasets.ts';
import { registerEmbeddingSpace } from '../src/rag/embedding-spaces.ts';
import { ingestDocument } from '../src/rag/ingest.ts';
import { hybridSearch, searchChunks } from '../src/rag/search.ts';
import { ensureTenantIndexes } from '../src/rag/tenant-indexes.ts';
import { startReembedding } from '../src/reembedding/reembedding.ts';
import { reembed } from '../src/reembedding/reembedding-run.ts';
import { rollbackReembedding, switchReembedding } from '../src/reembedding/reembedding-switch.ts';
import { agentConfigs, agents, brands, brandVoices } from '../src/schema/index.ts';
import {
  localEmbedder,
  localEmbeddingSpace,
  NEXT_LOCAL_EMBEDDING_SPACE,
  nextLocalEmbedder,
} from '../src/seed/brand.ts';
import { type SeedResult, seed } from '../src/seed/index.ts';
import { midScopeSettingAttacks, roleAttacks } from './support/attacks.ts';
import {
  authorizeLoginOnWorkers,
  type ClusterDatabase,
  citusUrl,
  createClusterDatabase,
  holdClusterTurn,
  setUpWorkerLogins,
  shardPlacement,
  WORKER_LOGIN_PASSWORD,
} from './support/citus-cluster.ts';
import { useTestDatabase } from './support/database.ts';
import { expectExactlyOnce, killWorkersMidRun, queueAgent } from './support/run-queue-processes.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';
import { openingStatement } from './support/tickets.ts';

const say = (line: string) => console.log(`[citus-cluster] ${line}`);
if (!citusUrl)
  say(
    'the cluster suite is skipped: CITUS_URL is not set (a Citus coordinator with workers added, e.g. postgres://postgres:<password>@127.0.0.1:9700/neonhub); the refusal of a server without Citus runs here',
  );

/** One server, set up like the cluster's database: the reference every API path is compared with. */
const plain = useTestDatabase();

describe('distribute on a server without Citus', () => {
  it('refuses with a message naming what is missing, and changes nothing', async () => {
    const handle = plain.current;
    const before = await handle.sql.query<{ n: number }>(
      `select count(*)::int as n from pg_constraint where connamespace = 'public'::regnamespace`,
    );
    const error = await distribute(handle).catch((caught: unknown) => caught as Error);
    say(`without Citus: ${String(error)}`);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(/distribute needs a Citus coordinator: this server has no citus extension/);
    expect(
      await handle.sql.query(
        `select count(*)::int as n from pg_constraint where connamespace = 'public'::regnamespace`,
      ),
    ).toEqual(before);
    // The dry run still prints the whole plan there.
    expect((await citusDistributionPlan(handle.sql)).length).toBeGreaterThan(0);
  });
});

// Through pg_class, which Citus filters: the coordinator's own shard placements stay out of the count.
const FOREIGN_KEYS = `select count(*)::int as n from pg_constraint f join pg_class c on c.oid = f.conrelid
  where f.contype = 'f' and c.relnamespace = 'public'::regnamespace and f.conparentid = 0`;

type Tenants = { acme: SeedResult; globex: SeedResult };

/** Rows as an API path returns them, without what differs between two databases by nature (new ids, clock times). */
function stable(value: unknown): unknown {
  if (value instanceof Date) return 'date';
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (
        /^(id|.*Id|createdAt|updatedAt|key|prefix|scopeKey|lastUsedAt|keyPrefix|hash|prevHash|seal|seq)$/.test(
          key,
        )
      )
        continue;
      out[key] = typeof item === 'number' && !Number.isInteger(item) ? Number(item.toFixed(4)) : stable(item);
    }
    return out;
  }
  return value;
}

const first = async <T>(rows: Promise<T[]>): Promise<T> => {
  const [row] = await rows;
  if (!row) throw new Error('expected a row');
  return row;
};

/**
 * Every API path once, for acme (globex stays untouched, as the other tenant), in the order a
 * service would use them. Returns each path's result without ids and clock times.
 */
async function apiPaths(
  db: Database,
  tenants: Tenants,
  options: { onPath?: (name: string) => void; crossTenant?: Database } = {},
): Promise<Record<string, unknown>> {
  const onPath = options.onPath ?? (() => {});
  const org = tenants.acme.organizationId;
  const owner = tenants.acme.ownerUserId;
  const ring = runtimeOf(db).keys.keyRing();
  const space = await localEmbeddingSpace(db);
  const inAcme = <T>(fn: (tx: Transaction) => Promise<T>) => withTenant(db, org, fn);
  const out: Record<string, unknown> = {};
  const run = async (name: string, call: () => Promise<unknown>) => {
    onPath(name);
    // A refusal is a result too: compared with one server's, it names the path that fails.
    out[name] = await call().catch((error: Error) => ({ refused: error.message }));
    onPath('lookup');
  };
  await run('withTenantReads', () =>
    inAcme(async (tx) =>
      rowsOf(
        await tx.execute(sql`
        select (select count(*)::int from brands where organization_id = ${org}) as brands,
               (select count(*)::int from datasets where organization_id = ${org}) as datasets,
               (select count(*)::int from chunks where organization_id = ${org}) as chunks,
               (select count(*)::int from conversations where organization_id = ${org}) as conversations,
               (select count(*)::int from campaign_metrics where organization_id = ${org}) as metric_points,
               (select string_agg(name, ',' order by name) from brands where organization_id = ${org}) as brand_names`),
      ),
    ),
  );
  const dataset = await inAcme((tx) =>
    first(
      tx
        .execute(sql`select id from datasets where organization_id = ${org} order by slug limit 1`)
        .then((result) => rowsOf<{ id: string }>(result)),
    ),
  );
  await run('ingestDocument', () =>
    inAcme((tx) =>
      ingestDocument(tx, {
        datasetId: dataset.id,
        document: { title: 'Shard routing notes' },
        chunks: [
          { content: 'every tenant statement names its organization so Citus routes it to one shard' },
          { content: 'reference tables hold organizations and people on every node' },
          { content: 'the zorblax launch plan stays inside its own tenant' },
        ],
        embedder: localEmbedder,
      }),
    ),
  );
  const query = { spaceId: space.id, text: 'zorblax launch plan shard', embedder: localEmbedder, k: 5 };
  await run('searchChunks', () => inAcme((tx) => searchChunks(tx, query)));
  // Equal lexical ranks are ordered by chunk id, and ids differ between two databases: the hits, by content.
  await run('hybridSearch', async () =>
    (await inAcme((tx) => hybridSearch(tx, query))).hits
      .map(({ content, distance, documentTitle }) => ({ content, distance, documentTitle }))
      .sort((a, b) => a.content.localeCompare(b.content)),
  );
  const conversation = await inAcme((tx) =>
    first(
      tx
        .execute(
          sql`select id from conversations where organization_id = ${org} order by created_at, id limit 1`,
        )
        .then((result) => rowsOf<{ id: string }>(result)),
    ),
  );
  await run('appendMessage', () =>
    inAcme((tx) =>
      appendMessage(tx, {
        conversationId: conversation.id,
        role: 'user',
        content: [{ type: 'text', text: 'Does this stay on one shard?' }],
      }),
    ),
  );
  await run('listMessages', () => inAcme((tx) => listMessages(tx, conversation.id, { limit: 50 })));
  await run('contextWindow', () => inAcme((tx) => contextWindow(tx, conversation.id, 3)));
  const metric = await inAcme((tx) =>
    first(
      tx
        .execute(sql`select campaign_id, channel, metric from campaign_metrics
                     where organization_id = ${org} order by campaign_id, channel, metric limit 1`)
        .then((result) => rowsOf<{ campaign_id: string; channel: string; metric: string }>(result)),
    ),
  );
  const points = [0, 1, 25].map((hour) => ({
    campaignId: metric.campaign_id,
    channel: metric.channel as 'email',
    metric: metric.metric,
    bucket: new Date(Date.UTC(2026, 10, 20, hour)),
    value: 10 + hour,
  }));
  await run('upsertMetricPoints', () => inAcme((tx) => upsertMetricPoints(tx, points)));
  await run('campaignMetricSeries', () =>
    inAcme((tx) =>
      campaignMetricSeries(tx, {
        campaignId: metric.campaign_id,
        metric: metric.metric,
        from: new Date(Date.UTC(2026, 10, 19)),
        to: new Date(Date.UTC(2026, 10, 23)),
        grain: 'day',
        timeZone: 'UTC',
      }),
    ),
  );
  onPath('createApiKey');
  const created = await inAcme((tx) =>
    createApiKey(tx, { name: 'cluster', scopes: ['campaigns:read'], createdByUserId: owner }),
  );
  out.createApiKey = created.apiKey;
  await run('verifyApiKey', async () => {
    const verified = await verifyApiKey(db, created.key);
    return { ...verified, resolvesItsTenant: verified.ok && verified.organizationId === org };
  });
  await run('recordAudit', () =>
    inAcme((tx) =>
      recordAudit(tx, ring, {
        actorType: 'user',
        actorId: owner,
        action: 'brand.updated',
        targetType: 'brand',
        targetId: 'cluster',
      }),
    ),
  );
  await run('verifyAuditChain', () => inAcme((tx) => verifyAuditChain(tx, ring)));
  await run(
    'createOrganization',
    async () =>
      (await createOrganization(db, { slug: 'initech', name: 'Initech', ownerUserId: owner })).organization,
  );
  // A person's organizations across tenants: the one path that reads every shard.
  await run('listUserOrganizations', async () =>
    (await listUserOrganizations(options.crossTenant ?? db, owner)).sort((x, y) =>
      x.slug.localeCompare(y.slug),
    ),
  );
  return Object.fromEntries(Object.entries(out).map(([path, result]) => [path, stable(result)]));
}

/** A statement as the driver sent it, with its parameters back in place (for EXPLAIN in a scope). */
function withParameters(text: string, parameters: unknown[]): SQL {
  const parts: SQL[] = [];
  let last = 0;
  for (const match of text.matchAll(/\$(\d+)/g)) {
    parts.push(sql.raw(text.slice(last, match.index)));
    parts.push(sql`${parameters[Number(match[1]) - 1]}`);
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(sql.raw(text.slice(last)));
  return sql.join(parts, sql.raw(''));
}

/**
 * Runs `work` again once when it fails retryably: after worker sessions were ended under them (the
 * attacks do), a coordinator backend fails once on the worker connection it cached, as a service's
 * would after a worker restart, and Citus drops that connection.
 */
async function retriedOnce<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isRetryable(error)) throw error;
    say(`retried once after: ${(error as Error).message}`);
    return work();
  }
}

describe.skipIf(!citusUrl)('on a Citus cluster (CITUS_URL)', () => {
  let cluster: ClusterDatabase;
  let tenants: Tenants;
  let firstRun: DistributionReport;
  let secondRun: DistributionReport;
  let keysBefore: number;
  let turn: Awaited<ReturnType<typeof holdClusterTurn>> | undefined;

  beforeAll(async () => {
    if (!citusUrl) return;
    turn = await holdClusterTurn();
    cluster = await createClusterDatabase(citusUrl);
    say(`fresh database ${cluster.name} on the coordinator and ${cluster.workers.length} workers`);
    const { handle } = cluster;
    await migrate(handle);
    await setUpWorkerLogins(cluster);
    for (const db of [handle.db, plain.current.db]) {
      await seed(db);
      tenants = await seedAcmeAndGlobex(db);
    }
    [keysBefore] = (await handle.sql.query<{ n: number }>(FOREIGN_KEYS)).map((row) => row.n) as [number];
    firstRun = await distribute(handle);
    secondRun = await distribute(handle);
    const reference = firstRun.placed.filter((table) => table.kind === 'reference').length;
    say(
      `distribute: ${reference} reference tables, ${firstRun.placed.length - reference} distributed tables on ${firstRun.workers} workers, ${firstRun.constraints} foreign keys set aside and restored; second run placed ${secondRun.placed.length} (${secondRun.alreadyPlaced} already placed)`,
    );
  }, 600_000);

  afterAll(async () => {
    await cluster?.drop();
    await turn?.release();
  });

  it('places every table, keeps every foreign key, and a second run does nothing', async () => {
    const { sql: raw } = cluster.handle;
    const unplaced = await raw.query<{ name: string }>(`
      select c.relname as name from pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
        and not exists (select from pg_dist_partition p where p.logicalrelid = c.oid)`);
    expect(unplaced.map((row) => row.name)).toEqual([]);
    const kinds = await raw.query<{ name: string; kind: string; colocation: number }>(`
      select c.relname as name, case when p.partmethod = 'h' then 'distributed' else 'reference' end as kind,
             p.colocationid as colocation
      from pg_dist_partition p join pg_class c on c.oid = p.logicalrelid
      where c.relnamespace = 'public'::regnamespace and not c.relispartition`);
    expect(kinds.find((row) => row.name === 'organizations')?.kind).toBe('reference');
    expect(kinds.find((row) => row.name === 'users')?.kind).toBe('reference');
    const colocations = new Set(
      kinds.filter((row) => row.kind === 'distributed').map((row) => row.colocation),
    );
    // Three groups: the audit trail's, the run queue's index of tenants (one shard), and every other tenant table's.
    const audit = kinds.filter((row) => row.name.startsWith('audit_')).map((row) => row.colocation);
    expect(colocations.size).toBe(3);
    const [queueShards] = await raw.query<{ n: number }>(
      `select count(*)::int as n from pg_dist_shard where logicalrelid = 'agent_run_queues'::regclass`,
    );
    expect(queueShards?.n).toBe(1);
    expect(new Set(audit).size).toBe(1);
    expect(kinds.filter((row) => row.kind === 'distributed' && audit.includes(row.colocation)).length).toBe(
      2,
    );
    const [keysAfter] = await raw.query<{ n: number }>(FOREIGN_KEYS);
    expect(keysAfter?.n).toBe(keysBefore);
    expect(firstRun.placed.length).toBe(kinds.length);
    expect(secondRun.placed).toEqual([]);
    expect(secondRun.alreadyPlaced).toBe(kinds.length);
    expect(await citusDistributionPlan(raw)).toEqual([]);
    for (const login of firstRun.workerLogins) expect(login.unreachable, login.role).toEqual([]);
    // Control: without its pg_dist_authinfo row a role is reported, worker by worker.
    await raw.exec(`delete from pg_dist_authinfo where rolename = 'neonhub_auth'`);
    const missing = await checkWorkerLogins(cluster.handle);
    await setUpWorkerLogins(cluster);
    expect(missing.find((login) => login.role === 'neonhub_auth')?.unreachable).toHaveLength(
      cluster.workers.length,
    );
    expect(missing.find((login) => login.role === 'neonhub_app')?.unreachable).toEqual([]);
    say(
      `placed: ${kinds.length} tables (${kinds.filter((row) => row.kind === 'distributed').length} distributed in ${colocations.size} co-location groups: the audit trail's 2 tables, the run queue's index of one shard and the other tenant tables), ${keysAfter?.n} of ${keysBefore} foreign keys there after; service roles reach every worker: ${firstRun.workerLogins.map((login) => login.role).join(', ')}`,
    );
  });

  it('builds per-tenant vector indexes on the distributed chunks, on every shard', async () => {
    const { handle } = cluster;
    const space = await localEmbeddingSpace(handle.db);
    let started = performance.now();
    const built = await ensureTenantIndexes(handle, { spaceId: space.id, minRows: 1 });
    const onCluster = performance.now() - started;
    started = performance.now();
    await ensureTenantIndexes(plain.current, { spaceId: space.id, minRows: 1 });
    const onServer = performance.now() - started;
    const [shards] = await handle.sql.query<{
      shards: number;
      with_tenant_index: number;
      with_space_index: number;
    }>(`
      select count(*)::int as shards,
             count(*) filter (where split_part(result, ',', 1)::int > 0)::int as with_tenant_index,
             count(*) filter (where split_part(result, ',', 2)::int > 0)::int as with_space_index
      from run_command_on_shards('chunks', $cmd$
        select count(*) filter (where indexdef like '%%USING hnsw%%' and indexdef like '%%organization_id =%%') || ',' ||
               count(*) filter (where indexdef like '%%USING hnsw%%' and indexdef not like '%%organization_id =%%')
        from pg_indexes where tablename = '%s' $cmd$)`);
    // What a tenant index costs on Citus: built on every shard, empty on those without the tenant's rows.
    const [placed] = await handle.sql.query<{
      indexes: number;
      bytes: number;
      idle: number;
      idle_bytes: number;
    }>(`
      select sum(split_part(result, ',', 1)::int)::int as indexes, sum(split_part(result, ',', 2)::bigint)::float8 as bytes,
             sum(split_part(result, ',', 3)::int)::int as idle, sum(split_part(result, ',', 4)::bigint)::float8 as idle_bytes
      from run_command_on_shards('chunks', $cmd$
        with own as (
          select pg_relation_size(i.indexrelid) as bytes,
                 exists (select from %1$s x where x.organization_id =
                   substring(pg_get_indexdef(i.indexrelid) from 'organization_id = ''([0-9a-f-]{36})''')::uuid) as holds
          from pg_index i where i.indrelid = '%1$s'::regclass and pg_get_indexdef(i.indexrelid) like '%%organization_id =%%')
        select count(*) || ',' || coalesce(sum(bytes), 0) || ',' || count(*) filter (where not holds) || ',' ||
               coalesce(sum(bytes) filter (where not holds), 0)
        from own $cmd$)`);
    const kib = (bytes: number | undefined) => `${Math.round(Number(bytes ?? 0) / 1024)} KiB`;
    say(
      `vector indexes: ${built.length} per-tenant HNSW indexes built after distribute in ${onCluster.toFixed(0)} ms (one server: ${onServer.toFixed(0)} ms); on ${shards?.with_tenant_index} of ${shards?.shards} chunks shards, a shared per-space one on ${shards?.with_space_index}; ${placed?.indexes} shard indexes, ${kib(placed?.bytes)}, of which ${placed?.idle} (${kib(placed?.idle_bytes)}) on shards holding none of their tenant's rows`,
    );
    expect(built.length).toBeGreaterThanOrEqual(2);
    expect(shards?.with_tenant_index).toBe(shards?.shards);
    // Chunks are searched through tenant indexes only.
    expect(shards?.with_space_index).toBe(0);
  });

  it('every API path returns what it returns on one server, each statement on one shard; EXPLAIN shows one task', async () => {
    // Citus refuses any statement that would run on more than one shard in this handle.
    const statements: { path: string; text: string; parameters: unknown[] }[] = [];
    let path = '';
    const strict = createDb({
      url: `${cluster.url}?citus.multi_task_query_log_level=error`,
      max: 4,
      onStatement: (text, parameters) => {
        if (path && /^\s*(select|insert|update|delete|with)\b/i.test(text))
          statements.push({ path, text, parameters: parameters ?? [] });
      },
    });
    try {
      const expected = await apiPaths(plain.current.db, tenants);
      const onCluster = await apiPaths(strict.db, tenants, {
        onPath: (name) => {
          path = name;
        },
        crossTenant: cluster.handle.db,
      });
      path = '';
      const differing = Object.keys(expected).filter(
        (name) => JSON.stringify(onCluster[name]) !== JSON.stringify(expected[name]),
      );
      const refusal = (name: string) => (onCluster[name] as { refused?: string } | undefined)?.refused;
      say(
        `API paths: ${Object.keys(expected).length} compared with one server, ${differing.length} differ${differing.length ? `: ${differing.map((name) => `${name}${refusal(name) ? ` (${refusal(name)})` : ''}`).join('; ')}` : ''}`,
      );
      // EXPLAIN of every statement the hot paths sent, in the tenant's scope, with its parameters.
      const hot = statements.filter((statement) =>
        /^(withTenantReads|searchChunks|hybridSearch|listMessages|contextWindow|campaignMetricSeries|appendMessage|ingestDocument|upsertMetricPoints|verifyApiKey|recordAudit)$/.test(
          statement.path,
        ),
      );
      const tasks: { path: string; tasks: number[] }[] = [];
      // A statement whose CTEs Citus plans as subplans is explained by running them, on a connection
      // of its own that needs assign_distributed_transaction_id, which the scope hardening keeps from
      // neonhub_app: the owner explains it (its routing depends on its text, not on the role).
      let explainedByOwner = 0;
      const explain = async (statement: (typeof statements)[number]) => {
        const text = sql`explain ${withParameters(statement.text, statement.parameters)}`;
        const planOf = (rows: unknown) =>
          rowsOf<{ 'QUERY PLAN': string }>(rows).map((row) => row['QUERY PLAN']);
        try {
          return await withTenant(strict.db, tenants.acme.organizationId, async (tx) =>
            planOf(await tx.execute(text)),
          );
        } catch (error) {
          if (!/assign_distributed_transaction_id/.test((error as Error).message))
            return [`refused: ${(error as Error).message}`];
          explainedByOwner++;
          return planOf(await cluster.handle.db.execute(text));
        }
      };
      for (const statement of hot) {
        const plan = await explain(statement);
        tasks.push({
          path: statement.path,
          tasks: plan.flatMap((line) => /Task Count: (\d+)/.exec(line)?.slice(1).map(Number) ?? []),
        });
      }
      const routed = tasks.filter((entry) => entry.tasks.length > 0);
      const fannedOut = routed.filter((entry) => entry.tasks.some((n) => n !== 1));
      const byPath = new Map<string, number>();
      for (const entry of routed) byPath.set(entry.path, (byPath.get(entry.path) ?? 0) + 1);
      say(
        `EXPLAIN: ${hot.length} statements of ${new Set(hot.map((s) => s.path)).size} hot paths; ${routed.length} through Citus, all "Task Count: 1": ${fannedOut.length === 0} (${[...byPath].map(([name, n]) => `${name} ${n}`).join(', ')}); ${hot.length - routed.length} run on the coordinator only (functions, reference lookups); ${explainedByOwner} explained by the owner`,
      );
      for (const name of Object.keys(expected)) expect(onCluster[name], name).toEqual(expected[name]);
      expect(fannedOut).toEqual([]);
      for (const name of [
        'withTenantReads',
        'searchChunks',
        'hybridSearch',
        'listMessages',
        'contextWindow',
        'campaignMetricSeries',
      ])
        expect(byPath.get(name) ?? 0, name).toBeGreaterThan(0);
    } finally {
      await strict.close();
    }
  });

  it('a refusal names the table and constraint callers know, as one server does, never a shard', async () => {
    const org = tenants.acme.organizationId;
    const refusals: Record<string, (tx: Transaction) => Promise<unknown>> = {
      unique: async (tx) => {
        const [taken] = await tx.select().from(brands).where(sql`organization_id = ${org}`).limit(1);
        return tx.insert(brands).values({ organizationId: org, slug: taken?.slug ?? '', name: 'Again' });
      },
      check: (tx) =>
        tx.execute(sql`insert into brands (organization_id, slug, name) values (${org}, 'Not A Slug', 'x')`),
      'foreign key': (tx) =>
        tx.execute(
          sql`insert into conversations (organization_id, brand_id) values (${org}, ${crypto.randomUUID()})`,
        ),
    };
    const named = async (db: Database) => {
      const out: Record<string, unknown> = {};
      for (const [name, refusal] of Object.entries(refusals)) {
        out[name] = await withTenant(db, org, refusal).then(
          () => 'accepted',
          (error: unknown) =>
            error instanceof DatabaseError
              ? { kind: error.kind, table: error.table, constraint: error.constraint, message: error.message }
              : String(error),
        );
      }
      return out;
    };
    const onCluster = await named(cluster.handle.db);
    const onServer = await named(plain.current.db);
    say(
      `refusals: ${Object.entries(onCluster)
        .map(
          ([name, found]) =>
            `${name} -> ${(found as DatabaseError).table}/${(found as DatabaseError).constraint}`,
        )
        .join(', ')}`,
    );
    expect(onCluster).toEqual(onServer);
    expect(Object.values(onServer).every((found) => typeof found === 'object')).toBe(true);
    expect(JSON.stringify(onCluster)).not.toMatch(/_\d{6,}/);
  });

  it('a scope writes tenant rows before and after recordAudit; only reading the trail after it is refused', async () => {
    const ring = runtimeOf(cluster.handle.db).keys.keyRing();
    const org = tenants.acme.organizationId;
    const entry = { actorType: 'system', action: 'brand.updated', targetType: 'brand' } as const;
    const touch = (tx: Transaction) =>
      tx.update(brands).set({ description: 'touched' }).where(sql`organization_id = ${org}`);
    const readTrail = (tx: Transaction) =>
      tx.execute(sql`select seq from audit_logs where organization_id = ${org} limit 1`);
    const shapes: Record<string, (tx: Transaction) => Promise<unknown>> = {
      'audit alone': (tx) => recordAudit(tx, ring, { ...entry, targetId: 'alone' }),
      'write, then audit': async (tx) => {
        await touch(tx);
        return recordAudit(tx, ring, { ...entry, targetId: 'after' });
      },
      'audit, then write': async (tx) => {
        await recordAudit(tx, ring, { ...entry, targetId: 'before' });
        return touch(tx);
      },
      'write, audit, write': async (tx) => {
        await touch(tx);
        await recordAudit(tx, ring, { ...entry, targetId: 'between' });
        return touch(tx);
      },
      'audit, then read the trail': async (tx) => {
        await recordAudit(tx, ring, { ...entry, targetId: 'read' });
        return readTrail(tx);
      },
      'read the trail, then audit': async (tx) => {
        await readTrail(tx);
        return recordAudit(tx, ring, { ...entry, targetId: 'read first' });
      },
    };
    const outcomes = async (db: Database) => {
      const out: Record<string, string> = {};
      for (const [name, shape] of Object.entries(shapes))
        out[name] = await withTenant(db, org, shape).then(
          () => 'ok',
          (error: Error) => error.message,
        );
      return out;
    };
    const onCluster = await outcomes(cluster.handle.db);
    const onServer = await outcomes(plain.current.db);
    const after = await withTenant(cluster.handle.db, org, (tx) => verifyAuditChain(tx, ring));
    say(
      `audit in a writing scope: ${JSON.stringify(onCluster)} (one server: all ok: ${Object.values(onServer).every((o) => o === 'ok')}); chain after: intact ${after.intact}, ${after.checked} rows`,
    );
    // Citus refuses, for the rest of a transaction, a shard a definer function wrote and the scope's role then reads.
    const { 'audit, then read the trail': refused, ...others } = onCluster;
    expect(refused).toMatch(/modified in this transaction by a different user/);
    expect(Object.values(others).every((o) => o === 'ok')).toBe(true);
    expect(Object.values(onServer).every((o) => o === 'ok')).toBe(true);
    expect(after.intact).toBe(true);
  });

  it('a scope ingests a document and finds it with hybridSearch in the same transaction, as on one server', async () => {
    const org = tenants.acme.organizationId;
    const shape = async (db: Database) => {
      const space = await localEmbeddingSpace(db);
      return withTenant(db, org, async (tx) => {
        const [dataset] = rowsOf<{ id: string }>(
          await tx.execute(sql`select id from datasets where organization_id = ${org} order by slug limit 1`),
        );
        await ingestDocument(tx, {
          datasetId: dataset?.id ?? '',
          document: { title: 'Same transaction' },
          chunks: [{ content: 'the quazzle rollout ships inside one transaction' }],
          embedder: localEmbedder,
        });
        const { hits } = await hybridSearch(tx, {
          spaceId: space.id,
          text: 'quazzle rollout',
          embedder: localEmbedder,
          k: 3,
        });
        return hits.map((hit) => ({ content: hit.content, lexicalRank: hit.lexicalRank }));
      });
    };
    const onCluster = await shape(cluster.handle.db);
    const onServer = await shape(plain.current.db);
    say(`ingest then hybridSearch in one scope: ${JSON.stringify(onCluster[0])}`);
    expect(onCluster[0]).toEqual({
      content: 'the quazzle rollout ships inside one transaction',
      lexicalRank: 1,
    });
    expect(onCluster).toEqual(onServer);
  });

  it('an agent is created, publishes configs, runs and records its tool calls through the API, as on one server, each statement on one shard', async () => {
    const org = tenants.acme.organizationId;
    // Citus refuses any statement that would run on more than one shard in this handle.
    const strict = createDb({ url: `${cluster.url}?citus.multi_task_query_log_level=error`, max: 4 });
    const lifecycle = async (db: Database) => {
      const inAcme = <T>(fn: (tx: Transaction) => Promise<T>) => withTenant(db, org, fn);
      const tool = await inAcme((tx) =>
        createTool(tx, {
          key: 'shard_lookup',
          name: 'Shard lookup',
          description: 'Finds the shard of a tenant',
          kind: 'builtin',
          inputSchema: { type: 'object' },
        }),
      );
      const created = await inAcme((tx) =>
        createAgent(tx, {
          slug: 'shard-router',
          name: 'Shard router',
          kind: 'research',
          config: { model: 'gpt-4o-mini', systemPrompt: 'Route statements.' },
        }),
      );
      const { agent } = created;
      const published = await inAcme((tx) =>
        publishAgentConfig(tx, agent.id, { model: 'gpt-4o', systemPrompt: 'Route every statement.' }),
      );
      // Publishers in scopes of their own at once: distinct, consecutive versions.
      const parallel = await Promise.all(
        [1, 2, 3].map((i) =>
          inAcme((tx) =>
            publishAgentConfig(
              tx,
              agent.id,
              { model: 'gpt-4o', systemPrompt: `Draft ${i}.` },
              { makeCurrent: false },
            ),
          ),
        ),
      );
      await inAcme((tx) => grantTool(tx, agent.id, tool.id, { maxCallsPerRun: 5 }));
      const start = { agentId: agent.id, trigger: 'api', idempotencyKey: 'shard-run' } as const;
      const first = await inAcme((tx) => startRun(tx, start));
      const retry = await inAcme((tx) => startRun(tx, start));
      const { run } = first;
      await inAcme((tx) => markRunStarted(tx, run.id));
      const firstCall = await inAcme((tx) =>
        recordToolExecution(tx, { runId: run.id, toolId: tool.id, toolCallId: 'call_0', input: { q: 'a' } }),
      );
      // Parallel tool calls of one run: distinct, gap-free sequence numbers.
      await Promise.all(
        [1, 2, 3].map((i) =>
          inAcme((tx) =>
            recordToolExecution(tx, {
              runId: run.id,
              toolId: tool.id,
              toolCallId: `call_${i}`,
              status: 'succeeded',
              output: { hits: i },
              latencyMs: 10 * i,
            }),
          ),
        ),
      );
      const finished = await inAcme((tx) =>
        finishRun(tx, run.id, {
          status: 'succeeded',
          output: { answer: 'one shard' },
          promptTokens: 100,
          completionTokens: 20,
          costAmount: '0.0012',
          model: 'gpt-4o',
          latencyMs: 250,
        }),
      );
      const window = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 3_600_000) };
      const read = await inAcme(async (tx) => ({
        configs: await tx
          .select({
            id: agentConfigs.id,
            version: agentConfigs.version,
            systemPrompt: agentConfigs.systemPrompt,
          })
          .from(agentConfigs)
          .where(and(eq(agentConfigs.organizationId, org), eq(agentConfigs.agentId, agent.id)))
          .orderBy(asc(agentConfigs.version)),
        current: (
          await tx
            .select({ currentConfigId: agents.currentConfigId })
            .from(agents)
            .where(and(eq(agents.organizationId, org), eq(agents.id, agent.id)))
        )[0]?.currentConfigId,
        executions: await listToolExecutions(tx, run.id),
        runs: (await listAgentRuns(tx, agent.id, window)).runs,
        stats: await agentRunStats(tx, agent.id, window),
      }));
      return { created, published, parallel, first, retry, firstCall, finished, read };
    };
    let onCluster: Awaited<ReturnType<typeof lifecycle>>;
    try {
      onCluster = await lifecycle(strict.db);
    } finally {
      await strict.close();
    }
    const onServer = await lifecycle(plain.current.db);
    const { created, published, parallel, first, retry, finished, read } = onCluster;
    say(
      `agents: configs ${read.configs.map((c) => c.version).join(',')} (current ${read.configs.find((c) => c.id === read.current)?.version}), run ${finished.status} with tool calls ${read.executions.map((e) => `${e.toolCallId}#${e.sequence}`).join(', ')}`,
    );
    expect(created.config?.version).toBe(1);
    expect(published.config.version).toBe(2);
    expect(parallel.map((p) => p.config.version).sort()).toEqual([3, 4, 5]);
    expect(read.configs.map((c) => c.version)).toEqual([1, 2, 3, 4, 5]);
    expect(read.current).toBe(published.config.id);
    expect([first.created, retry.created, retry.run.id]).toEqual([true, false, first.run.id]);
    expect(onCluster.firstCall.sequence).toBe(1);
    expect(read.executions.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
    expect(
      read.executions
        .slice(1)
        .map((e) => e.toolCallId)
        .sort(),
    ).toEqual(['call_1', 'call_2', 'call_3']);
    expect(finished).toMatchObject({ status: 'succeeded', promptTokens: 100 });
    expect(Number(finished.costAmount)).toBe(0.0012);
    expect(read.runs.map((r) => [r.id, r.status])).toEqual([[first.run.id, 'succeeded']]);
    expect(read.stats).toMatchObject({ runs: 1, succeeded: 1, promptTokens: 100 });
    expect(Number(read.stats.cost.USD)).toBe(0.0012);
    // The parallel ones finish in any order: compared by what they hold, as one server returns it.
    const comparable = (result: typeof onCluster) =>
      stable({
        ...result,
        parallel: result.parallel.map((p) => p.config.version).sort(),
        read: {
          ...result.read,
          configs: result.read.configs.map((c) => c.version),
          current: result.read.current === result.published.config.id,
          executions: result.read.executions.map((e) => e.sequence),
        },
      });
    expect(comparable(onCluster)).toEqual(comparable(onServer));
  });

  it('a bulk load writes its documents and chunks on the tenant shard and loads them again, as on one server', async () => {
    const org = tenants.acme.organizationId;
    const documents = (version: string) =>
      ['alpha', 'beta', 'gamma'].map((name) => ({
        sourceUri: `https://bulk.example/${name}`,
        title: `Bulk ${name} ${version}`,
        chunks: [0, 1, 2, 3].map((c) => ({ content: `${name} part ${c} of the ${version} load` })),
      }));
    const load = async (handle: DbHandle) => {
      const space = await localEmbeddingSpace(handle.db);
      const dataset = await withTenant(handle.db, org, (tx) =>
        createDataset(tx, { slug: 'bulk-loaded', name: 'Bulk loaded', embeddingSpaceId: space.id }),
      );
      const input = { organizationId: org, datasetId: dataset.id, embedder: localEmbedder };
      const loaded = await bulkIngest(handle, { ...input, documents: documents('first') });
      // The same sources again: each document is found and rewritten.
      const again = await bulkIngest(handle, { ...input, documents: documents('second').slice(1) });
      const stored = await withTenant(handle.db, org, async (tx) =>
        rowsOf<{ title: string; chunks: number; contents: string }>(
          await tx.execute(sql`
            select d.title, count(c.id)::int as chunks, string_agg(c.content, '|' order by c.ordinal) as contents
            from documents d join chunks c on c.organization_id = d.organization_id and c.document_id = d.id
            where d.organization_id = ${org} and c.organization_id = ${org} and d.dataset_id = ${dataset.id}
            group by d.title order by d.title`),
        ),
      );
      return { loaded, again, stored };
    };
    const onCluster = await load(cluster.handle);
    const onServer = await load(plain.current);
    say(
      `bulk load: ${onCluster.loaded.documents} documents, ${onCluster.loaded.rows} chunks; again: ${onCluster.again.updatedDocuments} rewritten; stored: ${onCluster.stored.map((row) => `${row.title} (${row.chunks})`).join(', ')}`,
    );
    expect(onCluster.loaded).toMatchObject({ documents: 3, updatedDocuments: 0, rows: 12 });
    expect(onCluster.again).toMatchObject({ documents: 2, updatedDocuments: 2, rows: 8 });
    expect(onCluster.stored.map((row) => [row.title, row.chunks])).toEqual([
      ['Bulk alpha first', 4],
      ['Bulk beta second', 4],
      ['Bulk gamma second', 4],
    ]);
    expect(onCluster.stored[1]?.contents).toMatch(/^beta part 0 of the second load\|/);
    expect(onCluster).toEqual(onServer);
  });

  it('a dataset moves to a new embedding space and back, each statement on its tenant shard, as on one server', async () => {
    const org = tenants.acme.organizationId;
    const strict = createDb({ url: `${cluster.url}?citus.multi_task_query_log_level=error`, max: 4 });
    const move = async (handle: DbHandle) => {
      const { db } = handle;
      const from = await localEmbeddingSpace(db);
      const to = await registerEmbeddingSpace(db, NEXT_LOCAL_EMBEDDING_SPACE);
      const dataset = await withTenant(db, org, (tx) =>
        createDataset(tx, { slug: 'moving-space', name: 'Moving space', embeddingSpaceId: from.id }),
      );
      await bulkIngest(handle, {
        organizationId: org,
        datasetId: dataset.id,
        embedder: localEmbedder,
        documents: ['pricing', 'onboarding', 'billing'].map((name) => ({
          sourceUri: `https://moving.example/${name}`,
          title: name,
          // Words, not numbers, tell the parts apart: equal distances would come back in id order,
          // and ids differ between the two databases.
          chunks: ['overview', 'setup', 'examples', 'questions'].map((part) => ({
            content: `${name} guide, ${part}`,
          })),
        })),
      });
      const search = (spaceId: string, embedder: typeof localEmbedder) =>
        withTenant(db, org, async (tx) =>
          (
            await searchChunks(tx, {
              spaceId,
              text: 'billing guide',
              embedder,
              k: 3,
              datasetIds: [dataset.id],
            })
          ).hits.map((hit) => hit.content),
        );
      const before = await search(from.id, localEmbedder);
      const started = await withTenant(db, org, (tx) =>
        startReembedding(tx, { datasetId: dataset.id, toSpaceId: to.id }),
      );
      const embedded = await reembed(handle, {
        organizationId: org,
        migrationId: started.id,
        embedder: nextLocalEmbedder,
        batchSize: 5,
      });
      const switched = await withTenant(db, org, (tx) => switchReembedding(tx, started.id));
      const after = await search(to.id, nextLocalEmbedder);
      const rolledBack = await withTenant(db, org, (tx) => rollbackReembedding(tx, started.id));
      const restored = await search(from.id, localEmbedder);
      return {
        states: [started, embedded, switched, rolledBack].map(
          ({ state, total, remaining, embeddedRows }) => ({
            state,
            total,
            remaining,
            embeddedRows,
          }),
        ),
        before,
        after,
        restored,
      };
    };
    const onCluster = await move(strict).finally(() => strict.close());
    const onServer = await move(plain.current);
    say(
      `re-embedding: ${onCluster.states.map((s) => `${s.state} ${s.embeddedRows}/${s.total}`).join(' -> ')}; top hit before ${onCluster.before[0]}, after the switch ${onCluster.after[0]}, after the rollback ${onCluster.restored[0]}`,
    );
    expect(onCluster.states.map((s) => s.state)).toEqual([
      'embedding',
      'embedding',
      'switched',
      'rolled_back',
    ]);
    expect(onCluster.states[1]).toMatchObject({ total: 12, remaining: 0, embeddedRows: 12 });
    expect(onCluster.before).toHaveLength(3);
    expect(onCluster.after).toHaveLength(3);
    expect(onCluster.restored).toEqual(onCluster.before);
    expect(onCluster).toEqual(onServer);
  });

  describe('the tenancy attacks', () => {
    const brandsSeen = async (tx: Transaction | Database): Promise<Record<string, number>> => {
      const rows = rowsOf<{ organization_id: string; n: number }>(
        await tx.execute(sql`select organization_id, count(*)::int as n from brands group by 1`),
      );
      const seen: Record<string, number> = {};
      for (const row of rows) {
        const name =
          row.organization_id === tenants.acme.organizationId
            ? 'acme'
            : row.organization_id === tenants.globex.organizationId
              ? 'globex'
              : 'other';
        seen[name] = (seen[name] ?? 0) + row.n;
      }
      return seen;
    };

    it('no query shape shows another tenant; the own tenant is visible (control)', async () => {
      const { db } = cluster.handle;
      const victim = tenants.globex.organizationId;
      const shapes: Record<string, (tx: Transaction) => Promise<Record<string, number>>> = {
        'fan-out over every shard': (tx) => brandsSeen(tx),
        "routed to the victim's shard": async (tx) => ({
          globex: (await tx.select().from(brands).where(sql`organization_id = ${victim}`)).length,
        }),
        'relational query': async (tx) => ({
          globex: (await tx.query.brandVoices.findMany()).filter((row) => row.organizationId === victim)
            .length,
        }),
        'Promise.all': async (tx) => {
          const [a, b] = await Promise.all([tx.select().from(brands), tx.select().from(brandVoices)]);
          return { globex: [...a, ...b].filter((row) => row.organizationId === victim).length };
        },
        "the victim's organization row": async (tx) => ({
          globex: rowsOf(await tx.execute(sql`select id from organizations where id = ${victim}`)).length,
        }),
      };
      const leaks: string[] = [];
      for (const [name, shape] of Object.entries(shapes)) {
        const seen = await withTenant(db, tenants.acme.organizationId, shape);
        if ((seen.globex ?? 0) > 0) leaks.push(name);
      }
      const own = await withTenant(db, tenants.acme.organizationId, (tx) => brandsSeen(tx));
      const outside = await db.transaction((tx) => brandsSeen(tx));
      say(
        `query shapes: ${Object.keys(shapes).length} attacks, ${leaks.length} reached another tenant; control: acme sees ${own.acme} own brands, the login outside a scope sees both (${outside.acme}/${outside.globex})`,
      );
      expect(leaks).toEqual([]);
      expect(own.acme).toBeGreaterThan(0);
      expect(outside.globex).toBeGreaterThan(0);
    });

    it('changing any setting mid-scope shows none of another tenant; the victim key opens the victim (control)', async () => {
      const { db } = cluster.handle;
      const leaks: string[] = [];
      // Citus forwards SET LOCAL to the workers (set_config never): the same attacks as SET LOCAL too.
      const attacks: Record<string, string[]> = {
        ...midScopeSettingAttacks,
        'SET LOCAL of a forged ticket': [
          `set local app.scope = 't:d:$VICTIM:${randomBytes(32).toString('hex')}'`,
        ],
        'SET LOCAL enumeration on': ["set local app.enumerate_organizations = 'on'"],
        "SET LOCAL of a person's id": ["set local app.current_user_id = '$VICTIM_OWNER'"],
        'SET LOCAL of the API-key hash': [`set local app.api_key_hash = '${'0'.repeat(64)}'`],
      };
      for (const [name, statements] of Object.entries(attacks)) {
        await withTenant(db, tenants.acme.organizationId, async (tx) => {
          expect((await brandsSeen(tx)).acme, `control for ${name}`).toBeGreaterThan(0);
          for (const statement of statements)
            await tx.execute(
              sql.raw(
                statement
                  .replaceAll('$VICTIM_OWNER', tenants.globex.ownerUserId)
                  .replaceAll('$VICTIM', tenants.globex.organizationId),
              ),
            );
          const after = await tx
            .transaction((sp) => brandsSeen(sp))
            .catch(() => ({}) as Record<string, number>);
          if ((after.globex ?? 0) > 0) leaks.push(name);
        });
      }
      const opening = await openingStatement(db, tenants.globex.organizationId);
      const control = await withTenant(db, tenants.acme.organizationId, async (tx) => {
        await tx.execute(opening);
        return brandsSeen(tx);
      });
      say(
        `settings mid-scope: ${Object.keys(attacks).length} attacks, ${leaks.length} reached another tenant; control: a proof made with the victim's key shows ${control.globex ?? 0} of its brands`,
      );
      expect(leaks).toEqual([]);
      expect(control.globex).toBeGreaterThan(0);
    });

    it("a victim's ticket, read where Citus leaves it, opens nothing through any path a service login has; each path has its control", async () => {
      const { db } = cluster.handle;
      const victim = tenants.globex.organizationId;
      const login = `neonhub_suite_att_${randomBytes(4).toString('hex')}`;
      const password = await createServiceLogin(cluster.handle, login);
      await authorizeLoginOnWorkers(cluster, login, password);
      const url = new URL(cluster.url);
      url.username = login;
      url.password = password;
      const attackerDb = createDb({ url: url.toString(), max: 2 });
      const { sql: admin } = cluster.handle;
      await admin.exec('create extension if not exists pg_stat_statements');
      const base = new URL(cluster.url);
      const superuser = {
        user: decodeURIComponent(base.username),
        password: decodeURIComponent(base.password),
      };
      try {
        // The victim's scope reaches its shard and stays open: its worker connection began with the
        // ticket (kept by the worker's pg_stat_statements), and the distributed transaction id shows in
        // citus_stat_activity; taken here from inside the scope, the worst an attacker could learn.
        let finish = () => {};
        const held = new Promise<void>((resolve) => {
          finish = resolve;
        });
        let opened = (_: { ticket: string; transaction: string }) => {};
        const victimState = new Promise<{ ticket: string; transaction: string }>((resolve) => {
          opened = resolve;
        });
        const victimScope = withTenant(db, victim, async (tx) => {
          await tx.select().from(brands).where(sql`organization_id = ${victim}`);
          const [state] = rowsOf<{ ticket: string; transaction: string }>(
            await tx.execute(sql`select current_setting('app.scope') as ticket,
              format('%s, %s, %L', initiator_node_identifier, transaction_number, transaction_stamp) as transaction
              from get_current_transaction_id()`),
          );
          if (!state) throw new Error('the scope reads its own state');
          opened(state);
          await held;
        });
        const { ticket, transaction } = await victimState;
        const placement = await shardPlacement(cluster, 'brands', victim, superuser);
        const worker = createDb({ url: placement.url, max: 1 });
        try {
          const kept = await worker.sql.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_statements where query like '%' || $1 || '%'`,
            [ticket],
          );
          say(`worker pg_stat_statements keeps the victim's ticket: ${Number(kept[0]?.n) > 0}`);
        } finally {
          await worker.close();
        }
        const shardCount = `select count(*)::int as n from ${placement.shard} where organization_id = '${victim}'`;

        const outcomes: Record<string, string> = {};
        const tally = (n: number) => (n > 0 ? `reached ${n}` : 'nothing');
        const refusal = (error: { code?: string; cause?: { code?: string } }) =>
          `refused ${error.cause?.code ?? error.code}`;
        const attempt = async (name: string, run: () => Promise<number>) => {
          outcomes[name] = await run().then(tally, refusal);
        };
        // 1. The ticket replayed in a scope of the attacker's, forwarded to the workers as Citus forwards it.
        await attempt('replayed through the coordinator', () =>
          withTenant(attackerDb.db, tenants.acme.organizationId, async (tx) => {
            await tx.execute(sql.raw(`set local app.scope = '${ticket}'`));
            return (
              (await tx.transaction((sp) => brandsSeen(sp)).catch(() => ({}) as Record<string, number>))
                .globex ?? 0
            );
          }),
        );
        // 2. The victim's distributed transaction id claimed on the coordinator, then the ticket.
        await attempt('the transaction id claimed on the coordinator', () =>
          attackerDb.db.transaction(async (tx) => {
            await tx.execute(sql.raw(`select assign_distributed_transaction_id(${transaction})`));
            await tx.execute(sql.raw(`set local citus.propagate_set_commands = 'local'`));
            await tx.execute(sql.raw(`set local app.scope = '${ticket}'`));
            await tx.execute(sql`set local role neonhub_app`);
            return (await brandsSeen(tx)).globex ?? 0;
          }),
        );
        // 3. A statement run on the workers by Citus for the caller.
        await attempt('run_command_on_workers', () =>
          withTenant(
            attackerDb.db,
            tenants.acme.organizationId,
            async (tx) =>
              rowsOf(await tx.execute(sql`select * from run_command_on_workers('select 1')`)).length,
          ),
        );
        // 4. A DO block, whose SET LOCAL Citus would forward with the whole text around it.
        await attempt('a DO block', () =>
          withTenant(attackerDb.db, tenants.acme.organizationId, async (tx) => {
            await tx.execute(sql.raw(`do $$ begin execute 'set local work_mem = ''4MB'''; end $$`));
            return 1;
          }),
        );
        // 5. The service login straight to the worker, claiming the transaction and presenting the ticket.
        const direct = async (user: string, secret: string) => {
          const target = await shardPlacement(cluster, 'brands', victim, { user, password: secret });
          const session = createDb({ url: target.url, max: 1 });
          try {
            const dedicated = await session.dedicated();
            try {
              await dedicated.exec(
                `BEGIN; SELECT assign_distributed_transaction_id(${transaction}); SET LOCAL app.scope = '${ticket}'; SET LOCAL ROLE neonhub_app`,
              );
              const [row] = await dedicated.query<{ n: number }>(shardCount);
              await dedicated.exec('ROLLBACK');
              return row?.n ?? 0;
            } finally {
              await dedicated.release();
            }
          } finally {
            await session.close();
          }
        };
        await attempt('the service login straight to the worker', () => direct(login, password));
        // Controls: the same steps reach the victim where the guards are not in the way.
        const controls: Record<string, string> = {};
        const control = async (name: string, run: () => Promise<number>) => {
          controls[name] = await run().then(tally, refusal);
        };
        // Citus's own login on the worker (its password is the DBA's): there the ticket and the id work.
        await control('neonhub_app straight to the worker', () =>
          direct('neonhub_app', WORKER_LOGIN_PASSWORD),
        );
        await control(
          'run_command_on_workers as the superuser',
          async () => (await admin.query(`select * from run_command_on_workers('select 1')`)).length,
        );
        finish();
        await victimScope;
        // After the victim's transaction: the same ticket, the same id.
        await attempt('replayed after the scope ended', () =>
          withTenant(attackerDb.db, tenants.acme.organizationId, async (tx) => {
            await tx.execute(sql.raw(`set local app.scope = '${ticket}'`));
            return (
              (await tx.transaction((sp) => brandsSeen(sp)).catch(() => ({}) as Record<string, number>))
                .globex ?? 0
            );
          }),
        );
        say(`Citus ticket channels: ${JSON.stringify(outcomes)}; controls: ${JSON.stringify(controls)}`);
        expect(Object.values(outcomes).filter((outcome) => outcome.startsWith('reached'))).toEqual([]);
        expect(controls['neonhub_app straight to the worker']).toMatch(/^reached/);
        expect(controls['run_command_on_workers as the superuser']).toMatch(/^reached/);
      } finally {
        await attackerDb.close();
        await cluster.handle.sql.exec(`drop owned by ${login}; drop role ${login}`);
      }
    });

    it('a worker failing under 20 writing scopes: ok or retryable errors, none hung or uncaught, no pool connection left behind, nothing half-written', async () => {
      const login = `neonhub_suite_wf_${randomBytes(4).toString('hex')}`;
      const password = await createServiceLogin(cluster.handle, login);
      await authorizeLoginOnWorkers(cluster, login, password);
      const url = new URL(cluster.url);
      url.username = login;
      url.password = password;
      const service = createDb({ url: url.toString(), max: 8 });
      const base = new URL(cluster.url);
      const superuser = {
        user: decodeURIComponent(base.username),
        password: decodeURIComponent(base.password),
      };
      const { url: workerUrl } = await shardPlacement(
        cluster,
        'brands',
        tenants.globex.organizationId,
        superuser,
      );
      const worker = createDb({ url: workerUrl, max: 1 });
      const workerDb = new URL(workerUrl).pathname.slice(1);
      const uncaught: unknown[] = [];
      const collect = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', collect);
      process.on('unhandledRejection', collect);
      const slugs: string[] = [];
      try {
        const runs = Array.from({ length: 20 }, async (_, i) => {
          const org = i % 2 ? tenants.acme.organizationId : tenants.globex.organizationId;
          const slug = `blip-${i}`;
          slugs.push(slug);
          const started = performance.now();
          const outcome = await withTenant(service.db, org, async (tx) => {
            await tx.execute(sql`select pg_sleep(${0.05 * (i % 5)})`);
            await tx.insert(brands).values({ organizationId: org, slug, name: slug });
            await tx.execute(sql`select pg_sleep(0.05)`);
            return tx.select().from(brands).where(sql`organization_id = ${org} and slug = ${slug}`);
          }).then(
            () => 'ok',
            (error: unknown) => (isRetryable(error) ? 'retryable' : `other: ${String(error).slice(0, 120)}`),
          );
          return { outcome, seconds: (performance.now() - started) / 1000 };
        });
        // The worker fails for a second: every session the coordinator holds there ends, again and again.
        await new Promise((resolve) => setTimeout(resolve, 80));
        const until = performance.now() + 1000;
        while (performance.now() < until) {
          await worker.sql.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
            [workerDb],
          );
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const results = await Promise.all(runs);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length;
        const other = results.filter((r) => r.outcome.startsWith('other'));
        // What the coordinator holds for the login, and whether every scope committed all or nothing.
        const [held] = await cluster.handle.sql.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where usename = $1 and state like 'idle in transaction%'`,
          [login],
        );
        const stats = (service.db as unknown as { $client: { stats?: { leased: number } } }).$client.stats;
        const [prepared] = await cluster.handle.sql.query<{ n: number }>(
          `select count(*)::int as n from pg_prepared_xacts where database = current_database()`,
        );
        const stored = await cluster.handle.sql.query<{ slug: string }>(
          `select slug from brands where slug like 'blip-%'`,
        );
        const after = await withTenant(service.db, tenants.acme.organizationId, (tx) => brandsSeen(tx)).then(
          () => 'ok',
          (error: unknown) => String(error),
        );
        say(
          `worker failing: 20 scopes, ${count('ok')} ok, ${count('retryable')} retryable errors, ${other.length} other, ${uncaught.length} uncaught, slowest ${Math.max(...results.map((r) => r.seconds)).toFixed(1)} s; ${held?.n} connections left in a transaction, ${stats?.leased ?? 0} leased; ${prepared?.n} prepared transactions; ${stored.length} rows stored, ${count('ok')} committed; afterwards ${after}`,
        );
        expect(other.map((r) => r.outcome)).toEqual([]);
        expect(uncaught).toEqual([]);
        expect(count('retryable')).toBeGreaterThan(0);
        expect(held?.n).toBe(0);
        expect(stats?.leased ?? 0).toBe(0);
        expect(stored.length).toBe(count('ok'));
        expect(after).toBe('ok');
      } finally {
        process.off('uncaughtException', collect);
        process.off('unhandledRejection', collect);
        await worker.close();
        await service.close();
        await cluster.handle.sql.exec(`delete from brands where slug like 'blip-%'`);
        await cluster.handle.sql.exec(`drop owned by ${login}; drop role ${login}`);
      }
    });

    it('RESET ROLE and SET ROLE mid-scope gain a service login nothing; the superuser login is the control', async () => {
      const login = `neonhub_suite_svc_${randomBytes(4).toString('hex')}`;
      const password = await createServiceLogin(cluster.handle, login);
      await authorizeLoginOnWorkers(cluster, login, password);
      const url = new URL(cluster.url);
      url.username = login;
      url.password = password;
      const service: DbHandle = createDb({ url: url.toString(), max: 2 });
      try {
        const gained: string[] = [];
        for (const attack of roleAttacks) {
          await withTenant(service.db, tenants.acme.organizationId, async (tx) => {
            const ok = await tx
              .transaction((sp) => sp.execute(sql.raw(attack)))
              .then(
                () => true,
                () => false,
              );
            const seen = await tx
              .transaction((sp) => brandsSeen(sp))
              .catch(() => ({}) as Record<string, number>);
            if (ok && (seen.globex ?? 0) > 0) gained.push(attack);
            if (attack.startsWith('alter') && ok) gained.push(attack);
          });
        }
        const control = await withTenant(cluster.handle.db, tenants.acme.organizationId, async (tx) => {
          await tx.execute(sql`reset role`);
          return brandsSeen(tx);
        });
        say(
          `service login: ${roleAttacks.length} role attacks mid-scope, ${gained.length} gained anything; control: the superuser's RESET ROLE sees globex's ${control.globex ?? 0} brands`,
        );
        expect(gained).toEqual([]);
        expect(control.globex).toBeGreaterThan(0);
      } finally {
        await service.close();
        await cluster.handle.sql.exec(`drop owned by ${login}; drop role ${login}`);
      }
    });
  });

  // Last: its 2031 metric point would change the counts the API comparison reads.
  it('distributes the partitions there were and the ones made later, and they take rows', async () => {
    const { handle } = cluster;
    // As `neonhub-db maintain` does, from a session opened after distribute (which set the database's trigger default).
    const maintenance = createDb({ url: cluster.url, max: 1 });
    try {
      for (const table of ['audit_logs', 'campaign_metrics'])
        await maintenance.sql.query(`select app_create_monthly_partition($1::regclass, '2031-01-01'::date)`, [
          table,
        ]);
    } finally {
      await maintenance.close();
    }
    const partitions = await handle.sql.query<{ parent: string; partitions: number; distributed: number }>(`
      select p.relname as parent, count(*)::int as partitions,
             count(*) filter (where exists (
               select from pg_dist_partition d where d.logicalrelid = c.oid and d.partmethod = 'h'
                 and d.colocationid = (select colocationid from pg_dist_partition where logicalrelid = p.oid)))::int as distributed
      from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
      where p.relname in ('audit_logs', 'campaign_metrics') group by 1 order by 1`);
    say(
      `partitions: ${partitions.map((row) => `${row.parent} ${row.distributed} of ${row.partitions} distributed and co-located`).join(', ')} (2031-01 made after distribute)`,
    );
    for (const row of partitions) expect(row.distributed).toBe(row.partitions);
    const org = tenants.acme.organizationId;
    const metric = await retriedOnce(() =>
      withTenant(handle.db, org, async (tx) => {
        const [campaign] = rowsOf<{ campaign_id: string; channel: string; metric: string }>(
          await tx.execute(
            sql`select campaign_id, channel, metric from campaign_metrics where organization_id = ${org} limit 1`,
          ),
        );
        if (!campaign) throw new Error('seeded metrics expected');
        const bucket = new Date(Date.UTC(2031, 0, 10, 12));
        await upsertMetricPoints(tx, [
          {
            campaignId: campaign.campaign_id,
            channel: campaign.channel as 'email',
            metric: campaign.metric,
            bucket,
            value: 42,
          },
        ]);
        // Read through the parent (services never name a partition), noting which partition holds it.
        return rowsOf<{ value: string; partition: string }>(
          await tx.execute(
            sql`select value::text, tableoid::regclass::text as partition from campaign_metrics
              where organization_id = ${org} and bucket = ${bucket.toISOString()}`,
          ),
        );
      }),
    );
    // On Citus the row's table is the shard of the new partition (its name plus the shard id).
    expect(metric.map((row) => Number(row.value))).toEqual([42]);
    expect(metric[0]?.partition).toMatch(/^campaign_metrics_p2031_01_\d+$/);
  });
  describe('the run queue', () => {
    it('enqueues on one shard; a claim reads the index of tenants (one shard) and one shard per tenant it visits', async () => {
      // Citus refuses any statement that would run on more than one shard in this handle.
      const strict = createDb({ url: `${cluster.url}?citus.multi_task_query_log_level=error`, max: 4 });
      const raw = postgres(cluster.url, { max: 1, onnotice: (notice) => notices.push(notice.message ?? '') });
      const notices: string[] = [];
      try {
        const organizations = [tenants.acme.organizationId, tenants.globex.organizationId];
        for (const org of organizations) {
          await withTenant(strict.db, org, async (tx) => {
            const agent = await queueAgent(tx, 'queue-probe', 'orchestrator');
            await enqueueRuns(
              tx,
              Array.from({ length: 20 }, (_, n) => ({ agentId: agent.id, input: { n } })),
            );
          });
        }
        const [shardCounts] = await cluster.handle.sql.query<{ runs: number; queues: number }>(
          `select count(*) filter (where logicalrelid = 'agent_runs'::regclass)::int as runs,
                  count(*) filter (where logicalrelid = 'agent_run_queues'::regclass)::int as queues
           from pg_dist_shard`,
        );
        const [ready] = await cluster.handle.sql.query<{ n: number }>(
          'select count(*)::int as n from agent_run_queues where ready_at <= now()',
        );
        // The commands Citus sends to the workers for one claim, with the shards they name.
        await raw.unsafe('set citus.log_remote_commands = on; set client_min_messages = log');
        const { issued, proof } = await runtimeOf(cluster.handle.db).keys.runQueueProof('claim');
        const claimed = await raw.unsafe(
          'select organization_id, run_id, attempt from public.app_claim_runs($1::agent_kind[], 10, 60, null, $2::bigint, $3::bytea)',
          ['{orchestrator}', issued, proof],
        );
        const shards = (table: string) =>
          new Set(
            notices.flatMap((message) =>
              [...message.matchAll(new RegExp(`\\b${table}_(\\d+)\\b`, 'g'))].map((m) => m[1]),
            ),
          );
        const visited = new Set(claimed.map((row) => String(row.organization_id)));
        say(
          `run queue: a claim of 10 (${ready?.n} tenants ready, runs from ${visited.size}) sent ${notices.length} commands to the workers, naming ${shards('agent_runs').size} of ${shardCounts?.runs} agent_runs shards and ${shards('agent_run_queues').size} of ${shardCounts?.queues} agent_run_queues shard`,
        );
        // A tenant without runs of these kinds (the demo) gives its share only to the tenants after it.
        expect(claimed.length).toBeGreaterThan(0);
        expect(claimed.length).toBeLessThanOrEqual(10);
        expect(shards('agent_runs').size).toBeGreaterThan(0);
        // At most one shard per tenant the claim can visit (the ready ones, at most 16).
        expect(shards('agent_runs').size).toBeLessThanOrEqual(Math.min(ready?.n ?? 0, 16));
        expect(shards('agent_run_queues').size).toBe(1);
        // The same claim through claimRuns, and the finishes, with multi-shard statements refused.
        const all: { organizationId: string; runId: string; attempt: number }[] = claimed.map((row) => ({
          organizationId: String(row.organization_id),
          runId: String(row.run_id),
          attempt: Number(row.attempt),
        }));
        for (;;) {
          const more = await claimRuns(strict.db, { kinds: ['orchestrator'], limit: 30 });
          if (more.length === 0) break;
          all.push(...more);
        }
        // Half finished by the worker's path (no tenant scope, one call per tenant), half in scopes.
        const half = all.slice(0, all.length / 2);
        const direct = await finishClaimedRuns(
          strict.db,
          half.map((run) => ({ run, result: { status: 'succeeded' as const, output: { via: 'worker' } } })),
        );
        say(
          `run queue: finishClaimedRuns finished ${direct.finished.length} runs of ${new Set(half.map((run) => run.organizationId)).size} tenants, ${direct.lost.length} lost`,
        );
        expect(direct).toMatchObject({ lost: [] });
        expect(direct.finished).toHaveLength(half.length);
        for (const run of all.slice(half.length)) {
          await withTenant(strict.db, run.organizationId, (tx) =>
            finishRun(tx, run.runId, { status: 'succeeded', attempt: run.attempt }),
          );
        }
        expect(all).toHaveLength(40);
        expect(await claimRuns(strict.db, { kinds: ['orchestrator'], limit: 10 })).toEqual([]);
      } finally {
        await raw.end();
        await strict.close();
      }
    });

    it('8 worker processes, 3 killed with SIGKILL mid-run: every run completed exactly once', {
      timeout: 900_000,
    }, async () => {
      const organizations = [tenants.acme.organizationId, tenants.globex.organizationId];
      const report = await killWorkersMidRun(cluster.handle.db, cluster.url, organizations, {
        runs: 120,
        workers: 8,
      });
      say(`run queue: ${report.summary}`);
      for (const line of report.errors.slice(0, 5)) say(line);
      expectExactlyOnce(report, 120);
    });
  });
});
