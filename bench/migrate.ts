import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, readMigrations } from '../src/operator/migrate.ts';
import { type Bench, ms, stats } from './support.ts';

/** Empty database to full schema: the package's locked migrator against psql applying the same SQL. */
export const migrateBench: Bench = {
  name: 'empty database to full schema',
  needsServer: 'psql applies the SQL to a server',
  async run(target) {
    const migrations = readMigrations();
    const scratch = mkdtempSync(path.join(tmpdir(), 'neonhub-bench-'));
    const script = path.join(scratch, 'all.sql');
    writeFileSync(
      script,
      `begin;\n${migrations.flatMap((m) => m.statements.map((s) => `${s.trim()};`)).join('\n')}\ncommit;\n`,
    );
    const ours: number[] = [];
    const psql: number[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        const a = await target.fresh({ migrated: false });
        let started = performance.now();
        await migrate(a.handle);
        ours.push(performance.now() - started);
        await a.close();
        const b = await target.fresh({ migrated: false });
        await b.handle.close();
        started = performance.now();
        const run = spawnSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-f', script, b.url ?? ''], {
          encoding: 'utf8',
        });
        psql.push(performance.now() - started);
        await b.close();
        if (run.status !== 0) throw new Error(`psql failed: ${run.stderr.split('\n')[0]}`);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const a = stats(ours);
    const b = stats(psql);
    return [
      {
        path: `${migrations.length} migrations, median of 5`,
        measured: `neonhub-db migrate ${ms(a.p50)}`,
        baseline: `psql, one transaction ${ms(b.p50)}`,
        ratio: a.p50 / b.p50,
        target: '<= 1.5x',
        ok: a.p50 / b.p50 <= 1.5,
      },
    ];
  },
};
