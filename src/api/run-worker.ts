import type postgres from 'postgres';
import type { Database, Transaction } from '../client.ts';
import { RunLeaseLostError } from '../errors.ts';
import type { ExecutionError, JsonObject } from '../schema/index.ts';
import { withTenant } from '../tenant.ts';
import { type FinishRunInput, finishRun } from './agent-runs.ts';
import {
  type AgentKind,
  type ClaimedRun,
  claimRuns,
  failRunAttempt,
  finishRuns,
  heartbeatRun,
  nextRunDueAt,
  RUN_QUEUE_CHANNEL,
  releaseRun,
} from './run-queue.ts';

/** What a handler gets: the claimed run, and a signal that aborts when the run is cancelled, its lease is lost or the worker stops. */
export interface RunContext extends ClaimedRun {
  signal: AbortSignal;
  /** The database the worker runs on: open the run's tenant scope with `withTenant(db, run.organizationId, fn)`. */
  db: Database;
}

/** A handler's result: the run's output and telemetry, written with status `succeeded`. */
export type RunResult = Omit<FinishRunInput, 'status' | 'attempt' | 'error'>;

/** Does the work of one run; throwing fails the attempt (retried after its backoff, up to `maxAttempts`). */
export type RunHandler = (run: RunContext) => Promise<RunResult | undefined>;

export interface RunWorkerOptions {
  /** Runs in flight at once in this worker (default 4). */
  concurrency?: number;
  /** Lease per claim (default 60 s); the worker renews it every third of it while a handler runs. */
  leaseSeconds?: number;
  /** At most this many runs of one tenant running at once, across all workers (default: no limit). */
  perTenantLimit?: number;
  /** Longest sleep when idle, whatever the notifications say (default 2 s; 200 ms on the embedded database, which cannot listen). */
  pollIntervalMs?: number;
  /** How long `stop()` waits for handlers before it aborts them and releases their runs (default 10 s). */
  shutdownGraceMs?: number;
  /** Told about errors the worker survives (a lost connection, a handler's failure); default: none. */
  onError?: (error: unknown, run?: ClaimedRun) => void;
  /** Told once the database took a run's outcome (for metrics and logs); default: none. */
  onSettled?: (run: ClaimedRun, outcome: 'succeeded' | 'failed' | 'cancelled' | 'released') => void;
}

export interface RunWorker {
  /** Stops claiming, lets running handlers finish within the grace period, releases the rest; resolves when done. */
  stop(): Promise<void>;
  /** Counts since the worker started. */
  readonly stats: {
    claimed: number;
    succeeded: number;
    failed: number;
    cancelled: number;
    released: number;
    lost: number;
  };
}

const cancelled = Symbol('cancelled');
const stopping = Symbol('stopping');
const leaseLost = Symbol('lease lost');

/**
 * Claims and runs agent runs with `handlers` (one per agent kind; only those kinds are claimed),
 * `concurrency` at a time, until `stop()`. Each run's tenant scope is opened with `withTenant` to
 * renew its lease, and to finish it (`succeeded` with the handler's result), fail the attempt (the
 * queue retries it after its backoff) or finish it `cancelled` when `cancelRun` asked. An idle
 * worker waits for the queue's notification (on a server), the next scheduled run, or the poll
 * interval, whichever comes first.
 */
export function runWorker(
  db: Database,
  handlers: Partial<Record<AgentKind, RunHandler>>,
  options: RunWorkerOptions = {},
): RunWorker {
  const kinds = Object.keys(handlers) as AgentKind[];
  if (kinds.length === 0) throw new TypeError('runWorker needs a handler for at least one agent kind');
  const concurrency = options.concurrency ?? 4;
  const leaseSeconds = options.leaseSeconds ?? 60;
  const client = (db as unknown as { $client: unknown }).$client;
  const embedded = typeof client === 'object' && client !== null && 'exec' in client;
  const pollIntervalMs = options.pollIntervalMs ?? (embedded ? 200 : 2000);
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
  const report = options.onError ?? (() => {});
  const stats = { claimed: 0, succeeded: 0, failed: 0, cancelled: 0, released: 0, lost: 0 };
  const inFlight = new Map<string, { run: ClaimedRun; abort: AbortController; done: Promise<void> }>();
  let stopped = false;
  let wake: () => void = () => {};
  let notified = false;
  const nudge = () => {
    notified = true;
    wake();
  };

  const listening = embedded ? undefined : listen(client as postgres.Sql, nudge).catch(report);

  // Outcomes of one tenant's runs that ended in the same turn of the event loop share one scope:
  // their statements leave together, so a busy worker pays one transaction for many runs.
  type Pending = {
    run: ClaimedRun;
    /** The outcome alone, in a scope of its own or among others. */
    apply: (tx: Transaction) => Promise<unknown>;
    /** A success, which shares one statement with the tenant's other successes (finishRuns). */
    result?: RunResult;
    resolve: () => void;
    reject: (e: unknown) => void;
  };
  const pending = new Map<string, Pending[]>();
  const flushTenant = async (organizationId: string, items: Pending[]) => {
    const successes = items.filter((item) => item.result);
    const others = items.filter((item) => !item.result);
    const { batch, settled } = await withTenant(db, organizationId, async (tx) => {
      const [batch, settled] = await Promise.all([
        finishRuns(
          tx,
          successes.map((item) => ({
            run: item.run,
            result: { ...item.result, status: 'succeeded' as const },
          })),
        ),
        Promise.allSettled(others.map((item) => item.apply(tx))),
      ]);
      return { batch, settled };
    });
    const lost = new Set(batch.lost);
    for (const item of successes) {
      if (lost.has(item.run.runId)) item.reject(new RunLeaseLostError(item.run.runId, item.run.attempt));
      else item.resolve();
    }
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') others[i]?.resolve();
      else others[i]?.reject(result.reason);
    });
  };
  const flush = async () => {
    const batches = [...pending];
    pending.clear();
    await Promise.all(
      batches.map(async ([organizationId, items]) => {
        try {
          await flushTenant(organizationId, items);
        } catch (error) {
          // The scope failed as a whole (one refusal aborts its transaction): each alone, so one bad run takes no other down.
          if (items.length === 1) items[0]?.reject(error);
          else
            for (const item of items)
              withTenant(db, organizationId, (tx) => item.apply(tx)).then(item.resolve, item.reject);
        }
      }),
    );
  };
  const settle = (run: ClaimedRun, apply: Pending['apply'], result?: RunResult) =>
    new Promise<void>((resolve, reject) => {
      const item = { run, apply, result, resolve, reject };
      const items = pending.get(run.organizationId);
      if (items) items.push(item);
      else {
        if (pending.size === 0) setImmediate(() => flush().catch(report));
        pending.set(run.organizationId, [item]);
      }
    });

  const execute = async (run: ClaimedRun, abort: AbortController) => {
    const scope = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db, run.organizationId, fn);
    const heartbeat = setInterval(
      () => {
        scope((tx) => heartbeatRun(tx, run, { leaseSeconds }))
          .then(({ cancelRequested }) => {
            if (cancelRequested) abort.abort(cancelled);
          })
          .catch((error: unknown) => {
            if (error instanceof RunLeaseLostError) abort.abort(leaseLost);
            else report(error, run);
          });
      },
      Math.max(1000, (leaseSeconds * 1000) / 3),
    );
    heartbeat.unref?.();
    try {
      const handler = handlers[run.agentKind];
      let outcome: { result: RunResult | undefined } | { error: unknown };
      try {
        if (!handler) throw new Error(`no handler for agent kind ${run.agentKind}`);
        outcome = { result: await handler({ ...run, signal: abort.signal, db }) };
      } catch (error) {
        outcome = { error };
      }
      clearInterval(heartbeat);
      const reason = abort.signal.reason;
      if (reason === leaseLost) {
        stats.lost++;
        return;
      }
      if (reason === stopping && 'error' in outcome) {
        await settle(run, (tx) => releaseRun(tx, run));
        stats.released++;
        options.onSettled?.(run, 'released');
      } else if (reason === cancelled) {
        await settle(run, (tx) => finishRun(tx, run.runId, { status: 'cancelled', attempt: run.attempt }));
        stats.cancelled++;
        options.onSettled?.(run, 'cancelled');
      } else if ('error' in outcome) {
        report(outcome.error, run);
        await settle(run, (tx) => failRunAttempt(tx, run, executionError(outcome.error)));
        stats.failed++;
        options.onSettled?.(run, 'failed');
      } else {
        const result = outcome.result ?? {};
        await settle(
          run,
          (tx) => finishRun(tx, run.runId, { ...result, status: 'succeeded', attempt: run.attempt }),
          result,
        );
        stats.succeeded++;
        options.onSettled?.(run, 'succeeded');
      }
    } catch (error) {
      if (error instanceof RunLeaseLostError) stats.lost++;
      else report(error, run);
    } finally {
      clearInterval(heartbeat);
      inFlight.delete(run.runId);
      nudge();
    }
  };

  const loop = async () => {
    await listening;
    let empty = 0;
    while (!stopped) {
      const free = concurrency - inFlight.size;
      let claimed: ClaimedRun[] = [];
      let waitMs = pollIntervalMs;
      if (free > 0) {
        // A notification since the last claim: new work, so the empty-claim backoff starts again.
        if (notified) empty = 0;
        notified = false;
        try {
          claimed = await claimRuns(db, {
            kinds,
            limit: free,
            leaseSeconds,
            perTenantLimit: options.perTenantLimit,
          });
          empty = claimed.length === 0 ? empty + 1 : 0;
          if (claimed.length < free) {
            const next = await nextRunDueAt(db);
            // Due work another worker holds (or of kinds this one lacks): back off 25 ms, 50, 100... up to the poll interval.
            const backoff = Math.min(pollIntervalMs, 25 * 2 ** Math.min(empty, 10));
            if (next) waitMs = Math.min(waitMs, Math.max(backoff, next.getTime() - Date.now()));
          }
        } catch (error) {
          report(error);
        }
        for (const run of claimed) {
          stats.claimed++;
          const abort = new AbortController();
          inFlight.set(run.runId, { run, abort, done: execute(run, abort) });
        }
        // A full batch: there may be more due right now.
        if (claimed.length > 0 && claimed.length === free) continue;
      }
      if (stopped) break;
      if (notified && inFlight.size < concurrency) continue;
      // Sleep until a notification, a finished run (a free slot), the next due run or the poll interval.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, free > 0 ? waitMs + Math.random() * 0.1 * waitMs : pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
  };
  const looping = loop();

  return {
    stats,
    async stop() {
      stopped = true;
      nudge();
      await looping;
      const grace = new Promise<void>((resolve) => setTimeout(resolve, shutdownGraceMs).unref?.());
      await Promise.race([Promise.all([...inFlight.values()].map((entry) => entry.done)), grace]);
      for (const entry of inFlight.values()) entry.abort.abort(stopping);
      await Promise.all([...inFlight.values()].map((entry) => entry.done));
      const unlisten = await listening;
      if (unlisten) await unlisten().catch(() => {});
    },
  };
}

/** A handler's failure as the run records it: its message, never its stack. */
function executionError(error: unknown): ExecutionError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown })?.code;
  return {
    code: typeof code === 'string' && code.length > 0 ? code.slice(0, 100) : 'handler_error',
    message: message.slice(0, 2000) || 'the handler failed',
  } satisfies ExecutionError & JsonObject;
}

/** LISTEN on its own connection (postgres.js keeps one for listeners); returns how to stop. */
async function listen(client: postgres.Sql, onNotify: () => void): Promise<() => Promise<void>> {
  const { unlisten } = await client.listen(RUN_QUEUE_CHANNEL, onNotify);
  return unlisten;
}
