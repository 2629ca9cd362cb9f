import { and, eq, isNull, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { firstRow, guarded, notFound, parseInput } from '../base/input.ts';
import type { Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';
import {
  type Agent,
  type AgentCapability,
  type AgentConfig,
  type AgentTool,
  agentCapabilities,
  agentConfigs,
  agents,
  agentTools,
  type Tool,
  tools,
} from '../schema/index.ts';
import {
  agentToolConfigSchema,
  insertAgentCapabilitySchema,
  insertAgentConfigSchema,
  insertAgentSchema,
  insertToolBaseSchema,
  toolConfigMatchesKind,
  toolConfigMessage,
} from '../validators/agents.ts';

// The agent registry: agents, their immutable config versions, capabilities, tools and grants.
// Runs and their telemetry are in agent-runs.ts.

const configInputSchema = insertAgentConfigSchema
  .pick({
    model: true,
    temperature: true,
    parameters: true,
    systemPrompt: true,
    changeNote: true,
    createdByUserId: true,
  })
  .partial({ temperature: true, parameters: true, changeNote: true, createdByUserId: true });
export type AgentConfigInput = z.input<typeof configInputSchema>;

const createAgentInputSchema = insertAgentSchema
  .pick({ slug: true, name: true, description: true, kind: true, status: true, brandId: true })
  .partial({ description: true, status: true, brandId: true })
  .extend({ config: configInputSchema.optional() });
export type CreateAgentInput = z.input<typeof createAgentInputSchema>;

/**
 * Registers an agent in the current tenant; with `config`, also its version 1, made current, in the
 * same transaction (the deferred current-config reference is checked at commit).
 */
export async function createAgent(
  tx: Transaction,
  input: CreateAgentInput,
): Promise<{ agent: Agent; config: AgentConfig | null }> {
  const { config, ...values } = parseInput(createAgentInputSchema, input, 'agents');
  const org = currentTenant(tx);
  return guarded(async () => {
    const agent = firstRow(
      await tx
        .insert(agents)
        .values({ ...values, organizationId: org })
        .returning(),
      'agent insert',
    );
    if (!config) return { agent, config: null };
    const created = await publishAgentConfig(tx, agent.id, config);
    return { agent: created.agent, config: created.config };
  });
}

/**
 * Publishes the next immutable config version of an agent (1, 2, 3...) and, unless told otherwise,
 * makes it current. The agent row is locked, so concurrent publishers get consecutive versions.
 */
export async function publishAgentConfig(
  tx: Transaction,
  agentId: string,
  input: AgentConfigInput,
  options: { makeCurrent?: boolean } = {},
): Promise<{ agent: Agent; config: AgentConfig }> {
  assertUuid(agentId, 'agentId');
  const values = parseInput(configInputSchema, input, 'agent_configs');
  const org = currentTenant(tx);
  const theAgent = and(eq(agents.organizationId, org), eq(agents.id, agentId));
  return guarded(async () => {
    const [locked] = await tx
      .select({ id: agents.id })
      .from(agents)
      .where(and(theAgent, isNull(agents.deletedAt)))
      .for('update');
    if (!locked) throw notFound('agent_configs', 'agent_id', 'agentId');
    // Read apart from the insert (Citus refuses a subquery in an INSERT); the agent's row lock keeps it atomic.
    const [last] = await tx
      .select({ version: sql<number>`coalesce(max(${agentConfigs.version}), 0)::int` })
      .from(agentConfigs)
      .where(and(eq(agentConfigs.organizationId, org), eq(agentConfigs.agentId, agentId)));
    const config = firstRow(
      await tx
        .insert(agentConfigs)
        .values({ ...values, organizationId: org, agentId, version: Number(last?.version ?? 0) + 1 })
        .returning(),
      'config insert',
    );
    const agent =
      options.makeCurrent === false
        ? await tx.select().from(agents).where(theAgent)
        : await tx.update(agents).set({ currentConfigId: config.id }).where(theAgent).returning();
    return { agent: firstRow(agent, 'agent'), config };
  });
}

/** Points an agent at one of its existing config versions (a rollback); checked immediately. */
export async function setCurrentConfig(tx: Transaction, agentId: string, configId: string): Promise<Agent> {
  assertUuid(agentId, 'agentId');
  assertUuid(configId, 'configId');
  const org = currentTenant(tx);
  return guarded(async () => {
    const [agent] = await tx
      .update(agents)
      .set({ currentConfigId: configId })
      .where(and(eq(agents.organizationId, org), eq(agents.id, agentId)))
      .returning();
    if (!agent) throw notFound('agents', 'id', 'agentId');
    // The reference is deferred for creation; a rollback wants its answer now.
    await tx.execute(sql`set constraints agents_current_config_id_fkey immediate`);
    await tx.execute(sql`set constraints agents_current_config_id_fkey deferred`);
    return agent;
  });
}

const capabilityInputSchema = insertAgentCapabilitySchema.pick({
  capability: true,
  enabled: true,
  config: true,
});
export type CapabilityInput = z.input<typeof capabilityInputSchema>;

/** Adds or changes one capability of an agent. */
export async function setAgentCapability(
  tx: Transaction,
  agentId: string,
  input: CapabilityInput,
): Promise<AgentCapability> {
  assertUuid(agentId, 'agentId');
  const values = parseInput(capabilityInputSchema, input, 'agent_capabilities');
  return guarded(async () =>
    firstRow(
      await tx
        .insert(agentCapabilities)
        .values({ ...values, organizationId: currentTenant(tx), agentId })
        .onConflictDoUpdate({
          target: [agentCapabilities.organizationId, agentCapabilities.agentId, agentCapabilities.capability],
          set: { enabled: values.enabled ?? true, config: values.config ?? {} },
        })
        .returning(),
      'capability upsert',
    ),
  );
}

const toolInputSchema = insertToolBaseSchema
  .pick({
    key: true,
    name: true,
    description: true,
    inputSchema: true,
    kind: true,
    status: true,
    config: true,
  })
  .partial({ status: true, config: true })
  .refine(toolConfigMatchesKind, toolConfigMessage);
export type CreateToolInput = z.input<typeof toolInputSchema>;

/** Adds a tool to the current tenant's catalog. */
export async function createTool(tx: Transaction, input: CreateToolInput): Promise<Tool> {
  const values = parseInput(toolInputSchema, input, 'tools');
  const org = currentTenant(tx);
  return guarded(async () =>
    firstRow(
      await tx
        .insert(tools)
        .values({ ...values, organizationId: org })
        .returning(),
      'tool insert',
    ),
  );
}

/** Lets an agent use a tool (or changes its per-agent settings). */
export async function grantTool(
  tx: Transaction,
  agentId: string,
  toolId: string,
  config: z.input<typeof agentToolConfigSchema> = {},
): Promise<AgentTool> {
  assertUuid(agentId, 'agentId');
  assertUuid(toolId, 'toolId');
  const parsed = parseInput(agentToolConfigSchema, config, 'agent_tools');
  return guarded(async () =>
    firstRow(
      await tx
        .insert(agentTools)
        .values({ organizationId: currentTenant(tx), agentId, toolId, config: parsed })
        .onConflictDoUpdate({
          target: [agentTools.organizationId, agentTools.agentId, agentTools.toolId],
          set: { config: parsed },
        })
        .returning(),
      'agent tool upsert',
    ),
  );
}
