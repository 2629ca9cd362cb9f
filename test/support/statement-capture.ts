import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueryPromise } from 'drizzle-orm';
import * as pgCore from 'drizzle-orm/pg-core';
import {
  PgDeleteBase,
  PgInsertBase,
  PgInsertBuilder,
  PgSelectBase,
  PgSelectBuilder,
  PgUpdateBase,
  PgUpdateBuilder,
} from 'drizzle-orm/pg-core';
import { PgCountBuilder } from 'drizzle-orm/pg-core/query-builders/count';
import { PgRelationalQuery, RelationalQueryBuilder } from 'drizzle-orm/pg-core/query-builders/query';
import type { DbHandle, RawSql } from '../../src/client/client.ts';

/**
 * Statement capture for the tenant check (`npm run check:statements`): with
 * `NEONHUB_STATEMENT_CAPTURE=<dir>`, every statement a test database receives is written to
 * `<dir>/<test file>.statements.json` with its origin: the package (a frame under src/ sent it) or
 * the test itself (fixtures and attacks, which are the consumer's statements, not the package's).
 */
export const statementCaptureDir = process.env.NEONHUB_STATEMENT_CAPTURE || undefined;

/** Where the capture of one run says which tables are tenant tables (written by the global setup). */
export const tenantTablesFile = 'tenant-tables.json';
export const captureFileSuffix = '.statements.json';

/** Who sent a statement: `package` (code under src/), `consumer` (a test), or nobody we could see. */
export type StatementOrigin = 'package' | 'consumer' | 'unattributed';

export interface CapturedStatement {
  origin: StatementOrigin;
  /** The package frames that sent it, nearest first, as `function@src/file.ts:line` (package origin only). */
  frames: string[];
  /** The first place it was seen, `src/file.ts:line` or `test/file.ts:line`. */
  site: string;
  text: string;
  count: number;
}

export interface StatementCapture {
  testFile: string;
  statements: CapturedStatement[];
}

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '../..');
const srcDir = `${path.join(root, 'src')}${path.sep}`;
const harness = new Set([here, path.join(path.dirname(here), 'database.ts')]);
/** The driver hooks in createDb call onStatement: the statement's origin is below them, if anywhere. */
const driverHooks = new Set([...harness, path.join(srcDir, 'client', 'client.ts')]);

interface Origin {
  origin: StatementOrigin;
  frames: string[];
  site: string;
}

const unattributed: Origin = { origin: 'unattributed', frames: [], site: '' };

/** `at async name (file:line:col)` or `at file:line:col`, as V8 writes them. */
const framePattern = /^\s*at (?:async )?(?:(.*?) \()?(?:file:\/\/)?(\/[^():]+):(\d+):\d+\)?$/;

/** Package functions that only carry their caller's query to the database: their caller decides. */
const passThrough = new Set(['runPrepared']);

/** The origin a stack shows: its nearest frame outside libraries and `skipped` files decides. */
function originOf(stack: string | undefined, skipped: ReadonlySet<string>): Origin {
  const frames: string[] = [];
  let site = '';
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const match = framePattern.exec(line);
    if (!match) continue;
    const [, name = '', file = '', lineNumber] = match;
    if (file.includes(`${path.sep}node_modules${path.sep}`) || skipped.has(file)) continue;
    const relative = path.relative(root, file);
    if (!file.startsWith(srcDir)) {
      return frames.length > 0
        ? { origin: 'package', frames, site }
        : { origin: 'consumer', frames: [], site: `${relative}:${lineNumber}` };
    }
    const functionName = name.split('.').pop() ?? '';
    if (frames.length === 0 && passThrough.has(functionName)) continue;
    if (!site) site = `${relative}:${lineNumber}`;
    frames.push(`${functionName === '<anonymous>' ? '' : functionName}@${relative}:${lineNumber}`);
  }
  return frames.length > 0 ? { origin: 'package', frames, site } : unattributed;
}

function callerOrigin(skipped: ReadonlySet<string> = harness): Origin {
  const limit = Error.stackTraceLimit;
  // Deep enough to reach the exported function behind a package helper.
  Error.stackTraceLimit = 40;
  const stack = new Error().stack;
  Error.stackTraceLimit = limit;
  return originOf(stack, skipped);
}

/**
 * Drizzle sends a statement from its builder's `execute()`. Who is behind it: the code that built
 * it (an API function may return a query for the caller to run; a test may hand the package a
 * query to await), else the code that ran it. `await builder` calls `then` from a microtask, where
 * no stack shows the caller; but the `await` (like `Promise.all` and `Promise.resolve`) reads
 * `then` synchronously in the caller, so a getter there notes it. The Drizzle logger, called
 * synchronously by `then` → `execute()`, reads the note. Drizzle is shared by the test files a
 * worker runs, so it is patched once, and the note lives on the process.
 */
const processStateKey = Symbol.for('neonhub.statement-origin');
const processGlobals = globalThis as { [processStateKey]?: { running: Origin | undefined } };
processGlobals[processStateKey] ??= { running: undefined };
const processState = processGlobals[processStateKey];
const patched = Symbol.for('neonhub.statement-origin.patched');

/** Who made each builder. */
const builtBy = new WeakMap<object, Origin>();

type Method = (this: object, ...args: unknown[]) => unknown;

function patch(prototype: object, name: string, wrap: (original: Method) => Method): void {
  const original = (prototype as Record<string, Method>)[name];
  if (original)
    Object.defineProperty(prototype, name, { configurable: true, writable: true, value: wrap(original) });
}

const noteBuilder = (original: Method): Method =>
  function (this: object, ...args) {
    const built = original.apply(this, args);
    const origin = callerOrigin();
    if (origin !== unattributed && built && typeof built === 'object') builtBy.set(built, origin);
    return built;
  };

/** Runs `call` with `origin` as the origin of the statements it sends synchronously. */
function running<T>(origin: Origin, call: () => T): T {
  const outer = processState.running;
  processState.running = origin;
  try {
    return call();
  } finally {
    processState.running = outer;
  }
}

function noteOrigins(): void {
  if (Object.hasOwn(QueryPromise.prototype, patched)) return;
  // The builders patched here are drizzle-orm 0.45's (1.0 renamed them: PgAsyncDatabase, PgAsyncSelectBase...).
  const { PgDatabase } = pgCore as { PgDatabase?: { prototype: object } };
  if (!PgDatabase)
    throw new Error('statement capture follows drizzle-orm 0.45 builders; run it on that line');
  Object.defineProperty(QueryPromise.prototype, patched, { value: true });
  const builders: [object, string[]][] = [
    [PgDatabase.prototype, ['delete', 'execute', '$count']],
    [PgSelectBuilder.prototype, ['from']],
    [PgInsertBuilder.prototype, ['values', 'select']],
    [PgUpdateBuilder.prototype, ['set']],
    [RelationalQueryBuilder.prototype, ['findMany', 'findFirst']],
  ];
  for (const [prototype, names] of builders) for (const name of names) patch(prototype, name, noteBuilder);
  // PgSelectBase and PgCountBuilder carry their own copies of `then`.
  for (const prototype of [QueryPromise.prototype, PgSelectBase.prototype, PgCountBuilder.prototype]) {
    const then = (prototype as { then: Method }).then;
    Object.defineProperty(prototype, 'then', {
      configurable: true,
      get(this: object) {
        const origin = builtBy.get(this) ?? callerOrigin();
        return (...args: unknown[]) => running(origin, () => then.apply(this, args));
      },
    });
  }
  // `builder.execute()` called directly: its caller is on the stack, its builder is not.
  for (const prototype of [
    PgSelectBase.prototype,
    PgInsertBase.prototype,
    PgUpdateBase.prototype,
    PgDeleteBase.prototype,
    PgRelationalQuery.prototype,
  ]) {
    patch(
      prototype,
      '_prepare',
      (original) =>
        function (this: object, ...args) {
          const prepared = original.apply(this, args) as { execute: Method };
          const origin = builtBy.get(this);
          if (!origin) return prepared;
          const execute = prepared.execute;
          return Object.assign(Object.create(prepared), {
            execute: (...inner: unknown[]) => running(origin, () => execute.apply(prepared, inner)),
          });
        },
    );
  }
}

/** This test file's statements (a module instance per test file), merged across its databases. */
const captured = new Map<string, CapturedStatement>();

function record(origin: Origin, text: string): void {
  const key = `${origin.origin}\0${origin.frames.join(' ')}\0${text}`;
  const entry = captured.get(key);
  if (entry) entry.count += 1;
  else captured.set(key, { ...origin, text, count: 1 });
}

function writeCapture(dir: string, file: string): void {
  mkdirSync(dir, { recursive: true });
  const capture: StatementCapture = { testFile: file, statements: [...captured.values()] };
  writeFileSync(
    path.join(dir, `${file.replaceAll(path.sep, '__')}${captureFileSuffix}`),
    `${JSON.stringify(capture, null, 1)}\n`,
  );
}

/**
 * Capture for one test database: pass `onStatement` to `createDb`, then `attach` the handle it made.
 * Each statement the driver sends is matched (by text, in order) with the origin noted when Drizzle
 * or the raw `sql` helper was called; what the driver sends on its own (BEGIN, COMMIT, savepoints)
 * is unattributed.
 */
export function startStatementCapture(dir: string, testPath: string) {
  noteOrigins();
  const file = path.relative(root, testPath);
  const pending = new Map<string, Origin[]>();
  const note = (text: string, origin: Origin) => {
    const queue = pending.get(text);
    if (queue) queue.push(origin);
    else pending.set(text, [origin]);
  };
  const wrapRaw = <T extends RawSql>(raw: T): T => ({
    ...raw,
    query: ((text: string, params?: unknown[]) => {
      note(text, callerOrigin());
      return raw.query(text, params);
    }) as RawSql['query'],
    exec: (text: string) => {
      note(text, callerOrigin());
      return raw.exec(text);
    },
  });
  return {
    onStatement: (text: string) => {
      const queue = pending.get(text);
      const origin = queue?.shift() ?? callerOrigin(driverHooks);
      if (queue?.length === 0) pending.delete(text);
      record(origin, text);
    },
    attach<T extends DbHandle>(handle: T): T {
      const logger = {
        logQuery: (text: string) => note(text, processState.running ?? callerOrigin()),
      };
      // Drizzle takes its logger from the session's options, which its transactions share.
      const session = (
        handle.db as unknown as { session: { logger: unknown; options: { logger?: unknown } } }
      ).session;
      session.logger = logger;
      session.options.logger = logger;
      return {
        ...handle,
        sql: wrapRaw(handle.sql),
        dedicated: async () => wrapRaw(await handle.dedicated()),
        close: async () => {
          await handle.close();
          writeCapture(dir, file);
        },
      };
    },
  };
}
