import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  agentRunStats,
  finishRun,
  listAgentRuns,
  listToolExecutions,
  markRunStarted,
  recordToolExecution,
  startRun,
} from '../src/agents/agent-runs.ts';
import {
  createAgent,
  createTool,
  grantTool,
  publishAgentConfig,
  setAgentCapability,
  setCurrentConfig,
} from '../src/agents/agents.ts';
import { DatabaseError } from '../src/base/errors.ts';
import { InputError } from '../src/base/input.ts';
import { rowsOf } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createConversation } from '../src/domains/chat.ts';
import { deleteConversation } from '../src/domains/deletions.ts';
import {
  agentConfigs,
  agentRuns,
  agents,
  conversations,
  organizations,
  tools,
  users,
} from '../src/schema/index.ts';
import { seedTenant } from '../src/seed/index.ts';
import {
  agentConfigParametersSchema,
  insertAgentConfigSchema,
  insertAgentRunSchema,
  insertToolSchema,
} from '../src/validators/index.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';
import { acmeTenant, seedAcmeAndGlobex } from './support/tenants.ts';

const database = useTestDatabase();

const agentTables = [
  'agents',
  'agent_configs',
  'agent_capabilities',
  'tools',
  'agent_tools',
  'agent_runs',
  'tool_executions',
  'conversations',
  'messages',
];

let org = '';
let otherOrg = '';
let owner = '';

beforeAll(async () => {
  const { acme, globex } = await seedAcmeAndGlobex(database.current.db);
  org = acme.organizationId;
  otherOrg = globex.organizationId;
  owner = acme.ownerUserId;
});

const tenant = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(database.current.db, org, fn);

describe('agents seed', () => {
  it('fills every agents and chat table and inserts nothing on a second run', async () => {
    const { db } = database.current;
    const again = await seedTenant(db, acmeTenant);
    const created = Object.entries(again.created).filter(([, n]) => n > 0);
    expect(created).toEqual([]);
    const counts: Record<string, number> = {};
    for (const table of agentTables) {
      const [row] = await withTenant(db, org, async (tx) =>
        rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from ${sql.identifier(table)}`)),
      );
      counts[table] = Number(row?.n);
    }
    console.log('seeded rows per table (one tenant):', counts);
    for (const table of agentTables) expect(counts[table], table).toBeGreaterThan(0);
    const theirs = await withTenant(db, otherOrg, (tx) => tx.select().from(agents));
    expect(theirs.every((a) => a.organizationId === otherOrg)).toBe(true);
  });
});

describe('agent registry and config versions', () => {
  it('creates an agent with version 1 current, publishes version 2, rolls back to 1', async () => {
    const result = await tenant(async (tx) => {
      const { agent, config } = await createAgent(tx, {
        slug: 'tagline-bot',
        name: 'Tagline bot',
        kind: 'copywriter',
        config: { model: 'gpt-4o-mini', systemPrompt: 'Write taglines.', createdByUserId: owner },
      });
      const v2 = await publishAgentConfig(tx, agent.id, {
        model: 'gpt-4o',
        temperature: 0.3,
        systemPrompt: 'Write short taglines.',
        parameters: { maxOutputTokens: 60 },
      });
      const rolledBack = await setCurrentConfig(tx, agent.id, config?.id ?? '');
      return { agent, config, v2, rolledBack };
    });
    expect(result.config?.version).toBe(1);
    expect(result.agent.currentConfigId).toBe(result.config?.id);
    expect(result.v2.config.version).toBe(2);
    expect(result.v2.agent.currentConfigId).toBe(result.v2.config.id);
    expect(result.rolledBack.currentConfigId).toBe(result.config?.id);
  });

  it('refuses a current config that belongs to another agent (deferred composite FK, checked at once on rollback)', async () => {
    const error = await failure(() =>
      tenant(async (tx) => {
        const a = await createAgent(tx, {
          slug: 'a-one',
          name: 'A',
          kind: 'custom',
          config: { model: 'm', systemPrompt: 'p' },
        });
        const b = await createAgent(tx, {
          slug: 'b-one',
          name: 'B',
          kind: 'custom',
          config: { model: 'm', systemPrompt: 'p' },
        });
        await setCurrentConfig(tx, a.agent.id, b.config?.id ?? '');
      }),
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).constraint).toBe('agents_current_config_id_fkey');
    // Nothing of the transaction remains.
    const left = await tenant((tx) => tx.select().from(agents).where(eq(agents.slug, 'a-one')));
    expect(left).toEqual([]);
  });

  it('keeps config versions immutable: UPDATE and DELETE refused, cascade with the agent allowed', async () => {
    const { agent, config } = await tenant((tx) =>
      createAgent(tx, {
        slug: 'frozen',
        name: 'Frozen',
        kind: 'seo',
        config: { model: 'm', systemPrompt: 'p' },
      }),
    );
    const update = await failure(() =>
      tenant((tx) =>
        tx.update(agentConfigs).set({ model: 'other' }).where(eq(agentConfigs.agentId, agent.id)),
      ),
    );
    expect(update).toMatchObject({ kind: 'permission_denied', table: 'agent_configs' });
    expect(update.message).toMatch(/agent_configs is append-only: UPDATE is refused/);
    const remove = await failure(() =>
      tenant((tx) => tx.delete(agentConfigs).where(eq(agentConfigs.id, config?.id ?? ''))),
    );
    expect(remove.message).toMatch(/DELETE is refused/);
    await tenant((tx) => tx.delete(agents).where(eq(agents.id, agent.id)));
    const configsLeft = await tenant((tx) =>
      tx.select().from(agentConfigs).where(eq(agentConfigs.agentId, agent.id)),
    );
    expect(configsLeft).toEqual([]);
  });

  it('keeps slugs unique among live agents of an organization only', async () => {
    const duplicate = await failure(() =>
      tenant((tx) => createAgent(tx, { slug: 'copywriter', name: 'Dup', kind: 'copywriter' })),
    );
    expect(duplicate).toMatchObject({
      kind: 'unique_violation',
      constraint: 'agents_organization_id_slug_key',
    });
    const reused = await tenant(async (tx) => {
      const { agent } = await createAgent(tx, { slug: 'temp', name: 'Temp', kind: 'custom' });
      await tx.update(agents).set({ deletedAt: new Date() }).where(eq(agents.id, agent.id));
      return createAgent(tx, { slug: 'temp', name: 'Temp again', kind: 'custom' });
    });
    expect(reused.agent.slug).toBe('temp');
    // Another organization may use the same slug.
    const elsewhere = await withTenant(database.current.db, otherOrg, (tx) =>
      createAgent(tx, { slug: 'tagline-bot', name: 'Theirs', kind: 'copywriter' }),
    );
    expect(elsewhere.agent.organizationId).toBe(otherOrg);
  });

  it('refuses bad input before writing anything, naming table and column', async () => {
    const error = await failure(() =>
      tenant((tx) =>
        createAgent(tx, {
          slug: 'Bad Slug',
          name: 'X',
          kind: 'custom',
          config: { model: 'm', systemPrompt: 'p' },
        }),
      ),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ table: 'agents', column: 'slug' });
    console.log('bad input message:', error.message);
    const temp = await failure(() =>
      tenant(async (tx) => {
        const { agent } = await createAgent(tx, { slug: 'warm', name: 'Warm', kind: 'custom' });
        await publishAgentConfig(tx, agent.id, { model: 'm', systemPrompt: 'p', temperature: 3 });
      }),
    );
    expect(temp).toMatchObject({ table: 'agent_configs', column: 'temperature' });
    const left = await tenant((tx) => tx.select().from(agents).where(eq(agents.slug, 'warm')));
    expect(left).toEqual([]);
    // The database says the same when the validator is bypassed.
    const db = await failure(() =>
      tenant(async (tx) => {
        const { agent } = await createAgent(tx, { slug: 'warm2', name: 'Warm', kind: 'custom' });
        await tx
          .insert(agentConfigs)
          .values({ agentId: agent.id, version: 1, model: 'm', systemPrompt: 'p', temperature: 3 });
      }),
    );
    expect(db).toMatchObject({ kind: 'check_violation', constraint: 'agent_configs_temperature_check' });
  });

  it('checks tool configs against their kind in the validator and in the database', async () => {
    const http = {
      key: 'fetch_page',
      name: 'Fetch',
      description: 'Fetches a page',
      kind: 'http' as const,
      inputSchema: { type: 'object' as const },
    };
    expect(insertToolSchema.safeParse(http).success).toBe(false);
    const viaApi = await failure(() => tenant((tx) => createTool(tx, http)));
    expect(viaApi).toMatchObject({ table: 'tools', column: 'config' });
    const viaDb = await failure(() => tenant((tx) => tx.insert(tools).values(http)));
    expect(viaDb).toMatchObject({ kind: 'check_violation', constraint: 'tools_config_check' });
    const tool = await tenant((tx) =>
      createTool(tx, { ...http, config: { http: { url: 'https://example.com/fetch', method: 'GET' } } }),
    );
    expect(tool.kind).toBe('http');
  });
});

describe('runs and tool executions', () => {
  it('runs an agent end to end: idempotent start, ordered tool calls, terminal finish', async () => {
    const out = await tenant(async (tx) => {
      const { agent } = await createAgent(tx, {
        slug: 'runner',
        name: 'Runner',
        kind: 'research',
        config: { model: 'gpt-4o', systemPrompt: 'Research.' },
      });
      const tool = await createTool(tx, {
        key: 'lookup',
        name: 'Lookup',
        description: 'Looks things up',
        kind: 'builtin',
        inputSchema: { type: 'object' },
      });
      await grantTool(tx, agent.id, tool.id, { maxCallsPerRun: 5 });
      await setAgentCapability(tx, agent.id, { capability: 'web_search', config: { depth: 1 } });
      const first = await startRun(tx, {
        agentId: agent.id,
        trigger: 'api',
        idempotencyKey: 'req-1',
        input: { q: 'x' },
      });
      const retry = await startRun(tx, {
        agentId: agent.id,
        trigger: 'api',
        idempotencyKey: 'req-1',
        input: { q: 'x' },
      });
      await markRunStarted(tx, first.run.id);
      const e1 = await recordToolExecution(tx, { runId: first.run.id, toolId: tool.id, input: { q: 'a' } });
      const e2 = await recordToolExecution(tx, {
        runId: first.run.id,
        toolId: tool.id,
        input: { q: 'b' },
        status: 'succeeded',
        output: { hits: 2 },
        latencyMs: 12,
      });
      const listed = await listToolExecutions(tx, first.run.id);
      const finished = await finishRun(tx, first.run.id, {
        status: 'succeeded',
        output: { answer: 'y' },
        promptTokens: 100,
        completionTokens: 20,
        costAmount: '0.0012',
        model: 'gpt-4o',
      });
      return { first, retry, e1, e2, listed, finished, tool };
    });
    expect(out.first.created).toBe(true);
    expect(out.retry.created).toBe(false);
    expect(out.retry.run.id).toBe(out.first.run.id);
    expect([out.e1.sequence, out.e2.sequence]).toEqual([1, 2]);
    expect(out.listed.map((e) => e.id)).toEqual([out.e1.id, out.e2.id]);
    expect(out.finished.status).toBe('succeeded');
    expect(out.finished.latencyMs).toBeGreaterThanOrEqual(0);
    expect(out.finished.finishedAt?.getTime()).toBeGreaterThanOrEqual(out.finished.startedAt?.getTime() ?? 0);

    // Terminal is final; queued cannot jump to succeeded; queued may be cancelled.
    const again = await failure(() =>
      tenant((tx) =>
        finishRun(tx, out.first.run.id, { status: 'failed', error: { code: 'x', message: 'y' } }),
      ),
    );
    expect(again).toMatchObject({
      kind: 'check_violation',
      constraint: 'agent_runs_status_transition_check',
      table: 'agent_runs',
    });
    console.log('transition refusal:', again.message);
    const queued = await tenant(async (tx) => {
      const [agent] = await tx.select().from(agents).where(eq(agents.slug, 'runner'));
      return (await startRun(tx, { agentId: agent?.id ?? '', trigger: 'user' })).run;
    });
    const jump = await failure(() =>
      tenant((tx) =>
        tx
          .update(agentRuns)
          .set({ status: 'succeeded', finishedAt: new Date() })
          .where(eq(agentRuns.id, queued.id)),
      ),
    );
    expect(jump).toMatchObject({ constraint: 'agent_runs_status_transition_check' });
    const cancelled = await tenant((tx) => finishRun(tx, queued.id, { status: 'cancelled' }));
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.startedAt).toBeNull();

    // A tool with history cannot be deleted (disable it instead).
    const restrict = await failure(() => tenant((tx) => tx.delete(tools).where(eq(tools.id, out.tool.id))));
    // PostgreSQL 18 reports RESTRICT as restrict_violation (23001), older servers as 23503.
    expect(restrict).toMatchObject({ constraint: 'tool_executions_tool_id_fkey' });
    expect(['23001', '23503']).toContain((restrict as DatabaseError).code);
  });

  it('gives publishers and tool calls in concurrent scopes distinct, consecutive numbers', async () => {
    const { agent, run, tool } = await tenant(async (tx) => {
      const { agent } = await createAgent(tx, {
        slug: 'contended',
        name: 'Contended',
        kind: 'custom',
        config: { model: 'gpt-4o', systemPrompt: 'v1' },
      });
      const tool = await createTool(tx, {
        key: 'contended_lookup',
        name: 'Contended lookup',
        description: 'Looks things up',
        kind: 'builtin',
        inputSchema: { type: 'object' },
      });
      const { run } = await startRun(tx, { agentId: agent.id, trigger: 'api', status: 'running' });
      return { agent, run, tool };
    });
    const published = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        tenant((tx) => publishAgentConfig(tx, agent.id, { model: 'gpt-4o', systemPrompt: `v${i + 2}` })),
      ),
    );
    const calls = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        tenant((tx) => recordToolExecution(tx, { runId: run.id, toolId: tool.id, toolCallId: `call_${i}` })),
      ),
    );
    expect(published.map((p) => p.config.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(calls.map((c) => c.sequence).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    const listed = await tenant((tx) => listToolExecutions(tx, run.id));
    expect(listed.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(listed.map((e) => e.toolCallId)).size).toBe(6);
  });

  it('refuses negative telemetry, finish before start and failed runs without an error', async () => {
    const [agent] = await tenant((tx) => tx.select().from(agents).where(eq(agents.slug, 'copywriter')));
    const base = {
      agentId: agent?.id ?? '',
      configId: agent?.currentConfigId ?? '',
      trigger: 'api' as const,
    };
    const cases: [string, Partial<typeof agentRuns.$inferInsert>][] = [
      ['agent_runs_tokens_check', { promptTokens: -1 }],
      ['agent_runs_cost_check', { costAmount: '-0.01' }],
      [
        'agent_runs_latency_check',
        { status: 'succeeded', startedAt: new Date(), finishedAt: new Date(), latencyMs: -5 },
      ],
      [
        'agent_runs_finished_after_started_check',
        { status: 'succeeded', startedAt: new Date('2026-01-02'), finishedAt: new Date('2026-01-01') },
      ],
      ['agent_runs_status_check', { status: 'running' }],
      ['agent_runs_error_check', { status: 'failed', startedAt: new Date(), finishedAt: new Date() }],
      ['agent_runs_currency_check', { currency: 'usd' }],
    ];
    for (const [constraint, values] of cases) {
      const error = await failure(() => tenant((tx) => tx.insert(agentRuns).values({ ...base, ...values })));
      expect(error, constraint).toMatchObject({ kind: 'check_violation', constraint });
    }
    console.log(`telemetry checks refused: ${cases.length} of ${cases.length}`);
    const sameKey = await failure(() =>
      tenant((tx) =>
        tx.insert(agentRuns).values([
          { ...base, idempotencyKey: 'dup' },
          { ...base, idempotencyKey: 'dup' },
        ]),
      ),
    );
    expect(sameKey).toMatchObject({ constraint: 'agent_runs_organization_id_idempotency_key_key' });
  });

  it('computes run statistics in SQL and pages runs over a window', async () => {
    const latencies = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000];
    const { agentId } = await tenant(async (tx) => {
      const { agent, config } = await createAgent(tx, {
        slug: 'stats',
        name: 'Stats',
        kind: 'analytics',
        config: { model: 'm', systemPrompt: 'p' },
      });
      await tx.insert(agentRuns).values(
        latencies.map((latencyMs, i) => ({
          agentId: agent.id,
          configId: config?.id ?? '',
          trigger: 'api' as const,
          status: i < 7 ? ('succeeded' as const) : i < 9 ? ('failed' as const) : ('timed_out' as const),
          error: i >= 7 ? { code: 'e', message: 'm' } : null,
          latencyMs,
          promptTokens: 10,
          completionTokens: 5,
          costAmount: '0.5',
          currency: i % 2 === 0 ? 'USD' : 'EUR',
          startedAt: new Date(`2026-02-01T00:${String(i).padStart(2, '0')}:00Z`),
          finishedAt: new Date(`2026-02-01T00:${String(i).padStart(2, '0')}:01Z`),
          createdAt: new Date(`2026-02-01T00:${String(i).padStart(2, '0')}:00Z`),
        })),
      );
      // Outside the window: must not count.
      await tx.insert(agentRuns).values({
        agentId: agent.id,
        configId: config?.id ?? '',
        trigger: 'api',
        status: 'succeeded',
        latencyMs: 99_999,
        startedAt: new Date('2026-03-01'),
        finishedAt: new Date('2026-03-01'),
        createdAt: new Date('2026-03-01'),
      });
      return { agentId: agent.id };
    });
    const window = { from: new Date('2026-02-01'), to: new Date('2026-02-02') };
    const stats = await tenant((tx) => agentRunStats(tx, agentId, window));
    console.log('run stats:', stats);
    expect(stats).toMatchObject({
      runs: 10,
      succeeded: 7,
      failed: 2,
      timedOut: 1,
      cancelled: 0,
      inFlight: 0,
    });
    expect(stats.errorRate).toBeCloseTo(0.3, 10);
    expect(stats.p50LatencyMs).toBeCloseTo(550, 6); // percentile_cont interpolates
    expect(stats.p95LatencyMs).toBeCloseTo(955, 6);
    expect(stats.promptTokens).toBe(100);
    expect(stats.completionTokens).toBe(50);
    expect(Object.fromEntries(Object.entries(stats.cost).map(([c, v]) => [c, Number(v)]))).toEqual({
      USD: 2.5,
      EUR: 2.5,
    });

    const pages: string[][] = [];
    let before: string | undefined;
    do {
      const page = await tenant((tx) => listAgentRuns(tx, agentId, window, { limit: 4, before }));
      pages.push(page.runs.map((r) => r.createdAt.toISOString()));
      before = page.nextCursor ?? undefined;
    } while (before);
    expect(pages.map((p) => p.length)).toEqual([4, 4, 2]);
    const flat = pages.flat();
    expect(flat).toEqual([...flat].sort().reverse());
    const bad = await failure(() =>
      tenant((tx) => listAgentRuns(tx, agentId, { from: window.to, to: window.from })),
    );
    expect(bad).toMatchObject({ table: 'agent_runs', column: 'to' });
  });

  it('keeps run telemetry when its conversation is deleted, and purges everything with the organization', async () => {
    const { db } = database.current;
    const { runId, conversationId } = await tenant(async (tx) => {
      const [agent] = await tx.select().from(agents).where(eq(agents.slug, 'copywriter'));
      const conversation = await createConversation(tx, { title: 'Short-lived', agentId: agent?.id });
      const { run } = await startRun(tx, {
        agentId: agent?.id ?? '',
        trigger: 'user',
        conversationId: conversation.id,
      });
      return { runId: run.id, conversationId: conversation.id };
    });
    // The run still points at it: a raw DELETE is refused by the foreign key, deleteConversation clears it first.
    const refused = await failure(() =>
      tenant((tx) => tx.delete(conversations).where(eq(conversations.id, conversationId))),
    );
    expect(refused).toMatchObject({
      kind: 'foreign_key_violation',
      constraint: 'agent_runs_conversation_id_fkey',
    });
    expect(await tenant((tx) => deleteConversation(tx, conversationId))).toBe(true);
    const [run] = await tenant((tx) => tx.select().from(agentRuns).where(eq(agentRuns.id, runId)));
    expect(run?.conversationId).toBeNull();

    const doomed = await seedTenant(db, {
      slug: 'doomed',
      name: 'Doomed',
      ownerEmail: 'o@doomed.example',
      ownerName: 'D',
    });
    // An administrative step (tenant scopes cannot delete organizations): the owner, outside any scope.
    await db.delete(organizations).where(eq(organizations.id, doomed.organizationId));
    const [configs] = await database.current.sql.query<{ n: number }>(
      'select count(*)::int as n from agent_configs where organization_id = $1',
      [doomed.organizationId],
    );
    expect(Number(configs?.n)).toBe(0);
    await expect(withTenant(db, doomed.organizationId, async () => 1)).rejects.toThrow(
      /no such organization/,
    );
    const [{ n } = { n: -1 }] = (await database.current.sql.query<{ n: number }>(
      `select count(*)::int as n from agent_runs where organization_id = $1`,
      [doomed.organizationId],
    )) as { n: number }[];
    expect(Number(n)).toBe(0);
  });
});

describe('agent validators', () => {
  it('accept what the tables store and refuse what they refuse', () => {
    expect(agentConfigParametersSchema.safeParse({ topP: 0.9, stop: ['\n'] }).success).toBe(true);
    expect(agentConfigParametersSchema.safeParse({ topP: 2 }).success).toBe(false);
    expect(agentConfigParametersSchema.safeParse({ unknown: 1 }).success).toBe(false);
    const config = { agentId: owner, version: 1, model: 'm', systemPrompt: 'p' };
    expect(insertAgentConfigSchema.safeParse(config).success).toBe(true);
    expect(insertAgentConfigSchema.safeParse({ ...config, version: 0 }).success).toBe(false);
    const run = { agentId: owner, configId: owner, trigger: 'api' };
    expect(insertAgentRunSchema.safeParse(run).success).toBe(true);
    expect(insertAgentRunSchema.safeParse({ ...run, promptTokens: -1 }).success).toBe(false);
    expect(insertAgentRunSchema.safeParse({ ...run, costAmount: '-1' }).success).toBe(false);
    expect(
      insertAgentRunSchema.safeParse({
        ...run,
        startedAt: new Date('2026-01-02'),
        finishedAt: new Date('2026-01-01'),
      }).success,
    ).toBe(false);
  });

  it('has no user left dangling when a config author is deleted', async () => {
    const { db } = database.current;
    const [user] = await db.insert(users).values({ email: 'author@acme.example' }).returning();
    const { config } = await tenant((tx) =>
      createAgent(tx, {
        slug: 'authored',
        name: 'A',
        kind: 'custom',
        config: { model: 'm', systemPrompt: 'p', createdByUserId: user?.id },
      }),
    );
    await db.delete(users).where(eq(users.id, user?.id ?? ''));
    const [after] = await tenant((tx) =>
      tx
        .select()
        .from(agentConfigs)
        .where(eq(agentConfigs.id, config?.id ?? '')),
    );
    expect(after?.createdByUserId).toBeNull();
  });
});

describe('catalog invariants and isolation of the agents and chat tables', () => {
  it('forces RLS, keys every unique and tenant FK by organization, and indexes every FK', async () => {
    const raw = database.current.sql;
    const rls = await raw.query<{ table: string; forced: boolean; policies: number }>(
      `select c.relname as table, c.relforcerowsecurity as forced,
              (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
       from pg_class c where c.relname = any($1) order by 1`,
      [agentTables],
    );
    expect(rls).toHaveLength(agentTables.length);
    for (const row of rls) expect(row, row.table).toMatchObject({ forced: true });
    for (const row of rls) expect(Number(row.policies), row.table).toBeGreaterThan(0);

    const constraints = await raw.query<{
      name: string;
      type: string;
      target: string | null;
      columns: string;
    }>(
      `select con.conname as name, con.contype as type, ref.relname as target,
              array_to_string(array(select a.attname from unnest(con.conkey) with ordinality k(n, o)
                join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.o), ',') as columns
       from pg_constraint con join pg_class c on c.oid = con.conrelid
       left join pg_class ref on ref.oid = con.confrelid
       where c.relname = any($1) and con.contype in ('u', 'f')`,
      [agentTables],
    );
    const global = new Set(['users', 'embedding_spaces', 'organizations']);
    for (const con of constraints) {
      if (con.type === 'f' && global.has(con.target ?? '')) continue;
      // A foreign key leads with the tenant; a unique key includes it (agent_runs' idempotency key
      // leads with the key, so no index but the primary key serves a lookup of a run by its id).
      if (con.type === 'f') expect(con.columns.split(',')[0], con.name).toBe('organization_id');
      else expect(con.columns.split(','), con.name).toContain('organization_id');
    }
    const unindexed = await raw.query<{ name: string }>(
      `select con.conname as name from pg_constraint con join pg_class c on c.oid = con.conrelid
       where c.relname = any($1) and con.contype = 'f' and not exists (
         select 1 from pg_index i where i.indrelid = con.conrelid
           and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] @> con.conkey
           and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] <@ con.conkey)`,
      [agentTables],
    );
    expect(unindexed).toEqual([]);
    console.log(
      `${rls.length} tables forced RLS; ${constraints.length} uniques and FKs checked; FKs without a leading index: ${unindexed.length}`,
    );
    const partial = await raw.query<{ n: number }>(
      `select count(*)::int as n from pg_index i join pg_class c on c.oid = i.indrelid
       where c.relname = any($1) and i.indisunique and i.indpred is not null`,
      [agentTables],
    );
    expect(Number(partial[0]?.n)).toBe(1); // agents_organization_id_slug_key: live agents only
  });

  it("shows, changes and deletes none of another tenant's rows", async () => {
    const { db } = database.current;
    let attempts = 0;
    let succeeded = 0;
    for (const table of agentTables) {
      const t = sql.identifier(table);
      const counted = await withTenant(db, otherOrg, async (tx) => {
        const rows = rowsOf<{ n: number }>(
          await tx.execute(sql`select count(*)::int as n from ${t} where organization_id = ${org}::uuid`),
        );
        const updated = rowsOf(
          await tx.execute(
            sql`update ${t} set organization_id = organization_id where organization_id = ${org}::uuid returning 1`,
          ),
        );
        return Number(rows[0]?.n) + updated.length;
      });
      attempts += 2;
      if (counted > 0) succeeded++;
      const deleted = await withTenant(db, otherOrg, async (tx) =>
        rowsOf(await tx.execute(sql`delete from ${t} where organization_id = ${org}::uuid returning 1`)),
      ).catch(() => []);
      attempts++;
      if (deleted.length > 0) succeeded++;
    }
    const insert = await failure(() =>
      withTenant(db, otherOrg, (tx) =>
        tx.insert(tools).values({
          organizationId: org,
          key: 'smuggled',
          name: 'x',
          description: 'x',
          kind: 'builtin',
          inputSchema: { type: 'object' },
        }),
      ),
    );
    attempts++;
    expect(insert.message).toMatch(/row-level security/);
    console.log(
      `cross-tenant attempts on ${agentTables.length} tables: ${attempts}, succeeded: ${succeeded}`,
    );
    expect(succeeded).toBe(0);
    const mine = await tenant((tx) => tx.select().from(tools));
    expect(mine.length).toBeGreaterThan(0);
  });
});
