import { fingerprintSync, loadModule, parseSync } from 'libpg-query';
import type { RawSql } from '../../src/client/client.ts';
import { tenantTables } from './catalog.ts';

/**
 * Does a statement name its tenant? Parsed by PostgreSQL's own parser (libpg_query), each reference
 * to a tenant table must be pinned, at its own query level, by `<ref>.organization_id = $n` (or a
 * UUID literal, or equality with another pinned reference's organization_id); each INSERT or COPY
 * into one must carry organization_id. Strict on purpose: what it cannot show is reported.
 */

/** Tenant tables (partitions included) and the column that holds their tenant. */
export type TenantTables = ReadonlyMap<string, string>;

export interface StatementVerdict {
  /** One statement of the text (a text may hold several). */
  text: string;
  /** The same for every statement that differs only in its constants (libpg_query's fingerprint). */
  fingerprint: string;
  touchesTenantTable: boolean;
  /** Why it does not name its tenant; empty when it does. */
  problems: string[];
}

/** Tenant tables read from a migrated catalog: `organization_id` tables, their partitions, `organizations` by id. */
export async function readTenantTables(sql: RawSql): Promise<Map<string, string>> {
  const tables = await tenantTables(sql);
  const partitions = await sql.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = any($1::regclass[])`,
    [tables],
  );
  const keyOf = (table: string) => (table === 'organizations' ? 'id' : 'organization_id');
  return new Map([
    ...tables.map((table) => [table, keyOf(table)] as const),
    ...partitions.map((row) => [row.name, 'organization_id'] as const),
  ]);
}

/** The parser is WebAssembly: load it once before `checkStatementText`. */
export const loadParser = loadModule;

type Node = Record<string, unknown>;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The single key of a parse node (`{ SelectStmt: {...} }`) and its body. */
function unwrap(node: unknown): [string, Node] | undefined {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1 || !/^[A-Z]/.test(keys[0] ?? '')) return undefined;
  const kind = keys[0] as string;
  return [kind, (node as Node)[kind] as Node];
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const stringOf = (node: unknown): string | undefined => {
  const inner = unwrap(node);
  return inner?.[0] === 'String' ? (inner[1].sval as string) : undefined;
};

/** A table reference visible at one query level. */
interface Reference {
  name: string;
  table: string;
  key: string;
  pinned: boolean;
}

interface Level {
  references: Reference[];
  /** Sources that are not tenant tables but might have an organization_id column (subqueries, CTEs, functions). */
  opaqueSources: number;
  sources: number;
  outer: Level | undefined;
}

/** A WHERE or ON condition, and the references it may pin (an outer join's ON pins only its nullable side). */
interface Condition {
  expression: unknown;
  pins: Set<string> | 'all';
}

class StatementAnalysis {
  touchesTenantTable = false;
  readonly problems: string[] = [];

  constructor(private readonly tables: TenantTables) {}

  statement(node: unknown, ctes: ReadonlySet<string>): void {
    const inner = unwrap(node);
    if (!inner) return;
    const [kind, body] = inner;
    switch (kind) {
      case 'SelectStmt':
        this.select(body, undefined, ctes);
        return;
      case 'InsertStmt':
        this.insert(body, ctes);
        return;
      case 'UpdateStmt':
        this.modify(body, 'UPDATE', body.fromClause, ctes);
        return;
      case 'DeleteStmt':
        this.modify(body, 'DELETE', body.usingClause, ctes);
        return;
      case 'CopyStmt':
        this.copy(body, ctes);
        return;
      case 'ExplainStmt':
        this.statement(body.query, ctes);
        return;
      default:
        for (const table of this.tenantTablesIn(body, ctes)) {
          this.touchesTenantTable = true;
          this.problems.push(`${table}: ${kind} on a tenant table cannot name one tenant`);
        }
    }
  }

  private tenantOf(rangeVar: Node, ctes: ReadonlySet<string>): string | undefined {
    const schema = rangeVar.schemaname as string | undefined;
    const name = rangeVar.relname as string;
    if (schema && schema !== 'public') return undefined;
    if (!schema && ctes.has(name)) return undefined;
    return this.tables.has(name) ? name : undefined;
  }

  private tenantTablesIn(node: unknown, ctes: ReadonlySet<string>): string[] {
    const found: string[] = [];
    walk(node, (kind, body) => {
      // Subqueries are checked on their own.
      if (kind === 'SubLink') return false;
      if (kind !== 'RangeVar') return true;
      const table = this.tenantOf(body, ctes);
      if (table) found.push(table);
      return false;
    });
    return found;
  }

  private withCtes(body: Node, outer: Level | undefined, ctes: ReadonlySet<string>): ReadonlySet<string> {
    const clause = unwrap(body.withClause)?.[1] ?? (body.withClause as Node | undefined);
    if (!clause) return ctes;
    const definitions = list(clause.ctes).map((cte) => unwrap(cte)?.[1] as Node);
    const visible = new Set([...ctes, ...definitions.map((cte) => cte.ctename as string)]);
    for (const cte of definitions) this.query(cte.ctequery, outer, visible);
    return visible;
  }

  /** A nested query: a SELECT, or a data-modifying statement in a CTE. */
  private query(node: unknown, outer: Level | undefined, ctes: ReadonlySet<string>): Level | undefined {
    const inner = unwrap(node);
    if (inner?.[0] === 'SelectStmt') return this.select(inner[1], outer, ctes);
    this.statement(node, ctes);
    return undefined;
  }

  select(body: Node, outer: Level | undefined, ctes: ReadonlySet<string>): Level | undefined {
    const visible = this.withCtes(body, outer, ctes);
    if (body.op && body.op !== 'SETOP_NONE') {
      // The arms of a UNION are SelectStmt bodies without their wrapper.
      this.select(body.larg as Node, outer, visible);
      this.select(body.rarg as Node, outer, visible);
      return undefined;
    }
    const level: Level = { references: [], opaqueSources: 0, sources: 0, outer };
    const conditions: Condition[] = [];
    const nested: unknown[] = [];
    for (const item of list(body.fromClause)) this.fromItem(item, level, conditions, nested, visible);
    if (body.whereClause) conditions.push({ expression: body.whereClause, pins: 'all' });
    this.pin(level, conditions);
    const rest = { ...body, fromClause: undefined, withClause: undefined };
    for (const subquery of [...nested, ...subqueriesIn(rest)]) this.query(subquery, level, visible);
    return level;
  }

  private fromItem(
    item: unknown,
    level: Level,
    conditions: Condition[],
    nested: unknown[],
    ctes: ReadonlySet<string>,
  ): string[] {
    const inner = unwrap(item);
    if (!inner) return [];
    const [kind, body] = inner;
    level.sources += 1;
    if (kind === 'RangeVar') {
      const name =
        ((body.alias as Node | undefined)?.aliasname as string | undefined) ?? (body.relname as string);
      const table = this.tenantOf(body, ctes);
      if (!table) {
        if (!body.schemaname && ctes.has(body.relname as string)) level.opaqueSources += 1;
        return [name];
      }
      this.touchesTenantTable = true;
      level.references.push({ name, table, key: this.tables.get(table) as string, pinned: false });
      return [name];
    }
    if (kind === 'JoinExpr') {
      level.sources -= 1;
      const left = this.fromItem(body.larg, level, conditions, nested, ctes);
      const right = this.fromItem(body.rarg, level, conditions, nested, ctes);
      if (body.quals) {
        const pinnable: Record<string, Set<string>> = {
          JOIN_INNER: new Set([...left, ...right]),
          JOIN_LEFT: new Set(right),
          JOIN_RIGHT: new Set(left),
        };
        conditions.push({ expression: body.quals, pins: pinnable[body.jointype as string] ?? new Set() });
        nested.push(...subqueriesIn(body.quals));
      }
      return [...left, ...right];
    }
    level.opaqueSources += 1;
    const alias = ((body.alias as Node | undefined)?.aliasname as string | undefined) ?? '';
    if (kind === 'RangeSubselect') {
      // A LATERAL subquery sees this level's references; a plain one only the levels outside.
      if (body.lateral) nested.push(body.subquery);
      else this.query(body.subquery, level.outer, ctes);
      return [alias];
    }
    nested.push(...subqueriesIn(body));
    for (const table of this.tenantTablesIn(body, ctes)) {
      this.touchesTenantTable = true;
      this.problems.push(`${table}: read through ${kind}, which cannot name one tenant`);
    }
    return [alias];
  }

  /** Marks the references the conditions pin, until nothing changes (a join can pin through another). */
  private pin(level: Level, conditions: Condition[]): void {
    for (let changed = true; changed; ) {
      changed = false;
      for (const { expression, pins } of conditions) {
        for (const conjunct of conjuncts(expression)) {
          for (const reference of this.pinnedBy(conjunct, level)) {
            if (reference.pinned || (pins !== 'all' && !pins.has(reference.name))) continue;
            reference.pinned = true;
            changed = true;
          }
        }
      }
    }
    for (const reference of level.references) {
      if (reference.pinned) continue;
      const named =
        reference.name === reference.table ? reference.table : `${reference.table} as ${reference.name}`;
      this.problems.push(`${named}: no ${reference.key} = $n at its query level`);
    }
  }

  /** The references a conjunct pins: `<ref>.<key> = <tenant>`, or `<ref>.<key> IN (<one tenant>)`. */
  private pinnedBy(conjunct: unknown, level: Level): Reference[] {
    const inner = unwrap(conjunct);
    if (inner?.[0] !== 'A_Expr') return [];
    const expression = inner[1];
    const operator = stringOf(list(expression.name).at(-1));
    if (operator !== '=') return [];
    if (expression.kind === 'AEXPR_IN') {
      const values = list(unwrap(expression.rexpr)?.[1]?.items);
      const reference = keyReference(expression.lexpr, level);
      return reference && values.length === 1 && this.isTenant(values[0], level) ? [reference] : [];
    }
    if (expression.kind !== 'AEXPR_OP') return [];
    const pinned: Reference[] = [];
    const left = keyReference(expression.lexpr, level);
    const right = keyReference(expression.rexpr, level);
    if (left && this.isTenant(expression.rexpr, level)) pinned.push(left);
    if (right && this.isTenant(expression.lexpr, level)) pinned.push(right);
    return pinned;
  }

  /** A bind parameter, a UUID literal, or the key of a pinned reference here or in an outer level. */
  private isTenant(node: unknown, level: Level): boolean {
    const value = withoutCasts(node);
    const inner = unwrap(value);
    if (inner?.[0] === 'ParamRef') return true;
    if (inner?.[0] === 'A_Const') {
      const literal = (inner[1].sval as Node | undefined)?.sval;
      return typeof literal === 'string' && uuidPattern.test(literal);
    }
    for (let scope: Level | undefined = level; scope; scope = scope.outer) {
      const reference = keyReference(value, scope);
      if (reference) return reference.pinned;
    }
    return false;
  }

  private insert(body: Node, ctes: ReadonlySet<string>): void {
    const visible = this.withCtes(body, undefined, ctes);
    const relation = body.relation as Node;
    const table = this.tenantOf(relation, visible);
    const source = unwrap(body.selectStmt)?.[1];
    const columns = list(body.cols).map((column) => unwrap(column)?.[1]?.name as string);
    let level: Level | undefined;
    if (source && !source.valuesLists) level = this.query(body.selectStmt, undefined, visible);
    const rest = { ...body, relation: undefined, selectStmt: undefined, withClause: undefined };
    for (const subquery of subqueriesIn([rest, source?.valuesLists]))
      this.query(subquery, undefined, visible);
    if (!table) return;
    this.touchesTenantTable = true;
    const key = this.tables.get(table) as string;
    const position = columns.indexOf(key);
    if (position < 0) {
      this.problems.push(
        `${table}: INSERT without ${key} in its column list (the default decides the tenant)`,
      );
      return;
    }
    if (!source) {
      this.problems.push(`${table}: INSERT ... DEFAULT VALUES`);
      return;
    }
    const values = source.valuesLists
      ? list(source.valuesLists).map((row) => list(unwrap(row)?.[1]?.items)[position])
      : [unwrap(list(source.targetList)[position])?.[1]?.val];
    const valueLevel = level ?? { references: [], opaqueSources: 0, sources: 0, outer: undefined };
    if (!source.valuesLists && !level) {
      this.problems.push(
        `${table}: INSERT from a set operation, whose ${key} cannot be shown to be one tenant`,
      );
    } else if (!values.every((value) => this.isTenant(value, valueLevel))) {
      this.problems.push(`${table}: INSERT whose ${key} is not a bind parameter, literal or pinned column`);
    }
  }

  private modify(body: Node, verb: string, from: unknown, ctes: ReadonlySet<string>): void {
    const visible = this.withCtes(body, undefined, ctes);
    const level: Level = { references: [], opaqueSources: 0, sources: 0, outer: undefined };
    const conditions: Condition[] = [];
    const nested: unknown[] = [];
    const relation = body.relation as Node;
    this.fromItem({ RangeVar: relation }, level, conditions, nested, visible);
    for (const item of list(from)) this.fromItem(item, level, conditions, nested, visible);
    if (body.whereClause) conditions.push({ expression: body.whereClause, pins: 'all' });
    const before = this.problems.length;
    this.pin(level, conditions);
    for (let index = before; index < this.problems.length; index += 1)
      this.problems[index] = `${verb} ${this.problems[index]}`;
    const rest = {
      ...body,
      relation: undefined,
      fromClause: undefined,
      usingClause: undefined,
      withClause: undefined,
    };
    for (const subquery of [...nested, ...subqueriesIn(rest)]) this.query(subquery, level, visible);
  }

  private copy(body: Node, ctes: ReadonlySet<string>): void {
    if (body.query) {
      this.statement(body.query, ctes);
      return;
    }
    const table = this.tenantOf(body.relation as Node, ctes);
    if (!table) return;
    this.touchesTenantTable = true;
    const key = this.tables.get(table) as string;
    if (!body.is_from) this.problems.push(`${table}: COPY TO reads every tenant's rows`);
    else if (!list(body.attlist).some((column) => stringOf(column) === key))
      this.problems.push(
        `${table}: COPY FROM without ${key} in its column list (the default decides the tenant)`,
      );
  }
}

/** `a AND b AND c` as [a, b, c]; anything else is one conjunct. */
function conjuncts(node: unknown): unknown[] {
  const inner = unwrap(node);
  if (inner?.[0] === 'BoolExpr' && inner[1].boolop === 'AND_EXPR')
    return list(inner[1].args).flatMap(conjuncts);
  return [node];
}

function withoutCasts(node: unknown): unknown {
  const inner = unwrap(node);
  return inner?.[0] === 'TypeCast' ? withoutCasts(inner[1].arg) : node;
}

/** The reference whose tenant key a column names: `ref.key`, or a bare key only one source can have. */
function keyReference(node: unknown, level: Level): Reference | undefined {
  const inner = unwrap(withoutCasts(node));
  if (inner?.[0] !== 'ColumnRef') return undefined;
  const fields = list(inner[1].fields).map(stringOf);
  const column = fields.at(-1);
  if (fields.length >= 2) {
    const qualifier = fields.at(-2);
    return level.references.find((reference) => reference.name === qualifier && reference.key === column);
  }
  const candidates = level.references.filter((reference) => reference.key === column);
  const onlySource = column === 'organization_id' ? level.opaqueSources === 0 : level.sources === 1;
  return candidates.length === 1 && onlySource ? candidates[0] : undefined;
}

/** Walks parse nodes depth first; `visit` returns false to skip a node's children. */
function walk(node: unknown, visit: (kind: string, body: Node) => boolean): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const inner = unwrap(node);
  if (inner && !visit(inner[0], inner[1])) return;
  for (const value of Object.values(inner ? inner[1] : (node as Node))) walk(value, visit);
}

/** The subqueries (`EXISTS`, `IN (select ...)`, scalar) directly inside a node, not those inside them. */
function subqueriesIn(node: unknown): unknown[] {
  const found: unknown[] = [];
  walk(node, (kind, body) => {
    if (kind === 'SubLink') {
      found.push(body.subselect);
      return false;
    }
    if (kind !== 'SelectStmt') return true;
    found.push({ SelectStmt: body });
    return false;
  });
  return found;
}

/** Checks each statement of a text (the parser must be loaded). A text that does not parse is one problem. */
export function checkStatementText(text: string, tables: TenantTables): StatementVerdict[] {
  let parsed: { stmts?: { stmt: unknown; stmt_location?: number; stmt_len?: number }[] };
  try {
    parsed = parseSync(text) as unknown as typeof parsed;
  } catch (error) {
    const problems = [`does not parse: ${(error as Error).message}`];
    return [{ text, fingerprint: text, touchesTenantTable: true, problems }];
  }
  return (parsed.stmts ?? []).map((statement) => {
    const start = statement.stmt_location ?? 0;
    const piece = text.slice(start, statement.stmt_len ? start + statement.stmt_len : undefined).trim();
    const analysis = new StatementAnalysis(tables);
    analysis.statement(statement.stmt, new Set());
    return {
      text: piece,
      fingerprint: fingerprintSync(piece),
      touchesTenantTable: analysis.touchesTenantTable,
      problems: analysis.problems,
    };
  });
}
