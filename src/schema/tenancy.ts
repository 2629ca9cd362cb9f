import { sql } from 'drizzle-orm';
import type { BuildExtraConfigColumns } from 'drizzle-orm/column-builder';
import {
  type AnyPgColumn,
  foreignKey,
  index,
  type PgTableExtraConfigValue,
  pgTable,
  primaryKey,
  uuid,
} from 'drizzle-orm/pg-core';
import { id, tenantPolicy } from './columns.ts';
import type { LineColumnBuilder } from './drizzle-line.ts';
import { organizations } from './organizations.ts';

const tenantColumns = () => ({
  id: id(),
  /** Defaults to the tenant of the current scope, so inserts inside `withTenant` need not repeat it. */
  organizationId: uuid('organization_id').notNull().default(sql`app_current_org_id()`),
});

type TenantColumns = ReturnType<typeof tenantColumns>;

/**
 * A tenant-owned table: adds `id` and `organization_id`, the primary key `(organization_id, id)`,
 * the cascade to its organization and the isolation policy, so a domain file declares only its own
 * columns. RLS is FORCED by the `app_install_table_hooks()` migration step (drizzle-kit cannot).
 */
export function tenantTable<TName extends string, TColumns extends Record<string, LineColumnBuilder>>(
  name: TName,
  columns: TColumns,
  extraConfig?: (
    self: BuildExtraConfigColumns<TName, TenantColumns & TColumns, 'pg'>,
  ) => PgTableExtraConfigValue[],
) {
  return pgTable(name, { ...tenantColumns(), ...columns }, (t) => {
    const self = t as unknown as BuildExtraConfigColumns<TName, TenantColumns & TColumns, 'pg'>;
    return [
      primaryKey({ name: `${name}_pkey`, columns: [self.organizationId, self.id] }),
      foreignKey({
        name: `${name}_organization_id_fkey`,
        columns: [self.organizationId],
        foreignColumns: [organizations.id],
      }).onDelete('cascade'),
      tenantPolicy(name),
      ...(extraConfig?.(self) ?? []),
    ];
  }).enableRLS();
}

type TenantOwned = { organizationId: AnyPgColumn; id: AnyPgColumn };

/**
 * A composite reference to another tenant table, `(organization_id, <column>) -> target(organization_id, id)`,
 * so a row can never point at another tenant's row, plus the index that starts with its columns,
 * the column first (or none, where `servedBy` names another index of the table that starts with
 * them). Only a table's primary key leads with the tenant: for a tenant the statistics have not
 * seen (new since the last ANALYZE) the planner expects one row, and would take any smaller index
 * led by the tenant to find a row by its id, reading every row of the tenant.
 */
export function tenantReference(
  table: string,
  self: { organizationId: AnyPgColumn },
  column: AnyPgColumn,
  target: TenantOwned,
  onDelete: 'cascade' | 'restrict' | 'no action' = 'cascade',
  { servedBy }: { servedBy?: string } = {},
): PgTableExtraConfigValue[] {
  const name = `${table}_${column.name}`;
  const reference = foreignKey({
    name: `${name}_fkey`,
    columns: [self.organizationId, column],
    foreignColumns: [target.organizationId, target.id],
  }).onDelete(onDelete);
  return servedBy ? [reference] : [reference, index(`${name}_idx`).on(column, self.organizationId)];
}
