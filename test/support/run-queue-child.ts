// A worker process of the run queue's exactly-once test: runs `custom` runs until SIGTERM, saying on
// stdout (synchronous on a pipe) when a handler starts and once the database took its outcome.
import { runWorker } from '../../src/agents/run-worker.ts';
import { createDb } from '../../src/client/client.ts';

const [url] = process.argv.slice(2);
if (!url) throw new Error('usage: run-queue-child.ts <database url>');
const { db, close } = createDb({ url, max: 4 });
const say = (line: string) => process.stdout.write(`${line}\n`);

const worker = runWorker(
  db,
  {
    custom: async (run) => {
      say(`start ${run.runId} ${run.attempt}`);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      return { output: { pid: process.pid } };
    },
  },
  {
    concurrency: 4,
    leaseSeconds: 2,
    pollIntervalMs: 250,
    onSettled: (run, outcome) => say(`settled ${run.runId} ${run.attempt} ${outcome}`),
    onError: (error) =>
      say(`error ${error instanceof Error ? error.message.replace(/\n/g, ' ') : String(error)}`),
  },
);
say('ready');

process.on('SIGTERM', () => {
  worker
    .stop()
    .then(close)
    .then(() => process.exit(0));
});
