import { describe, expect, it } from 'vitest';
import { checkCitusRules, describeCitusRules } from '../scripts/citus-rules.ts';
import { useTestDatabase } from './support/database.ts';

const database = useTestDatabase();

// One object per rule, each breaking it the way a migration could; dropped again at the end.
const violating = `
  create table citus_probe_parent (
    organization_id uuid not null, id uuid not null,
    primary key (organization_id, id), constraint citus_probe_parent_id_key unique (id));
  create table citus_probe (
    organization_id uuid not null, id uuid not null, parent_id uuid, other_parent_id uuid, token text,
    primary key (organization_id, id),
    constraint citus_probe_token_key unique (token),
    constraint citus_probe_parent_id_fkey foreign key (organization_id, parent_id)
      references citus_probe_parent (organization_id, id) on delete set null (parent_id),
    constraint citus_probe_other_parent_id_fkey foreign key (other_parent_id) references citus_probe_parent (id));
  create unique index citus_probe_token_idx on citus_probe (lower(token));
  create table citus_probe_global (
    id uuid primary key, probe_org uuid, probe_id uuid,
    constraint citus_probe_global_probe_fkey foreign key (probe_org, probe_id)
      references citus_probe_parent (organization_id, id));
  create table citus_probe_loose (organization_id uuid, note text);
  create function citus_probe_brand_count(org uuid) returns bigint language sql stable as $$
    select count(*) from brands where organization_id = org $$;
  alter table citus_probe_loose add constraint citus_probe_loose_brands_check check (citus_probe_brand_count(organization_id) < 10);
  grant insert (organization_id, id) on citus_probe to neonhub_app;
  alter table citus_probe enable row level security;
  create policy citus_probe_tenant on citus_probe using (organization_id = app_current_org_id());
  create policy citus_probe_members on citus_probe
    using (organization_id in (select m.organization_id from memberships m));
  create function citus_probe_branch() returns trigger language plpgsql as $$
  begin
    if TG_TABLE_NAME = 'citus_probe' then new.token := 'x'; end if;
    raise notice 'on %', TG_TABLE_NAME;
    return new;
  end $$;
  create function citus_probe_hash(r citus_probe) returns text language sql immutable as $$ select r.id::text $$;
  create function citus_probe_row() returns trigger language plpgsql as $$
  begin new.token := citus_probe_hash(NEW); return new; end $$;
  create function citus_probe_read() returns trigger language plpgsql as $$
  begin perform 1 from brands b where b.organization_id = new.organization_id; return new; end $$;
  create function citus_probe_campaigns(org uuid) returns bigint language sql stable as $$
    select count(*) from campaigns where organization_id = org $$;
  create function citus_probe_indirect() returns trigger language plpgsql as $$
  begin if citus_probe_campaigns(new.organization_id) > 0 then return new; end if; return new; end $$;
  create function citus_probe_dynamic() returns trigger language plpgsql as $$
  begin execute 'select 1'; return new; end $$;
  create function citus_probe_clean() returns trigger language plpgsql as $$
  begin new.token := lower(new.token); return new; end $$;
  create trigger citus_probe_a before insert on citus_probe for each row execute function citus_probe_branch();
  create trigger citus_probe_b before insert on citus_probe for each row execute function citus_probe_row();
  create trigger citus_probe_c before insert on citus_probe for each row execute function citus_probe_read();
  create trigger citus_probe_d before insert on citus_probe for each row execute function citus_probe_indirect();
  create trigger citus_probe_e before insert on citus_probe for each row execute function citus_probe_dynamic();
  create trigger citus_probe_f before insert on citus_probe for each row execute function citus_probe_clean();
`;

const cleanup = `
  drop table citus_probe_global, citus_probe, citus_probe_loose cascade;
  drop function citus_probe_brand_count(uuid);
  drop table citus_probe_parent;
  drop function citus_probe_branch(), citus_probe_row(), citus_probe_read(), citus_probe_indirect(),
    citus_probe_dynamic(), citus_probe_clean(), citus_probe_campaigns(uuid);
`;

describe('Citus rules check', () => {
  it('passes on the migrated schema', async () => {
    const report = await checkCitusRules(database.current.sql);
    console.log(describeCitusRules(report));
    expect(report.violations).toEqual([]);
    // Trigger functions, policies, foreign keys and unique keys of about fifty tables.
    expect(report.checked).toBeGreaterThan(200);
  });

  it('names each object that breaks a rule, and only those', async () => {
    const { sql } = database.current;
    await sql.exec(violating);
    try {
      const report = await checkCitusRules(sql);
      console.log(describeCitusRules(report));
      const found = report.violations.map((v) => `${v.object}: ${v.rule}`);
      const expected: [string, RegExp][] = [
        ['trigger function citus_probe_branch()', /uses TG_TABLE_NAME outside RAISE/],
        ['trigger function citus_probe_row()', /passes a whole row to citus_probe_hash\(NEW\)/],
        ['trigger function citus_probe_read()', /reads or writes table brands/],
        [
          'trigger function citus_probe_indirect()',
          /reads or writes table campaigns \(through citus_probe_campaigns\(uuid\)\)/,
        ],
        ['trigger function citus_probe_dynamic()', /runs dynamic SQL/],
        ['policy citus_probe.citus_probe_members', /USING has a subquery/],
        [
          'foreign key citus_probe.citus_probe_parent_id_fkey',
          /ON DELETE SET NULL on a key that includes organization_id/,
        ],
        ['foreign key citus_probe.citus_probe_other_parent_id_fkey', /without matching organization_id/],
        [
          'foreign key citus_probe_global.citus_probe_global_probe_fkey',
          /reference table citus_probe_global references tenant table citus_probe_parent/,
        ],
        ['table citus_probe_loose', /organization_id may be NULL/],
        ['table citus_probe', /INSERT is granted to neonhub_app on columns \(organization_id, id\) only/],
        [
          'function citus_probe_campaigns(uuid)',
          /SQL function with parameters queries distributed table campaigns/,
        ],
        [
          'function citus_probe_brand_count(uuid)',
          /SQL function with parameters queries distributed table brands/,
        ],
        [
          'check citus_probe_loose.citus_probe_loose_brands_check',
          /calls citus_probe_brand_count\(uuid\), which queries brands/,
        ],
        ['unique citus_probe.citus_probe_token_key', /does not include organization_id/],
        ['unique citus_probe.citus_probe_token_idx', /does not include organization_id/],
        ['unique citus_probe_parent.citus_probe_parent_id_key', /does not include organization_id/],
      ];
      for (const [object, rule] of expected) {
        expect(
          report.violations.some((v) => v.object === object && rule.test(v.rule)),
          `${object} ${rule} in:\n${found.join('\n')}`,
        ).toBe(true);
      }
      // The well-behaved probes (tenant policy, a trigger that only edits NEW, RAISE naming the
      // table, the composite primary keys) are not reported, and nothing of the schema is.
      expect(report.violations).toHaveLength(expected.length);
      expect(report.violations.every((v) => v.object.includes('citus_probe'))).toBe(true);
    } finally {
      await sql.exec(cleanup);
    }
    expect((await checkCitusRules(sql)).violations).toEqual([]);
  });
});
