import { readFileSync } from 'node:fs';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { erdPath, renderErd } from '../scripts/erd.ts';
import * as schema from '../src/schema/index.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

describe('entity-relationship diagrams', () => {
  it('docs/erd.md is what `npm run erd` generates from the migrated catalog (run it and commit when this fails)', async () => {
    expect(readFileSync(erdPath, 'utf8')).toBe(await renderErd(database.current.sql));
  });

  it('draws every foreign key of the catalog, those written in custom SQL included', async () => {
    const text = await renderErd(database.current.sql);
    const keys = await database.current.sql.query<{ child: string; parent: string; own: string[] | string }>(`
      select child.relname as child, parent.relname as parent,
             array(select a.attname::text from unnest(k.conkey) with ordinality u(n, i)
                   join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n
                   where a.attname <> 'organization_id' order by u.i) as own
      from pg_constraint k join pg_class child on child.oid = k.conrelid join pg_class parent on parent.oid = k.confrelid
      where k.contype = 'f' and k.conparentid = 0 and child.relnamespace = 'public'::regnamespace and not child.relispartition`);
    const drawn = keys.filter((key) => {
      const own = Array.isArray(key.own)
        ? key.own
        : key.own
            .replace(/^\{|\}$/g, '')
            .split(',')
            .filter(Boolean);
      return (
        own.length === 0 ||
        (text.includes(`  ${key.parent} `) &&
          new RegExp(`${key.parent} \\S+ ${key.child} : "${own.join(', ')}"`).test(text))
      );
    });
    console.log(
      `erd: ${keys.length} foreign keys in the catalog, ${drawn.length} drawn or implied (an organization's)`,
    );
    expect(keys.filter((key) => !drawn.includes(key))).toEqual([]);
  });

  it('draws every table of the schema, with its columns, in its domain', async () => {
    const text = await renderErd(database.current.sql);
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
