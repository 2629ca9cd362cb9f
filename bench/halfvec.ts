import { type Bench, ms } from './support.ts';
import { vectorSource } from './vectors.ts';

/** The same vectors indexed as `halfvec` and as `vector`: index size and recall@10 against exact search. */
export const halfvecBench: Bench = {
  name: 'halfvec index against vector index',
  async run(target) {
    const rows = Number(process.env.BENCH_HALFVEC_ROWS ?? (target.serverUrl ? 20_000 : 2000));
    const dims = 768;
    const queries = 50;
    const database = await target.fresh({ migrated: false });
    const { sql } = database.handle;
    try {
      await sql.exec(`create extension if not exists vector;
        create table bench_vectors (id int primary key, v vector(${dims}) not null, h halfvec(${dims}))`);
      const next = vectorSource(dims, 42);
      for (let start = 0; start < rows; start += 500) {
        const batch = Array.from(
          { length: Math.min(500, rows - start) },
          (_, i) => `(${start + i}, '[${next().join(',')}]', '[${next().join(',')}]')`,
        );
        await sql.exec(`insert into bench_vectors (id, v, h) values ${batch.join(',')}`);
      }
      // The same vectors in both columns; VACUUM cannot share a statement batch (implicit transaction).
      await sql.exec('update bench_vectors set h = v::halfvec');
      await sql.exec('vacuum analyze bench_vectors');
      let started = performance.now();
      await sql.exec('create index bench_vectors_v_idx on bench_vectors using hnsw (v vector_cosine_ops)');
      const vectorBuild = performance.now() - started;
      started = performance.now();
      await sql.exec('create index bench_vectors_h_idx on bench_vectors using hnsw (h halfvec_cosine_ops)');
      const halfvecBuild = performance.now() - started;
      const [sizes] = await sql.query<{ v: string; h: string }>(
        `select pg_relation_size('bench_vectors_v_idx') as v, pg_relation_size('bench_vectors_h_idx') as h`,
      );
      const session = await database.handle.dedicated();
      let vectorHits = 0;
      let halfvecHits = 0;
      try {
        await session.exec('set hnsw.ef_search = 100');
        for (let i = 0; i < queries; i++) {
          const q = `'[${next().join(',')}]'`;
          await session.exec('set enable_indexscan = off');
          const exact = await session.query<{ id: number }>(
            `select id from bench_vectors order by v <=> ${q} limit 10`,
          );
          await session.exec('set enable_indexscan = on');
          const viaVector = await session.query<{ id: number }>(
            `select id from bench_vectors order by v <=> ${q} limit 10`,
          );
          const viaHalfvec = await session.query<{ id: number }>(
            `select id from bench_vectors order by h <=> ${q}::halfvec limit 10`,
          );
          const truth = new Set(exact.map((row) => row.id));
          vectorHits += viaVector.filter((row) => truth.has(row.id)).length;
          halfvecHits += viaHalfvec.filter((row) => truth.has(row.id)).length;
        }
      } finally {
        await session.release();
      }
      const vectorRecall = vectorHits / (queries * 10);
      const halfvecRecall = halfvecHits / (queries * 10);
      const sizeRatio = Number(sizes?.h) / Number(sizes?.v);
      return [
        {
          path: `HNSW size, ${rows} x ${dims} dims`,
          measured: `halfvec ${(Number(sizes?.h) / 2 ** 20).toFixed(1)} MiB (built in ${ms(halfvecBuild)})`,
          baseline: `vector ${(Number(sizes?.v) / 2 ** 20).toFixed(1)} MiB (built in ${ms(vectorBuild)})`,
          ratio: sizeRatio,
          target: '<= 0.55x',
          ok: sizeRatio <= 0.55,
        },
        {
          path: `recall@10 against exact search, ${queries} queries, ef_search 100`,
          measured: `halfvec ${halfvecRecall.toFixed(3)}, vector ${vectorRecall.toFixed(3)}`,
          target: 'within 0.005',
          ok: Math.abs(halfvecRecall - vectorRecall) <= 0.005,
        },
      ];
    } finally {
      await database.close();
    }
  },
};
