import { readFileSync } from 'node:fs';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { erdPath, renderErd } from '../scripts/erd.ts';
import * as schema from '../src/schema/index.ts';

describe('entity-relationship diagrams', () => {
  it('docs/erd.md is what `npm run erd` generates from the tables (run it and commit when this fails)', async () => {
    expect(readFileSync(erdPath, 'utf8')).toBe(await renderErd());
  });

  it('draws every table of the schema, with its columns, in its domain', async () => {
    const text = await renderErd();
    const tables = Object.values(schema)
      .filter((value) => is(value, PgTable))
      .map((table) => getTableConfig(table as PgTable));
    expect(tables.length).toBeGreaterThan(40);
    for (const table of tables) {
      expect(text, table.name).toContain(`  ${table.name} {\n`);
      for (const column of table.columns)
        expect(text, `${table.name}.${column.name}`).toMatch(new RegExp(`\\n    \\S+ ${column.name}( |\\n)`));
    }
  });
});
