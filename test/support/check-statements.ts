/**
 * The tenant check: reads a statement capture (`NEONHUB_STATEMENT_CAPTURE=<dir> npm test`) and
 * fails when a statement the package sent touches a tenant table without naming its tenant.
 * Usage: npm run check:statements [-- <dir>]   (default: $NEONHUB_STATEMENT_CAPTURE)
 * Ends with `N statements checked, M without their tenant`; exits 1 when M > 0, N = 0, or an exported
 * API function never reached the database in the suite without a reason read from its declaration.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { sanctionedCrossTenantStatements } from '../../src/security/tenant-sanctioned.ts';
import { captureFileSuffix, type StatementCapture, tenantTablesFile } from './statement-capture.ts';
import { checkStatementText, loadParser, type StatementVerdict } from './tenant-statements.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The functions src/index.ts exports, which of them take a database, a transaction or a handle, and
 * why one of those may send no statement of its own in the suite (it builds one, it is the scope
 * that runs the caller's, or it needs a Citus coordinator), read from its declaration.
 */
function exportedFunctions(): {
  all: string[];
  takingDatabase: Set<string>;
  sendsNoneOfItsOwn: Map<string, string>;
} {
  const entry = path.join(root, 'src/index.ts');
  const program = ts.createProgram([entry], {
    allowImportingTsExtensions: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  const all: string[] = [];
  const takingDatabase = new Set<string>();
  const sendsNoneOfItsOwn = new Map<string, string>();
  for (const symbol of module ? checker.getExportsOfModule(module) : []) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    if (!(target.flags & ts.SymbolFlags.Function)) continue;
    all.push(symbol.name);
    const parameterTypes = checker
      .getTypeOfSymbol(target)
      .getCallSignatures()
      .flatMap((signature) => signature.getParameters())
      .map((parameter) => checker.typeToString(checker.getTypeOfSymbol(parameter)));
    if (parameterTypes.some((type) => /\b(Database|Transaction|DbHandle|RawSql)\b/.test(type)))
      takingDatabase.add(symbol.name);
    const file = path.relative(root, target.declarations?.[0]?.getSourceFile().fileName ?? '');
    const returns = checker
      .getTypeOfSymbol(target)
      .getCallSignatures()
      .map((signature) => checker.typeToString(signature.getReturnType()));
    if (file === 'src/operator/citus.ts')
      sendsNoneOfItsOwn.set(symbol.name, 'runs on a Citus coordinator only (the CITUS_URL suite)');
    else if (returns.every((type) => !type.startsWith('Promise<')))
      sendsNoneOfItsOwn.set(symbol.name, 'returns a statement or a value: the caller sends it');
    else if (file === 'src/client/tenant.ts')
      sendsNoneOfItsOwn.set(
        symbol.name,
        "the scope: it sends the caller's statements (counted under the caller), and of its own only BEGIN and settings",
      );
  }
  return { all, takingDatabase, sendsNoneOfItsOwn };
}

/** The top-level function of a source file that holds a line (a frame of an anonymous callback names none). */
const functionsByFile = new Map<string, { name: string; first: number; last: number }[]>();
function enclosingFunction(file: string, line: number): string | undefined {
  let functions = functionsByFile.get(file);
  if (!functions) {
    const source = ts.createSourceFile(
      file,
      readFileSync(path.join(root, file), 'utf8'),
      ts.ScriptTarget.ES2022,
    );
    const lineOf = (position: number) => source.getLineAndCharacterOfPosition(position).line + 1;
    functions = source.statements.flatMap((statement) => {
      const named =
        ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)
          ? [statement.name?.text]
          : ts.isVariableStatement(statement)
            ? statement.declarationList.declarations.map((declaration) => declaration.name.getText(source))
            : [];
      return named.flatMap((name) =>
        name ? [{ name, first: lineOf(statement.getStart(source)), last: lineOf(statement.getEnd()) }] : [],
      );
    });
    functionsByFile.set(file, functions);
  }
  return functions.find((candidate) => candidate.first <= line && line <= candidate.last)?.name;
}

/** `name@src/file.ts:line` as the top-level function it lies in, and its file. */
function frameFunction(frame: string): { name: string; file: string } {
  const [name = '', location = ''] = frame.split('@');
  const [file = '', line = '0'] = location.split(':');
  return { name: enclosingFunction(file, Number(line)) ?? (name || '<anonymous>'), file };
}

interface PackageStatement {
  /** Origin functions that sent it, e.g. `createBrand (src/domains/brands.ts)`. */
  origins: Set<string>;
  verdict: StatementVerdict;
  sanctioned?: string;
}

const oneLine = (text: string, max = 600) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};

/**
 * Drizzle Studio's own statements, which src/cli/studio.ts relays into a scope of one tenant: the
 * scope names the tenant, not their text (the test shows they see that tenant only), and the driver
 * sends them where no stack shows who asked.
 */
const relaysStudio = (capture: StatementCapture) => capture.testFile === 'test/studio.test.ts';

function main(): number {
  const dir = process.argv[2] ?? process.env.NEONHUB_STATEMENT_CAPTURE;
  if (!dir || !existsSync(path.join(dir, tenantTablesFile))) {
    console.error(
      `no statement capture${dir ? ` in ${dir}` : ''}: run the suite with NEONHUB_STATEMENT_CAPTURE=<dir> first`,
    );
    return 1;
  }
  const tables = new Map<string, string>(
    Object.entries(JSON.parse(readFileSync(path.join(dir, tenantTablesFile), 'utf8'))),
  );
  const captures = readdirSync(dir)
    .filter((file) => file.endsWith(captureFileSuffix))
    .map((file) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as StatementCapture);
  const { all, takingDatabase, sendsNoneOfItsOwn } = exportedFunctions();
  const exported = new Set(all);

  const totals = { package: 0, consumer: 0, unattributed: 0 };
  const packageStatements = new Map<string, PackageStatement>();
  const unattributedTenant = new Map<string, StatementVerdict>();
  const seen = new Set<string>();
  for (const capture of captures) {
    for (const statement of capture.statements) {
      totals[statement.origin] += statement.count;
      if (statement.origin === 'consumer') continue;
      const functions = statement.frames.map(frameFunction);
      for (const { name } of functions) if (exported.has(name)) seen.add(name);
      const nearest = functions.find(({ name }) => exported.has(name)) ?? functions[0];
      const origin = nearest
        ? `${nearest.name} (${nearest.file}${exported.has(nearest.name) ? '' : ', not exported'})`
        : '(driver)';
      for (const verdict of checkStatementText(statement.text, tables)) {
        // Statements that differ only in their constants count once (unless the constants decide).
        const key = `${verdict.fingerprint}\0${verdict.problems.join('\0')}`;
        if (statement.origin === 'unattributed') {
          if (verdict.touchesTenantTable && !relaysStudio(capture)) unattributedTenant.set(key, verdict);
          continue;
        }
        const known = packageStatements.get(key);
        if (known) known.origins.add(origin);
        else packageStatements.set(key, { origins: new Set([origin]), verdict });
      }
    }
  }

  const checked = [...packageStatements.values()].filter((statement) => statement.verdict.touchesTenantTable);
  for (const statement of checked) {
    const names = [...statement.origins].map((origin) => origin.split(' ')[0]);
    statement.sanctioned = sanctionedCrossTenantStatements.find(
      (entry) => names.includes(entry.origin) && entry.statement.test(statement.verdict.text),
    )?.reason;
  }
  const violations = checked.filter(
    (statement) => statement.verdict.problems.length > 0 && !statement.sanctioned,
  );

  console.log(
    `statement capture ${dir}: ${captures.length} test files; statements sent: ${totals.package} by the package, ` +
      `${totals.consumer} by the tests themselves (not checked), ${totals.unattributed} by the driver (BEGIN, COMMIT, savepoints)`,
  );
  console.log(`tenant tables (from the migrated catalog): ${tables.size}`);
  console.log(
    `distinct package statements: ${packageStatements.size}; touching no tenant table: ${packageStatements.size - checked.length}; sanctioned: ${checked.filter((statement) => statement.sanctioned).length}`,
  );
  for (const verdict of unattributedTenant.values())
    console.log(
      `unattributed statement on a tenant table: ${oneLine(verdict.text)}\n    - ${verdict.problems.join('\n    - ')}`,
    );

  const byOrigin = new Map<string, PackageStatement[]>();
  for (const violation of violations) {
    const [first] = [...violation.origins].sort();
    byOrigin.set(first as string, [...(byOrigin.get(first as string) ?? []), violation]);
  }
  if (violations.length > 0) console.log(`\nwithout their tenant, by the function that sent them:`);
  for (const [origin, statements] of [...byOrigin].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`\n${origin}`);
    for (const { verdict, origins } of statements) {
      console.log(`  ${oneLine(verdict.text)}`);
      const others = [...origins].filter((other) => other !== origin);
      if (others.length > 0) console.log(`    also sent by ${others.join(', ')}`);
      for (const problem of verdict.problems) console.log(`    - ${problem}`);
    }
  }

  const api = all.filter((name) => takingDatabase.has(name));
  const unseen = api.filter((name) => !seen.has(name));
  const unexplained = unseen.filter((name) => !sendsNoneOfItsOwn.has(name));
  console.log(
    `\nexported API functions seen sending statements: ${api.length - unseen.length} of the ${api.length} that take a database (${all.length} exported functions in all)`,
  );
  for (const name of unseen)
    console.log(
      `not seen: ${name}: ${sendsNoneOfItsOwn.get(name) ?? 'no test sends a statement through it'}`,
    );
  // An entry is used when a statement its function sent matches it, whichever entry the statement counted under.
  const stale = sanctionedCrossTenantStatements.filter(
    (entry) =>
      !checked.some(
        (statement) =>
          [...statement.origins].some((origin) => origin.split(' ')[0] === entry.origin) &&
          entry.statement.test(statement.verdict.text),
      ),
  );
  for (const entry of stale) console.log(`sanctioned but never sent: ${entry.origin} ${entry.statement}`);
  const missing = violations.length + unattributedTenant.size;
  if (unexplained.length > 0)
    console.error(
      `${unexplained.length} exported API functions never reached the database in the suite: ${unexplained.join(', ')}`,
    );
  console.log(
    `${checked.length + unattributedTenant.size} statements checked, ${missing} without their tenant`,
  );
  // A capture that saw no package statement on a tenant table proves nothing.
  if (checked.length === 0) console.error('no package statement on a tenant table was captured');
  return missing > 0 || checked.length === 0 || unexplained.length > 0 ? 1 : 0;
}

await loadParser();
process.exitCode = main();
