// Every insert and update validator the package exports, against the database, with hostile values
// per column: what a validator accepts the database must store, and read back unchanged.

import { and, eq, getTableColumns, getTableName, is, sql } from 'drizzle-orm';
import { type PgColumn, PgTable } from 'drizzle-orm/pg-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDatabaseError } from '../src/base/database-errors.ts';
import { DatabaseError } from '../src/base/errors.ts';
import type { Database, Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import * as schema from '../src/schema/index.ts';
import * as validators from '../src/validators/index.ts';
import { foreignKeys } from './support/catalog.ts';
import { useTestDatabase } from './support/database.ts';
import { seedAcmeAndGlobex } from './support/tenants.ts';
import { ASTRAL, anyCodePoints, CJK, randomText } from './support/text.ts';

const database = useTestDatabase();

type Row = Record<string, unknown>;
type Validator = { safeParse(value: unknown): { success: boolean; data?: unknown }; shape: Row };

const tables = (Object.values(schema) as unknown[]).filter((value): value is PgTable => is(value, PgTable));

/** The table a validator was derived from: the one whose columns hold all its keys, most closely. */
function tableOf(validator: Validator): PgTable | undefined {
  const keys = Object.keys(validator.shape);
  const candidates = tables.filter((table) => {
    const columns = getTableColumns(table);
    return keys.every((key) => key in columns);
  });
  return candidates.sort(
    (a, b) => Object.keys(getTableColumns(a)).length - Object.keys(getTableColumns(b)).length,
  )[0];
}

/** `insert*Schema` and `update*Schema` exports; `*BaseSchema` ones are shapes for API inputs to pick from. */
const enumerated = Object.entries(validators)
  .filter(
    ([name, value]) =>
      /^(insert|update)\w+Schema$/.test(name) && !/BaseSchema$/.test(name) && 'shape' in (value as object),
  )
  .map(([name, value]) => {
    const validator = value as unknown as Validator;
    return {
      name,
      validator,
      kind: name.startsWith('insert') ? ('insert' as const) : ('update' as const),
      table: tableOf(validator),
    };
  });

interface CatalogColumn {
  name: string;
  type: string;
  enumLabels: string[] | null;
  isForeignKey: boolean;
  inPrimaryKey: boolean;
}

interface Target {
  table: PgTable;
  name: string;
  tenant: boolean;
  columns: Map<string, CatalogColumn & { key: string; column: PgColumn }>;
  primaryKey: string[];
  base: Row;
}

const tally = {
  cases: 0,
  refusedByValidator: 0,
  stored: 0,
  refusedByDatabase: 0,
  stateRefusals: 0,
  altered: 0,
};
const targets = new Map<string, Target>();
const stateConstraints = new Map<string, number>();
let acme = '';

beforeAll(async () => {
  const { db, sql: raw } = database.current;
  acme = (await seedAcmeAndGlobex(db)).acme.organizationId;
  const fks = await foreignKeys(raw);
  for (const { table } of enumerated) {
    if (!table || targets.has(getTableName(table))) continue;
    const name = getTableName(table);
    const catalog = await raw.query<{
      name: string;
      type: string;
      enum_labels: string[] | null;
      in_pk: boolean;
    }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
              (select array_agg(e.enumlabel order by e.enumsortorder) from pg_enum e where e.enumtypid = a.atttypid) as enum_labels,
              exists (select from pg_index i where i.indrelid = a.attrelid and i.indisprimary and a.attnum = any(i.indkey)) as in_pk
       from pg_attribute a where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
      [name],
    );
    const fkColumns = new Set(fks.filter((fk) => fk.table === name).flatMap((fk) => fk.columns));
    const byName = new Map(
      Object.entries(getTableColumns(table)).map(([key, column]) => [
        column.name,
        { key, column: column as PgColumn },
      ]),
    );
    const columns = new Map<string, CatalogColumn & { key: string; column: PgColumn }>();
    for (const row of catalog) {
      const drizzle = byName.get(row.name);
      if (!drizzle) continue;
      columns.set(drizzle.key, {
        name: row.name,
        type: row.type,
        enumLabels: row.enum_labels,
        isForeignKey: fkColumns.has(row.name) && row.name !== 'organization_id',
        inPrimaryKey: row.in_pk,
        ...drizzle,
      });
    }
    const tenant = name === 'organizations' || columns.has('organizationId');
    const primaryKey = [...columns.values()].filter((c) => c.inPrimaryKey).map((c) => c.key);
    const t = table as PgTable & Record<string, PgColumn>;
    const read = (tx: Database | Transaction) =>
      tx
        .select()
        .from(table)
        .where(
          name === 'organizations'
            ? eq(t.id as PgColumn, acme)
            : tenant
              ? eq(t.organizationId as PgColumn, acme)
              : sql`true`,
        )
        .limit(1);
    const [base] = tenant ? await withTenant(db, acme, read) : await read(db);
    if (base) targets.set(name, { table, name, tenant, columns, primaryKey, base: base as Row });
  }
});

afterAll(() => {
  console.log(
    `validator property test: ${enumerated.length} validators, ${tally.cases} cases, ${tally.refusedByValidator} refused by the validator, ${tally.stored} stored, ${tally.refusedByDatabase} refused by the database, ${tally.altered} altered (${tally.stateRefusals} refusals about rows already there: unique keys, references, status transitions)`,
  );
  console.log(
    `refusals about rows already there, by constraint: ${JSON.stringify(Object.fromEntries(stateConstraints))}`,
  );
  console.log(
    `${tally.cases} cases, ${tally.refusedByDatabase} refused by the database, ${tally.altered} altered`,
  );
});

// ---------------------------------------------------------------------------------------------
// Hostile values per column, from its type in the catalog
// ---------------------------------------------------------------------------------------------

const SEED = 20261130;
const random = <T>(arbitrary: fc.Arbitrary<T>, count: number, salt: number) =>
  fc.sample(arbitrary, { seed: SEED + salt, numRuns: count });

const deep = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

const hostileStrings = (base: unknown, salt: number): string[] => {
  const text = typeof base === 'string' && base.length > 0 ? base : 'a';
  return [
    text,
    `${text}\u0000`,
    '\u0000',
    `${text}\uD800`,
    `\uDC00${text}`,
    `\uFEFF${text}`,
    `${text}\uFEFF`,
    `${text}😀`,
    '123',
    '',
    ' ',
    text.toUpperCase(),
    'x'.repeat(3000),
    'é'.repeat(700),
    ...random(anyCodePoints(30), 3, salt),
    // Multi-byte text an index cannot compress, ahead of the base value so formats still match:
    // CJK is 3 UTF-8 bytes a character, astral (emoji-like) 4 bytes and 2 UTF-16 units.
    ...[90, 300, 900, 1900].map((length) => `${randomText(CJK, length, salt + length)}${text}`),
    ...[60, 250, 660, 1000].map((length) => `${randomText(ASTRAL, length, salt + length)}${text}`),
  ];
};

const hostileDates = (base: unknown): unknown[] => [
  base,
  new Date('0001-01-01T00:00:00.000Z'),
  new Date('0050-06-15T12:00:00.000Z'),
  new Date('0099-12-31T23:59:59.999Z'),
  new Date('0100-01-01T00:00:00.000Z'),
  new Date('1970-01-01T00:00:00.000Z'),
  new Date('9999-12-31T23:59:59.999Z'),
  new Date('+010000-01-01T00:00:00.000Z'),
  new Date('-000001-01-01T00:00:00.000Z'),
  new Date(8.64e15),
  new Date(Number.NaN),
  '2026-01-01T00:00:00Z',
  null,
];

const hostileNumbers = [
  0,
  -1,
  1,
  2,
  1.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 53,
  1e-50,
  -1e-50,
  1e-40,
  1.17549435e-38,
  0.1,
  0.123456789,
  3.4e38,
  3.5e38,
  5e-324,
  Number.MAX_VALUE,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '1',
];

const hostileDecimals = [
  '0',
  '1',
  '49.00',
  '12.5',
  '00012.50',
  '1e3',
  'NaN',
  '-1',
  '1.005',
  '9'.repeat(20),
  ' 1',
  '1,5',
  '0.000001',
];

/** The base JSON with its first string, number or container swapped for something hostile. */
function hostileJson(base: unknown, salt: number): unknown[] {
  const replaceFirst = (value: unknown, test: (v: unknown) => boolean, by: unknown): unknown => {
    let done = false;
    const walk = (v: unknown): unknown => {
      if (done) return v;
      if (test(v)) {
        done = true;
        return by;
      }
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object')
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    const result = walk(value);
    return done ? result : undefined;
  };
  const isString = (v: unknown) => typeof v === 'string';
  const isNumber = (v: unknown) => typeof v === 'number';
  const isContainer = (v: unknown) => typeof v === 'object' && v !== null && v !== base;
  const variants: unknown[] = [
    base,
    '123',
    '"x"',
    'plain',
    5e-324,
    1e-50,
    null,
    [],
    {},
    deep(10_000),
    deep(70),
    deep(60),
  ];
  for (const s of hostileStrings('a', salt).slice(1, 8))
    variants.push(replaceFirst(base, isString, s), { a: s });
  variants.push(replaceFirst(base, isString, 'x'.repeat(1_100_000)));
  for (const n of [1e-50, 5e-324, 1e308, -0, 2 ** 60]) variants.push(replaceFirst(base, isNumber, n));
  variants.push(replaceFirst(base, isContainer, deep(10_000)));
  return variants.filter((v) => v !== undefined);
}

function hostileValues(column: CatalogColumn & { column: PgColumn }, base: unknown, salt: number): unknown[] {
  const type = column.type;
  if (column.enumLabels) return [...column.enumLabels, 'not_a_value', '', null];
  if (type === 'uuid') {
    const id = typeof base === 'string' ? base : '01930000-0000-7000-8000-000000000000';
    const forms = [
      id,
      id.toUpperCase(),
      `{${id}}`,
      id.replaceAll('-', ''),
      `urn:uuid:${id}`,
      '',
      'not-a-uuid',
      null,
    ];
    // Another valid id would point at no row: a foreign key's refusal no validator can foresee.
    if (column.isForeignKey) return forms;
    return [
      ...forms,
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      ...random(fc.uuid(), 2, salt),
    ];
  }
  if (type.startsWith('timestamp')) return hostileDates(base);
  if (type === 'jsonb' || type === 'json') return hostileJson(base, salt);
  if (type === 'text[]') {
    const first = Array.isArray(base) && typeof base[0] === 'string' ? base[0] : 'a';
    return [base, [], ...hostileStrings(first, salt).map((s) => [s])];
  }
  if (type === 'text' || type.startsWith('character')) return [...hostileStrings(base, salt), null];
  if (type.startsWith('numeric')) return [base, ...hostileDecimals, null];
  if (['integer', 'smallint', 'bigint', 'real', 'double precision'].includes(type))
    return [base, ...hostileNumbers, null];
  if (type === 'boolean') return [true, false, 'true', 1, null];
  if (type.startsWith('halfvec') || type.startsWith('vector')) {
    const vector = Array.isArray(base) ? (base as number[]) : [0.5, 0.25];
    const swap = (value: number) => [value, ...vector.slice(1)];
    return [
      base,
      swap(65504),
      swap(65505),
      swap(1e-8),
      swap(-0),
      swap(Number.NaN),
      vector.slice(1),
      [],
      null,
    ];
  }
  if (type === 'inet') return [base, '10.0.0.1', '::1', '10.0.0.1/32', '10.0.0.256', 'not-an-ip', null];
  return [base, null];
}

// ---------------------------------------------------------------------------------------------
// Comparing what was sent with what came back
// ---------------------------------------------------------------------------------------------

const canonicalDecimal = (value: string) => {
  const [whole = '0', fraction = ''] = value.split('.');
  const w = whole.replace(/^0+(?=\d)/, '');
  const f = fraction.replace(/0+$/, '');
  return f ? `${w}.${f}` : w;
};

/**
 * Whether `stored` is `sent` as the database keeps it. The normalisations the README names:
 * real at single precision, halfvec at half precision, numeric in canonical form at its scale,
 * jsonb object key order; `updated_at` is the database's.
 */
function same(sent: unknown, stored: unknown, type: string): boolean {
  if (sent instanceof Date) return stored instanceof Date && stored.getTime() === sent.getTime();
  if (type === 'real' && typeof sent === 'number')
    return typeof stored === 'number' && Math.fround(stored) === Math.fround(sent);
  if ((type.startsWith('halfvec') || type.startsWith('vector')) && Array.isArray(sent))
    return (
      Array.isArray(stored) &&
      stored.length === sent.length &&
      sent.every(
        (x, i) =>
          Math.abs((stored[i] as number) - (x as number)) <=
          Math.max(Math.abs(x as number) * 2 ** -11, 2 ** -24),
      )
    );
  if (type.startsWith('numeric') && typeof sent === 'string')
    return typeof stored === 'string' && canonicalDecimal(stored) === canonicalDecimal(sent);
  return deepSame(sent, stored);
}

function deepSame(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepSame(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(b)) {
    const keys = Object.keys(a).filter((k) => (a as Row)[k] !== undefined);
    return keys.length === Object.keys(b).length && keys.every((k) => deepSame((a as Row)[k], (b as Row)[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// One case: validate, write in a transaction that is always rolled back, compare
// ---------------------------------------------------------------------------------------------

class RolledBack extends Error {}

/**
 * Refusals that depend on rows already there, which no validator can see: another row's unique
 * key, a missing referenced row, a status transition from the row's current status.
 */
const aboutExistingRows = (error: Error): error is DatabaseError =>
  error instanceof DatabaseError &&
  (['unique_violation', 'foreign_key_violation'].includes(error.kind) ||
    /_transition_check$/.test(error.constraint ?? ''));

type Outcome = { stored: Row } | { refused: DatabaseError | Error };

async function write(target: Target, kind: 'insert' | 'update', row: Row): Promise<Outcome> {
  const { db } = database.current;
  const t = target.table as PgTable & Record<string, PgColumn>;
  const keyOf = (key: string) => eq(t[key] as PgColumn, target.base[key]);
  const where = and(...target.primaryKey.map(keyOf));
  let outcome: Outcome | undefined;
  const run = async (tx: Transaction) => {
    const rows =
      kind === 'insert'
        ? await tx
            .insert(target.table)
            .values(row as never)
            .returning()
        : await tx
            .update(target.table)
            .set(row as never)
            .where(target.tenant && t.organizationId ? and(eq(t.organizationId, acme), where) : where)
            .returning();
    return rows[0] as Row;
  };
  const attempt = async (tx: Transaction, inScope: boolean) => {
    if (kind === 'insert') {
      // The copy takes the base row's place, so its unique keys are free; foreign-key actions
      // and triggers are off for this delete only (all of it is rolled back). That needs the
      // superuser login, so a scope steps out of neonhub_app for it and back in.
      if (inScope) await tx.execute(sql`reset role`);
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.delete(target.table).where(where);
      await tx.execute(sql`set local session_replication_role = origin`);
      if (inScope) await tx.execute(sql`set local role neonhub_app`);
    }
    try {
      outcome = { stored: await tx.transaction(run) };
    } catch (error) {
      outcome = { refused: toDatabaseError(error) as Error };
    }
    throw new RolledBack();
  };
  // Organizations are founded by a definer function, never by a scope: their inserts run as the login.
  const scoped = target.tenant && !(target.name === 'organizations' && kind === 'insert');
  await (scoped
    ? withTenant(db, acme, (tx) => attempt(tx, true))
    : db.transaction((tx) => attempt(tx, false))
  ).catch((error) => {
    if (!(error instanceof RolledBack)) throw error;
  });
  if (!outcome) throw new Error('no outcome');
  return outcome;
}

const describeValue = (value: unknown) => {
  const text =
    value instanceof Date
      ? `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`
      : JSON.stringify(value);
  return text === undefined
    ? String(value)
    : text.length > 80
      ? `${text.slice(0, 80)}… (${text.length} chars)`
      : text;
};

describe('every insert and update validator agrees with the database', () => {
  it('enumerates the validators and finds each one its table and a seeded row', () => {
    console.log(`${enumerated.length} validators: ${enumerated.map((v) => v.name).join(', ')}`);
    expect(enumerated.length).toBeGreaterThan(40);
    const missing = enumerated
      .filter((v) => !v.table || !targets.has(getTableName(v.table)))
      .map((v) => v.name);
    expect(missing).toEqual([]);
  });

  for (const [index, { name, validator, kind, table }] of enumerated.entries()) {
    it(`${name}: accepted values are stored and read back unchanged`, async () => {
      const target = table && targets.get(getTableName(table));
      if (!target) throw new Error(`${name}: no table or no seeded row`);
      const keys = Object.keys(validator.shape).filter((key) => target.columns.has(key));
      const baseRow = Object.fromEntries(keys.map((key) => [key, target.base[key]]));
      const problems: string[] = [];
      let cases = 0;
      let storedCount = 0;
      for (const key of keys) {
        const column = target.columns.get(key);
        // The tenant key is the scope's: another value is a row-level-security refusal by design.
        if (!column || key === 'organizationId' || (target.name === 'organizations' && key === 'id'))
          continue;
        for (const value of hostileValues(column, target.base[key], index * 100 + keys.indexOf(key))) {
          cases++;
          const input = { ...baseRow, [key]: value };
          const parsed = validator.safeParse(input);
          if (!parsed.success) {
            tally.refusedByValidator++;
            continue;
          }
          const row = parsed.data as Row;
          const outcome = await write(target, kind, row);
          if ('refused' in outcome) {
            const error = outcome.refused;
            if (aboutExistingRows(error)) {
              tally.stateRefusals++;
              stateConstraints.set(
                error.constraint ?? error.kind,
                (stateConstraints.get(error.constraint ?? error.kind) ?? 0) + 1,
              );
              continue;
            }
            tally.refusedByDatabase++;
            problems.push(
              `${column.name} = ${describeValue(value)}: refused by the database: ${error.message.slice(0, 200)}`,
            );
            continue;
          }
          storedCount++;
          for (const [k, sent] of Object.entries(row)) {
            const c = target.columns.get(k);
            if (!c || sent === undefined || k === 'updatedAt') continue;
            if (!same(sent, outcome.stored[k], c.type)) {
              tally.altered++;
              problems.push(
                `${column.name} = ${describeValue(value)}: ${c.name} read back ${describeValue(outcome.stored[k])}, sent ${describeValue(sent)}`,
              );
            }
          }
        }
      }
      tally.cases += cases;
      tally.stored += storedCount;
      console.log(
        `${name} (${target.name}): ${cases} cases, ${storedCount} stored, ${problems.length} problems`,
      );
      expect(problems).toEqual([]);
      // A validator that stores nothing would pass vacuously.
      expect(storedCount).toBeGreaterThan(0);
    });
  }
});
