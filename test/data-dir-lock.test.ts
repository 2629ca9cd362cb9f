// Two real processes on one embedded data dir: the second is refused while the first lives, and
// takes the dir over once the first is gone (killed, so its lock file stays behind).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir, lockFileOf } from '../src/embedded/data-dir-lock.ts';
import { suiteNodeFlags } from './support/node-flags.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'neonhub-lock-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

const childScript = fileURLToPath(new URL('./support/open-data-dir.ts', import.meta.url));

/** A node process running the child script on `dataDir`; resolves with it once it says `open`, or with its exit. */
function openInChild(
  dataDir: string,
): Promise<{ child: ChildProcess; open: boolean; stderr: string; code?: number | null }> {
  const child = spawn(process.execPath, [...suiteNodeFlags, '--import', 'tsx', childScript, dataDir], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  return new Promise((resolve) => {
    child.stdout?.on('data', (chunk) => {
      if (String(chunk).includes('open')) resolve({ child, open: true, stderr });
    });
    child.on('exit', (code) => resolve({ child, open: false, stderr, code }));
  });
}

describe('embedded data dir lock', () => {
  // One data dir through three steps, a child process each (a process start costs seconds on a busy machine).
  const dataDir = path.join(scratch, 'pglite');
  let lock: ReturnType<typeof lockDataDir> | undefined;

  it('refuses a second process while the first has the data dir, naming the first', async () => {
    const first = await openInChild(dataDir);
    expect(first.open, first.stderr).toBe(true);
    const holder = JSON.parse(readFileSync(lockFileOf(dataDir), 'utf8')) as { pid: number };
    expect(holder.pid).toBe(first.child.pid);

    let refused: unknown;
    try {
      lockDataDir(dataDir);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as Error).message).toContain(`in use by process ${first.child.pid}`);
    console.log(`second process refused: ${(refused as Error).message}`);

    // Killed outright: no exit handler runs, the lock file stays with a pid that no longer exists.
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    expect(existsSync(lockFileOf(dataDir))).toBe(true);
  });

  it('takes the data dir over from a killed holder, and then refuses a new process naming this one', async () => {
    lock = lockDataDir(dataDir);
    expect(JSON.parse(readFileSync(lock.lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    const second = await openInChild(dataDir);
    expect(second.open).toBe(false);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`in use by process ${process.pid}`);
  });

  it('lets a new process open the data dir once this one releases it', async () => {
    expect(lock).toBeDefined();
    lock?.release();
    expect(existsSync(lockFileOf(dataDir))).toBe(false);
    const third = await openInChild(dataDir);
    expect(third.open, third.stderr).toBe(true);
    third.child.kill('SIGKILL');
  });
});
