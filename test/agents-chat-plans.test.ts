import { desc, eq, type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentRunStatsQuery, agentRunsQuery, toolExecutionsQuery } from '../src/agents/agent-runs.ts';
import { createAgent, createTool } from '../src/agents/agents.ts';
import { encodeCursor } from '../src/base/keyset.ts';
import { rowsOf, type Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createConversation, messageTimelineQuery, userConversationsQuery } from '../src/domains/chat.ts';
import { messages } from '../src/schema/index.ts';
import { seedTenant } from '../src/seed/index.ts';
import { onServer, useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

/** Each hot path and the index that serves it, as declared in src/schema/agents.ts, agent-runs.ts and chat.ts. */
const hotPathIndexes: Record<string, { table: string; columns: string[] }> = {
  messages_conversation_id_created_at_idx: {
    table: 'messages',
    columns: ['conversation_id', 'organization_id', 'created_at', 'id'],
  },
  conversations_created_by_user_id_last_message_at_idx: {
    table: 'conversations',
    columns: ['created_by_user_id', 'organization_id', 'last_message_at', 'id'],
  },
  agent_runs_agent_id_created_at_idx: {
    table: 'agent_runs',
    columns: ['agent_id', 'organization_id', 'created_at', 'id'],
  },
  tool_executions_organization_id_run_id_sequence_key: {
    table: 'tool_executions',
    columns: ['run_id', 'organization_id', 'sequence'],
  },
};

describe('hot-path indexes', () => {
  it('exist with the columns their queries need', async () => {
    const rows = await database.current.sql.query<{
      index: string;
      table: string;
      columns: string[] | string;
    }>(
      `select i.relname as index, t.relname as table,
              array(select a.attname::text from unnest(x.indkey) with ordinality k(attnum, n)
                    join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.n) as columns
       from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
       where i.relname = any($1)`,
      [Object.keys(hotPathIndexes)],
    );
    const found = Object.fromEntries(
      rows.map((r) => [
        r.index,
        {
          table: r.table,
          columns: Array.isArray(r.columns) ? r.columns : r.columns.replace(/[{}]/g, '').split(','),
        },
      ]),
    );
    expect(found).toEqual(hotPathIndexes);
  });
});

type PlanNode = {
  'Node Type': string;
  'Index Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
};

interface Explained {
  nodes: PlanNode[];
  indexes: string[];
  buffers: number;
  ms: number;
  text: string;
}

function flatten(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(flatten)];
}

async function explain(tx: Transaction, query: SQLWrapper | SQL, analyze = true): Promise<Explained> {
  const options = analyze ? sql.raw('analyze, buffers, format json') : sql.raw('format json');
  const [row] = rowsOf<{ 'QUERY PLAN': unknown }>(await tx.execute(sql`explain (${options}) ${query}`));
  const raw = row?.['QUERY PLAN'];
  const [plan] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as {
    Plan: PlanNode;
    'Execution Time'?: number;
  }[];
  if (!plan) throw new Error('no plan');
  const nodes = flatten(plan.Plan);
  const describe = (n: PlanNode, depth: number): string =>
    [`${'  '.repeat(depth)}${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`]
      .concat((n.Plans ?? []).map((c) => describe(c, depth + 1)))
      .join('\n');
  return {
    nodes,
    indexes: nodes.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])),
    buffers: (plan.Plan['Shared Hit Blocks'] ?? 0) + (plan.Plan['Shared Read Blocks'] ?? 0),
    ms: plan['Execution Time'] ?? 0,
    text: describe(plan.Plan, 1),
  };
}

const MESSAGES = 100_000;
const RUNS = 100_000;

// 100k-row plans need a server: PGlite writes that many rows too slowly and plans with one backend.
describe.skipIf(!onServer)('hot-path plans at scale', () => {
  // PGlite has no shared buffers statistics worth comparing and takes minutes for 300k rows; the
  // plans that matter are a server's.
  let org = '';
  let longConversation = '';
  let userId = '';
  let agentId = '';
  let runId = '';

  beforeAll(async () => {
    const { db, sql: raw } = database.current;
    org = (
      await seedTenant(db, { slug: 'acme', name: 'Acme', ownerEmail: 'owner@acme.example', ownerName: 'A' })
    ).organizationId;
    await seedTenant(db, {
      slug: 'globex',
      name: 'Globex',
      ownerEmail: 'owner@globex.example',
      ownerName: 'G',
    });
    await raw.exec(
      `insert into users (email) select 'plan-user-' || i || '@acme.example' from generate_series(1, 50) i`,
    );
    const started = performance.now();
    let toolId = '';
    const planUsers = (
      await raw.query<{ id: string }>(`select id from users where email like 'plan-user-%' order by id`)
    ).map((u) => u.id);
    await withTenant(db, org, async (tx) => {
      longConversation = (await createConversation(tx, { title: 'A very long conversation' })).id;
      await tx.execute(sql`
        insert into messages (conversation_id, role, content, text, created_at)
        select ${longConversation}::uuid, (case when i % 2 = 0 then 'user' else 'assistant' end)::message_role,
          jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'message ' || i)), 'message ' || i,
          timestamptz '2026-01-01' + i * interval '1 second'
        from generate_series(1, ${MESSAGES}) i`);
      // Other conversations interleaved in the same index.
      await tx.execute(sql`
        with c as (insert into conversations (title, created_by_user_id, last_message_at)
                   select 'c ' || i, u.id, timestamptz '2026-01-01' + (i % 97) * interval '1 day' + i * interval '1 second'
                   from generate_series(1, 20000) i
                   join (select id, (row_number() over (order by id)) - 1 as n
                         from unnest(array[${sql.join(
                           planUsers.map((id) => sql`${id}::uuid`),
                           sql`, `,
                         )}]) id) u
                     on u.n = i % 50
                   returning id)
        insert into messages (conversation_id, role, content, text)
        select c.id, 'user', '[{"type":"text","text":"hi"}]'::jsonb, 'hi' from c, generate_series(1, 2)`);
      for (let i = 0; i < 10; i++) {
        const { agent } = await createAgent(tx, {
          slug: `plan-${i}`,
          name: `Plan ${i}`,
          kind: 'custom',
          config: { model: 'm', systemPrompt: 'p' },
        });
        if (i === 0) agentId = agent.id;
      }
      const tool = await createTool(tx, {
        key: 'plan_tool',
        name: 'Plan tool',
        description: 'd',
        kind: 'builtin',
        inputSchema: { type: 'object' },
      });
      await tx.execute(sql`
        insert into agent_runs (agent_id, config_id, trigger, status, error, latency_ms, prompt_tokens,
                                completion_tokens, cost_amount, started_at, finished_at, created_at)
        select a.id, a.current_config_id, 'api', (case when i % 10 = 0 then 'failed' else 'succeeded' end)::agent_run_status,
          case when i % 10 = 0 then '{"code": "x", "message": "y"}'::jsonb end,
          (i * 37) % 5000, 100, 20, 0.001, t, t + interval '1 second', t
        from generate_series(1, ${RUNS}) i
        cross join lateral (select timestamptz '2026-01-01' + i * interval '77 seconds' as t) ts
        join (select id, current_config_id, (row_number() over (order by slug)) - 1 as n from agents where slug like 'plan-%') a
          on a.n = i % 10`);
      toolId = tool.id;
    });
    // No ANALYZE first: the 100k foreign-key checks of the next insert look their runs up by key
    // though the statistics have not seen the tenant's runs (before migration 0035 they took 69 s,
    // reading the tenant's runs through a smaller index on it; now about 5).
    await withTenant(db, org, async (tx) => {
      await tx.execute(sql`
        insert into tool_executions (run_id, tool_id, sequence, status, input, started_at, finished_at, latency_ms)
        select r.id, ${toolId}::uuid, s, 'succeeded', '{}', r.started_at, r.started_at + interval '10 ms', 10
        from (select id, started_at from agent_runs where agent_id in (select id from agents where slug like 'plan-%')
              order by created_at limit 20000) r
        cross join generate_series(1, 5) s`);
      const [run] = rowsOf<{ id: string }>(
        await tx.execute(
          sql`select run_id as id from tool_executions group by run_id order by run_id limit 1`,
        ),
      );
      runId = run?.id ?? '';
      const [user] = rowsOf<{ id: string }>(
        await tx.execute(
          sql`select created_by_user_id as id from conversations where created_by_user_id is not null limit 1`,
        ),
      );
      userId = user?.id ?? '';
    });
    await raw.exec('analyze messages, conversations, agent_runs, tool_executions');
    console.log(
      `generated ${MESSAGES} messages in one conversation (+40k elsewhere), 20k conversations, ${RUNS} runs, 100k tool executions in ${Math.round(performance.now() - started)} ms`,
    );
  }, 300_000);

  it('serves a deep timeline page from the index with about the buffers of page 1 (OFFSET for contrast)', async () => {
    const { db } = database.current;
    const depth = MESSAGES - 100;
    const result = await withTenant(db, org, async (tx) => {
      const first = await explain(tx, messageTimelineQuery(tx, longConversation, { limit: 50 }));
      const [at] = rowsOf<{ micros: string; id: string }>(
        await tx.execute(sql`
          select (extract(epoch from created_at) * 1000000)::bigint::text as micros, id from messages
          where conversation_id = ${longConversation}::uuid order by created_at desc, id desc offset ${depth - 1} limit 1`),
      );
      const cursor = encodeCursor(at?.micros ?? '0', at?.id ?? '');
      const deep = await explain(
        tx,
        messageTimelineQuery(tx, longConversation, { limit: 50, before: cursor }),
      );
      const offset = await explain(
        tx,
        tx
          .select()
          .from(messages)
          .where(eq(messages.conversationId, longConversation))
          .orderBy(desc(messages.createdAt), desc(messages.id))
          .limit(50)
          .offset(depth),
      );
      return { first, deep, offset };
    });
    console.log(
      `timeline page 1: ${result.first.buffers} buffers, ${result.first.ms.toFixed(3)} ms\n` +
        `timeline keyset page ${depth} rows deep: ${result.deep.buffers} buffers, ${result.deep.ms.toFixed(3)} ms\n` +
        `timeline OFFSET ${depth}: ${result.offset.buffers} buffers, ${result.offset.ms.toFixed(3)} ms\n` +
        `deep/first buffers ${(result.deep.buffers / result.first.buffers).toFixed(2)}x, offset/first ${(result.offset.buffers / result.first.buffers).toFixed(1)}x\n` +
        `keyset plan:\n${result.deep.text}`,
    );
    for (const plan of [result.first, result.deep]) {
      expect(plan.indexes).toContain('messages_conversation_id_created_at_idx');
      expect(plan.nodes.some((n) => n['Node Type'] === 'Sort')).toBe(false);
    }
    expect(result.deep.buffers).toBeLessThanOrEqual(result.first.buffers * 1.5 + 5);
    expect(result.offset.buffers).toBeGreaterThan(result.deep.buffers * 20);
  });

  it("serves a user's conversations, an agent's runs, a run's tool executions and run stats from their indexes", async () => {
    const { db } = database.current;
    const window = { from: new Date('2026-01-10'), to: new Date('2026-01-17') };
    const plans = await withTenant(db, org, async (tx) => {
      const [message] = rowsOf<{ id: string }>(
        await tx.execute(
          sql`select id from messages where conversation_id = ${longConversation}::uuid limit 1`,
        ),
      );
      return {
        conversations: await explain(tx, userConversationsQuery(tx, userId, { limit: 20 })),
        runs: await explain(tx, agentRunsQuery(tx, agentId, window, { limit: 50 })),
        toolExecutions: await explain(tx, toolExecutionsQuery(tx, runId)),
        stats: await explain(tx, agentRunStatsQuery(tx, agentId, window)),
        appendBump: await explain(
          tx,
          sql`update conversations set last_message_at = greatest(last_message_at,
              (select m.created_at from messages m where m.id = ${message?.id}::uuid))
            where id = ${longConversation}::uuid`,
          false,
        ),
      };
    });
    const expected: Record<keyof typeof plans, string> = {
      conversations: 'conversations_created_by_user_id_last_message_at_idx',
      runs: 'agent_runs_agent_id_created_at_idx',
      toolExecutions: 'tool_executions_organization_id_run_id_sequence_key',
      stats: 'agent_runs_agent_id_created_at_idx',
      appendBump: 'conversations_pkey',
    };
    for (const [name, plan] of Object.entries(plans) as [keyof typeof plans, Explained][]) {
      console.log(`${name}: ${plan.buffers} buffers, ${plan.ms.toFixed(3)} ms\n${plan.text}`);
      expect(plan.indexes, name).toContain(expected[name]);
      // The index gives the order: no sort on top of it.
      if (name !== 'stats')
        expect(
          plan.nodes.some((n) => n['Node Type'] === 'Sort'),
          `${name} sorts`,
        ).toBe(false);
      expect(
        plan.nodes.some((n) => n['Node Type'] === 'Seq Scan'),
        `${name} has no sequential scan`,
      ).toBe(false);
    }
  });
});
