import type { z } from 'zod';
import { toDatabaseError } from './database-errors.ts';

export interface InputIssue {
  /** The column (snake_case) or nested path the issue is about, when there is one. */
  column?: string;
  path: (string | number)[];
  message: string;
  /** The database constraint the validator mirrors, when the value would break one (`<table>_<column>_bytes_check`). */
  constraint?: string;
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Input refused before it reached the database: names the table, the column and what is wrong.
 * Nothing was written.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  /** The same field a `DatabaseError` has, so callers can branch on one property. */
  readonly kind = 'invalid_input' as const;
  constructor(
    readonly table: string,
    readonly issues: InputIssue[],
  ) {
    const column = issues.find((issue) => issue.column)?.column;
    const constraint = issues.find((issue) => issue.constraint)?.constraint;
    const described = issues
      .map(
        (issue) =>
          (issue.path.length > 0 ? `${issue.path.map(String).map(snake).join('.')}: ` : '') + issue.message,
      )
      .join('; ');
    // The same shape as a DatabaseError's message: what was refused, where, and why.
    super(
      `invalid input (table ${table}${column ? `, column ${column}` : ''}${constraint ? `, constraint ${constraint}` : ''}): ${described}`,
    );
  }

  /** The first column named by an issue. */
  get column(): string | undefined {
    return this.issues.find((issue) => issue.column)?.column;
  }

  /** The database constraint an issue mirrors (a byte limit), else undefined: refused before any was involved. */
  get constraint(): string | undefined {
    return this.issues.find((issue) => issue.constraint)?.constraint;
  }
}

/**
 * Parses `value` with `schema`, or throws an `InputError` naming `table` and the offending columns.
 * `label` says which input it was in a batch (`points[3]`), and prefixes the paths in the message.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  table: string,
  label?: string,
): z.output<S> {
  let result: z.ZodSafeParseResult<z.output<S>>;
  try {
    result = schema.safeParse(value) as z.ZodSafeParseResult<z.output<S>>;
  } catch (error) {
    // A schema that recurses (z.json) overflows the stack on input nested thousands deep.
    if (error instanceof RangeError)
      throw new InputError(table, [{ path: label ? [label] : [], message: 'nested too deeply' }]);
    throw error;
  }
  if (result.success) return result.data;
  throw new InputError(
    table,
    result.error.issues.map((issue) => {
      const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
      const head = path[0];
      const constraint = (issue as { params?: { constraint?: unknown } }).params?.constraint;
      return {
        column: typeof head === 'string' ? snake(head) : undefined,
        path: label ? [label, ...path] : path,
        message: issue.message,
        ...(typeof constraint === 'string' && { constraint }),
      };
    }),
  );
}

/** Runs `check`; an InputError it throws says first which input it was about (`label`). */
export function labelled<T>(label: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    throw new InputError(
      error.table,
      error.issues.map((issue) => ({ ...issue, message: `${label}: ${issue.message}` })),
    );
  }
}

/** One refused argument: names the table and column, says what is wrong. */
export const invalidInput = (table: string, column: string, message: string) =>
  new InputError(table, [{ column, path: [], message }]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a value is a UUID string (safe to inline as a SQL literal). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** `InputError` for an id that names no row the current tenant can see. */
export const notFound = (table: string, column: string, path: string) =>
  new InputError(table, [{ column, path: [path], message: 'not found in this organization' }]);

/** Runs database work, turning driver errors into `DatabaseError`s (input errors pass through). */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toDatabaseError(error);
  }
}

/** The single row a write returned. */
export function firstRow<T>(rows: T[], what: string): T {
  const [row] = rows;
  if (!row) throw new Error(`${what} returned no row`);
  return row;
}
