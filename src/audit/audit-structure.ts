import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Database, rowsOf, type Transaction } from '../client/client.ts';

// What the owner could change about the audit trail's machinery without touching a row. Every
// catalog, type, function and operator below is named with its schema, so temp objects a scope puts
// ahead of pg_catalog on its search_path, or functions and operators the owner adds, mask nothing.

/** A function the trail depends on, as the newest migration that defines it installs it. */
export interface TrailFunction {
  name: string;
  /** Identity with every type schema-qualified, for `to_regprocedure`. */
  signature: string;
  /** SHA-256 (hex) of its source text (`pg_proc.prosrc`, the text between the dollar quotes). */
  body: string;
  language: 'sql' | 'plpgsql';
  securityDefiner: boolean;
  volatility: 'i' | 's' | 'v';
}

const text5 = 'pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text';

/**
 * The trail's functions: the message encoding (the seal's reference), the append path, retention's
 * anchor path, and the trigger function that refuses UPDATE, DELETE and TRUNCATE. A migration that
 * changes one of them changes its fingerprint here too (a test compares them with drizzle/).
 */
export const trailFunctions: readonly TrailFunction[] = [
  {
    name: 'app_audit_message',
    signature: `public.app_audit_message(pg_catalog.uuid, pg_catalog.int8, pg_catalog.uuid, pg_catalog.timestamptz, public.audit_actor_type, pg_catalog.uuid, ${text5}, pg_catalog.inet, pg_catalog.text, pg_catalog.jsonb)`,
    body: '567eb0c96216a4d1fefaca1852cd9f31ef5e586fc0e116fa2c08e745d6bc5939',
    language: 'sql',
    securityDefiner: false,
    volatility: 'i',
  },
  {
    name: 'app_audit_prepare',
    signature: 'public.app_audit_prepare(pg_catalog.uuid)',
    body: '31231ae3d2d31cab0e1b11c9846645acfbcab4ad986532efeb9258bb7e403e2d',
    language: 'plpgsql',
    securityDefiner: true,
    volatility: 'v',
  },
  {
    name: 'app_audit_append',
    signature: `public.app_audit_append(pg_catalog.uuid, pg_catalog.uuid, pg_catalog.int8, pg_catalog.bytea, pg_catalog.bytea, pg_catalog.text, public.audit_actor_type, pg_catalog.uuid, ${text5}, pg_catalog.inet, pg_catalog.text, pg_catalog.jsonb)`,
    body: '6d1e975b7ff4605afcbda88301bc97c3992a58a49ef6837bf4ed7622a1cc7828',
    language: 'plpgsql',
    securityDefiner: true,
    volatility: 'v',
  },
  {
    name: 'app_audit_retention_points',
    signature: 'public.app_audit_retention_points(pg_catalog.timestamptz)',
    body: '9ce1cda648d26a056a8a4c05ce3e627633fda4672956f005c490bf5de511d762',
    language: 'plpgsql',
    securityDefiner: true,
    volatility: 's',
  },
  {
    name: 'app_audit_set_anchor',
    signature:
      'public.app_audit_set_anchor(pg_catalog.uuid, pg_catalog.int8, pg_catalog.bytea, pg_catalog.text, pg_catalog.bytea)',
    body: 'db4918e3157101e6a2ea1b3e94b11f78f055deec9110bf2186dcfc7bc94a15cc',
    language: 'plpgsql',
    securityDefiner: true,
    volatility: 'v',
  },
  {
    name: 'app_refuse_change',
    signature: 'public.app_refuse_change()',
    body: 'f57fbd576eb9dcf3f60f42e38714d48b0a5a4510ef73d693168070123325676e',
    language: 'plpgsql',
    securityDefiner: false,
    volatility: 'v',
  },
];

/** Every trail function pins its search_path (pg_temp last), so nothing on the caller's path reaches it. */
const PINNED_CONFIG = 'search_path=pg_catalog, public, pg_temp';
/** Definer functions run as this role, never as the owner or anyone else. */
const DEFINER_ROLE = 'neonhub_definer';
const REFUSE_CHANGE = 'app_refuse_change';

/** The append-only triggers the migrations put on audit_logs and what they fire on (pg_trigger.tgtype bits). */
const requiredTriggers = [
  // FOR EACH ROW (1) | BEFORE (2) | DELETE (8) | UPDATE (16)
  { name: 'audit_logs_refuse_update_delete', type: 27 },
  // BEFORE (2) | TRUNCATE (32): statement level, and not inherited, so every partition has its own.
  { name: 'audit_logs_refuse_truncate', type: 34 },
] as const;
const TRUNCATE_TYPE = 34;
const ROW_TRIGGER = 1;

interface RelationRow {
  oid: string;
  name: string;
  kind: string;
  in_public: boolean;
  attached: boolean;
  rls: boolean;
  forced: boolean;
}

interface TriggerRow {
  oid: string;
  relation: string;
  name: string;
  enabled: string;
  type: number;
  parent: string;
  function: string;
  unconditional: boolean;
}

interface FunctionRow {
  signature: string;
  oid: string | null;
  body: string | null;
  language: string | null;
  definer: boolean | null;
  volatility: string | null;
  config: string | null;
  owner: string | null;
}

const AUDIT_LOGS = sql`pg_catalog.to_regclass('public.audit_logs')`;
const PARTITION_OIDS = sql`select i.inhrelid from pg_catalog.pg_inherits i where i.inhparent OPERATOR(pg_catalog.=) ${AUDIT_LOGS}`;

async function readCatalog(db: Database | Transaction) {
  const [relations, triggers, functions] = await Promise.all([
    db.execute(sql`
      select c.oid::pg_catalog.text as oid, c.relname::pg_catalog.text as name, c.relkind::pg_catalog.text as kind,
             c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace as in_public,
             c.oid OPERATOR(pg_catalog.=) any (${PARTITION_OIDS}) as attached,
             c.relrowsecurity as rls, c.relforcerowsecurity as forced
      from pg_catalog.pg_class c
      where (c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
             and pg_catalog.starts_with(c.relname::pg_catalog.text, 'audit_'))
         or c.oid OPERATOR(pg_catalog.=) any (${PARTITION_OIDS})`),
    db.execute(sql`
      select t.oid::pg_catalog.text as oid, t.tgrelid::pg_catalog.text as relation, t.tgname::pg_catalog.text as name,
             t.tgenabled::pg_catalog.text as enabled, t.tgtype::pg_catalog.int4 as type,
             t.tgparentid::pg_catalog.text as parent, t.tgfoid::pg_catalog.text as function,
             t.tgqual is null as unconditional
      from pg_catalog.pg_trigger t
      where t.tgrelid OPERATOR(pg_catalog.=) ${AUDIT_LOGS} or t.tgrelid OPERATOR(pg_catalog.=) any (${PARTITION_OIDS})`),
    db.execute(sql`
      select s.signature, p.oid::pg_catalog.text as oid, p.prosrc::pg_catalog.text as body,
             l.lanname::pg_catalog.text as language, p.prosecdef as definer,
             p.provolatile::pg_catalog.text as volatility,
             pg_catalog.array_to_string(p.proconfig, '; ') as config,
             pg_catalog.pg_get_userbyid(p.proowner)::pg_catalog.text as owner
      from (values ${sql.join(
        trailFunctions.map((f) => sql`(${f.signature}::pg_catalog.text)`),
        sql`, `,
      )}) s(signature)
      left join pg_catalog.pg_proc p on p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(s.signature)
      left join pg_catalog.pg_language l on l.oid OPERATOR(pg_catalog.=) p.prolang`),
  ]);
  return {
    relations: rowsOf<RelationRow>(relations),
    triggers: rowsOf<TriggerRow>(triggers),
    functions: rowsOf<FunctionRow>(functions),
  };
}

/** How a trail function differs from the migrations' definition (empty when it does not). */
function functionDifferences(expected: TrailFunction, row: FunctionRow): string[] {
  const body = createHash('sha256')
    .update(row.body ?? '', 'utf8')
    .digest('hex');
  return [
    body !== expected.body && 'body',
    row.language !== expected.language && `language ${row.language}`,
    row.definer !== expected.securityDefiner && (row.definer ? 'security definer' : 'security invoker'),
    row.volatility !== expected.volatility && `volatility ${row.volatility}`,
    row.config !== PINNED_CONFIG && `settings ${row.config ?? 'none'}`,
    expected.securityDefiner && row.owner !== DEFINER_ROLE && `owner ${row.owner}`,
  ].filter((difference): difference is string => typeof difference === 'string');
}

/**
 * What the owner could have changed about the trail without touching a row: the trail's tables
 * swapped for something else, partitions detached (a table named like one, not attached),
 * append-only triggers missing, disabled, conditional or running another function, row-level
 * security switched off, and any function the trail depends on replaced, renamed or re-owned.
 */
export async function auditStructureProblems(db: Database | Transaction): Promise<string[]> {
  const { relations, triggers, functions } = await readCatalog(db);
  const problems: string[] = [];

  const functionOids = new Map<string, string>();
  for (const expected of trailFunctions) {
    const row = functions.find((f) => f.signature === expected.signature);
    if (!row?.oid) {
      problems.push(`function ${expected.name} is missing (dropped or renamed)`);
      continue;
    }
    functionOids.set(expected.name, row.oid);
    const differences = functionDifferences(expected, row);
    if (differences.length > 0) {
      problems.push(
        `function ${expected.name} is not the one the migrations installed (${differences.join(', ')})`,
      );
    }
  }

  const named = (name: string) => relations.find((r) => r.in_public && r.name === name);
  const parent = named('audit_logs');
  const heads = named('audit_chain_heads');
  if (!parent) problems.push('audit_logs is missing');
  else if (parent.kind !== 'p')
    problems.push(`audit_logs is not the partitioned table (relkind ${parent.kind})`);
  if (!heads) problems.push('audit_chain_heads is missing');
  else if (heads.kind !== 'r') problems.push(`audit_chain_heads is not a table (relkind ${heads.kind})`);
  for (const table of [parent, heads]) {
    if (table && !(table.rls && table.forced))
      problems.push(`${table.name}: row-level security is not forced`);
  }

  const partitions = relations.filter((r) => r.attached);
  for (const partition of partitions) {
    if (!(partition.rls && partition.forced)) {
      problems.push(`partition ${partition.name}: row-level security is not forced`);
    }
  }
  for (const table of relations) {
    if (
      table.in_public &&
      table.kind === 'r' &&
      !table.attached &&
      /^audit_logs_(p\d{4}_\d{2}|default)$/.test(table.name)
    ) {
      problems.push(`table ${table.name} looks like a detached audit_logs partition`);
    }
  }

  const enabled = (trigger: TriggerRow) => trigger.enabled === 'O' || trigger.enabled === 'A';
  const refuses = (trigger: TriggerRow, type: number): string[] =>
    [
      trigger.function !== functionOids.get(REFUSE_CHANGE) && `runs another function than ${REFUSE_CHANGE}`,
      !trigger.unconditional && 'has a WHEN condition',
      trigger.type !== type && 'fires on other events',
    ].filter((difference): difference is string => typeof difference === 'string');
  const report = (where: string, trigger: TriggerRow, type: number) => {
    if (!enabled(trigger)) problems.push(`${where}: trigger ${trigger.name} is disabled`);
    const differences = refuses(trigger, type);
    if (differences.length > 0) problems.push(`${where}: trigger ${trigger.name} ${differences.join(', ')}`);
  };

  const parentTriggers = parent ? triggers.filter((t) => t.relation === parent.oid) : [];
  for (const required of requiredTriggers) {
    if (!parentTriggers.some((t) => t.name === required.name)) {
      problems.push(`audit_logs: trigger ${required.name} is missing`);
    }
  }
  for (const trigger of parentTriggers) {
    const required = requiredTriggers.find((r) => r.name === trigger.name);
    if (required) report('audit_logs', trigger, required.type);
    else if (!enabled(trigger)) problems.push(`audit_logs: trigger ${trigger.name} is disabled`);
  }
  // Row triggers on the parent are cloned onto every partition; TRUNCATE triggers are each partition's own.
  for (const partition of partitions) {
    const own = triggers.filter((t) => t.relation === partition.oid);
    for (const trigger of parentTriggers.filter((t) => (t.type & ROW_TRIGGER) === ROW_TRIGGER)) {
      const clone = own.find((t) => t.parent === trigger.oid);
      const required = requiredTriggers.find((r) => r.name === trigger.name);
      if (!clone) problems.push(`partition ${partition.name}: trigger ${trigger.name} is missing`);
      else if (required) report(`partition ${partition.name}`, clone, required.type);
      else if (!enabled(clone))
        problems.push(`partition ${partition.name}: trigger ${trigger.name} is disabled`);
    }
    const truncate = own.find((t) => t.name === `${partition.name}_refuse_truncate`);
    if (!truncate)
      problems.push(`partition ${partition.name}: trigger ${partition.name}_refuse_truncate is missing`);
    else report(`partition ${partition.name}`, truncate, TRUNCATE_TYPE);
  }
  return problems.sort();
}
