import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The version of package `name` as `from` resolves it: the package.json of that name nearest above its
 * entry (some packages keep their entry in `dist/`, some do not export their package.json).
 */
export function installedVersion(name: string, from: string = import.meta.url): string {
  let dir = path.dirname(createRequire(from).resolve(name));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (manifest.name === name) return manifest.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json of ${name} above its entry`);
    dir = parent;
  }
}
