import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { alive } from '../../src/embedded/data-dir-lock.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const bundles = new Map<string, Promise<string>>();
const prefix = 'neonhub-test-bundle-';

/** Bundles of test processes that ended without their exit handler (killed): removed by the next one. */
function removeOrphans(cache: string): void {
  for (const name of readdirSync(cache)) {
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (name.startsWith(prefix) && Number.isInteger(pid) && pid > 0 && !alive(pid))
      rmSync(path.join(cache, name), { recursive: true, force: true });
  }
}

/**
 * `entry`, the package sources and the libraries it imports, bundled once per test process into one
 * ES module that plain `node` runs (PGlite stays an import: it finds its WebAssembly beside its
 * package). A child started this way loads in a third of the time `--import tsx` takes, which
 * matters when a test starts many at once on a busy machine.
 */
export function bundledScript(entry: string): Promise<string> {
  let bundle = bundles.get(entry);
  if (!bundle) {
    // Under node_modules, so the bundle's PGlite import resolves to this checkout's.
    const cache = path.join(root, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    removeOrphans(cache);
    const dir = mkdtempSync(path.join(cache, `${prefix}${process.pid}-`));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const outfile = path.join(dir, `${path.parse(entry).name}.mjs`);
    bundle = build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: ['@electric-sql/*'],
      logLevel: 'warning',
    }).then(() => outfile);
    bundles.set(entry, bundle);
  }
  return bundle;
}
