import { describe, expect, it } from 'vitest';
import { COLOCATION_GROUPS, citusDistributionPlan } from '../src/operator/citus.ts';
import { foreignKeys, tenantTables } from './support/catalog.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

describe('Citus distribution plan', () => {
  it('covers every table once: organizations and global tables as reference tables, tenant tables co-located by organization_id, every foreign key set aside and restored', async () => {
    const { sql } = database.current;
    const plan = await citusDistributionPlan(sql);
    // Organizations are a reference table (slugs stay globally unique); every other table with an organization is sharded.
    const tenant = new Set((await tenantTables(sql)).filter((table) => table !== 'organizations'));
    const tables = await sql.query<{ name: string }>(
      `select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') and not relispartition`,
    );
    const placements = plan.filter((step) => step.kind === 'reference' || step.kind === 'distributed');
    expect(placements.map((step) => step.table).sort()).toEqual(tables.map((table) => table.name).sort());
    for (const step of placements)
      expect(step.kind === 'distributed', step.table).toBe(tenant.has(step.table));
    expect(plan.find((step) => step.table === 'organizations' && step.kind === 'reference')?.sql).toBe(
      `SELECT create_reference_table('organizations');`,
    );
    const distributed = placements.filter((step) => step.kind === 'distributed');
    const anchor = distributed[0]?.table;
    expect(distributed[0]?.sql).toBe(
      `SELECT create_distributed_table('${anchor}', 'organization_id', colocate_with => 'none');`,
    );
    // The audit trail is a group of its own: a definer function writes it inside tenant scopes.
    expect(
      plan
        .filter((step) => /^audit_/.test(step.table) && step.kind === 'distributed')
        .map((step) => step.sql),
    ).toEqual([
      `SELECT create_distributed_table('audit_chain_heads', 'organization_id', colocate_with => 'none');`,
      `SELECT create_distributed_table('audit_logs', 'organization_id', colocate_with => 'audit_chain_heads');`,
    ]);
    expect(plan.find((step) => step.table === 'chunks' && step.kind === 'distributed')?.sql).toBe(
      `SELECT create_distributed_table('chunks', 'organization_id', colocate_with => '${anchor}');`,
    );
    // Reference tables before distributed ones; every foreign key dropped before the first placement and restored after the last.
    const position = (predicate: (kind: string) => boolean) =>
      plan.map((step, index) => (predicate(step.kind) ? index : -1)).filter((index) => index >= 0);
    expect(Math.max(...position((kind) => kind === 'reference'))).toBeLessThan(
      Math.min(...position((kind) => kind === 'distributed')),
    );
    expect(Math.max(...position((kind) => kind === 'drop-constraint'))).toBeLessThan(
      Math.min(...position((kind) => kind === 'reference')),
    );
    expect(Math.min(...position((kind) => kind === 'add-constraint'))).toBeGreaterThan(
      Math.max(...position((kind) => kind === 'distributed')),
    );
    const keys = await foreignKeys(sql);
    const dropped = plan
      .filter((step) => step.kind === 'drop-constraint')
      .map((step) => /DROP CONSTRAINT (\w+)/.exec(step.sql)?.[1]);
    const restored = plan
      .filter((step) => step.kind === 'add-constraint')
      .map((step) => /ADD CONSTRAINT (\w+)/.exec(step.sql)?.[1]);
    expect(dropped.sort()).toEqual(keys.map((fk) => fk.name).sort());
    expect(restored.sort()).toEqual(dropped.sort());
    // Citus refuses these on restore: a distributed table pointing at another except through
    // organization_id in the same co-location group, and a reference table pointing at a distributed one.
    const group = (table: string) => COLOCATION_GROUPS.findIndex((tables) => tables.includes(table));
    const crossShard = keys.filter(
      (fk) =>
        tenant.has(fk.table) &&
        tenant.has(fk.referencedTable) &&
        (!fk.columns.includes('organization_id') || group(fk.table) !== group(fk.referencedTable)),
    );
    const referenceToTenant = keys.filter((fk) => !tenant.has(fk.table) && tenant.has(fk.referencedTable));
    console.log(
      `citus plan: ${plan.filter((step) => step.kind === 'reference').length} reference tables, ${distributed.length} distributed tables co-located with ${anchor}, ${dropped.length} foreign keys set aside and restored, ${crossShard.length} cross-shard, ${referenceToTenant.length} reference-to-distributed`,
    );
    expect(crossShard.map((fk) => fk.name)).toEqual([]);
    expect(referenceToTenant.map((fk) => fk.name)).toEqual([]);
  });
});
