import { halfvecBench } from './halfvec.ts';
import { migrateBench } from './migrate.ts';
import { queueBench } from './queue.ts';
import { reembedBench } from './reembed.ts';
import { retrievalBench } from './retrieval.ts';
import { type Bench, type BenchRow, benchTarget } from './support.ts';
import { tenantIndexBench } from './tenant-indexes.ts';
import { tenantScopeBench } from './tenant-scope.ts';

// Each bench prints its paths side by side with their baselines, measured in the same run.
const benches: Bench[] = [
  tenantScopeBench,
  migrateBench,
  retrievalBench,
  tenantIndexBench,
  reembedBench,
  halfvecBench,
  queueBench,
];

// Every bench database is a scratch development database made for the run: said explicitly.
process.env.NEONHUB_DEVELOPMENT ??= '1';
process.env.NEONHUB_QUIET_DEVELOPMENT_WARNINGS ??= '1';
const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
const target = benchTarget(serverUrl);
const only = process.argv.slice(2);
console.log(
  `benchmarks on ${serverUrl ? `the server at ${new URL(serverUrl).host}` : 'the embedded database'}\n`,
);

const rows: (BenchRow & { bench: string })[] = [];
for (const bench of benches) {
  if (only.length > 0 && !only.some((word) => bench.name.includes(word))) continue;
  if (bench.needsServer && !serverUrl) {
    console.log(`- ${bench.name}: skipped, needs a server (${bench.needsServer}); set BENCH_DATABASE_URL`);
    continue;
  }
  process.stdout.write(`- ${bench.name} ... `);
  const started = performance.now();
  const result = await bench.run(target);
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  rows.push(...result.map((row) => ({ ...row, bench: bench.name })));
}

console.log('');
for (const row of rows) {
  console.log(`${row.ok ? 'ok  ' : 'MISS'} ${row.bench}: ${row.path}`);
  const ratio = row.ratio === undefined ? '' : `  =>  ${row.ratio.toFixed(2)}x`;
  const versus = row.baseline ? `  vs  ${row.baseline}${ratio}` : '';
  console.log(`     ${row.measured}${versus} (target ${row.target})`);
}
