import { and, asc, eq, isNull } from 'drizzle-orm';
import { runQueueWake } from '../agents/agent-runs.ts';
import type { Transaction } from '../client/client.ts';
import { currentTenant } from '../client/tenant.ts';
import {
  agentCapabilities,
  agentConfigs,
  agentRuns,
  agents,
  agentTools,
  brands,
  toolExecutions,
  tools,
} from '../schema/index.ts';
import { type DomainSeed, insertNew, type SeedContext } from './context.ts';

const at = (iso: string) => new Date(iso);

/** The tenant's first live brand, if the brand seed made one: the copywriter writes in its voice. */
async function firstBrandId(tx: Transaction): Promise<string | null> {
  const [brand] = await tx
    .select({ id: brands.id })
    .from(brands)
    .where(and(eq(brands.organizationId, currentTenant(tx)), isNull(brands.deletedAt)))
    .orderBy(asc(brands.createdAt), asc(brands.id))
    .limit(1);
  return brand?.id ?? null;
}

/** Stable ids of the agents' rows, shared with the chat seed. */
export const agentSeedIds = (ctx: SeedContext) => ({
  copywriter: ctx.id('agent', 'copywriter'),
  copywriterV1: ctx.id('agent_config', 'copywriter', '1'),
  copywriterV2: ctx.id('agent_config', 'copywriter', '2'),
  brandGuidelinesTool: ctx.id('tool', 'brand_guidelines'),
  searchWebTool: ctx.id('tool', 'search_web'),
});

/**
 * Three agents (a brand copywriter with two config versions, a social scheduler, a research
 * orchestrator), the tool catalog and grants, capabilities, and runs of every outcome with their
 * tool executions, including a sub-agent run.
 */
export const agentsSeed: DomainSeed = {
  name: 'agents',
  tenant: async (tx, ctx) => {
    const ids = agentSeedIds(ctx);
    const social = ctx.id('agent', 'social-scheduler');
    const research = ctx.id('agent', 'research-lead');
    const publishTool = ctx.id('tool', 'publish_post');
    const brandId = await firstBrandId(tx);
    const counts: Record<string, number> = {};

    counts.tools = await insertNew(tx, tools, [
      {
        id: ids.brandGuidelinesTool,
        key: 'brand_guidelines',
        name: 'Brand guidelines',
        description: "Returns the brand's tone, vocabulary and do/don't rules.",
        inputSchema: { type: 'object', properties: { topic: { type: 'string' } } },
        kind: 'builtin',
      },
      {
        id: ids.searchWebTool,
        key: 'search_web',
        name: 'Web search',
        description: 'Searches the web and returns the top results.',
        inputSchema: {
          type: 'object',
          properties: { query: { type: 'string' }, limit: { type: 'integer' } },
          required: ['query'],
        },
        kind: 'http',
        config: { http: { url: 'https://search.example/api', method: 'POST', timeoutMs: 10_000 } },
      },
      {
        id: publishTool,
        key: 'publish_post',
        name: 'Publish social post',
        description: 'Schedules a post on a connected social account.',
        inputSchema: {
          type: 'object',
          properties: { platform: { type: 'string' }, text: { type: 'string' }, at: { type: 'string' } },
          required: ['platform', 'text'],
        },
        kind: 'mcp',
        config: { mcp: { serverUrl: 'https://mcp.social.example', toolName: 'schedule_post' } },
      },
    ]);

    // Agents name their current version before it exists: the reference is checked at commit.
    counts.agents = await insertNew(tx, agents, [
      {
        id: ids.copywriter,
        brandId,
        slug: 'copywriter',
        name: 'Brand Copywriter',
        description: 'Drafts on-brand headlines, taglines and product copy.',
        kind: 'copywriter',
        status: 'active',
        currentConfigId: ids.copywriterV2,
      },
      {
        id: social,
        slug: 'social-scheduler',
        name: 'Social Scheduler',
        kind: 'social',
        status: 'active',
        currentConfigId: ctx.id('agent_config', 'social-scheduler', '1'),
      },
      {
        id: research,
        slug: 'research-lead',
        name: 'Research Lead',
        description: 'Breaks research questions down and delegates to other agents.',
        kind: 'orchestrator',
        status: 'draft',
        currentConfigId: ctx.id('agent_config', 'research-lead', '1'),
      },
    ]);

    counts.agent_configs = await insertNew(tx, agentConfigs, [
      {
        id: ids.copywriterV1,
        agentId: ids.copywriter,
        version: 1,
        model: 'gpt-4o-mini',
        temperature: 0.9,
        systemPrompt: 'You write marketing copy. Be concise.',
        createdByUserId: ctx.ownerUserId,
        createdAt: at('2026-01-02T09:00:00Z'),
      },
      {
        id: ids.copywriterV2,
        agentId: ids.copywriter,
        version: 2,
        model: 'gpt-4o',
        temperature: 0.7,
        parameters: { maxOutputTokens: 800, topP: 0.95 },
        systemPrompt: "You write marketing copy in the brand's voice. Call brand_guidelines before drafting.",
        changeNote: 'Follow brand guidelines; larger model.',
        createdByUserId: ctx.ownerUserId,
        createdAt: at('2026-01-04T09:00:00Z'),
      },
      {
        id: ctx.id('agent_config', 'social-scheduler', '1'),
        agentId: social,
        version: 1,
        model: 'gpt-4o-mini',
        temperature: 0.4,
        systemPrompt: 'You schedule social posts at the best time for each platform.',
        createdAt: at('2026-01-02T09:00:00Z'),
      },
      {
        id: ctx.id('agent_config', 'research-lead', '1'),
        agentId: research,
        version: 1,
        model: 'claude-sonnet',
        temperature: 0.2,
        parameters: { responseFormat: 'json' },
        systemPrompt: 'Plan the research, delegate drafting, and return a JSON brief.',
        createdAt: at('2026-01-02T09:00:00Z'),
      },
    ]);

    counts.agent_capabilities = await insertNew(tx, agentCapabilities, [
      {
        id: ctx.id('capability', 'copywriter', 'brand_voice'),
        agentId: ids.copywriter,
        capability: 'brand_voice',
      },
      {
        id: ctx.id('capability', 'copywriter', 'web_search'),
        agentId: ids.copywriter,
        capability: 'web_search',
        config: { maxResults: 5 },
      },
      { id: ctx.id('capability', 'social', 'scheduling'), agentId: social, capability: 'scheduling' },
      {
        id: ctx.id('capability', 'research', 'delegation'),
        agentId: research,
        capability: 'delegation',
        config: { maxDepth: 2 },
      },
    ]);

    counts.agent_tools = await insertNew(tx, agentTools, [
      {
        id: ctx.id('agent_tool', 'copywriter', 'brand_guidelines'),
        agentId: ids.copywriter,
        toolId: ids.brandGuidelinesTool,
      },
      {
        id: ctx.id('agent_tool', 'copywriter', 'search_web'),
        agentId: ids.copywriter,
        toolId: ids.searchWebTool,
        config: { maxCallsPerRun: 3 },
      },
      {
        id: ctx.id('agent_tool', 'social', 'publish_post'),
        agentId: social,
        toolId: publishTool,
        config: { requiresApproval: true },
      },
      { id: ctx.id('agent_tool', 'research', 'search_web'), agentId: research, toolId: ids.searchWebTool },
    ]);

    const researchRun = ctx.id('agent_run', 'research', 'brief');
    counts.agent_runs = await insertNew(tx, agentRuns, [
      {
        id: ctx.id('agent_run', 'social', 'weekly'),
        agentId: social,
        configId: ctx.id('agent_config', 'social-scheduler', '1'),
        trigger: 'schedule',
        status: 'succeeded',
        input: { week: '2026-W02' },
        output: { scheduled: 3 },
        model: 'gpt-4o-mini',
        promptTokens: 820,
        completionTokens: 240,
        costAmount: '0.000267',
        latencyMs: 2_900,
        timeToFirstTokenMs: 410,
        startedAt: at('2026-01-05T07:00:00.100Z'),
        finishedAt: at('2026-01-05T07:00:03.000Z'),
        idempotencyKey: 'schedule:social:2026-W02',
        createdAt: at('2026-01-05T07:00:00Z'),
      },
      {
        id: ctx.id('agent_run', 'social', 'failed'),
        agentId: social,
        configId: ctx.id('agent_config', 'social-scheduler', '1'),
        trigger: 'api',
        status: 'failed',
        input: { week: '2026-W03' },
        error: { code: 'tool_error', message: 'publish_post: account disconnected' },
        model: 'gpt-4o-mini',
        promptTokens: 400,
        completionTokens: 20,
        costAmount: '0.000072',
        latencyMs: 1_200,
        startedAt: at('2026-01-06T07:00:00Z'),
        finishedAt: at('2026-01-06T07:00:01.200Z'),
        createdAt: at('2026-01-06T07:00:00Z'),
      },
      {
        id: researchRun,
        agentId: research,
        configId: ctx.id('agent_config', 'research-lead', '1'),
        trigger: 'user',
        status: 'running',
        input: { question: 'Which spring campaign themes work for eco brands?' },
        model: 'claude-sonnet',
        startedAt: at('2026-01-06T10:00:00Z'),
        createdAt: at('2026-01-06T10:00:00Z'),
      },
      {
        id: ctx.id('agent_run', 'research', 'sub-draft'),
        agentId: ids.copywriter,
        configId: ids.copywriterV2,
        parentRunId: researchRun,
        trigger: 'agent',
        status: 'queued',
        input: { task: 'Draft three theme names' },
        createdAt: at('2026-01-06T10:00:05Z'),
      },
    ]);

    // The queued sub-run is the run queue's: its index learns the tenant has work.
    if (counts.agent_runs > 0) await tx.execute(runQueueWake(new Date()));

    counts.tool_executions = await insertNew(tx, toolExecutions, [
      {
        id: ctx.id('tool_execution', 'social', 'weekly', '1'),
        runId: ctx.id('agent_run', 'social', 'weekly'),
        toolId: publishTool,
        sequence: 1,
        toolCallId: 'call_weekly_1',
        status: 'succeeded',
        input: { platform: 'linkedin', text: 'Spring is here.' },
        output: { postId: 'li_123' },
        latencyMs: 640,
        startedAt: at('2026-01-05T07:00:01Z'),
        finishedAt: at('2026-01-05T07:00:01.640Z'),
      },
      {
        id: ctx.id('tool_execution', 'social', 'failed', '1'),
        runId: ctx.id('agent_run', 'social', 'failed'),
        toolId: publishTool,
        sequence: 1,
        toolCallId: 'call_failed_1',
        status: 'failed',
        input: { platform: 'x', text: 'Spring is here.' },
        error: { code: 'account_disconnected', message: 'The X account needs to be reconnected.' },
        latencyMs: 300,
        startedAt: at('2026-01-06T07:00:00.500Z'),
        finishedAt: at('2026-01-06T07:00:00.800Z'),
      },
      {
        id: ctx.id('tool_execution', 'research', 'brief', '1'),
        runId: researchRun,
        toolId: ids.searchWebTool,
        sequence: 1,
        toolCallId: 'call_research_1',
        status: 'running',
        input: { query: 'eco brand spring campaign themes 2026' },
        startedAt: at('2026-01-06T10:00:01Z'),
      },
    ]);
    return counts;
  },
};
