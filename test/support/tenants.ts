import { sql } from 'drizzle-orm';
import { createAgent } from '../../src/agents/agents.ts';
import type { AgentKind } from '../../src/agents/run-queue.ts';
import type { Database } from '../../src/client/client.ts';
import { withTenant } from '../../src/client/tenant.ts';
import type { KeyRing } from '../../src/security/key-ring.ts';
import { type SeedResult, seedTenant } from '../../src/seed/index.ts';

/** The two organizations most test files need: the one under test and another one. */
export const acmeTenant = { slug: 'acme', name: 'Acme', ownerEmail: 'owner@acme.example', ownerName: 'Ann' };
export const globexTenant = {
  slug: 'globex',
  name: 'Globex',
  ownerEmail: 'owner@globex.example',
  ownerName: 'Gus',
};

/** Both, seeded with data in every domain (fixed ids, so a second call inserts nothing). */
export async function seedAcmeAndGlobex(
  db: Database,
  options: { ring?: KeyRing } = {},
): Promise<{ acme: SeedResult; globex: SeedResult }> {
  const acme = await seedTenant(db, acmeTenant, options);
  const globex = await seedTenant(db, globexTenant, options);
  return { acme, globex };
}

/** Acme and Globex with an agent of each kind a run-queue test claims (see seedQueueTenants). */
export interface QueueTenants {
  acme: string;
  globex: string;
  /** The id of `org`'s agent of `kind`. */
  agent(org: string, kind: AgentKind): string;
}

/**
 * Acme and Globex, each with one active agent of every kind in `kinds` (slug `<prefix>-<kind>`): each
 * test of the run queue claims its own kind, so runs of other tests stay out of its way. The demo's
 * queued and running runs, made before the queue, are cancelled: they are no test's.
 */
export async function seedQueueTenants(
  db: Database,
  prefix: string,
  kinds: readonly AgentKind[],
): Promise<QueueTenants> {
  const seeded = await seedAcmeAndGlobex(db);
  const acme = seeded.acme.organizationId;
  const globex = seeded.globex.organizationId;
  const agents = new Map<string, string>();
  for (const org of [acme, globex]) {
    await withTenant(db, org, async (tx) => {
      await tx.execute(sql`update agent_runs set status = 'cancelled', finished_at = greatest(now(), started_at)
                           where organization_id = ${org}::uuid and status in ('queued', 'running')`);
      for (const kind of kinds) {
        const { agent } = await createAgent(tx, {
          slug: `${prefix}-${kind.replaceAll('_', '-')}`,
          name: `${prefix} ${kind}`,
          kind,
          status: 'active',
          config: { model: 'm', systemPrompt: 'p' },
        });
        agents.set(`${org}/${kind}`, agent.id);
      }
    });
  }
  return { acme, globex, agent: (org, kind) => agents.get(`${org}/${kind}`) ?? '' };
}
