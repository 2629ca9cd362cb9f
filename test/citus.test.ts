import { describe, expect, it } from 'vitest';
import { citusDistributionPlan } from '../src/citus.ts';
import { foreignKeys, tenantTables } from './support/catalog.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

describe('Citus distribution plan', () => {
  it('covers every table once, shards tenant tables by organization, and places referenced tables first', async () => {
    const { sql } = database.current;
    const plan = await citusDistributionPlan(sql);
    const tenant = new Set(await tenantTables(sql));
    const tables = await sql.query<{ name: string }>(
      `select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') and not relispartition`,
    );
    const placements = plan.filter((step) => step.kind === 'reference' || step.kind === 'distributed');
    expect(placements.map((step) => step.table).sort()).toEqual(tables.map((table) => table.name).sort());
    for (const step of placements) expect(step.kind === 'distributed').toBe(tenant.has(step.table));
    expect(plan.find((step) => step.table === 'organizations')?.sql).toBe(
      `SELECT create_distributed_table('organizations', 'id');`,
    );
    expect(plan.find((step) => step.table === 'chunks')?.sql).toBe(
      `SELECT create_distributed_table('chunks', 'organization_id', colocate_with => 'organizations');`,
    );
    // Every reference either points backwards in the plan or is set aside and put back around it.
    const position = new Map(placements.map((step, index) => [step.table, index]));
    const setAside = new Set(
      plan
        .filter((step) => step.kind === 'drop-constraint')
        .map((step) => /DROP CONSTRAINT (\w+)/.exec(step.sql)?.[1]),
    );
    expect(plan.filter((step) => step.kind === 'add-constraint')).toHaveLength(setAside.size);
    const misordered = (await foreignKeys(sql)).filter(
      (fk) =>
        fk.table !== fk.referencedTable &&
        !setAside.has(fk.name) &&
        (position.get(fk.referencedTable) ?? 0) > (position.get(fk.table) ?? 0),
    );
    // A distributed table never points at another one except through organization_id (co-located).
    const crossShard = (await foreignKeys(sql)).filter(
      (fk) =>
        tenant.has(fk.table) && tenant.has(fk.referencedTable) && !fk.columns.includes('organization_id'),
    );
    console.log(
      `citus plan: ${plan.filter((step) => step.kind === 'reference').length} reference tables, ${plan.filter((step) => step.kind === 'distributed').length} distributed tables, ${setAside.size} cycle-closing references set aside and restored, ${misordered.length} out of order, ${crossShard.length} cross-shard`,
    );
    expect(misordered.map((fk) => fk.name)).toEqual([]);
    expect(crossShard.map((fk) => fk.name)).toEqual([]);
  });
});
