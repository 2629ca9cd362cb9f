// Run as its own process by test/data-dir-lock.test.ts: takes the lock of the data dir given as
// argument, opens it with PGlite (a new one copied from the initialised cluster, as the package
// does), prints `open`, and stays up until killed. Exits 3 when refused, before loading PGlite.

import { lockDataDir } from '../../src/embedded/data-dir-lock.ts';

const dataDir = process.argv[2] ?? '';
try {
  lockDataDir(dataDir);
} catch (error) {
  console.error((error as Error).message);
  process.exit(3);
}
const [{ PGlite }, { pgliteStartParams, templatedFs }] = await Promise.all([
  import('@electric-sql/pglite'),
  import('../../src/embedded/embedded-template.ts'),
]);
const db = new PGlite({ dataDir, fs: templatedFs(dataDir), startParams: pgliteStartParams });
await db.query('select 1');
console.log('open');
setInterval(() => {}, 1000);
