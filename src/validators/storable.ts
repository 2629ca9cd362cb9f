import { getTableColumns, type Table } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { textByteLimits, textBytesCheckName } from '../schema/byte-limits.ts';
import {
  createInsertSchema as drizzleInsertSchema,
  createUpdateSchema as drizzleUpdateSchema,
} from './drizzle-zod.ts';

// What PostgreSQL (and the drivers between it and us) refuse or change, checked per column type so
// every insert and update validator refuses it before the database does.

/**
 * Earliest timestamp a validator accepts. PostgreSQL stores years 1-99 as written, but drizzle-orm
 * reads `timestamptz` text back with `new Date(text)`, which V8 takes as 19xx/20xx (0050 -> 1950).
 */
export const TIMESTAMP_MIN = new Date('0100-01-01T00:00:00.000Z');
/** Latest timestamp: `Date#toISOString` writes years past 9999 as `+010000`, which PostgreSQL refuses. */
export const TIMESTAMP_MAX = new Date('9999-12-31T23:59:59.999Z');

/** JSON nested deeper than this is refused (parsers recurse: deep input would overflow the stack). */
export const JSON_MAX_DEPTH = 64;
/** JSON whose text is longer than this (in UTF-16 code units) is refused. */
export const JSON_MAX_LENGTH = 1_000_000;

/** `real` (float4): the smallest normal and the largest finite magnitude; PostgreSQL refuses what rounds to 0 or infinity. */
const REAL_MIN = 1.1754943508222875e-38;
const REAL_MAX = 3.4028234663852886e38;

/** In a `u` regex surrogate pairs are one code point, so this matches only unpaired halves. */
const loneSurrogate = /\p{Surrogate}/u;

/** Why PostgreSQL text cannot hold `value` as written, or undefined when it can. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000'))
    return 'contains a NUL character (U+0000), which PostgreSQL text cannot store';
  if (loneSurrogate.test(value))
    return 'contains a lone UTF-16 surrogate (not valid Unicode; it would be stored as U+FFFD)';
  // The embedded database's UTF-8 decoder drops a byte-order mark at the start of a value.
  if (value.startsWith('\uFEFF')) return 'starts with a byte-order mark (U+FEFF), which is not kept';
  return undefined;
}

/** Bytes of `text` in UTF-8, as PostgreSQL stores it (no encoder: validators also run in browsers). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/**
 * Why a JSON value cannot be stored in `jsonb` and read back unchanged, or undefined. Walks the value
 * without recursion, so any depth (or a cycle) gives an answer instead of a RangeError.
 */
export function jsonProblem(value: unknown): string | undefined {
  // drizzle-orm parses a jsonb string it reads back once more: "123" would come back as 123.
  if (typeof value === 'string' && parsesAsJson(value))
    return 'a JSON string that is itself JSON text (it would be read back parsed): wrap it in an object';
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  let length = 0;
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; depth: number };
    const current = item.value;
    if (typeof current === 'string') {
      length += current.length + 2;
      if (current.includes('\u0000')) return 'contains a NUL character (U+0000), which jsonb cannot store';
      if (loneSurrogate.test(current)) return 'contains a lone UTF-16 surrogate, which jsonb refuses';
    } else if (typeof current === 'number' || typeof current === 'boolean' || current === null) {
      length += 8;
    } else if (typeof current === 'object') {
      if (item.depth >= JSON_MAX_DEPTH) return `nested deeper than ${JSON_MAX_DEPTH} levels`;
      const entries = Array.isArray(current) ? current : Object.entries(current as object).flat();
      length += 2 + entries.length;
      for (const entry of entries) stack.push({ value: entry, depth: item.depth + 1 });
    }
    if (length > JSON_MAX_LENGTH) return `larger than ${JSON_MAX_LENGTH} characters of JSON`;
  }
  return undefined;
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Why a timestamp cannot be stored and read back unchanged, or undefined. */
export function timestampProblem(value: Date): string | undefined {
  const time = value.getTime();
  if (Number.isNaN(time)) return 'an invalid date';
  if (time < TIMESTAMP_MIN.getTime() || time > TIMESTAMP_MAX.getTime())
    return 'outside the years 100 to 9999 (UTC) that are stored and read back unchanged';
  return undefined;
}

/** Why a number cannot be stored in a `real` column, or undefined. */
export function realProblem(value: number): string | undefined {
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && magnitude < REAL_MIN) return `too close to zero for a real (below ${REAL_MIN})`;
  if (magnitude > REAL_MAX) return `too large for a real (above ${REAL_MAX})`;
  return undefined;
}

type Wrapper = 'optional' | 'nullable' | 'default';

/** Peels `.optional()`, `.nullable()` and `.default()` off a field, to change its core and put them back. */
function unwrap(field: z.ZodType): { core: z.ZodType; wrap(core: z.ZodType): z.ZodType } {
  const layers: { type: Wrapper; defaultValue?: unknown }[] = [];
  let core = field;
  for (;;) {
    const def = core._zod.def as { type: string; innerType?: z.ZodType; defaultValue?: unknown };
    if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType) {
      layers.push({ type: def.type, defaultValue: def.defaultValue });
      core = def.innerType;
    } else break;
  }
  return {
    core,
    wrap: (inner) =>
      layers.reduceRight<z.ZodType>((schema, layer) => {
        if (layer.type === 'optional') return schema.optional();
        if (layer.type === 'nullable') return schema.nullable();
        return schema.default(layer.defaultValue as never);
      }, inner),
  };
}

const refuse =
  (problem: (value: never) => string | undefined, constraint?: string) =>
  (value: unknown, ctx: z.RefinementCtx) => {
    const message = problem(value as never);
    // Not continuable: row rules must not run on a value the column refused.
    if (message)
      ctx.addIssue({
        code: 'custom',
        message,
        continue: false,
        ...(constraint && { params: { constraint } }),
      });
  };

/** Refuses text longer than `limit` UTF-8 bytes: what the column's index can hold (src/schema/byte-limits.ts). */
const bytesAtMost = (limit: number) => (value: unknown) => {
  const bytes = typeof value === 'string' ? utf8Length(value) : 0;
  return bytes > limit ? `${bytes} bytes in UTF-8, more than the ${limit} its index holds` : undefined;
};

const eachText = (value: unknown) => {
  if (typeof value === 'string') return textProblem(value);
  if (Array.isArray(value))
    for (const item of value) {
      const message = typeof item === 'string' ? textProblem(item) : undefined;
      if (message) return message;
    }
  return undefined;
};

/** The core schema of one column, refusing what its PostgreSQL type refuses or changes. */
function storableCore(column: PgColumn, core: z.ZodType): z.ZodType {
  const type = column.columnType;
  const base =
    type === 'PgArray' ? (column as unknown as { baseColumn: PgColumn }).baseColumn.columnType : type;
  if (type === 'PgJsonb' || type === 'PgJson')
    // Checked before the column's own schema runs: that one recurses, and would overflow on deep input.
    return z.pipe(z.unknown().superRefine(refuse(jsonProblem)), core);
  if (base === 'PgText' || base === 'PgVarchar' || base === 'PgChar') {
    const text = core.superRefine(refuse(eachText));
    const limit = textByteLimits.get(column);
    return limit === undefined
      ? text
      : text.superRefine(refuse(bytesAtMost(limit), textBytesCheckName(column)));
  }
  if (type === 'PgTimestamp') return core.superRefine(refuse(timestampProblem));
  if (type === 'PgReal') return core.superRefine(refuse(realProblem));
  if (type === 'PgUUID' && (core._zod.def as { format?: string }).format === 'uuid')
    // Any 8-4-4-4-12 hex id PostgreSQL accepts, written lowercase as it reads back.
    return z.guid().toLowerCase();
  return core;
}

/**
 * An insert or update schema of `table` that also refuses what the database would refuse or store
 * differently (see README, "Validators"). Apply before object-level `.refine`s.
 */
export function storable<S extends z.ZodObject>(table: Table, schema: S): S {
  const columns = getTableColumns(table) as Record<string, PgColumn>;
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const column = columns[key];
    if (!column) continue;
    const { core, wrap } = unwrap(field);
    const next = storableCore(column, core);
    if (next !== core) shape[key] = wrap(next);
  }
  return schema.extend(shape) as unknown as S;
}

/** drizzle-zod's `createInsertSchema` for a table, made `storable`. */
export const createInsertSchema = ((table: Table, refine?: never) =>
  storable(table, drizzleInsertSchema(table, refine) as z.ZodObject)) as typeof drizzleInsertSchema;

/** drizzle-zod's `createUpdateSchema` for a table, made `storable`. */
export const createUpdateSchema = ((table: Table, refine?: never) =>
  storable(table, drizzleUpdateSchema(table, refine) as z.ZodObject)) as typeof drizzleUpdateSchema;

/**
 * A rule between columns, mirroring a table CHECK. `reads` are the columns it looks at: an update
 * is checked only when it names all of them (the rest of the row is the database's to check).
 */
export interface RowRule<Row> {
  reads: (keyof Row & string)[];
  holds: (row: Partial<Row>) => boolean;
  message: string;
  /** The column the issue names; the last one read by default. */
  path?: keyof Row & string;
}

export const rule = <Row>(
  reads: (keyof Row & string)[],
  holds: (row: Partial<Row>) => boolean,
  message: string,
  path?: keyof Row & string,
): RowRule<Row> => ({ reads, holds, message, path });

/** `schema` refusing rows that break `rules`: always on insert, on update when every column read is given. */
export function withRules<S extends z.ZodObject, Row>(
  schema: S,
  rules: RowRule<Row>[],
  mode: 'insert' | 'update',
): S {
  return schema.superRefine((value, ctx) => {
    const row = value as Partial<Row>;
    for (const { reads, holds, message, path } of rules) {
      if (mode === 'update' && reads.some((key) => row[key] === undefined)) continue;
      if (!holds(row)) ctx.addIssue({ code: 'custom', message, path: [path ?? reads.at(-1) ?? ''] });
    }
  }) as S;
}

/** A trimmed, non-empty name (at most 200 characters), as the domains' name columns take it. */
export const nameText = (s: z.ZodString) => s.trim().min(1).max(200);
/** A trimmed, non-empty title (at most 300 characters). */
export const titleText = (s: z.ZodString) => s.trim().min(1).max(300);
