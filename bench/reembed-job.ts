// The re-embedding job of `npm run bench -- reembed`, in a process of its own as an operator runs
// it (`neonhub-db reembed run`) beside the services that keep searching: its embedding work then
// holds no searching process's event loop. Forked by bench/reembed.ts, which sends it the moves.

import { createDb, type DbHandle } from '../src/client/client.ts';
import { createLocalEmbedder } from '../src/rag/embedder.ts';
import { reembedMany } from '../src/reembedding/reembed-many.ts';

export interface ReembedJob {
  url: string;
  dims: number;
  spaceId: string;
  moves: { organizationId: string; id: string }[];
}

export type ReembedJobMessage =
  | { kind: 'progress'; moved: number; ms: number }
  | { kind: 'done'; moved: number; tokens: number; ms: number }
  | { kind: 'failed'; message: string };

const send = (message: ReembedJobMessage) =>
  new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));

/**
 * Every move embedded, one at a time, each tenant's index of the new space built as soon as its
 * moves are embedded (`reembedMany`); `report` hears progress. One move, not two: the embedder
 * here runs on the server's own two cores, and a second move only took CPU from the builds (the
 * longer path) and from the searches.
 */
export async function moveEverything(
  handle: DbHandle,
  job: Omit<ReembedJob, 'url'>,
  report: (moved: number, ms: number) => Promise<void> | void = () => {},
): Promise<{ moved: number; tokens: number; ms: number }> {
  const embedder = createLocalEmbedder(job.dims);
  const started = performance.now();
  let moved = 0;
  let tokens = 0;
  let lastReport = started;
  await reembedMany(handle, {
    moves: job.moves.map((move) => ({ organizationId: move.organizationId, migrationId: move.id })),
    embedder,
    concurrency: 1,
    batchSize: 1000,
    onMoved: async (done) => {
      moved += done.embeddedRows;
      tokens += done.embeddedTokens;
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        await report(moved, lastReport - started);
      }
    },
  });
  return { moved, tokens, ms: performance.now() - started };
}

// Forked: the moves come as the first message, the outcome goes back before the process ends.
if (process.send)
  process.once('message', (job: ReembedJob) => {
    // A move and a build's two sessions (its lock's and its own).
    const handle = createDb({ url: job.url, max: 3 });
    moveEverything(handle, job, (moved, ms) => send({ kind: 'progress', moved, ms }))
      .then((done) => send({ kind: 'done', ...done }))
      .catch((error: unknown) =>
        send({ kind: 'failed', message: (error as Error)?.message ?? String(error) }),
      )
      .finally(() => handle.close().finally(() => process.disconnect?.()));
  });
