import { runCli } from '../../src/cli/cli.ts';

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
