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

/**
 * drizzle-orm 1.0's relations for `schema` (its `drizzle({ relations })`): each relation declared
 * with `relations()` made again with `defineRelations`, under the same name, between the same columns.
 */
export function relationsForDrizzle1(schema: Record<string, unknown>): unknown {
  const { defineRelations } = orm as unknown as {
    defineRelations?: (tables: object, build: (r: RelationsBuilder) => object) => unknown;
  };
  if (!defineRelations) throw new Error('relationsForDrizzle1 needs drizzle-orm 1.0 (defineRelations)');
  const tables: Record<string, object> = {};
  const tableKeys = new Map<object, string>();
  const columnKeys = new Map<unknown, [table: string, column: string]>();
  const declarations: RelationsDeclaration[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (value instanceof RelationsDeclaration) declarations.push(value);
    else if (orm.is(value, orm.Table)) {
      tables[key] = value;
      tableKeys.set(value, key);
      for (const [columnKey, column] of Object.entries(value))
        if (orm.is(column, orm.Column)) columnKeys.set(column, [key, columnKey]);
    }
  }
  return defineRelations(tables, (r) => {
    const builderColumn = (column: unknown) => {
      const at = columnKeys.get(column);
      if (!at) throw new Error('a relation names a column of a table outside the schema');
      return (r[at[0]] as BuilderTable)[at[1]];
    };
    const config: Record<string, Record<string, unknown>> = {};
    for (const { table, declare } of declarations) {
      const own: Record<string, unknown> = {};
      for (const [name, declared] of Object.entries(declare(declarationHelpers))) {
        const target = tableKeys.get(declared.referencedTable) as string;
        const alias = declared.relationName === undefined ? {} : { alias: declared.relationName };
        own[name] =
          declared.kind === 'many'
            ? (r.many[target] as (config?: object) => unknown)(alias)
            : (r.one[target] as (config?: object) => unknown)(
                declared.config
                  ? {
                      from: declared.config.fields.map(builderColumn),
                      to: declared.config.references.map(builderColumn),
                      optional: !declared.config.fields.every((field) => field.notNull),
                      ...alias,
                    }
                  : alias,
              );
      }
      config[tableKeys.get(table) as string] = own;
    }
    return config;
  });
}

/** The relation names `schema` declares with `relations()`, per table key, on either line. */
export function declaredRelationNames(schema: Record<string, unknown>): Map<string, string[]> {
  const tableKeys = new Map<unknown, string>(
    Object.entries(schema)
      .filter(([, value]) => orm.is(value, orm.Table))
      .map(([key, value]) => [value, key]),
  );
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
