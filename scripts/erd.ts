// Mermaid entity-relationship diagrams of the schema, one per domain and one whole, generated from
// the catalog the migrations make into docs/erd.md.
//   npm run erd              rewrite docs/erd.md
//   npm run erd -- --check   exit 1 when docs/erd.md differs from what the tables give
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { createDb, type RawSql } from '../src/client/client.ts';
import { migrate } from '../src/operator/migrate.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
export const erdPath = path.join(root, 'docs', 'erd.md');

/** Schema modules shown as domains, in reading order (identity at the bottom of the imports, first here). */
const domains: { name: string; modules: string[] }[] = [
  { name: 'identity', modules: ['organizations', 'identity'] },
  { name: 'audit', modules: ['audit'] },
  { name: 'embeddings', modules: ['embeddings'] },
  { name: 'brand', modules: ['brand'] },
  { name: 'agents', modules: ['agents', 'agent-runs'] },
  { name: 'chat', modules: ['chat'] },
  { name: 'rag', modules: ['rag', 'reembeddings'] },
  { name: 'campaigns', modules: ['campaigns', 'content', 'channels'] },
  { name: 'billing', modules: ['billing'] },
  { name: 'integrations', modules: ['integrations'] },
  { name: 'work', modules: ['work'] },
];

interface Entity {
  name: string;
  domain: string;
  attributes: string[];
  tenant: boolean;
}

interface Relation {
  parent: string;
  child: string;
  label: string;
  optional: boolean;
}

// Mermaid attribute types are single words.
const typeWord = (sqlType: string) =>
  sqlType
    .replace('timestamp with time zone', 'timestamptz')
    .replace(/\(.*\)/, '')
    .replace(/\[\]$/, '_array')
    .replace(/\s+/g, '_');

/** Each table's domain, from the schema module that declares it. */
async function domainsByTable(): Promise<Map<string, string>> {
  const byTable = new Map<string, string>();
  for (const domain of domains) {
    for (const module of domain.modules) {
      const exports = (await import(
        pathToFileURL(path.join(root, 'src', 'schema', `${module}.ts`)).href
      )) as Record<string, unknown>;
      for (const value of Object.values(exports)) {
        if (!is(value, PgTable)) continue;
        const { name } = getTableConfig(value as PgTable);
        if (!byTable.has(name)) byTable.set(name, domain.name);
      }
    }
  }
  return byTable;
}

/**
 * The tables, columns and foreign keys of the migrated catalog: what the migrations made, the keys
 * written in custom SQL included (the optional references the delete functions clear).
 */
async function collect(sql: RawSql): Promise<{ entities: Entity[]; relations: Relation[] }> {
  const domainOf = await domainsByTable();
  const columns = await sql.query<{ table: string; name: string; type: string; pk: boolean; fk: boolean }>(`
    select c.relname as table, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
           exists (select from pg_constraint k where k.conrelid = c.oid and k.contype = 'p' and a.attnum = any (k.conkey)) as pk,
           exists (select from pg_constraint k where k.conrelid = c.oid and k.contype = 'f' and a.attnum = any (k.conkey)) as fk
    from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname, a.attnum`);
  const keys = await sql.query<{
    child: string;
    parent: string;
    columns: string[] | string;
    optional: boolean;
  }>(`
    select child.relname as child, parent.relname as parent,
           array(select a.attname::text from unnest(k.conkey) with ordinality u(n, i)
                 join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n order by u.i) as columns,
           exists (select from unnest(k.conkey) u(n) join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n
                   where not a.attnotnull) as optional
    from pg_constraint k join pg_class child on child.oid = k.conrelid join pg_class parent on parent.oid = k.confrelid
    where k.contype = 'f' and k.conparentid = 0 and child.relnamespace = 'public'::regnamespace and not child.relispartition
    order by 1, 2, 3`);
  const entities = new Map<string, Entity>();
  for (const column of columns) {
    const domain = domainOf.get(column.table);
    if (!domain)
      throw new Error(`table ${column.table} is in the migrations but in no schema module of a domain`);
    const entity = entities.get(column.table) ?? {
      name: column.table,
      domain,
      attributes: [],
      tenant: false,
    };
    const marks = [column.pk && 'PK', column.fk && 'FK'].filter(Boolean);
    entity.attributes.push(
      `${typeWord(column.type)} ${column.name}${marks.length > 0 ? ` ${marks.join(', ')}` : ''}`,
    );
    if (column.name === 'organization_id') entity.tenant = true;
    entities.set(column.table, entity);
  }
  const relations: Relation[] = [];
  for (const key of keys) {
    // PGlite returns text[] as its literal.
    const keyColumns = Array.isArray(key.columns)
      ? key.columns
      : key.columns.replace(/^\{|\}$/g, '').split(',');
    const own = keyColumns.filter((column) => column !== 'organization_id');
    // Every tenant table belongs to its organization: that edge is said once, not drawn 40 times.
    if (own.length === 0 && entities.get(key.child)?.tenant && key.child !== 'organizations') continue;
    relations.push({
      parent: key.parent,
      child: key.child,
      label: (own.length > 0 ? own : keyColumns).join(', '),
      optional: key.optional,
    });
  }
  const ordered = domains.flatMap((domain) =>
    [...entities.values()]
      .filter((entity) => entity.domain === domain.name)
      .sort((a, b) => a.name.localeCompare(b.name)),
  );
  return { entities: ordered, relations };
}

const relationLine = (relation: Relation) =>
  `  ${relation.parent} ${relation.optional ? '|o' : '||'}--o{ ${relation.child} : "${relation.label}"`;

function diagram(entities: Entity[], relations: Relation[], withAttributes: boolean): string {
  const lines = ['```mermaid', 'erDiagram'];
  for (const entity of entities) {
    if (withAttributes) {
      lines.push(`  ${entity.name} {`, ...entity.attributes.map((attribute) => `    ${attribute}`), '  }');
    } else {
      lines.push(`  ${entity.name}`);
    }
  }
  const ordered = [...relations].sort(
    (a, b) =>
      a.child.localeCompare(b.child) || a.parent.localeCompare(b.parent) || a.label.localeCompare(b.label),
  );
  lines.push(...ordered.map(relationLine), '```');
  return lines.join('\n');
}

/** The whole docs/erd.md text, from the catalog `sql` reads (a database the migrations made). */
export async function renderErd(sql: RawSql): Promise<string> {
  const { entities, relations } = await collect(sql);
  const parts = [
    '# Entity-relationship diagrams',
    '',
    'Generated by `npm run erd` from the catalog the migrations make (every foreign key, those written',
    'in custom SQL too), grouped by the domains of `src/schema/`; do not edit by hand (a test fails when',
    'this file and the migrated catalog disagree). Every tenant table (one with `organization_id`)',
    'belongs to one organization and is deleted with it: that edge is left out of the pictures.',
    '',
    '## Whole schema',
    '',
    diagram(entities, relations, false),
  ];
  for (const domain of domains) {
    const own = entities.filter((entity) => entity.domain === domain.name);
    if (own.length === 0) continue;
    const names = new Set(own.map((entity) => entity.name));
    const touching = relations.filter((relation) => names.has(relation.child));
    parts.push('', `## ${domain.name}`, '', diagram(own, touching, true));
  }
  return `${parts.join('\n')}\n`;
}

/** The migrations applied to a throwaway embedded database, and the diagrams of its catalog. */
async function renderFromMigrations(): Promise<string> {
  const handle = createDb({ dataDir: 'memory://' });
  try {
    await migrate(handle);
    return await renderErd(handle.sql);
  } finally {
    await handle.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const text = await renderFromMigrations();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(erdPath, 'utf8');
    } catch {}
    if (current !== text) {
      process.stderr.write(`${path.relative(root, erdPath)} is stale: run \`npm run erd\` and commit it\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write(`${path.relative(root, erdPath)} is up to date\n`);
    }
  } else {
    writeFileSync(erdPath, text);
    process.stdout.write(`wrote ${path.relative(root, erdPath)}\n`);
  }
}
