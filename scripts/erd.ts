// Mermaid entity-relationship diagrams of the schema, one per domain and one whole, generated from
// the Drizzle tables into docs/erd.md.
//   npm run erd              rewrite docs/erd.md
//   npm run erd -- --check   exit 1 when docs/erd.md differs from what the tables give
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';

const root = fileURLToPath(new URL('..', import.meta.url));
export const erdPath = path.join(root, 'docs', 'erd.md');

/** Schema modules shown as domains, in reading order (identity at the bottom of the imports, first here). */
const domains: { name: string; modules: string[] }[] = [
  { name: 'identity', modules: ['organizations', 'identity'] },
  { name: 'audit', modules: ['audit'] },
  { name: 'embeddings', modules: ['embeddings'] },
  { name: 'brand', modules: ['brand'] },
  { name: 'agents', modules: ['agents'] },
  { name: 'chat', modules: ['chat'] },
  { name: 'rag', modules: ['rag'] },
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

async function collect(): Promise<{ entities: Entity[]; relations: Relation[] }> {
  const entities = new Map<string, Entity>();
  const relations: Relation[] = [];
  for (const domain of domains) {
    for (const module of domain.modules) {
      const exports = (await import(
        pathToFileURL(path.join(root, 'src', 'schema', `${module}.ts`)).href
      )) as Record<string, unknown>;
      // By name: module namespaces list their exports in different orders under tsx and vitest.
      const tables = Object.values(exports)
        .filter((value): value is PgTable => is(value, PgTable))
        .map((table) => getTableConfig(table))
        .sort((a, b) => a.name.localeCompare(b.name));
      for (const config of tables) {
        if (entities.has(config.name)) continue;
        const primary = new Set([
          ...config.columns.filter((column) => column.primary).map((column) => column.name),
          ...config.primaryKeys.flatMap((key) => key.columns.map((column) => column.name)),
        ]);
        const foreign = new Set(
          config.foreignKeys.flatMap((key) => key.reference().columns.map((column) => column.name)),
        );
        const attributes = config.columns.map((column) => {
          const keys = [primary.has(column.name) && 'PK', foreign.has(column.name) && 'FK'].filter(Boolean);
          return `${typeWord(column.getSQLType())} ${column.name}${keys.length > 0 ? ` ${keys.join(', ')}` : ''}`;
        });
        const tenant = config.columns.some((column) => column.name === 'organization_id');
        entities.set(config.name, { name: config.name, domain: domain.name, attributes, tenant });
        for (const key of config.foreignKeys) {
          const reference = key.reference();
          const columns = reference.columns.map((column) => column.name);
          const own = columns.filter((column) => column !== 'organization_id');
          // Every tenant table belongs to its organization: that edge is said once, not drawn 40 times.
          if (own.length === 0 && tenant && config.name !== 'organizations') continue;
          relations.push({
            parent: getTableConfig(reference.foreignTable).name,
            child: config.name,
            label: (own.length > 0 ? own : columns).join(', '),
            optional: reference.columns.some((column) => !column.notNull),
          });
        }
      }
    }
  }
  return { entities: [...entities.values()], relations };
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

/** The whole docs/erd.md text. */
export async function renderErd(): Promise<string> {
  const { entities, relations } = await collect();
  const parts = [
    '# Entity-relationship diagrams',
    '',
    'Generated from the Drizzle tables in `src/schema/` by `npm run erd`; do not edit by hand (a test',
    'fails when this file and the tables disagree). Every tenant table (one with `organization_id`)',
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const text = await renderErd();
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
