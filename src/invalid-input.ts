import type { z } from 'zod';
import { DatabaseError } from './errors.ts';

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Parses `value` with `schema`, or throws the same typed `DatabaseError` (kind `invalid_input`) a
 * database refusal would give, naming the table, the column and what is wrong, before anything
 * is written. `label` says which input it was (`points[3]`).
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  table: string,
  label: string,
): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.find((part) => typeof part === 'string');
  const column = field === undefined ? undefined : snake(field);
  const where = [`table ${table}`, column && `column ${column}`].filter(Boolean).join(', ');
  throw new DatabaseError(
    'invalid_input',
    '22023',
    `invalid input (${where}): ${label}${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`,
    table,
    column,
    undefined,
    result.error,
  );
}
