import { and, eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { OPEN_TENANT, runtimeOf } from '../src/client/scope-runtime.ts';
import { SESSION_RESET } from '../src/client/server-scope.ts';
import { runPrepared, withTenant } from '../src/client/tenant.ts';
import { createOrganization } from '../src/identity/organizations.ts';
import { brands, users } from '../src/schema/index.ts';
import { tenantKey, tenantScopeProof } from '../src/security/tenant-keys.ts';
import { type Bench, ms, type Stats, timeSideBySide } from './support.ts';

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
      });
      // The tenant key a hand-written service would derive from the same ring.
      const ring = runtimeOf(db).keys.keyRing();
      const [version] = await database.handle.sql.query<{ version: number; key_id: string }>(
        'select version, key_id from app_tenant_key_version($1)',
        [organization.id],
      );
      const key = tenantKey(ring, version?.key_id ?? '', organization.id, version?.version ?? 1);
      const opening = () => {
        const issued = Date.now();
        const v = version?.version ?? 1;
        return [organization.id, v, issued, tenantScopeProof(key, organization.id, v, issued)];
      };
      await withTenant(db, organization.id, (tx) =>
        tx.execute(
          sql`insert into brands (slug, name) select 'brand-' || g, 'Brand ' || g from generate_series(1, 2000) g`,
        ),
      );
      const iterations = 2000;
      const [{ id: brandId } = { id: '' }] = await withTenant(db, organization.id, (tx) =>
        tx.select({ id: brands.id }).from(brands).where(eq(brands.organizationId, organization.id)).limit(1),
      );
      // Each call builds its query anew, as a service does.
      const byId = () => and(eq(brands.organizationId, organization.id), eq(brands.id, brandId));
      const throughPackage = () =>
        withTenant(db, organization.id, (tx) => tx.select().from(brands).where(byId()));
      // Drizzle's documented prepared query (`.prepare(name)` with placeholders), prepared once on
      // the database and run in each scope with runPrepared, as the hand-written side's tagged
      // template is built once and prepared once per connection by postgres.js.
      const brandById = db
        .select()
        .from(brands)
        .where(
          and(
            eq(brands.organizationId, sql.placeholder('organizationId')),
            eq(brands.id, sql.placeholder('id')),
          ),
        )
        .prepare('brand_by_id');
      const preparedOnce = () =>
        withTenant(db, organization.id, (tx) =>
          runPrepared(tx, brandById, { organizationId: organization.id, id: brandId }),
        );
      // The same prepared query built again on each scope's transaction.
      const preparedInScope = () =>
        withTenant(db, organization.id, (tx) =>
          tx
            .select()
            .from(brands)
            .where(
              and(
                eq(brands.organizationId, sql.placeholder('organizationId')),
                eq(brands.id, sql.placeholder('id')),
              ),
            )
            .prepare('brand_by_id')
            .execute({ organizationId: organization.id, id: brandId }),
        );
      // The same isolation by hand, sent the way the package sends it: BEGIN and the opening proof,
      // the query, then COMMIT with the session reset in one message. The tagged template is a
      // prepared statement postgres.js keeps per connection.
      const scopedByHand = async () => {
        const connection = await raw.reserve();
        try {
          void connection.unsafe('BEGIN').execute();
          void connection.unsafe(OPEN_TENANT, opening() as never[], { prepare: false }).execute();
          const rows =
            await connection`select * from brands where organization_id = ${organization.id} and id = ${brandId}`;
          await connection.unsafe(`COMMIT; ${SESSION_RESET}`).simple();
          return rows;
        } finally {
          connection.release();
        }
      };
      // A transaction with no isolation at all, by hand: what the ticket and the reset cost.
      const plainByHand = () =>
        raw.begin(
          (tx) => tx`select * from brands where organization_id = ${organization.id} and id = ${brandId}`,
        );
      const bare = () =>
        raw`select * from brands where organization_id = ${organization.id} and id = ${brandId}`;
      const [once, byHand] = await timeSideBySide(preparedOnce, scopedByHand, iterations);
      const [prepared, byHandPrepared] = await timeSideBySide(preparedInScope, scopedByHand, iterations);
      const [unprepared, byHandAgain] = await timeSideBySide(throughPackage, scopedByHand, iterations);
      // The same Drizzle query in a plain Drizzle transaction: what the tenant scope itself adds.
      const drizzleOnly = () => db.transaction((tx) => tx.select().from(brands).where(byId()));
      const [scopedOnce, unscoped] = await timeSideBySide(throughPackage, drizzleOnly, iterations);
      const [scopedAgain, direct] = await timeSideBySide(throughPackage, bare, iterations);
      const [isolated, plain] = await timeSideBySide(scopedByHand, plainByHand, iterations);
      const byHandLine = (s: Stats) =>
        `by hand: BEGIN + opening proof, prepared postgres.js query, COMMIT + session reset ${ms(s.p50)} (p95 ${ms(s.p95)})`;
      return [
        {
          path: `one brand by id, p50 of ${iterations}, same isolation by hand, both sides built once and prepared`,
          measured: `withTenant + runPrepared(Drizzle .prepare() with placeholders) ${ms(once.p50)} (p95 ${ms(once.p95)})`,
          baseline: byHandLine(byHand),
          ratio: once.p50 / byHand.p50,
          target: '<= 1.3x',
          ok: once.p50 / byHand.p50 <= 1.3,
        },
        {
          path: `one brand by id, p50 of ${iterations}, same isolation by hand, Drizzle query built and prepared in each scope`,
          measured: `withTenant + tx.select()….prepare().execute() ${ms(prepared.p50)} (p95 ${ms(prepared.p95)})`,
          baseline: byHandLine(byHandPrepared),
          ratio: prepared.p50 / byHandPrepared.p50,
          target: "contrast: Drizzle's query building on every call",
          ok: true,
        },
        {
          path: `one brand by id, p50 of ${iterations}, same isolation by hand, Drizzle query unprepared`,
          measured: `withTenant + Drizzle query ${ms(unprepared.p50)} (p95 ${ms(unprepared.p95)})`,
          baseline: byHandLine(byHandAgain),
          ratio: unprepared.p50 / byHandAgain.p50,
          target: 'contrast: unprepared, each call planned again with its policy',
          ok: true,
        },
        {
          path: `one brand by id, p50 of ${iterations}, the scope alone`,
          measured: `withTenant + Drizzle query ${ms(scopedOnce.p50)} (p95 ${ms(scopedOnce.p95)})`,
          baseline: `Drizzle transaction, same query, WHERE only ${ms(unscoped.p50)} (p95 ${ms(unscoped.p95)})`,
          ratio: scopedOnce.p50 / unscoped.p50,
          target: 'contrast: role, setting, RLS and the pooled-connection cleanup',
          ok: true,
        },
        {
          path: `one brand by id, p50 of ${iterations}, by hand: the isolation itself`,
          measured: byHandLine(isolated),
          baseline: `BEGIN, prepared postgres.js query, COMMIT ${ms(plain.p50)} (p95 ${ms(plain.p95)})`,
          ratio: isolated.p50 / plain.p50,
          target: 'contrast: the ticket (checked once per statement) and the session reset',
          ok: true,
        },
        {
          path: `one brand by id, p50 of ${iterations}, no isolation (owner, WHERE only)`,
          measured: `withTenant + Drizzle query ${ms(scopedAgain.p50)} (p95 ${ms(scopedAgain.p95)})`,
          baseline: `bare prepared postgres.js query ${ms(direct.p50)} (p95 ${ms(direct.p95)})`,
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
