import { and, eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { createOrganization } from '../src/api/organizations.ts';
import { brands, users } from '../src/schema/index.ts';
import { withTenant } from '../src/tenant.ts';
import { newScopeKey } from '../src/tenant-keys.ts';
import { type Bench, ms, timeSideBySide } from './support.ts';

/** A tenant-scoped read through `withTenant` against the same query sent raw with postgres.js. */
export const tenantScopeBench: Bench = {
  name: 'tenant scope overhead',
  needsServer: 'compares against a raw postgres.js query on a server connection',
  async run(target) {
    const database = await target.fresh();
    const raw = postgres(database.url ?? '', { max: 1, onnotice: () => {} });
    try {
      const { db } = database.handle;
      const [owner] = await db.insert(users).values({ email: 'bench@example.com' }).returning();
      const { organization } = await createOrganization(db, {
        slug: 'bench',
        name: 'Bench',
        ownerUserId: owner?.id ?? '',
        demoSeed: 'bench',
      });
      // The scope key a hand-written service would set (the demo seed makes it known here).
      const key = newScopeKey('bench').key.toString('hex');
      await withTenant(db, organization.id, (tx) =>
        tx.execute(
          sql`insert into brands (slug, name) select 'brand-' || g, 'Brand ' || g from generate_series(1, 2000) g`,
        ),
      );
      const iterations = 2000;
      const [{ id: brandId } = { id: '' }] = await withTenant(db, organization.id, (tx) =>
        tx.select({ id: brands.id }).from(brands).where(eq(brands.organizationId, organization.id)).limit(1),
      );
      const throughPackage = () =>
        withTenant(db, organization.id, (tx) =>
          tx
            .select()
            .from(brands)
            .where(and(eq(brands.organizationId, organization.id), eq(brands.id, brandId))),
        );
      // The same isolation by hand: BEGIN; SET LOCAL role and tenant; the query; COMMIT.
      const scopedByHand = () =>
        raw.begin(async (tx) => {
          await tx.unsafe(`set local role neonhub_app; set local app.tenant_key = '${key}'`);
          return tx`select * from brands where organization_id = ${organization.id} and id = ${brandId}`;
        });
      const bare = () =>
        raw`select * from brands where organization_id = ${organization.id} and id = ${brandId}`;
      const [scoped, byHand] = await timeSideBySide(throughPackage, scopedByHand, iterations);
      const [scopedAgain, direct] = await timeSideBySide(throughPackage, bare, iterations);
      // The same Drizzle query in a plain Drizzle transaction: what the tenant scope itself adds.
      const drizzleOnly = () =>
        db.transaction((tx) =>
          tx
            .select()
            .from(brands)
            .where(and(eq(brands.organizationId, organization.id), eq(brands.id, brandId))),
        );
      const [scopedOnce, unscoped] = await timeSideBySide(throughPackage, drizzleOnly, iterations);
      return [
        {
          path: `one brand by id, p50 of ${iterations}, same isolation by hand`,
          measured: `withTenant ${ms(scoped.p50)} (p95 ${ms(scoped.p95)})`,
          baseline: `postgres.js transaction ${ms(byHand.p50)} (p95 ${ms(byHand.p95)})`,
          ratio: scoped.p50 / byHand.p50,
          target: '<= 1.3x',
          ok: scoped.p50 / byHand.p50 <= 1.3,
        },
        {
          path: `one brand by id, p50 of ${iterations}, the scope alone`,
          measured: `withTenant ${ms(scopedOnce.p50)} (p95 ${ms(scopedOnce.p95)})`,
          baseline: `Drizzle transaction, WHERE only ${ms(unscoped.p50)} (p95 ${ms(unscoped.p95)})`,
          ratio: scopedOnce.p50 / unscoped.p50,
          target: 'contrast: role, setting and RLS',
          ok: true,
        },
        {
          path: `one brand by id, p50 of ${iterations}, no isolation (owner, WHERE only)`,
          measured: `withTenant ${ms(scopedAgain.p50)} (p95 ${ms(scopedAgain.p95)})`,
          baseline: `bare postgres.js query ${ms(direct.p50)} (p95 ${ms(direct.p95)})`,
          ratio: scopedAgain.p50 / direct.p50,
          target: 'contrast: BEGIN and COMMIT are two more round trips',
          ok: true,
        },
      ];
    } finally {
      await raw.end();
      await database.close();
    }
  },
};
