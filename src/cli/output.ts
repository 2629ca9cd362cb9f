import path from 'node:path';
import type { DbHandle } from '../client/client.ts';

/** Where a run writes its lines and the code it ends with (see runCli). */
export const io = {
  stdout: (text: string) => {
    process.stdout.write(text);
  },
  exitCode: 0,
};
export const say = (line: string) => io.stdout(`${line}\n`);
export const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** The database a command works on, as its lines name it. */
export function describe(handle: DbHandle): string {
  return handle.target.kind === 'server'
    ? `PostgreSQL at ${handle.target.display}`
    : `embedded PostgreSQL in ${path.relative(process.cwd(), handle.target.dataDir) || '.'}`;
}
