import type postgres from 'postgres';
import { RunLeaseLostError } from '../base/errors.ts';
import type { Database } from '../client/client.ts';
import { withTenant } from '../client/tenant.ts';
import type { FinishRunInput } from './agent-runs.ts';
import { claimRunsAndNextDue } from './run-claims.ts';
import { type ClaimedRun, heartbeatRun } from './run-leases.ts';
import { failureOutcome, finishOutcome, outcomeWriter, releaseOutcome } from './run-outcomes.ts';
import { type AgentKind, RUN_QUEUE_CHANNEL } from './run-queue.ts';

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
  /** Handlers running at once in this worker (default 4). */
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
 * `concurrency` handlers at a time, until `stop()`. A run is finished (`succeeded` with the
 * handler's result, or `cancelled` when `cancelRun` asked) with `finishClaimedRuns`, which names
 * the run's tenant and attempt and opens no scope; its tenant scope is opened with `withTenant` to
 * renew its lease, fail the attempt (the queue retries it after its backoff) or release it. A
 * handler's slot takes the next run while its outcome is written, so a worker holds at most twice
 * `concurrency` runs. An idle worker waits for the queue's notification (on a server), the next
 * scheduled run (its claims say when), or the poll interval, whichever comes first.
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
  /** Runs this worker holds: a handler running, or its outcome on its way to the database. */
  const inFlight = new Map<string, { run: ClaimedRun; abort: AbortController; done: Promise<void> }>();
  /**
   * Handlers running. A run whose handler returned frees its slot while its outcome is written, so
   * the next claim leaves meanwhile; the worker holds at most twice `concurrency` runs.
   */
  let busy = 0;
  const free = () => Math.min(concurrency - busy, 2 * concurrency - inFlight.size);
  let stopped = false;
  let wake: () => void = () => {};
  let notified = false;
  /** The loop sleeps with no slot free: a handler that returns, or an outcome written, wakes it to claim. */
  let full = false;
  const nudge = () => {
    notified = true;
    wake();
  };
  const slotFreed = () => {
    if (full) wake();
  };

  const listening = embedded ? undefined : listen(client as postgres.Sql, nudge).catch(report);

  const settle = outcomeWriter(db, report);

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
    let running = true;
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
      // The handler is done: its slot takes the next run while the outcome is written.
      running = false;
      busy--;
      slotFreed();
      const reason = abort.signal.reason;
      if (reason === leaseLost) {
        stats.lost++;
        return;
      }
      if (reason === stopping && 'error' in outcome) {
        await settle(run, releaseOutcome(run));
        stats.released++;
        options.onSettled?.(run, 'released');
      } else if (reason === cancelled) {
        await settle(run, finishOutcome(run, { status: 'cancelled' }));
        stats.cancelled++;
        options.onSettled?.(run, 'cancelled');
      } else if ('error' in outcome) {
        report(outcome.error, run);
        await settle(run, failureOutcome(run, outcome.error));
        stats.failed++;
        options.onSettled?.(run, 'failed');
      } else {
        await settle(run, finishOutcome(run, { ...outcome.result, status: 'succeeded' }));
        stats.succeeded++;
        options.onSettled?.(run, 'succeeded');
      }
    } catch (error) {
      if (error instanceof RunLeaseLostError) stats.lost++;
      else report(error, run);
    } finally {
      clearInterval(heartbeat);
      if (running) busy--;
      inFlight.delete(run.runId);
      // A tenant held at its perTenantLimit may claim again: on a server the finish notifies the
      // workers that listen; the embedded database cannot listen, so this worker looks again now.
      if (embedded) nudge();
      else slotFreed();
    }
  };

  const loop = async () => {
    await listening;
    let empty = 0;
    while (!stopped) {
      const slots = free();
      let claimed: ClaimedRun[] = [];
      let waitMs = pollIntervalMs;
      if (slots > 0) {
        // A notification since the last claim: new work, so the empty-claim backoff starts again.
        if (notified) empty = 0;
        notified = false;
        try {
          const { runs, nextDueAt } = await claimRunsAndNextDue(db, {
            kinds,
            limit: slots,
            leaseSeconds,
            perTenantLimit: options.perTenantLimit,
          });
          claimed = runs;
          empty = claimed.length === 0 ? empty + 1 : 0;
          if (claimed.length < slots && nextDueAt) {
            // Due work another worker holds (or of kinds this one lacks): back off 25 ms, 50, 100... up to the poll interval.
            const backoff = Math.min(pollIntervalMs, 25 * 2 ** Math.min(empty, 10));
            waitMs = Math.min(waitMs, Math.max(backoff, nextDueAt.getTime() - Date.now()));
          }
        } catch (error) {
          report(error);
        }
        for (const run of claimed) {
          stats.claimed++;
          busy++;
          const abort = new AbortController();
          inFlight.set(run.runId, { run, abort, done: execute(run, abort) });
        }
        if (claimed.length > 0 && claimed.length === slots) {
          // A full batch: there may be more due right now. Handlers that end at once end first, so
          // the next claim takes their slots too (claiming at once took 4 and 4 where 8 were free).
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
      }
      if (stopped) break;
      if (notified && free() > 0) continue;
      // Sleep until a notification, a free slot (when none is), the next due run or the poll interval.
      full = free() <= 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, full ? pollIntervalMs : waitMs + Math.random() * 0.1 * waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      full = false;
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

/** LISTEN on its own connection (postgres.js keeps one for listeners); returns how to stop. */
async function listen(client: postgres.Sql, onNotify: () => void): Promise<() => Promise<void>> {
  const { unlisten } = await client.listen(RUN_QUEUE_CHANNEL, onNotify);
  return unlisten;
}
