import { type SQL, sql } from 'drizzle-orm';

// The bytes an audit row's seal covers (after `prev_hash`), built here from the row's columns as the
// database prints them, so no function in the database (which its owner can replace or wrap) says
// what a row contains. Byte for byte what the migrations' `app_audit_message()` returns: the UTF-8
// text of `jsonb_build_array(organization_id, seq, id, created_at in epoch microseconds, actor_type,
// actor_id, actor_label, action, target_type, target_id, request_id, host(ip), user_agent, changes)`.

/**
 * A row's sealed columns as they cross the wire: uuids, numbers and addresses as PostgreSQL prints
 * them (plain ASCII), and text as the hex of its UTF-8 bytes, so neither the session's
 * client_encoding nor the driver's text decoding (which may drop a leading U+FEFF) can change it.
 * Null where the column is null.
 */
export interface AuditSealedColumns {
  organization_id: string;
  /** `bigint` digits. */
  seq: string;
  id: string;
  /** `extract(epoch from created_at)`: numeric text with six decimals. */
  created_epoch: string;
  /** Hex of UTF-8. */
  actor_type: string;
  actor_id: string | null;
  /** Hex of UTF-8. */
  actor_label: string | null;
  /** Hex of UTF-8. */
  action: string;
  /** Hex of UTF-8. */
  target_type: string | null;
  /** Hex of UTF-8. */
  target_id: string | null;
  /** Hex of UTF-8. */
  request_id: string | null;
  /** `ip::text`, which always carries the prefix length (`10.0.0.1/32`). */
  ip: string | null;
  /** Hex of UTF-8. */
  user_agent: string | null;
  /** Hex of the UTF-8 of `changes::text`: jsonb's canonical text (keys sorted, numbers as stored). */
  changes: string | null;
}

/** A text value as the hex of its UTF-8 bytes; every function and type is pg_catalog's by name. */
export const utf8Hex = (value: SQL): SQL =>
  sql`pg_catalog.encode(pg_catalog.convert_to((${value})::pg_catalog.text, 'UTF8'), 'hex')`;

/**
 * The select list that reads {@link AuditSealedColumns} from `public.audit_logs l`. Every type and
 * function is schema-qualified: nothing a scope or the owner creates can stand in for one.
 */
export const sealedColumnsOf = sql`l.organization_id::pg_catalog.text as organization_id,
  l.seq::pg_catalog.text as seq, l.id::pg_catalog.text as id,
  (extract(epoch from l.created_at))::pg_catalog.text as created_epoch,
  ${utf8Hex(sql`l.actor_type`)} as actor_type, l.actor_id::pg_catalog.text as actor_id,
  ${utf8Hex(sql`l.actor_label`)} as actor_label, ${utf8Hex(sql`l.action`)} as action,
  ${utf8Hex(sql`l.target_type`)} as target_type, ${utf8Hex(sql`l.target_id`)} as target_id,
  ${utf8Hex(sql`l.request_id`)} as request_id, l.ip::pg_catalog.text as ip,
  ${utf8Hex(sql`l.user_agent`)} as user_agent, ${utf8Hex(sql`l.changes`)} as changes`;

/** Text back from its UTF-8 hex (PostgreSQL text is valid UTF-8 without NUL, so this is exact). */
const decoded = (hex: string | null): string | null =>
  hex === null ? null : Buffer.from(hex, 'hex').toString('utf8');

/** A JSON string as PostgreSQL's `escape_json` writes it: JSON.stringify escapes the same characters the same way. */
const jsonText = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));

/**
 * Epoch seconds as whole microseconds: `extract(epoch ...)` of a timestamptz prints six decimals, so
 * this is exact. Anything else (an infinite time) yields a JSON string no seal was made over.
 */
function epochMicroseconds(epoch: string): string {
  const match = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(epoch);
  if (!match) return JSON.stringify(epoch);
  const [, sign = '', whole = '0', fraction = ''] = match;
  const micros = BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
  return (sign === '-' ? -micros : micros).toString();
}

/** `host(ip)`: the address without its prefix length. */
const hostOf = (ip: string | null): string | null => (ip === null ? null : (ip.split('/')[0] ?? ip));

/** The sealed message of one row, from its columns as {@link AuditSealedColumns} carries them. */
export function auditMessage(row: AuditSealedColumns): Buffer {
  const elements = [
    jsonText(row.organization_id),
    /^-?\d+$/.test(row.seq) ? row.seq : JSON.stringify(row.seq),
    jsonText(row.id),
    epochMicroseconds(row.created_epoch),
    jsonText(decoded(row.actor_type)),
    jsonText(row.actor_id),
    jsonText(decoded(row.actor_label)),
    jsonText(decoded(row.action)),
    jsonText(decoded(row.target_type)),
    jsonText(decoded(row.target_id)),
    jsonText(decoded(row.request_id)),
    jsonText(hostOf(row.ip)),
    jsonText(decoded(row.user_agent)),
    decoded(row.changes) ?? 'null',
  ];
  return Buffer.from(`[${elements.join(', ')}]`, 'utf8');
}
