import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { agentRunStats, finishRun, listToolExecutions, startRun } from '../src/agents/agent-runs.ts';
import { createAgent, grantTool, publishAgentConfig } from '../src/agents/agents.ts';
import { TenantScopeError } from '../src/base/errors.ts';
import type { Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { recordUsage, usageByMeter, usageForCurrentPeriod } from '../src/domains/billing.ts';
import { createBrand, getDefaultBrandVoice, setDefaultBrandVoice } from '../src/domains/brands.ts';
import { appendMessage, createConversation, listMessages, setMessageEmbedding } from '../src/domains/chat.ts';
import { campaignChannelTotals, upsertMetricPoints } from '../src/domains/metrics.ts';
import { deleteDataset, getLiveDataset } from '../src/rag/datasets.ts';
import { useTestDatabase } from './support/database.ts';
import { makeTenant } from './support/rag.ts';

const database = useTestDatabase();

// Every statement of these functions names the scope's tenant, so without a scope they refuse, even
// on a login that RLS would not stop (the embedded database's superuser).
const id = randomUUID();
const window = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-02-01T00:00:00Z') };
const calls: [string, (tx: Transaction) => Promise<unknown>][] = [
  ['createBrand', (tx) => createBrand(tx, { slug: 'nobody', name: 'Nobody' })],
  ['getDefaultBrandVoice', (tx) => getDefaultBrandVoice(tx, id)],
  ['setDefaultBrandVoice', (tx) => setDefaultBrandVoice(tx, id)],
  ['createConversation', (tx) => createConversation(tx, { title: 'Nobody' })],
  [
    'appendMessage',
    (tx) => appendMessage(tx, { conversationId: id, role: 'user', content: [{ type: 'text', text: 'hi' }] }),
  ],
  ['setMessageEmbedding', (tx) => setMessageEmbedding(tx, id, { spaceId: id, vector: [1] })],
  ['listMessages', (tx) => listMessages(tx, id)],
  ['createAgent', (tx) => createAgent(tx, { slug: 'nobody', name: 'Nobody', kind: 'copywriter' })],
  ['publishAgentConfig', (tx) => publishAgentConfig(tx, id, { model: 'm', systemPrompt: 'p' })],
  ['grantTool', (tx) => grantTool(tx, id, id)],
  ['startRun', (tx) => startRun(tx, { agentId: id, trigger: 'api' })],
  ['finishRun', (tx) => finishRun(tx, id, { status: 'succeeded' })],
  ['listToolExecutions', (tx) => listToolExecutions(tx, id)],
  ['agentRunStats', (tx) => agentRunStats(tx, id, window)],
  ['getLiveDataset', (tx) => getLiveDataset(tx, id)],
  ['deleteDataset', (tx) => deleteDataset(tx, id)],
  [
    'recordUsage',
    (tx) => recordUsage(tx, [{ meter: 'm', quantity: 1, recordedAt: window.from, idempotencyKey: 'k' }]),
  ],
  ['usageByMeter', (tx) => usageByMeter(tx, { start: window.from, end: window.to })],
  ['usageForCurrentPeriod', (tx) => usageForCurrentPeriod(tx)],
  [
    'upsertMetricPoints',
    (tx) =>
      upsertMetricPoints(tx, [
        { campaignId: id, channel: 'email', metric: 'sent', bucket: window.from, value: 1 },
      ]),
  ],
  ['campaignChannelTotals', (tx) => campaignChannelTotals(tx, { campaignId: id })],
];

describe('domain functions outside a tenant scope', () => {
  it('refuse with TenantScopeError, in a plain transaction and on the database itself', async () => {
    const { db } = database.current;
    const refused: string[] = [];
    for (const [name, call] of calls) {
      await expect(
        db.transaction((tx) => call(tx)),
        name,
      ).rejects.toBeInstanceOf(TenantScopeError);
      const outsideAnyTransaction = Promise.resolve().then(() => call(db as unknown as Transaction));
      await expect(outsideAnyTransaction, name).rejects.toBeInstanceOf(TenantScopeError);
      refused.push(name);
    }
    console.log(`${refused.length} functions refused outside a tenant scope`);
    expect(refused).toHaveLength(calls.length);
  });

  it('run inside one (the control)', async () => {
    const { db } = database.current;
    const org = await makeTenant(db, 'scoped');
    const brand = await withTenant(db, org, (tx) => createBrand(tx, { slug: 'scoped', name: 'Scoped' }));
    expect(brand.organizationId).toBe(org);
    expect(await withTenant(db, org, (tx) => getDefaultBrandVoice(tx, brand.id))).toBeUndefined();
  });
});
