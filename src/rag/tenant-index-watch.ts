import { isUuid } from '../base/input.ts';
import type { DbHandle } from '../client/client.ts';
import { driverOf } from '../client/drizzle-internals.ts';
import { maintainTenantIndexes, type TenantIndexChanges } from './tenant-indexes.ts';
import { TENANT_INDEX_CHANNEL } from './vector-query.ts';

// The maintainer that follows searches: a search finding a tenant past the threshold without its
// own index asks for it on a channel, and the watch maintains that space's tenant indexes.

export interface TenantIndexWatch {
  /** Stops listening, after the maintenance in progress. */
  stop(): Promise<void>;
  /** Resolves once no maintenance is in progress or queued. */
  idle(): Promise<void>;
}

export interface WatchOptions {
  minRows?: number;
  maxIndexes?: number;
  /**
   * After a maintenance of a space that changed nothing, how long its next notifications wait
   * before another (default 60 s): a tenant the cap leaves without an index notifies at every
   * search. The embedded database's watch, which looks every second, is not held.
   */
  quietMs?: number;
  /** After each maintenance of a space (also when it changed nothing). */
  onMaintained?: (event: TenantIndexChanges & { spaceId: string; busy: boolean }) => void;
  /** A maintenance that failed; the watch goes on. Default: a process warning. */
  onError?: (error: unknown) => void;
}

/**
 * Keeps tenant indexes in step with growth without an operator: a search that finds a tenant past
 * the exact threshold without its own index searches exactly and notifies
 * `neonhub_tenant_indexes` with the space's id (at its commit; the payload names no tenant), and
 * this watch runs {@link maintainTenantIndexes} for that space, one space at a time, notifications
 * arriving meanwhile coalesced, and those arriving within `quietMs` of a maintenance of the space
 * that changed nothing held until that time is up. Run it where the schema owner's login is (a
 * worker process, or `neonhub-db maintain --watch`), beside the periodic `neonhub-db maintain`
 * that catches what arrived while no watch ran.
 */
export async function watchTenantIndexes(
  handle: DbHandle,
  options: WatchOptions = {},
): Promise<TenantIndexWatch> {
  const pending = new Set<string>();
  const quietMs = options.quietMs ?? 60_000;
  /** Spaces whose last maintenance changed nothing, with when they may be maintained again. */
  const quietUntil = new Map<string, number>();
  const held = new Map<string, NodeJS.Timeout>();
  let running: Promise<void> | undefined;
  const onError =
    options.onError ??
    ((error: unknown) =>
      process.emitWarning(`tenant index maintenance failed: ${(error as Error)?.message ?? String(error)}`));
  const drain = async () => {
    for (const spaceId of pending) {
      pending.delete(spaceId);
      try {
        const changes = await maintainTenantIndexes(handle, {
          spaceId,
          minRows: options.minRows,
          maxIndexes: options.maxIndexes,
        });
        const unchanged = changes.built.length === 0 && changes.dropped.length === 0 && !changes.busy;
        if (unchanged) quietUntil.set(spaceId, Date.now() + quietMs);
        else quietUntil.delete(spaceId);
        options.onMaintained?.({ spaceId, ...changes });
      } catch (error) {
        onError(error);
      }
    }
  };
  const kick = () => {
    running ??= drain().finally(() => {
      running = undefined;
      if (pending.size > 0) kick();
    });
  };
  const ask = (spaceId: string) => {
    const wait = (quietUntil.get(spaceId) ?? 0) - Date.now();
    if (wait <= 0) {
      pending.add(spaceId);
      kick();
    } else if (!held.has(spaceId)) {
      const timer = setTimeout(() => {
        held.delete(spaceId);
        quietUntil.delete(spaceId);
        ask(spaceId);
      }, wait);
      timer.unref();
      held.set(spaceId, timer);
    }
  };
  const unlisten =
    handle.target.kind === 'server'
      ? await listen(handle, TENANT_INDEX_CHANNEL, (payload) => {
          if (isUuid(payload)) ask(payload.toLowerCase());
        })
      : // Polling is its own pace: no notifications to hold.
        pollSpaces(handle, (spaceIds) => {
          for (const spaceId of spaceIds) pending.add(spaceId);
          kick();
        });
  const idle = async () => {
    while (running) await running;
  };
  return {
    idle,
    async stop() {
      await unlisten();
      for (const timer of held.values()) clearTimeout(timer);
      held.clear();
      await idle();
    },
  };
}

type Unlisten = () => Promise<void>;

/** LISTEN on the server client's own connection, which postgres.js keeps for it. */
async function listen(
  handle: DbHandle,
  channel: string,
  onPayload: (payload: string) => void,
): Promise<Unlisten> {
  const sql = driverOf(handle.db) as {
    listen(channel: string, fn: (payload: string) => void): Promise<{ unlisten: Unlisten }>;
  };
  const { unlisten } = await sql.listen(channel, onPayload);
  return unlisten;
}

/** How often the embedded database's watch looks at every space. */
const EMBEDDED_POLL_MS = 1000;

/**
 * The embedded database has one session, and every scope's reset (`app_reset_session`) ends its
 * LISTENs there, before a search's notification would reach it: the watch looks at every space
 * each second instead (a development database: a handful of spaces and tenants).
 */
function pollSpaces(handle: DbHandle, onSpaces: (spaceIds: string[]) => void): Unlisten {
  let stopped = false;
  const timer = setInterval(() => {
    handle.sql
      .query<{ id: string }>('select id from embedding_spaces')
      .then((rows) => {
        if (!stopped) onSpaces(rows.map((row) => row.id));
      })
      .catch(() => {});
  }, EMBEDDED_POLL_MS);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
  };
}
