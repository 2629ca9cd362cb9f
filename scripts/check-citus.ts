// The Citus rules check (scripts/citus-rules.ts) on a freshly migrated database: DATABASE_URL when set
// (migrated first), else an in-memory embedded one. Prints `Citus rules: N checked, 0 violations`,
// or each violation (object: rule) and exits 1.
//   npm run check:citus

import { createDb } from '../src/client/client.ts';
import { migrate } from '../src/operator/migrate.ts';
import { checkCitusRules, describeCitusRules } from './citus-rules.ts';

const handle = process.env.DATABASE_URL ? createDb() : createDb({ dataDir: 'memory://' });
try {
  await migrate(handle);
  const report = await checkCitusRules(handle.sql);
  process.stdout.write(`${describeCitusRules(report)}\n`);
  if (report.violations.length > 0) process.exitCode = 1;
} finally {
  await handle.close();
}
