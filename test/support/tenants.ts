import type { Database } from '../../src/client/client.ts';
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
