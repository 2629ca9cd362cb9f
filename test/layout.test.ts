import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The parts of src/, lowest first (the README's Layout section draws them): a file may import from
// its own part and from the parts listed before it, never from one listed after it. Each part is a
// folder of src/; `index.ts`, the package entry, is the last.
const parts = [
  ['schema', 'the tables, one file per domain'],
  ['base', 'errors, input checks, ids, keyset pages'],
  ['security', 'key ring, crypto, tenant keys, API-key format, permissions, the development switch'],
  ['validators', 'drizzle-zod schemas of the tables'],
  ['embedded', 'the embedded database: data-dir lock, guard, template'],
  ['client', 'createDb, the scope runtime, tenant scopes, the Drizzle internals they use'],
  ['identity', 'organizations, users, members, API keys, credentials'],
  ['audit', 'the audit trail'],
  ['rag', 'embedding spaces, datasets, ingest, bulk load, search, vector queries, search indexes'],
  ['domains', 'brands, chat, campaign metrics, billing, deletions across domains'],
  ['reembedding', 'moving vectors to a new embedding space'],
  ['agents', 'agents, their runs and the run queue'],
  ['operator', 'migrations, Citus, service logins, partitions, catalog checks'],
  ['seed', 'the demo data'],
  ['cli', 'the neonhub-db commands'],
  ['index.ts', 'the package entry'],
] as const;

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');
const rank = new Map<string, number>(parts.map(([name], i) => [name, i]));

const sourceFiles = (readdirSync(src, { recursive: true, encoding: 'utf8' }) as string[])
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.split(path.sep).join('/'))
  .sort();

/** The part a file (relative to src/) belongs to: its first folder, or the entry itself. */
const partOf = (file: string) => (file.includes('/') ? (file.split('/')[0] ?? file) : file);

interface Import {
  from: string;
  specifier: string;
  to: string;
  /** `import type` or `export type`: erased from the JavaScript, so it loads nothing. */
  typeOnly: boolean;
}

/** Every relative import of a file: static, re-export, dynamic `import()` and `typeof import()`. */
function importsOf(file: string): Import[] {
  const text = readFileSync(path.join(src, file), 'utf8');
  const sourceFile = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const add = (specifier: string, typeOnly: boolean) => {
    if (!specifier.startsWith('.')) return;
    const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
    found.push({ from: file, specifier, to, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier))
      add(node.moduleSpecifier.text, node.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
      add(node.moduleSpecifier.text, node.isTypeOnly);
    else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    )
      add(node.arguments[0].text, false);
    else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    )
      add(node.argument.literal.text, true);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

const imports = sourceFiles.flatMap(importsOf);

/** Import cycles among src/ files, each as the imports that close it. */
function cycles(edges: Import[]): Import[][] {
  const out = new Map<string, Import[]>();
  for (const edge of edges) out.set(edge.from, [...(out.get(edge.from) ?? []), edge]);
  const found: Import[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: Import[] = [];
  const walk = (file: string) => {
    state.set(file, 'open');
    for (const edge of out.get(file) ?? []) {
      if (state.get(edge.to) === 'open') {
        const start = stack.findIndex((step) => step.from === edge.to);
        found.push([...stack.slice(start === -1 ? stack.length : start), edge]);
      } else if (!state.has(edge.to)) {
        stack.push(edge);
        walk(edge.to);
        stack.pop();
      }
    }
    state.set(file, 'done');
  };
  for (const file of sourceFiles) if (!state.has(file)) walk(file);
  return found;
}

const describeImport = (edge: Import) => `src/${edge.from} imports '${edge.specifier}'`;

describe('the layout of src/', () => {
  it('puts every file in a declared part, and every declared part exists', () => {
    const undeclared = sourceFiles.filter((file) => !rank.has(partOf(file))).map((file) => `src/${file}`);
    expect(undeclared, 'files outside the parts declared in test/layout.test.ts').toEqual([]);
    const present = new Set(sourceFiles.map(partOf));
    expect(parts.map(([name]) => name).filter((name) => !present.has(name))).toEqual([]);
  });

  it('resolves every relative import to a file of src/', () => {
    const known = new Set(sourceFiles);
    const dangling = imports.filter((edge) => !known.has(edge.to)).map(describeImport);
    expect(dangling).toEqual([]);
  });

  it('imports only from its own part or a lower one', () => {
    const upward = imports
      .filter((edge) => (rank.get(partOf(edge.to)) ?? -1) > (rank.get(partOf(edge.from)) ?? -1))
      .map(
        (edge) =>
          `${describeImport(edge)}: ${partOf(edge.to)} is above ${partOf(edge.from)} (order in test/layout.test.ts)`,
      );
    expect(upward).toEqual([]);
  });

  it('has no import cycle among its files', () => {
    // `import type` is exempt: erased from the JavaScript, it cannot make modules load in a circle.
    const found = cycles(imports.filter((edge) => !edge.typeOnly)).map((cycle) =>
      cycle.map(describeImport).join(' -> '),
    );
    expect(found).toEqual([]);
  });
});
