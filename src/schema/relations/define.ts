import * as orm from 'drizzle-orm';
import { drizzleLine } from '../drizzle-line.ts';

// The relations are written once, in the first relational API (`relations()`, one module per
// domain). drizzle-orm 0.45 reads them as they are. 1.0 keeps that API only in drizzle-orm/_relations,
// and its `db.query` reads relations made by `defineRelations`: on 1.0 `relations()` records each
// declaration, and `relationsForDrizzle1` makes them again with `defineRelations`.

type Column = { notNull?: boolean };
type Declared = {
  kind: 'one' | 'many';
  referencedTable: object;
  relationName?: string;
  config?: { fields: Column[]; references: Column[] };
};
type Helpers = {
  one: (
    table: orm.Table,
    config?: { fields: Column[]; references: Column[]; relationName?: string },
  ) => Declared;
  many: (table: orm.Table, config?: { relationName?: string }) => Declared;
};
/** `relations()` as this module gives it on 1.0: it records a table's declarations. */
type DeclareRelations = (table: orm.Table, declare: (helpers: Helpers) => Record<string, Declared>) => object;

/** What `relations()` gives on 1.0: the table and its declarations, read by `relationsForDrizzle1`. */
class RelationsDeclaration {
  constructor(
    readonly table: object,
    readonly declare: (helpers: Helpers) => Record<string, Declared>,
  ) {}
}

const declarationHelpers: Helpers = {
  one: (referencedTable, config) => ({
    kind: 'one',
    referencedTable,
    relationName: config?.relationName,
    config,
  }),
  many: (referencedTable, config) => ({ kind: 'many', referencedTable, relationName: config?.relationName }),
};

/** 0.45's `relations()` (typed as 0.45 types it, for its `db.query`), or the recording one on 1.0. */
export const relations = (
  drizzleLine === '0.45'
    ? (orm as { relations?: unknown }).relations
    : (((table, declare) => new RelationsDeclaration(table, declare)) satisfies DeclareRelations)
) as typeof orm extends { relations: infer Relations } ? Relations : DeclareRelations;

type BuilderTable = Record<string, unknown>;
type RelationsBuilder = Record<string, BuilderTable> & {
  one: Record<string, (config?: object) => unknown>;
  many: Record<string, (config?: object) => unknown>;
};

/** The schema's tables by the key it exports each under. */
const tablesOf = (schema: Record<string, unknown>): [key: string, table: orm.Table][] =>
  Object.entries(schema).filter((entry): entry is [string, orm.Table] => orm.is(entry[1], orm.Table));

/**
 * drizzle-orm 1.0's relations for `schema` (its `drizzle({ relations })`): each relation declared
 * with `relations()` made again with `defineRelations`, under the same name, between the same columns.
 */
export function relationsForDrizzle1(schema: Record<string, unknown>): unknown {
  const { defineRelations } = orm as unknown as {
    defineRelations?: (tables: object, build: (r: RelationsBuilder) => object) => unknown;
  };
  if (!defineRelations) throw new Error('relationsForDrizzle1 needs drizzle-orm 1.0 (defineRelations)');
  const tables = tablesOf(schema);
  const tableKeys = new Map<object, string>(tables.map(([key, table]) => [table, key]));
  const columnKeys = new Map<unknown, [table: string, column: string]>();
  for (const [key, table] of tables)
    for (const [columnKey, column] of Object.entries(table))
      if (orm.is(column, orm.Column)) columnKeys.set(column, [key, columnKey]);
  const declarations = Object.values(schema).filter((value) => value instanceof RelationsDeclaration);
  return defineRelations(Object.fromEntries(tables), (r) => {
    const builderColumn = (column: unknown) => {
      const at = columnKeys.get(column);
      if (!at) throw new Error('a relation names a column of a table outside the schema');
      return (r[at[0]] as BuilderTable)[at[1]];
    };
    /** One declaration of the first API, as 1.0's builder makes it. */
    const remade = (declared: Declared) => {
      const target = tableKeys.get(declared.referencedTable) as string;
      const alias = declared.relationName === undefined ? {} : { alias: declared.relationName };
      if (declared.kind === 'many') return (r.many[target] as (config?: object) => unknown)(alias);
      const one = r.one[target] as (config?: object) => unknown;
      if (!declared.config) return one(alias);
      return one({
        from: declared.config.fields.map(builderColumn),
        to: declared.config.references.map(builderColumn),
        optional: !declared.config.fields.every((field) => field.notNull),
        ...alias,
      });
    };
    return Object.fromEntries(
      declarations.map(({ table, declare }) => [
        tableKeys.get(table) as string,
        Object.fromEntries(
          Object.entries(declare(declarationHelpers)).map(([name, declared]) => [name, remade(declared)]),
        ),
      ]),
    );
  });
}

/** The relation names `schema` declares with `relations()`, per table key, on either line. */
export function declaredRelationNames(schema: Record<string, unknown>): Map<string, string[]> {
  const tableKeys = new Map<unknown, string>(tablesOf(schema).map(([key, table]) => [table, key]));
  const { Relations, createTableRelationsHelpers } = orm as unknown as {
    Relations?: new (...args: never[]) => { table: orm.Table; config: (helpers: unknown) => object };
    createTableRelationsHelpers?: (table: orm.Table) => unknown;
  };
  const names = new Map<string, string[]>();
  for (const value of Object.values(schema)) {
    const declared =
      value instanceof RelationsDeclaration
        ? { table: value.table, relations: value.declare(declarationHelpers) }
        : Relations && createTableRelationsHelpers && value instanceof Relations
          ? { table: value.table, relations: value.config(createTableRelationsHelpers(value.table)) }
          : undefined;
    if (declared) names.set(tableKeys.get(declared.table) as string, Object.keys(declared.relations));
  }
  return names;
}

/**
 * `schema` with each declaration recorded on 1.0 made by the first API's `relations()` (drizzle-orm 1.0
 * keeps it in drizzle-orm/_relations), which drizzle-kit 1.0's Studio reads; on 0.45 `schema` as it is.
 */
export function withFirstApiRelations(
  schema: Record<string, unknown>,
  firstApiRelations: (table: orm.Table, declare: RelationsDeclaration['declare']) => unknown,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      value instanceof RelationsDeclaration
        ? firstApiRelations(value.table as orm.Table, value.declare)
        : value,
    ]),
  );
}
