import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '../src/agents/agent-runs.ts';
import { createAgent } from '../src/agents/agents.ts';
import type { Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { createBrand } from '../src/domains/brands.ts';
import { appendMessage, createConversation } from '../src/domains/chat.ts';
import { deleteAgent, deleteAgentRun, deleteBrand } from '../src/domains/deletions.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { agentRuns, agents, brands, conversations, messages, users } from '../src/schema/index.ts';
import { useTestDatabase } from './support/database.ts';
import { failure } from './support/errors.ts';

// Optional references between tenant rows are composite NO ACTION keys (Citus refuses SET NULL on
// a key with organization_id): the delete functions clear them first, a raw DELETE is refused.

const database = useTestDatabase();
let acmeId: string;
let globexId: string;
const text = (t: string) => [{ type: 'text' as const, text: t }];
const inAcme = <T>(fn: (tx: Transaction) => Promise<T>) => withTenant(database.current.db, acmeId, fn);

beforeAll(async () => {
  const { db } = database.current;
  const [owner] = await db.insert(users).values({ email: 'del@acme.example' }).returning();
  if (!owner) throw new Error('no owner');
  acmeId = (await createOrganization(db, { slug: 'acme', name: 'Acme', ownerUserId: owner.id })).organization
    .id;
  globexId = (await createOrganization(db, { slug: 'globex', name: 'Globex', ownerUserId: owner.id }))
    .organization.id;
});

/** A brand, its agent, a conversation with both, a run in it and a message the run produced. */
function buildChain(slug: string) {
  return inAcme(async (tx) => {
    const brand = await createBrand(tx, { slug, name: slug });
    const { agent } = await createAgent(tx, {
      slug,
      name: slug,
      kind: 'custom',
      brandId: brand.id,
      config: { model: 'm', systemPrompt: 'p' },
    });
    const conversation = await createConversation(tx, { title: slug, agentId: agent.id, brandId: brand.id });
    const { run } = await startRun(tx, {
      agentId: agent.id,
      trigger: 'user',
      conversationId: conversation.id,
    });
    const message = await appendMessage(tx, {
      conversationId: conversation.id,
      role: 'assistant',
      content: text('hi'),
      runId: run.id,
    });
    return { brand, agent, conversation, run, message };
  });
}

describe('deleting a parent that optional references point at', () => {
  it('deleteBrand leaves its agents and conversations brandless; a raw DELETE is refused by the foreign key', async () => {
    const { brand, agent, conversation } = await buildChain('brand-chain');
    const refused = await failure(inAcme((tx) => tx.delete(brands).where(eq(brands.id, brand.id))));
    expect(refused.kind).toBe('foreign_key_violation');
    expect(refused.constraint).toMatch(/^(agents|conversations)_brand_id_fkey$/);
    // Another tenant's scope deletes nothing.
    expect(await withTenant(database.current.db, globexId, (tx) => deleteBrand(tx, brand.id))).toBe(false);

    expect(await inAcme((tx) => deleteBrand(tx, brand.id))).toBe(true);
    const [a] = await inAcme((tx) => tx.select().from(agents).where(eq(agents.id, agent.id)));
    const [c] = await inAcme((tx) =>
      tx.select().from(conversations).where(eq(conversations.id, conversation.id)),
    );
    expect(a).toMatchObject({ brandId: null, organizationId: acmeId });
    expect(c).toMatchObject({ brandId: null, organizationId: acmeId });
  });

  it('deleteAgent keeps its conversations and their messages, without the agent and its runs', async () => {
    const { agent, conversation, run, message } = await buildChain('agent-chain');
    const refused = await failure(inAcme((tx) => tx.delete(agents).where(eq(agents.id, agent.id))));
    expect(refused.kind).toBe('foreign_key_violation');

    expect(await inAcme((tx) => deleteAgent(tx, agent.id))).toBe(true);
    const [c] = await inAcme((tx) =>
      tx.select().from(conversations).where(eq(conversations.id, conversation.id)),
    );
    expect(c?.agentId).toBeNull();
    expect(await inAcme((tx) => tx.select().from(agentRuns).where(eq(agentRuns.id, run.id)))).toEqual([]);
    const [m] = await inAcme((tx) => tx.select().from(messages).where(eq(messages.id, message.id)));
    expect(m).toMatchObject({ runId: null, conversationId: conversation.id });
  });

  it('deleteAgentRun keeps the messages the run produced', async () => {
    const { run, message } = await buildChain('run-chain');
    const refused = await failure(inAcme((tx) => tx.delete(agentRuns).where(eq(agentRuns.id, run.id))));
    expect(refused).toMatchObject({ kind: 'foreign_key_violation', constraint: 'messages_run_id_fkey' });

    expect(await inAcme((tx) => deleteAgentRun(tx, run.id))).toBe(true);
    const [m] = await inAcme((tx) => tx.select().from(messages).where(eq(messages.id, message.id)));
    expect(m?.runId).toBeNull();
    expect(await inAcme((tx) => deleteAgentRun(tx, run.id))).toBe(false);
  });
});
