import type postgres from 'postgres';
import { drizzleLine } from '../schema/drizzle-line.ts';

// postgres.js describes an unnamed statement before it runs when a parameter has no type (every
// string and number), a round trip of its own. The package's statements are unnamed (a scope
// prepares nothing a later scope could find), so each one paid two round trips. Typed as
// `unknown`, a value is still typed by the server from the statement, as before, and the
// statement goes out with its Bind in one message.

/** `unknown`: the server types the parameter from the statement, as for a parameter sent without a type. */
const UNKNOWN = 705;
const BYTEA = 17;

/**
 * Drizzle 1.0 hands a json column's value to postgres.js as it is, and postgres.js writes a string
 * as a JSON string only once the description says json: there a string keeps no type (and its
 * statement is described), so `"plain"` stays a JSON string rather than invalid JSON text. Drizzle
 * 0.45 writes JSON text itself.
 */
const STRINGS_TYPED = drizzleLine === '0.45';

/**
 * The parameters with the types that let postgres.js send their statement without describing it
 * first: text-like values as `unknown`, bytes as `bytea`. Dates, arrays and objects keep no type:
 * their text depends on the column (a JSON array and a PostgreSQL array are written differently),
 * which only the description tells; so do strings on Drizzle 1.0 ({@link STRINGS_TYPED}) unless
 * `strings` says the statement has no json parameter.
 */
export function wireTyped(
  sql: Pick<postgres.Sql, 'typed'>,
  params: readonly unknown[] | undefined,
  { strings = STRINGS_TYPED }: { strings?: boolean } = {},
) {
  if (!params || params.length === 0) return params as unknown[] | undefined;
  return params.map((value) =>
    value === null ||
    (strings && typeof value === 'string') ||
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'boolean'
      ? sql.typed(value, UNKNOWN)
      : value instanceof Uint8Array
        ? sql.typed(value, BYTEA)
        : value,
  );
}

type WireClient = Pick<postgres.Sql, 'unsafe' | 'typed'>;

/**
 * `client` with its parameters typed ({@link wireTyped}): its `unsafe`, the connections it
 * reserves, and the clients its transactions and savepoints hand their callbacks (Drizzle's
 * transactions run on those). `createDb` wraps its pool once, so every statement of the handle
 * (Drizzle's, the raw handle's, a scope's on its reserved connection) goes out this way.
 */
export function wireTypedClient<S extends WireClient>(client: S): S {
  const methods = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  const own: Record<PropertyKey, unknown> = {
    unsafe: (text: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) =>
      client.unsafe(text, wireTyped(client, params) as never[], options),
  };
  // begin(fn), begin(options, fn), savepoint(fn), savepoint(name, fn): the callback comes last.
  for (const method of ['begin', 'savepoint'])
    if (typeof methods[method] === 'function')
      own[method] = (...args: unknown[]) => {
        const fn = args.at(-1) as (sql: WireClient) => unknown;
        return methods[method]?.(...args.slice(0, -1), (sql: WireClient) => fn(wireTypedClient(sql)));
      };
  if (typeof methods.reserve === 'function')
    own.reserve = async () => wireTypedClient((await methods.reserve?.()) as WireClient);
  return new Proxy(client, {
    get: (target, key) => (key in own ? own[key] : Reflect.get(target, key, target)),
  });
}
