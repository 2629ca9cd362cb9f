import { beforeAll, describe, expect, it } from 'vitest';
import { checkStatementText, loadParser } from '../support/tenant-statements.ts';

// A slice of the catalog: the analyzer takes the map readTenantTables() reads from a migrated database.
const tables = new Map([
  ['organizations', 'id'],
  ['brands', 'organization_id'],
  ['brand_voices', 'organization_id'],
  ['datasets', 'organization_id'],
  ['chunks', 'organization_id'],
  ['audit_logs', 'organization_id'],
  ['audit_logs_2026_11', 'organization_id'],
]);

const check = (text: string) => {
  const verdicts = checkStatementText(text, tables);
  expect(verdicts).toHaveLength(1);
  return verdicts[0] as (typeof verdicts)[number];
};

beforeAll(async () => {
  await loadParser();
});

describe('statements without their tenant are flagged', () => {
  it.each([
    ['no where', 'select * from brands', 'brands: no organization_id'],
    ['tenant on another column only', 'select * from brands where id = $1', 'brands: no organization_id'],
    ['tenant under OR', 'select * from brands where organization_id = $1 or id = $2', 'brands: no'],
    [
      'tenant from a setting',
      'select * from brands where organization_id = app_current_org_id()',
      'brands: no',
    ],
    ['a literal that is no UUID', "select * from brands where organization_id = 'acme'", 'brands: no'],
    ['any of several tenants', 'select * from brands where organization_id = any($1)', 'brands: no'],
    [
      'join not on organization_id',
      'select * from brands b join brand_voices v on v.brand_id = b.id where b.organization_id = $1',
      'brand_voices as v: no organization_id',
    ],
    [
      "a LEFT JOIN's ON does not filter its preserved side",
      'select * from brands b left join brand_voices v on b.organization_id = $1 and v.organization_id = b.organization_id',
      'brands as b: no organization_id',
    ],
    [
      'subquery without its tenant',
      'select * from chunks where organization_id = $1 and dataset_id in (select id from datasets where kind = $2)',
      'datasets: no organization_id',
    ],
    [
      'EXISTS without its tenant',
      'select * from brands b where b.organization_id = $1 and exists (select 1 from brand_voices v where v.brand_id = b.id)',
      'brand_voices as v: no',
    ],
    [
      'CTE without its tenant',
      'with d as (select id from datasets) select c.id from chunks c join d on d.id = c.dataset_id where c.organization_id = $1',
      'datasets: no organization_id',
    ],
    [
      'lateral subquery without its tenant',
      'select b.id, v.data from brands b left join lateral (select json_agg(x.name) as data from brand_voices x where x.brand_id = b.id) v on true where b.organization_id = $1',
      'brand_voices as x: no',
    ],
    [
      'one arm of a UNION',
      'select id from brands where organization_id = $1 union select id from datasets',
      'datasets: no',
    ],
    ['organizations by slug', 'select * from organizations where slug = $1', 'organizations: no id = $n'],
    ['a partition read directly', 'select * from audit_logs_2026_11 where id = $1', 'audit_logs_2026_11: no'],
    [
      'update without its tenant',
      'update brands set name = $1 where id = $2',
      'UPDATE brands: no organization_id',
    ],
    [
      'update joined by id alone',
      'update brands b set name = $1 from datasets d where b.organization_id = $2 and d.id = b.id',
      'UPDATE datasets as d: no',
    ],
    ['delete without its tenant', 'delete from brand_voices where id = $1', 'DELETE brand_voices: no'],
    [
      'insert relying on the column default',
      'insert into brands (id, organization_id, slug) values (default, default, $1)',
      'brands: INSERT whose organization_id is not',
    ],
    [
      'insert without the column',
      'insert into brands (slug, name) values ($1, $2)',
      'brands: INSERT without',
    ],
    [
      'insert whose tenant comes from the rows',
      'insert into chunks (organization_id, content) select s.org, s.content from json_to_recordset($1) as s(org uuid, content text)',
      'chunks: INSERT whose organization_id is not',
    ],
    ['COPY without the column', 'copy chunks (content, embedding) from stdin', 'chunks: COPY FROM without'],
    ['COPY of a whole table out', 'copy brands to stdout', 'brands: COPY TO'],
    ['TRUNCATE of a tenant table', 'truncate brands', 'brands: TruncateStmt'],
  ])('%s', (_name, text, problem) => {
    const verdict = check(text);
    expect(verdict.touchesTenantTable).toBe(true);
    expect(verdict.problems.join('\n')).toContain(problem);
  });

  it('names each reference that lacks its tenant, at any depth', () => {
    const verdict = check(
      `with recent as (select id from brands where created_at > now() - interval '1 day')
       select c.id from chunks c
       where c.organization_id = $1
         and c.dataset_id in (select d.id from datasets d where d.id = any($2)
                               and exists (select 1 from brand_voices v where v.organization_id = $1))
         and c.document_id in (select id from recent)`,
    );
    expect(verdict.problems).toEqual([
      'brands: no organization_id = $n at its query level',
      'datasets as d: no organization_id = $n at its query level',
    ]);
  });

  it('reports a statement that does not parse', () => {
    expect(check('select from where').problems[0]).toMatch(/^does not parse/);
  });
});

describe('statements that name their tenant pass', () => {
  it.each([
    [
      'a Drizzle select',
      'select "id" from "brands" where ("brands"."organization_id" = $1 and "brands"."id" = $2)',
    ],
    ['a cast parameter', 'select id from brands where organization_id = $1::uuid'],
    ['a single-valued IN', 'select id from brands where organization_id in ($1)'],
    [
      'a UUID literal',
      "select id from brands where organization_id = '01937f6e-0000-7000-8000-000000000001'::uuid",
    ],
    ['organizations by id', 'select name from organizations where id = $1'],
    [
      'a join on organization_id',
      'select * from brands b join brand_voices v on v.organization_id = b.organization_id and v.brand_id = b.id where b.organization_id = $1',
    ],
    [
      'a left join pinned in its ON',
      'select * from brands b left join brand_voices v on v.organization_id = $1 and v.brand_id = b.id where b.organization_id = $1',
    ],
    [
      'pgvector distance on a halfvec cast',
      'select c.id from chunks c where c.organization_id = $1 and c.dataset_id = any($2) order by c.embedding::halfvec(768) <=> $3::halfvec(768) limit 10',
    ],
    [
      'a correlated EXISTS pinned through the outer reference',
      'select * from brands b where b.organization_id = $1 and exists (select 1 from brand_voices v where v.organization_id = b.organization_id and v.brand_id = b.id)',
    ],
    [
      'CTEs fused by reciprocal rank',
      `with vector as (select id, row_number() over (order by embedding <=> $2::halfvec(3)) as rank from chunks
                       where organization_id = $1 and dataset_id in (select id from datasets where organization_id = $1) limit 40),
            text as (select id, row_number() over (order by ts_rank(tsv, q) desc) as rank
                     from chunks c, websearch_to_tsquery('english', $3) q where c.organization_id = $1 and tsv @@ q limit 40)
       select coalesce(v.id, t.id) as id, coalesce(1.0 / (60 + v.rank), 0) + coalesce(1.0 / (60 + t.rank), 0) as score
       from vector v full join text t on t.id = v.id order by score desc limit 10`,
    ],
    [
      'an upsert with its tenant',
      'insert into brands (id, organization_id, slug) values (default, $1, $2), (default, $1, $3) on conflict (organization_id, slug) do update set name = excluded.name returning id',
    ],
    [
      'an insert from a loaded temp table',
      'insert into chunks (organization_id, document_id, content) select $1, s.document_id, s.content from neonhub_ingest_chunks s on conflict do nothing',
    ],
    [
      'an insert selecting a pinned column',
      'insert into brand_voices (organization_id, brand_id, name) select b.organization_id, b.id, $2 from brands b where b.organization_id = $1',
    ],
    ['a COPY carrying the column', 'copy chunks (organization_id, content) from stdin'],
    [
      'an update with a pinned join',
      'update brand_voices v set is_default = false from brands b where v.organization_id = $1 and b.organization_id = v.organization_id and b.id = v.brand_id',
    ],
    [
      'a delete with USING',
      'delete from brand_voices v using brands b where v.organization_id = $1 and b.organization_id = v.organization_id and b.id = v.brand_id',
    ],
  ])('%s', (_name, text) => {
    expect(check(text)).toMatchObject({ touchesTenantTable: true, problems: [] });
  });

  it.each([
    ['begin'],
    ["select set_config('role', $1, true), set_config('app.current_org_id', $2, true)"],
    ['select app_resolve_api_key($1)'],
    ['select id from embedding_spaces where id = $1'],
    ['select relname from pg_class where relnamespace = $1::regnamespace'],
    ['create temp table if not exists neonhub_ingest_chunks (ordinal int) on commit drop'],
  ])('%s touches no tenant table', (text) => {
    expect(check(text)).toMatchObject({ touchesTenantTable: false, problems: [] });
  });

  it('splits a text of several statements', () => {
    const verdicts = checkStatementText('select 1; select * from brands', tables);
    expect(verdicts.map((verdict) => [verdict.text, verdict.problems.length])).toEqual([
      ['select 1', 0],
      ['select * from brands', 1],
    ]);
  });
});
