import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCli } from '../../src/cli/cli.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
// tsx's loader by path, so a process started in another directory finds it.
export const tsxLoader = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/**
 * node's arguments that run `neonhub-db args` from source as a process of its own (node with tsx's
 * loader: one process, where the tsx bin starts two).
 */
export const cliProcessArgs = (args: string[]): string[] => [
  '--import',
  tsxLoader,
  path.join(root, 'src', 'cli', 'cli.ts'),
  ...args,
];

/** The environment of such a process: this one's, without its database URLs, and `env`. */
export function cliProcessEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { DATABASE_URL: _url, TEST_DATABASE_URL: _test, ...rest } = process.env;
  return { ...rest, ...env };
}

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * A `neonhub-db` command run in this process, through the same entry as the bin (runCli) without
 * starting one (a process start and its imports cost seconds on a busy machine), with `env` set
 * for the command only. DATABASE_URL is unset unless `env` gives one.
 */
export async function cliHere(args: string[], env: Record<string, string>): Promise<CliRun> {
  const saved = {
    DATABASE_URL: process.env.DATABASE_URL,
    ...Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]])),
  };
  delete process.env.DATABASE_URL;
  Object.assign(process.env, env);
  let stdout = '';
  let stderr = '';
  try {
    const status = await runCli(args, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
    });
    return { status, stdout, stderr };
  } finally {
    for (const [key, value] of Object.entries(saved))
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  }
}
