import type { Database } from '../client/client.ts';
import { developmentTarget, runtimeOf } from '../client/scope-runtime.ts';
import { withTenant } from '../client/tenant.ts';
import { DEVELOPMENT_ENV } from '../security/development.ts';
import type { KeyRing } from '../security/key-ring.ts';
import { agentsSeed } from './agents.ts';
import { billingSeed } from './billing.ts';
import { brandSeed } from './brand.ts';
import { campaignsSeed } from './campaigns.ts';
import { chatSeed } from './chat.ts';
import { addCounts, type DomainSeed, type SeedContext, type SeedCounts } from './context.ts';
import { identitySeed, seedOrganization, type TenantSeedInput } from './identity.ts';
import { integrationsSeed } from './integrations.ts';
import { ragSeed } from './rag.ts';
import { workSeed } from './work.ts';

export type { DomainSeed, SeedContext, SeedCounts } from './context.ts';
export { stableId } from './context.ts';

/** Every domain's seed, in dependency order (identity first). */
export const domainSeeds: DomainSeed[] = [
  identitySeed,
  brandSeed,
  ragSeed,
  agentsSeed,
  chatSeed,
  campaignsSeed,
  billingSeed,
  integrationsSeed,
  workSeed,
];

/** The organization `npm run db:setup` creates for local development. */
export const demoTenant: TenantSeedInput = {
  slug: 'demo',
  name: 'Demo Co',
  ownerEmail: 'admin@demo.example',
  ownerName: 'Demo Admin',
};

export interface SeedResult {
  organizationId: string;
  ownerUserId: string;
  /** The seeded people's memberships, by role key (`owner`, `editor`, `viewer`). */
  membershipIds: Record<string, string>;
  /** Rows inserted per table by this run (all zero on a re-run). */
  created: SeedCounts;
}

/** Global reference data of every domain (embedding spaces and the like). Idempotent. */
export async function seedGlobal(db: Database): Promise<SeedCounts> {
  const counts: SeedCounts = {};
  for (const domain of domainSeeds) if (domain.global) addCounts(counts, await domain.global(db));
  return counts;
}

/**
 * One demo organization with data in every domain: what `db:setup` gives a laptop and what tests use
 * as a fully populated tenant. Fixed ids and people with known addresses, so running it again
 * inserts nothing, and so it is refused outside the embedded database unless `NEONHUB_DEVELOPMENT=1`:
 * make real organizations with `createOrganization`.
 */
export async function seedTenant(
  db: Database,
  input: TenantSeedInput,
  options: { ring?: KeyRing; onDomain?: (name: string) => void } = {},
): Promise<SeedResult> {
  const { target } = runtimeOf(db);
  if (!developmentTarget(target)) {
    throw new Error(
      `seedTenant makes demo organizations with known people and fixed ids: refused on ${target.kind === 'server' ? target.display : 'this database'}; ` +
        `set ${DEVELOPMENT_ENV}=1 if it is a development database, or make organizations with createOrganization`,
    );
  }
  const created = await seedGlobal(db);
  const { ctx, counts } = await seedOrganization(db, input, options.ring ?? runtimeOf(db).keys.keyRing());
  addCounts(created, counts);
  for (const domain of domainSeeds) {
    options.onDomain?.(domain.name);
    if (domain.tenant) {
      const run = domain.tenant;
      addCounts(
        created,
        await withTenant(db, ctx.organizationId, (tx) => run(tx, ctx satisfies SeedContext)),
      );
    }
  }
  return {
    organizationId: ctx.organizationId,
    ownerUserId: ctx.ownerUserId,
    membershipIds: ctx.membershipIds,
    created,
  };
}

/** The local development seed: the demo organization. */
export function seed(db: Database, options: { ring?: KeyRing; onDomain?: (name: string) => void } = {}) {
  return seedTenant(db, demoTenant, options);
}
