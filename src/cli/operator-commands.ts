import type { DbHandle } from '../client/client.ts';
import { describe, io, say, seconds } from './output.ts';

// The commands an operator runs on a live database: audit verification, Citus placement, service
// logins, tenant keys, maintenance and the run queue's report.

/** `audit verify`: every tenant's audit trail checked against its seals; exit code 1 when one is broken. */
export async function auditVerify(handle: DbHandle): Promise<void> {
  const [{ runtimeOf }, { verifyAllAuditChains }] = await Promise.all([
    import('../client/scope-runtime.ts'),
    import('../audit/audit.ts'),
  ]);
  // The ring every scope of this handle uses: the development ring only for a local target.
  const ring = runtimeOf(handle.db).keys.keyRing();
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

/** `distribute`: every table placed on the Citus cluster, and whether each service login reaches every worker. */
export async function runDistribute(handle: DbHandle): Promise<void> {
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

/** `maintain --watch`: tenant indexes built as searches ask, until SIGINT or SIGTERM. */
async function watchUntilStopped(handle: DbHandle): Promise<void> {
  const { watchTenantIndexes } = await import('../rag/tenant-index-watch.ts');
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
export async function runsReport(handle: DbHandle): Promise<void> {
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

/** `citus`: the SQL that places every table on Citus and hardens scopes there, printed for review. */
export async function printCitusPlan(handle: DbHandle): Promise<void> {
  const { citusDistributionPlan, scopeHardening } = await import('../operator/citus.ts');
  const plan = await citusDistributionPlan(handle.sql);
  if (plan.length === 0) say('-- every table is already placed on Citus: nothing to do');
  const hardening = await scopeHardening(handle.sql);
  for (const line of ['BEGIN;', ...plan.map((step) => step.sql), ...hardening, 'COMMIT;']) say(line);
}

/** `rotate-tenant-key <org> [--grace s]`: a new tenant key version; the earlier one retires after the grace. */
export async function rotateKey(handle: DbHandle, org: string, graceSeconds: number): Promise<void> {
  const { organizationIdOf, rotateTenantKey } = await import('../identity/organizations.ts');
  const organizationId = await organizationIdOf(handle.db, org);
  const { version } = await rotateTenantKey(handle.db, organizationId, { graceSeconds });
  say(
    `organization ${organizationId}: tenant key version ${version}; the earlier one ${graceSeconds === 0 ? 'is retired' : `retires in ${graceSeconds} s`}`,
  );
}

/** `create-login <name> [--auth]`: a login that is a member of neonhub_app (or neonhub_auth) and nothing else. */
export async function createLogin(handle: DbHandle, name: string, role: 'app' | 'auth'): Promise<void> {
  const { createServiceLogin, hideParametersSql, parametersHiddenFromLogs } = await import(
    '../operator/logins.ts'
  );
  const password = await createServiceLogin(handle, name, process.env.NEONHUB_LOGIN_PASSWORD, { role });
  say(`created login ${name} on ${describe(handle)}: a member of neonhub_${role}, nothing else`);
  if (!process.env.NEONHUB_LOGIN_PASSWORD) say(`  password (shown once): ${password}`);
  if (!(await parametersHiddenFromLogs(handle, name))) {
    say(`  its bind parameters may reach the server log: a superuser runs once: ${hideParametersSql(name)};`);
  }
}

/** `maintain [--watch]`: next months' partitions and the tenant vector indexes searches need. */
export async function maintain(handle: DbHandle, watch: boolean): Promise<void> {
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
  if (indexes.capped > 0)
    say(
      `  ${indexes.capped} tenants past the threshold are searched exactly: the tables hold the most tenant indexes max_locks_per_transaction allows (README, Vectors)`,
    );
  if (watch) await watchUntilStopped(handle);
}
