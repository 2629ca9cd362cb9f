import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import * as schema from '../src/schema/index.ts';

const tables = (Object.values(schema) as unknown[]).filter((value): value is PgTable => is(value, PgTable));

// Conventions read from the schema itself, so a table added tomorrow is held to them too.
describe('schema conventions', () => {
  it('every foreign key states what happens on delete, and is named', () => {
    const keys = tables.flatMap((table) => {
      const config = getTableConfig(table);
      return config.foreignKeys.map((fk) => ({
        table: config.name,
        name: fk.getName(),
        onDelete: fk.onDelete,
      }));
    });
    const unstated = keys
      .filter((key) => key.onDelete === undefined)
      .map((key) => `${key.table}.${key.name}`);
    console.log(
      `schema: ${tables.length} tables, ${keys.length} foreign keys declared, ${unstated.length} without onDelete`,
    );
    expect(unstated).toEqual([]);
  });

  it('tables are plural snake_case, and every index, unique and check has an explicit name', () => {
    const problems: string[] = [];
    for (const table of tables) {
      const config = getTableConfig(table);
      if (!/^[a-z]+(_[a-z]+)*s$|^feedback$/.test(config.name)) problems.push(`table name ${config.name}`);
      for (const index of config.indexes)
        if (!index.config.name) problems.push(`${config.name}: unnamed index`);
      for (const unique of config.uniqueConstraints)
        if (!unique.name) problems.push(`${config.name}: unnamed unique`);
      for (const check of config.checks)
        if (!check.name.startsWith(`${config.name}_`)) problems.push(`${config.name}: check ${check.name}`);
    }
    expect(problems).toEqual([]);
  });
});
