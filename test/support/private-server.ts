import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A PostgreSQL server of a test's own, on this machine's binaries (the ones CI installs), for
 * faults no shared server may suffer: a restart, its slots exhausted. Runs as the `postgres` OS
 * user when the tests run as root (initdb refuses root).
 */
export interface PrivateServer {
  url: string;
  /** `pg_ctl restart -m fast`: every session ended, the server back. The event loop runs meanwhile, as a client's would. */
  restart(): Promise<void>;
  stop(): void;
}

/** Where the newest installed server's binaries are, or undefined. */
export function serverBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((major) => existsSync(path.join(root, major, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? path.join(root, majors[0], 'bin') : undefined;
}

/** A TCP port nothing listens on now. */
export const freePort = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

export async function startPrivateServer(settings: Record<string, string> = {}): Promise<PrivateServer> {
  const bin = serverBinaries();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const root = process.getuid?.() === 0;
  const base = mkdtempSync(path.join(tmpdir(), 'neonhub-private-pg-'));
  const data = path.join(base, 'data');
  const passwordFile = path.join(base, 'password');
  writeFileSync(passwordFile, 'private\n');
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']));
    const gid = Number(execFileSync('id', ['-g', 'postgres']));
    chownSync(base, uid, gid);
    chownSync(passwordFile, uid, gid);
  }
  chmodSync(base, 0o700);
  const command = (program: string, args: string[]): [string, string[]] =>
    root
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, program), ...args]]
      : [path.join(bin, program), args];
  const run = (program: string, args: string[]) => {
    const result = spawnSync(...command(program, args), { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${program} failed: ${result.stderr || result.stdout}`);
  };
  const runAsync = (program: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(...command(program, args), { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${program} failed: ${stderr}`)),
      );
    });
  run('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    `--pwfile=${passwordFile}`,
    '--auth=scram-sha-256',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const port = await freePort();
  const options = Object.entries({
    listen_addresses: "'127.0.0.1'",
    port: String(port),
    unix_socket_directories: `'${base}'`,
    fsync: 'off',
    ...settings,
  })
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
  run('pg_ctl', ['start', '-D', data, '-l', path.join(base, 'log'), '-w', '-o', options]);
  return {
    url: `postgres://postgres:private@127.0.0.1:${port}/postgres`,
    // With its log file: a server started without one keeps pg_ctl's output open, and waiting for it never ends.
    restart: () =>
      runAsync('pg_ctl', [
        'restart',
        '-D',
        data,
        '-l',
        path.join(base, 'log'),
        '-m',
        'fast',
        '-w',
        '-o',
        options,
      ]),
    stop: () => {
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
}
