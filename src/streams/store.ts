// Writing normalized rows: batched idempotent upserts (a re-run changes nothing, updated_at
// moves only on a real change), the status/cost history, rejected rows and cursors.
import { hash } from 'node:crypto';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { CopyIn } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import type { InboundRow } from './inbound/normalize.ts';
import type { OutboundRow } from './outbound/normalize.ts';

type Db = Kysely<Warehouse> | Transaction<Warehouse>;

export interface UpsertCounts {
  readonly inserted: number;
  readonly updated: number;
}

/** The last occurrence of each key wins: one statement cannot update a row twice. */
function lastByKey<T>(rows: readonly T[], key: (row: T) => string): T[] {
  return [...new Map(rows.map((r) => [key(r), r])).values()];
}

/** Columns of a normalized history row, in the order of the merge's input relation. */
export const OUTBOUND_COLUMNS = [
  'int_id', 'message_id', 'channel', 'phone', 'status', 'status_name', 'is_final', 'err', 'sent_at', 'status_changed_at',
  'mccmnc', 'mcc', 'mnc', 'country', 'operator', 'region', 'cost', 'sender_id', 'message', 'type', 'sms_cnt', 'format',
  'crc', 'raw', 'raw_sha1',
] as const satisfies readonly (keyof OutboundRow)[];

/** PostgreSQL types of OUTBOUND_COLUMNS. */
export const OUTBOUND_TYPES: Readonly<Record<(typeof OUTBOUND_COLUMNS)[number], string>> = {
  int_id: 'bigint', message_id: 'bigint', channel: 'text', phone: 'text', status: 'int', status_name: 'text',
  is_final: 'boolean', err: 'int', sent_at: 'timestamptz', status_changed_at: 'timestamptz', mccmnc: 'text', mcc: 'text',
  mnc: 'text', country: 'text', operator: 'text', region: 'text', cost: 'numeric', sender_id: 'text', message: 'text',
  type: 'int', sms_cnt: 'int', format: 'int', crc: 'bigint', raw: 'jsonb', raw_sha1: 'text',
};

/** The rows as a relation with OUTBOUND_COLUMNS: one array parameter per column. */
export function outboundUnnest(rows: readonly OutboundRow[]): RawBuilder<unknown> {
  const arrays = OUTBOUND_COLUMNS.map((c) => sql`${rows.map((r) => r[c])}::${sql.raw(OUTBOUND_TYPES[c])}[]`);
  return sql`SELECT * FROM unnest(${sql.join(arrays)}) AS i(${sql.raw(OUTBOUND_COLUMNS.join(', '))})`;
}

/**
 * Merges a relation of history rows (OUTBOUND_COLUMNS, one row per int_id) into
 * outbound_messages and appends to outbound_status_changes every new message, status change
 * and cost change, in one statement. Returns how many rows were inserted and updated.
 */
export function mergeOutbound(account: string, input: RawBuilder<unknown>, seenAt: Date): RawBuilder<UpsertCounts> {
  return sql<UpsertCounts>`
    WITH input AS (${input}),
    -- One primary-key probe per input row (OFFSET 0 keeps the subquery a parameterized
    -- index scan): a join could scan all of the account's rows on every page.
    old AS (
      SELECT o.int_id, o.status, o.cost FROM input i
      CROSS JOIN LATERAL (
        SELECT o.int_id, o.status, o.cost FROM smsc.outbound_messages o WHERE o.account = ${account} AND o.int_id = i.int_id OFFSET 0
      ) o
    ),
    up AS (
      -- sent_day, the day the views count the message in, in the account's zone as recorded
      -- in smsc.accounts (a trigger there counts it again when the zone changes).
      INSERT INTO smsc.outbound_messages AS t (account, ${sql.raw(OUTBOUND_COLUMNS.join(', '))}, sent_day, first_seen_at, updated_at)
      SELECT ${account}, i.*, (i.sent_at AT TIME ZONE smsc.account_timezone(${account}))::date, ${seenAt}::timestamptz, ${seenAt}::timestamptz
      FROM input i
      ON CONFLICT (account, int_id) DO UPDATE SET
        message_id = EXCLUDED.message_id, channel = EXCLUDED.channel, phone = EXCLUDED.phone, status = EXCLUDED.status,
        status_name = EXCLUDED.status_name, is_final = EXCLUDED.is_final, err = EXCLUDED.err, sent_at = EXCLUDED.sent_at,
        status_changed_at = EXCLUDED.status_changed_at, mccmnc = EXCLUDED.mccmnc, mcc = EXCLUDED.mcc, mnc = EXCLUDED.mnc,
        country = EXCLUDED.country, operator = EXCLUDED.operator, region = EXCLUDED.region, cost = EXCLUDED.cost,
        sender_id = EXCLUDED.sender_id, message = EXCLUDED.message, type = EXCLUDED.type, sms_cnt = EXCLUDED.sms_cnt,
        format = EXCLUDED.format, crc = EXCLUDED.crc, raw = EXCLUDED.raw, raw_sha1 = EXCLUDED.raw_sha1, sent_day = EXCLUDED.sent_day,
        updated_at = EXCLUDED.updated_at
      -- Only a real change rewrites the row: an identical replay leaves it (and updated_at) alone.
      WHERE (t.message_id, t.channel, t.phone, t.status, t.status_name, t.is_final, t.err, t.sent_at, t.status_changed_at,
             t.mccmnc, t.country, t.operator, t.region, t.cost, t.sender_id, t.message, t.type, t.sms_cnt, t.format, t.crc, t.raw)
        IS DISTINCT FROM
            (EXCLUDED.message_id, EXCLUDED.channel, EXCLUDED.phone, EXCLUDED.status, EXCLUDED.status_name, EXCLUDED.is_final,
             EXCLUDED.err, EXCLUDED.sent_at, EXCLUDED.status_changed_at, EXCLUDED.mccmnc, EXCLUDED.country, EXCLUDED.operator,
             EXCLUDED.region, EXCLUDED.cost, EXCLUDED.sender_id, EXCLUDED.message, EXCLUDED.type, EXCLUDED.sms_cnt,
             EXCLUDED.format, EXCLUDED.crc, EXCLUDED.raw)
      RETURNING t.int_id, t.status, t.status_changed_at, t.err, t.cost, (t.xmax = 0) AS inserted
    ),
    changes AS (
      INSERT INTO smsc.outbound_status_changes (account, int_id, status, changed_at, seen_at, err, cost, reason)
      SELECT ${account}, up.int_id, up.status,
             CASE WHEN old.int_id IS NOT NULL AND old.status = up.status THEN ${seenAt}::timestamptz
                  ELSE coalesce(up.status_changed_at, ${seenAt}::timestamptz) END,
             ${seenAt}::timestamptz, up.err, up.cost,
             CASE WHEN old.int_id IS NULL THEN 'first_seen' WHEN old.status IS DISTINCT FROM up.status THEN 'status' ELSE 'cost' END
      FROM up LEFT JOIN old ON old.int_id = up.int_id
      WHERE old.int_id IS NULL OR old.status IS DISTINCT FROM up.status OR old.cost IS DISTINCT FROM up.cost
      ON CONFLICT DO NOTHING
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM up
  `;
}

/** Pages from this size on go through COPY where the warehouse can (PostgreSQL). */
const COPY_FROM_ROWS = 100;

/**
 * Upserts history rows of one account (see mergeOutbound): through a COPY into a temporary
 * staging table when `copy` is given (PostgreSQL), else as array parameters (unnest).
 */
export async function upsertOutbound(db: Db, account: string, rows: readonly OutboundRow[], seenAt: Date, copy?: CopyIn): Promise<UpsertCounts> {
  const batch = lastByKey(rows, (r) => r.int_id);
  if (batch.length === 0) return { inserted: 0, updated: 0 };
  if (!copy || batch.length < COPY_FROM_ROWS) return (await mergeOutbound(account, outboundUnnest(batch), seenAt).execute(db)).rows[0]!;
  // Per connection, emptied by each commit.
  await sql`CREATE TEMP TABLE IF NOT EXISTS outbound_staging (${sql.raw(OUTBOUND_COLUMNS.map((c) => `${c} ${OUTBOUND_TYPES[c]}`).join(', '))}) ON COMMIT DELETE ROWS`.execute(db);
  await copy(`COPY outbound_staging (${OUTBOUND_COLUMNS.join(', ')}) FROM STDIN`, copyText(batch, OUTBOUND_COLUMNS));
  return (await mergeOutbound(account, sql`SELECT * FROM outbound_staging`, seenAt).execute(db)).rows[0]!;
}

/** Rows as COPY text: tab-separated, \N for null, backslash, tab and line breaks escaped. */
export function copyText<R>(rows: readonly R[], columns: readonly (keyof R)[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const fields: string[] = [];
    for (const c of columns) {
      const v = r[c] as unknown;
      if (v === null || v === undefined) fields.push('\\N');
      else if (v instanceof Date) fields.push(v.toISOString());
      else if (typeof v === 'boolean') fields.push(v ? 't' : 'f');
      else if (typeof v === 'number') fields.push(String(v));
      else fields.push(COPY_SPECIAL.test(String(v)) ? String(v).replace(COPY_ESCAPES, (ch) => COPY_ESCAPE[ch]!) : String(v));
    }
    lines.push(fields.join('\t'));
  }
  return `${lines.join('\n')}\n`;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES = /[\\\t\n\r]/g;
const COPY_ESCAPE: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Upserts replies of one account; a reply does not change, so a replay touches nothing. */
export async function upsertInbound(db: Db, account: string, rows: readonly InboundRow[], seenAt: Date): Promise<UpsertCounts> {
  const batch = lastByKey(rows, (r) => r.id);
  if (batch.length === 0) return { inserted: 0, updated: 0 };
  const col = <K extends keyof InboundRow>(k: K) => batch.map((r) => r[k]);
  const result = await sql<{ inserted: number; updated: number }>`
    WITH up AS (
      INSERT INTO smsc.inbound_messages AS t (account, id, phone, to_phone, message, received_at, sent_at, raw, first_seen_at)
      SELECT ${account}, i.*, ${seenAt}::timestamptz FROM unnest(
        ${col('id')}::bigint[], ${col('phone')}::text[], ${col('to_phone')}::text[], ${col('message')}::text[],
        ${col('received_at')}::timestamptz[], ${col('sent_at')}::timestamptz[], ${col('raw')}::jsonb[]
      ) AS i(id, phone, to_phone, message, received_at, sent_at, raw)
      ON CONFLICT (account, id) DO UPDATE SET
        phone = EXCLUDED.phone, to_phone = EXCLUDED.to_phone, message = EXCLUDED.message,
        received_at = EXCLUDED.received_at, sent_at = EXCLUDED.sent_at, raw = EXCLUDED.raw
      WHERE (t.phone, t.to_phone, t.message, t.received_at, t.sent_at, t.raw)
        IS DISTINCT FROM (EXCLUDED.phone, EXCLUDED.to_phone, EXCLUDED.message, EXCLUDED.received_at, EXCLUDED.sent_at, EXCLUDED.raw)
      RETURNING (t.xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM up
  `.execute(db);
  return result.rows[0]!;
}

export interface Rejection {
  /** The API row as JSON text. */
  readonly raw: string;
  readonly reason: string;
}

/** SHA-256 (hex) of a rejected row as stored: what tells one bad API row from another. */
export function rejectedDigest(storedRaw: string): string {
  return hash('sha256', storedRaw);
}

/**
 * Records rejected rows, one per (account, stream, digest of the row as it came). A row seen
 * again (every re-read of its page brings it back) moves `last_seen_at`, adds to `times_seen`
 * and takes the latest reason; `run_id` and `first_seen_at` stay those of the run that first
 * saw it. Returns how many rows were rejected for the first time: what the run reports.
 */
export async function insertRejected(db: Db, account: string, stream: string, runId: string, rows: readonly Rejection[], at: Date): Promise<number> {
  if (rows.length === 0) return 0;
  // One statement cannot update a row twice: a row repeated within the batch counts once per copy.
  const byDigest = new Map<string, { raw: string; reason: string; seen: number }>();
  for (const r of rows) {
    const raw = r.raw.replaceAll('\u0000', '\\u0000');
    const digest = rejectedDigest(raw);
    const held = byDigest.get(digest);
    if (held) held.seen += 1;
    else byDigest.set(digest, { raw, reason: r.reason, seen: 1 });
  }
  const digests = [...byDigest.keys()];
  const batch = [...byDigest.values()];
  const result = await sql<{ inserted: boolean }>`
    INSERT INTO smsc.rejected_rows AS t (account, stream, run_id, digest, raw, reason, rejected_at, first_seen_at, last_seen_at, times_seen)
    SELECT ${account}, ${stream}, ${runId}::uuid, i.digest, i.raw, i.reason, ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz, i.seen
    FROM unnest(${digests}::text[], ${batch.map((b) => b.raw)}::text[], ${batch.map((b) => b.reason)}::text[], ${batch.map((b) => b.seen)}::int[]) AS i(digest, raw, reason, seen)
    ON CONFLICT (account, stream, digest) DO UPDATE SET
      last_seen_at = greatest(t.last_seen_at, EXCLUDED.last_seen_at), times_seen = t.times_seen + EXCLUDED.times_seen, reason = EXCLUDED.reason
    RETURNING (t.xmax = 0) AS inserted`.execute(db);
  return result.rows.filter((r) => r.inserted).length;
}

export async function loadCursor<T>(db: Db, account: string, stream: string): Promise<T | undefined> {
  const row = await db.selectFrom('smsc_internal.sync_state').select('cursor').where('account', '=', account).where('stream', '=', stream).executeTakeFirst();
  return row ? (row.cursor as T) : undefined;
}

export async function saveCursor(db: Db, account: string, stream: string, cursor: unknown, at: Date): Promise<void> {
  await db
    .insertInto('smsc_internal.sync_state')
    .values({ account, stream, cursor: JSON.stringify(cursor), updated_at: at })
    .onConflict((oc) => oc.columns(['account', 'stream']).doUpdateSet({ cursor: JSON.stringify(cursor), updated_at: at }))
    .execute();
}
