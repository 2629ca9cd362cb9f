// Run as its own process by test/data-dir-lock.test.ts: opens the data dir given as argument the way
// the package does (its lock taken first), prints `open`, and stays up until killed. Exits 3 when refused.

import { openPglite } from '../../src/client.ts';
import { DataDirLockedError } from '../../src/data-dir-lock.ts';

const dataDir = process.argv[2] ?? '';
let db: ReturnType<typeof openPglite>;
try {
  db = openPglite(dataDir);
} catch (error) {
  console.error((error as Error).message);
  process.exit(error instanceof DataDirLockedError ? 3 : 1);
}
await db.query('select 1');
console.log('open');
setInterval(() => {}, 1000);
