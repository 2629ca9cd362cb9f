import { loadModule, parsePlPgSQLSync, parseSync } from 'libpg-query';
import type { RawSql } from '../src/client/client.ts';
import { NESTED_EXECUTION_FUNCTIONS } from '../src/operator/citus.ts';

// The rules a schema must keep for Citus to distribute it by organization_id (organizations and the
// global tables as reference tables), read from the migrated catalog of a plain PostgreSQL server,
// so CI catches a change the cluster would refuse before anyone distributes it.

export interface CitusRuleViolation {
  /** The object that breaks a rule: `trigger function app_x()`, `policy t.p`, `constraint t.c`. */
  object: string;
  rule: string;
}

export interface CitusRulesReport {
  /**
   * Objects looked at: trigger functions, policies, foreign keys, CHECK constraints and column
   * defaults, tenant tables, unique keys and indexes.
   */
  checked: number;
  violations: CitusRuleViolation[];
}

/** Trigger variables that hold the shard's name or oid on Citus: fine in a message, never to decide or query by. */
const TABLE_NAME_VARIABLES = new Set(['tg_table_name', 'tg_relname', 'tg_relid']);
const ROW_VARIABLES = new Set(['new', 'old']);

type Node = unknown;

/** Every value under `node` (depth first) whose key is `key`. */
function* nodesOf(node: Node, key: string): Generator<Record<string, unknown>> {
  if (Array.isArray(node)) {
    for (const item of node) yield* nodesOf(item, key);
  } else if (node && typeof node === 'object') {
    for (const [name, value] of Object.entries(node)) {
      if (name === key && value && typeof value === 'object') yield value as Record<string, unknown>;
      yield* nodesOf(value, key);
    }
  }
}

/** The names of a ColumnRef (`NEW.id` -> ['new', 'id']; `NEW` -> ['new']). */
function columnNames(ref: Record<string, unknown>): string[] {
  return ((ref.fields as Node[] | undefined) ?? []).flatMap((field) => {
    const name = (field as { String?: { sval?: string } }).String?.sval;
    return name === undefined ? [] : [name.toLowerCase()];
  });
}

/** A PL/pgSQL expression's text as a statement the SQL parser reads. */
function statementOf(expr: { query?: string; parseMode?: number }): string {
  const query = expr.query ?? '';
  const mode = expr.parseMode ?? 0;
  if (mode === 0) return query;
  // Assignments (`x := expr`, `NEW.x := expr`) keep only the right-hand side.
  const assigned = mode >= 3 ? query.slice(query.indexOf(':=') + 2) : query;
  return `SELECT ${assigned}`;
}

interface BodyFacts {
  /** Relations named in FROM, INSERT, UPDATE, DELETE or MERGE. */
  relations: Set<string>;
  /** Functions called, by their last name. */
  calls: Set<string>;
  /** TG_TABLE_NAME and friends used outside RAISE. */
  tableNameUses: Set<string>;
  /** Calls that pass NEW or OLD whole. */
  rowTypedCalls: Set<string>;
  dynamicSql: boolean;
  /** The body did not parse (reported, never silently passed). */
  parseError?: string;
}

function factsOfSql(statements: { sql: string; inRaise: boolean }[], facts: BodyFacts): void {
  for (const { sql, inRaise } of statements) {
    let tree: Node;
    try {
      tree = parseSync(sql);
    } catch (error) {
      facts.parseError = `${(error as Error).message} in: ${sql.slice(0, 80)}`;
      continue;
    }
    for (const range of nodesOf(tree, 'RangeVar')) {
      if (typeof range.relname === 'string') facts.relations.add(range.relname);
    }
    for (const ref of nodesOf(tree, 'ColumnRef')) {
      const [first] = columnNames(ref);
      if (first && TABLE_NAME_VARIABLES.has(first) && !inRaise) facts.tableNameUses.add(first.toUpperCase());
    }
    for (const call of nodesOf(tree, 'FuncCall')) {
      const names = ((call.funcname as Node[] | undefined) ?? []).map(
        (part) => (part as { String?: { sval?: string } }).String?.sval ?? '',
      );
      const name = names[names.length - 1] ?? '';
      facts.calls.add(name);
      for (const arg of (call.args as Node[] | undefined) ?? []) {
        const ref = (arg as { ColumnRef?: Record<string, unknown> }).ColumnRef;
        const whole = ref ? columnNames(ref) : [];
        if (whole.length === 1 && ROW_VARIABLES.has(whole[0] ?? '')) {
          facts.rowTypedCalls.add(`${name}(${(whole[0] ?? '').toUpperCase()})`);
        }
      }
    }
  }
}

/** What a function body touches, from its `CREATE FUNCTION` text (plpgsql or sql). */
function bodyFacts(language: string, definition: string, source: string): BodyFacts {
  const facts: BodyFacts = {
    relations: new Set(),
    calls: new Set(),
    tableNameUses: new Set(),
    rowTypedCalls: new Set(),
    dynamicSql: false,
  };
  if (language === 'sql') {
    factsOfSql([{ sql: source, inRaise: false }], facts);
    return facts;
  }
  if (language !== 'plpgsql') return facts;
  let tree: Node;
  try {
    tree = parsePlPgSQLSync(definition);
  } catch (error) {
    facts.parseError = (error as Error).message;
    return facts;
  }
  const raised = new Set<Node>();
  for (const raise of nodesOf(tree, 'PLpgSQL_stmt_raise')) {
    for (const expr of nodesOf(raise, 'PLpgSQL_expr')) raised.add(expr);
  }
  if ([...nodesOf(tree, 'PLpgSQL_stmt_dynexecute')].length > 0) facts.dynamicSql = true;
  factsOfSql(
    [...nodesOf(tree, 'PLpgSQL_expr')].map((expr) => ({ sql: statementOf(expr), inRaise: raised.has(expr) })),
    facts,
  );
  return facts;
}

interface FunctionRow extends Record<string, unknown> {
  oid: number;
  signature: string;
  name: string;
  language: string;
  definition: string;
  source: string;
  args: number;
  /** Allowed to read a reference table from inside a shard query: `distribute` marks it (`NESTED_EXECUTION_FUNCTIONS`). */
  nested: boolean;
}

/**
 * Checks the migrated catalog (schema `public`) against what Citus accepts. Tenant tables are the
 * tables with an `organization_id` column (distributed by it); every other table, organizations
 * included, is a reference table.
 */
export async function checkCitusRules(sql: RawSql): Promise<CitusRulesReport> {
  await loadModule();
  const violations: CitusRuleViolation[] = [];
  let checked = 0;
  const flag = (object: string, rule: string) => violations.push({ object, rule });

  const tables = await sql.query<{ name: string; tenant: boolean }>(`
    select c.relname as name,
           c.relname <> 'organizations' and exists (
             select from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped
           ) as tenant
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition`);
  const tenant = new Set(tables.filter((t) => t.tenant).map((t) => t.name));
  const allTables = new Set(
    (
      await sql.query<{ name: string }>(
        `select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')`,
      )
    ).map((t) => t.name),
  );

  const functions = await sql.query<FunctionRow>(
    `
    select p.oid::int as oid, p.oid::regprocedure::text as signature, p.proname as name, l.lanname as language,
           case when p.prokind = 'f' then pg_get_functiondef(p.oid) else '' end as definition, p.prosrc as source,
           p.pronargs::int as args,
           coalesce('citus.allow_nested_distributed_execution=on' = any (p.proconfig), false)
             or p.oid::regprocedure::text = any ($1::text[]) as nested
    from pg_proc p join pg_language l on l.oid = p.prolang
    where p.pronamespace = 'public'::regnamespace and l.lanname in ('sql', 'plpgsql')`,
    [[...NESTED_EXECUTION_FUNCTIONS]],
  );
  const byName = new Map<string, FunctionRow[]>();
  for (const fn of functions) byName.set(fn.name, [...(byName.get(fn.name) ?? []), fn]);
  const factsCache = new Map<number, BodyFacts>();
  const factsOf = (fn: FunctionRow) => {
    let facts = factsCache.get(fn.oid);
    if (!facts) {
      facts = bodyFacts(fn.language, fn.definition, fn.source);
      factsCache.set(fn.oid, facts);
    }
    return facts;
  };
  /** Schema tables a function reads or writes, itself or through the schema's functions it calls. */
  const tablesReached = (fn: FunctionRow, seen = new Set<number>()): Map<string, string> => {
    const reached = new Map<string, string>();
    if (seen.has(fn.oid)) return reached;
    seen.add(fn.oid);
    const facts = factsOf(fn);
    for (const relation of facts.relations) if (allTables.has(relation)) reached.set(relation, fn.signature);
    for (const call of facts.calls) {
      for (const callee of byName.get(call) ?? []) {
        for (const [relation, via] of tablesReached(callee, seen)) reached.set(relation, via);
      }
    }
    return reached;
  };

  // Trigger functions: a shard runs them with its own name, row type and no distributed queries.
  const triggerFunctions = await sql.query<{ oid: number }>(`
    select distinct t.tgfoid::int as oid
    from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where not t.tgisinternal and c.relnamespace = 'public'::regnamespace`);
  for (const { oid } of triggerFunctions) {
    checked++;
    const fn = functions.find((f) => f.oid === oid);
    if (!fn) continue;
    const object = `trigger function ${fn.signature}`;
    const facts = factsOf(fn);
    if (facts.parseError)
      flag(object, `its body does not parse, so it cannot be checked: ${facts.parseError}`);
    for (const variable of facts.tableNameUses) {
      flag(
        object,
        `uses ${variable} outside RAISE: on a Citus shard it is the shard's name (ab_tests_102045)`,
      );
    }
    for (const call of facts.rowTypedCalls) {
      flag(object, `passes a whole row to ${call}: on a shard NEW/OLD have the shard's row type`);
    }
    if (facts.dynamicSql) flag(object, 'runs dynamic SQL (EXECUTE), which cannot be checked for table reads');
    for (const [relation, via] of tablesReached(fn)) {
      flag(
        object,
        `reads or writes table ${relation}${via === fn.signature ? '' : ` (through ${via})`}: a trigger on a shard cannot query a distributed or reference table`,
      );
    }
  }

  // SQL-language functions with parameters: Citus cannot plan their queries of distributed tables.
  for (const fn of functions.filter((f) => f.language === 'sql' && f.args > 0)) {
    checked++;
    for (const relation of factsOf(fn).relations) {
      if (tenant.has(relation)) {
        flag(
          `function ${fn.signature}`,
          `a SQL function with parameters queries distributed table ${relation}, which Citus cannot plan: use PL/pgSQL`,
        );
      }
    }
  }

  const byOid = new Map(functions.map((fn) => [fn.signature, fn]));
  /**
   * What a shard cannot do when a policy or a default calls `callee`: query a distributed table, or
   * a reference table (copied to every node) unless the function that reads it allows Citus's nested
   * execution for itself, which reads the node's own copy.
   */
  const shardReads = (callee: FunctionRow): [string, string][] =>
    [...tablesReached(callee)].filter(([relation, via]) => tenant.has(relation) || !byOid.get(via)?.nested);

  // Policies: Citus refuses any subquery in a policy on its tables.
  const policies = await sql.query<{
    name: string;
    table: string;
    qual: string | null;
    check: string | null;
  }>(`
    select policyname as name, tablename as table, qual, with_check as check
    from pg_policies where schemaname = 'public'`);
  for (const policy of policies) {
    checked++;
    const object = `policy ${policy.table}.${policy.name}`;
    for (const [part, text] of [
      ['USING', policy.qual],
      ['WITH CHECK', policy.check],
    ] as const) {
      if (!text) continue;
      const facts = bodyFacts('sql', '', `SELECT 1 WHERE ${text}`);
      const tree = parseSync(`SELECT 1 WHERE ${text}`);
      if ([...nodesOf(tree, 'SubLink')].length > 0)
        flag(object, `${part} has a subquery, which Citus refuses in a policy`);
      for (const call of facts.calls) {
        for (const callee of byName.get(call) ?? []) {
          for (const [relation] of shardReads(callee)) {
            flag(
              object,
              `${part} calls ${callee.signature}, which queries ${relation}: a subquery Citus cannot see`,
            );
          }
        }
      }
    }
  }

  // Foreign keys.
  const keys = await sql.query<{
    name: string;
    table: string;
    referenced: string;
    delete_action: string;
    update_action: string;
    columns: string[];
    referenced_columns: string[];
  }>(`
    select f.conname as name, c.relname as table, p.relname as referenced,
           f.confdeltype as delete_action, f.confupdtype as update_action,
           array(select a.attname::text from unnest(f.conkey) with ordinality k(n, i)
                 join pg_attribute a on a.attrelid = f.conrelid and a.attnum = k.n order by k.i) as columns,
           array(select a.attname::text from unnest(f.confkey) with ordinality k(n, i)
                 join pg_attribute a on a.attrelid = f.confrelid and a.attnum = k.n order by k.i) as referenced_columns
    from pg_constraint f join pg_class c on c.oid = f.conrelid join pg_class p on p.oid = f.confrelid
    where f.contype = 'f' and f.conparentid = 0 and c.relnamespace = 'public'::regnamespace
      and not c.relispartition`);
  for (const key of keys) {
    checked++;
    const object = `foreign key ${key.table}.${key.name}`;
    const withTenant = key.columns.includes('organization_id');
    for (const [when, action] of [
      ['DELETE', key.delete_action],
      ['UPDATE', key.update_action],
    ] as const) {
      if (withTenant && (action === 'n' || action === 'd')) {
        flag(
          object,
          `ON ${when} SET ${action === 'n' ? 'NULL' : 'DEFAULT'} on a key that includes organization_id, which Citus refuses`,
        );
      }
    }
    if (!tenant.has(key.table) && tenant.has(key.referenced)) {
      flag(object, `reference table ${key.table} references tenant table ${key.referenced}`);
    }
    if (tenant.has(key.table) && tenant.has(key.referenced)) {
      const at = key.columns.indexOf('organization_id');
      if (at < 0 || key.referenced_columns[at] !== 'organization_id') {
        flag(object, 'joins two tenant tables without matching organization_id to organization_id');
      }
    }
  }

  // Expressions every shard evaluates on its own rows: CHECK constraints and column defaults.
  const expressions = await sql.query<{ object: string; expression: string }>(`
    select format('check %s.%s', c.relname, k.conname) as object, pg_get_expr(k.conbin, k.conrelid) as expression
    from pg_constraint k join pg_class c on c.oid = k.conrelid
    where k.contype = 'c' and c.relnamespace = 'public'::regnamespace and not c.relispartition
    union all
    select format('default %s.%s', c.relname, a.attname), pg_get_expr(d.adbin, d.adrelid)
    from pg_attrdef d join pg_class c on c.oid = d.adrelid
    join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
    where c.relnamespace = 'public'::regnamespace and not c.relispartition`);
  for (const { object, expression } of expressions) {
    checked++;
    for (const call of bodyFacts('sql', '', `SELECT ${expression}`).calls) {
      for (const callee of byName.get(call) ?? []) {
        for (const [relation] of shardReads(callee)) {
          flag(
            object,
            `calls ${callee.signature}, which queries ${relation}: a shard cannot run a distributed query`,
          );
        }
      }
    }
  }

  // Citus refuses a NULL distribution column: every tenant table's organization_id is NOT NULL.
  const nullable = await sql.query<{ name: string }>(`
    select c.relname as name from pg_class c join pg_attribute a on a.attrelid = c.oid
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
      and a.attname = 'organization_id' and not a.attnotnull and c.relname <> 'organizations'`);
  checked += tenant.size;
  for (const { name } of nullable)
    flag(`table ${name}`, 'organization_id may be NULL, which Citus cannot place');

  // Column-list INSERT grants: Citus writes defaulted columns out on the shard, which such a grant refuses.
  const columnInserts = await sql.query<{ table: string; role: string; columns: string[] }>(`
    select c.relname as table, r.rolname as role, array_agg(a.attname::text order by a.attnum) as columns
    from pg_attribute a join pg_class c on c.oid = a.attrelid
    cross join lateral aclexplode(a.attacl) x join pg_roles r on r.oid = x.grantee
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
      and x.privilege_type = 'INSERT' and not has_table_privilege(x.grantee, c.oid, 'INSERT')
    group by c.relname, r.rolname`);
  checked += columnInserts.length;
  for (const grant of columnInserts) {
    if (!tenant.has(grant.table)) continue;
    flag(
      `table ${grant.table}`,
      `INSERT is granted to ${grant.role} on columns (${grant.columns.join(', ')}) only: on a shard Citus inserts the defaulted columns too, which that grant refuses`,
    );
  }

  // Unique keys, primary keys, exclusion constraints and unique indexes of tenant tables.
  const uniques = await sql.query<{ name: string; table: string; columns: string[] }>(`
    select i.relname as name, c.relname as table,
           array(select a.attname::text from unnest(x.indkey) k(n)
                 join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.n) as columns
    from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
    where c.relnamespace = 'public'::regnamespace and not c.relispartition
      and (x.indisunique or exists (select from pg_constraint k where k.conindid = x.indexrelid and k.contype = 'x'))`);
  for (const unique of uniques) {
    checked++;
    if (tenant.has(unique.table) && !unique.columns.includes('organization_id')) {
      flag(
        `unique ${unique.table}.${unique.name}`,
        `does not include organization_id, which Citus refuses on a distributed table`,
      );
    }
  }
  return { checked, violations };
}

/** The report as printed by `npm run check:citus`: one line per violation, then the summary. */
export function describeCitusRules(report: CitusRulesReport): string {
  return [
    ...report.violations.map((v) => `  ${v.object}: ${v.rule}`),
    `Citus rules: ${report.checked} checked, ${report.violations.length} violations`,
  ].join('\n');
}
