import { messagePlainText } from '../domains/chat.ts';
import type { MessagePart } from '../schema/chat.ts';
import { agentRuns, conversations, messages, toolExecutions } from '../schema/index.ts';
import { agentSeedIds } from './agents.ts';
import { type DomainSeed, insertNew } from './context.ts';

const at = (iso: string) => new Date(iso);

/**
 * A brand-copilot conversation with the copywriter: the user's request, the assistant's call of
 * `brand_guidelines`, the tool's result, and the answer, all produced by one recorded run (with its
 * tool execution); then a follow-up question. Messages carry no embeddings (no space is assumed).
 */
export const chatSeed: DomainSeed = {
  name: 'chat',
  tenant: async (tx, ctx) => {
    const ids = agentSeedIds(ctx);
    const conversationId = ctx.id('conversation', 'spring-tagline');
    const runId = ctx.id('agent_run', 'copywriter', 'spring-tagline');
    const counts: Record<string, number> = {};

    counts.conversations = await insertNew(tx, conversations, [
      {
        id: conversationId,
        kind: 'brand_copilot',
        title: 'Spring launch tagline',
        agentId: ids.copywriter,
        createdByUserId: ctx.ownerUserId,
        lastMessageAt: at('2026-01-05T10:03:00Z'),
        metadata: { tags: ['spring', 'tagline'], source: 'web' },
        createdAt: at('2026-01-05T10:00:00Z'),
      },
    ]);

    counts.agent_runs = await insertNew(tx, agentRuns, [
      {
        id: runId,
        agentId: ids.copywriter,
        configId: ids.copywriterV2,
        conversationId,
        trigger: 'user',
        status: 'succeeded',
        input: { messageId: ctx.id('message', 'spring-tagline', '1') },
        output: { messageId: ctx.id('message', 'spring-tagline', '4') },
        model: 'gpt-4o',
        promptTokens: 1_250,
        completionTokens: 96,
        costAmount: '0.004085',
        latencyMs: 3_400,
        timeToFirstTokenMs: 620,
        startedAt: at('2026-01-05T10:00:01Z'),
        finishedAt: at('2026-01-05T10:00:04.400Z'),
        idempotencyKey: `chat:${conversationId}:1`,
        createdAt: at('2026-01-05T10:00:01Z'),
      },
    ]);

    const toolCallId = 'call_brand_guidelines_1';
    counts.tool_executions = await insertNew(tx, toolExecutions, [
      {
        id: ctx.id('tool_execution', 'copywriter', 'spring-tagline', '1'),
        runId,
        toolId: ids.brandGuidelinesTool,
        sequence: 1,
        toolCallId,
        status: 'succeeded',
        input: { topic: 'taglines' },
        output: { tone: ['warm', 'confident'], dont: ['exclamation marks'] },
        latencyMs: 85,
        startedAt: at('2026-01-05T10:00:02Z'),
        finishedAt: at('2026-01-05T10:00:02.085Z'),
      },
    ]);

    const turns: { role: 'user' | 'assistant' | 'tool'; content: MessagePart[]; fromRun?: boolean }[] = [
      {
        role: 'user',
        content: [{ type: 'text', text: 'Write a tagline for our spring launch of recycled sneakers.' }],
      },
      {
        role: 'assistant',
        content: [
          { type: 'tool_call', toolCallId, toolName: 'brand_guidelines', input: { topic: 'taglines' } },
        ],
        fromRun: true,
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool_result',
            toolCallId,
            toolName: 'brand_guidelines',
            output: { tone: ['warm', 'confident'], dont: ['exclamation marks'] },
          },
        ],
        fromRun: true,
      },
      {
        role: 'assistant',
        content: [{ type: 'text', text: 'Step into spring. Every pair starts as something else.' }],
        fromRun: true,
      },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Nice. Can you make a shorter one for this banner?' },
          {
            type: 'file',
            uri: 's3://demo-assets/spring-banner.png',
            mediaType: 'image/png',
            name: 'spring-banner.png',
          },
        ],
      },
    ];
    counts.messages = await insertNew(
      tx,
      messages,
      turns.map((turn, index) => ({
        id: ctx.id('message', 'spring-tagline', String(index + 1)),
        conversationId,
        role: turn.role,
        content: turn.content,
        text: messagePlainText(turn.content),
        model: turn.role === 'assistant' ? 'gpt-4o' : null,
        runId: turn.fromRun ? runId : null,
        parentMessageId: index === 0 ? null : ctx.id('message', 'spring-tagline', String(index)),
        createdAt: new Date(Date.parse('2026-01-05T10:00:00Z') + index * 45_000),
      })),
    );
    return counts;
  },
};
