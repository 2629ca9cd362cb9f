#!/usr/bin/env node
// The `neonhub-db` bin. An installed package runs its build (dist/); a checkout runs the TypeScript
// source through tsx, so `npx neonhub-db` works there without a build and never runs a stale one.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const built = path.join(root, 'dist', 'cli', 'cli.js');
const source = path.join(root, 'src', 'cli', 'cli.ts');
const installed = root.split(path.sep).includes('node_modules');

function tsxAvailable() {
  try {
    createRequire(import.meta.url).resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

if (existsSync(built) && (installed || !existsSync(source) || !tsxAvailable())) {
  const { runCli } = await import(pathToFileURL(built).href);
  process.exitCode = await runCli(process.argv.slice(2));
} else if (existsSync(source) && tsxAvailable()) {
  const { register } = await import('tsx/esm/api');
  register();
  const { runCli } = await import(pathToFileURL(source).href);
  process.exitCode = await runCli(process.argv.slice(2));
} else {
  process.stderr.write(
    `neonhub-db: no build in ${path.join(root, 'dist')} and no tsx to run the source: run \`npm run build\` (or \`npm install\` in the checkout)\n`,
  );
  process.exitCode = 1;
}
