// The figures of `smsc-sync report`: one account's month read from the warehouse's views with
// SQL. Money stays exact: numeric sums come back as their decimal text and are never added up
// in JavaScript; only the charts turn them into numbers, to draw them.
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Warehouse } from '../warehouse/schema.ts';

/** A calendar month, `YYYY-MM`. */
export type Month = `${number}-${number}`;

/** One day of the month: every day is there, a day without messages with zeros. */
export interface DailyRow {
  readonly day: string;
  readonly messages: number;
  readonly parts: number;
  /** Sum of the known costs, exact decimal text. */
  readonly cost: string;
  /** Messages whose cost SMSC has not given (not in `cost`). */
  readonly cost_unknown: number;
}

/** Sent → delivered / failed / pending for one operator or sender over the month. */
export interface FunnelRow {
  readonly key: string;
  readonly sent: number;
  readonly delivered: number;
  readonly failed: number;
  readonly pending: number;
  /** delivered / (sent - pending) in percent, one decimal; null while nothing is final. */
  readonly delivered_pct: string | null;
  readonly cost: string;
}

/** Seconds from sending to the first final status, per day and channel (one decimal). */
export interface LatencyRow {
  readonly day: string;
  readonly channel: string;
  readonly messages: number;
  readonly p50_seconds: string;
  readonly p90_seconds: string;
  readonly p99_seconds: string;
  readonly max_seconds: string;
}

/** A row of `cost_reconciliation_daily`. */
export interface ReconciliationRow {
  readonly day: string;
  readonly login: string;
  readonly currency: string;
  readonly stats_credit: string;
  readonly messages_cost: string | null;
  readonly difference: string | null;
  readonly difference_pct: string | null;
  readonly messages_cost_unknown: number | null;
  readonly flagged: boolean;
  readonly own_login: boolean;
}

/** The month's reconciliation per login and currency. */
export interface ReconciliationTotal {
  readonly login: string;
  readonly currency: string;
  readonly days: number;
  readonly stats_credit: string;
  readonly messages_cost: string | null;
  readonly difference: string | null;
  readonly flagged_days: number;
  readonly own_login: boolean;
}

/** A row of `completeness_daily`. */
export interface CompletenessRow {
  readonly day: string;
  readonly messages_held: number;
  readonly messages_reported: number;
  readonly gap: number;
}

/** The texts sent most often in the month (campaigns, templates). */
export interface TopTextRow {
  readonly message: string;
  readonly sent: number;
  readonly delivered: number;
  readonly failed: number;
  readonly pending: number;
  readonly cost: string;
}

export interface ReportData {
  readonly account: string;
  readonly month: Month;
  /** The zone the account's days are counted in (`smsc.accounts`). */
  readonly timezone: string;
  /** The account's currency as SMSC's statistics give it; null before any are held. */
  readonly currency: string | null;
  readonly totals: { readonly messages: number; readonly parts: number; readonly cost: string; readonly cost_unknown: number };
  readonly daily: readonly DailyRow[];
  readonly byOperator: readonly FunnelRow[];
  readonly bySender: readonly FunnelRow[];
  readonly latency: readonly LatencyRow[];
  readonly reconciliation: readonly ReconciliationRow[];
  readonly reconciliationTotals: readonly ReconciliationTotal[];
  readonly completeness: readonly CompletenessRow[];
  readonly topTexts: readonly TopTextRow[];
}

/** How many message texts `topTexts` keeps. (Default: 10) */
export const TOP_TEXTS = 10;

/** The first day of the month and of the next one, `YYYY-MM-DD`. */
export function monthBounds(month: Month): { first: string; next: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const next = m === 12 ? `${String(y + 1).padStart(4, '0')}-01` : `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}`;
  return { first: `${month}-01`, next: `${next}-01` };
}

/** Reads one account's month. */
export async function readReport(db: Kysely<Warehouse>, account: string, month: Month): Promise<ReportData> {
  const { first, next } = monthBounds(month);
  const inMonth = sql`v.account = ${account} AND v.day >= ${first}::date AND v.day < ${next}::date`;

  const [meta] = (
    await sql<{ timezone: string; currency: string | null }>`
      SELECT smsc.account_timezone(${account}) AS timezone,
             (SELECT min(currency) FROM smsc.daily_stats WHERE account = ${account}) AS currency`.execute(db)
  ).rows;

  // The month's rows of delivery_daily are read once (the view scans every message held) and
  // summed four ways in the same statement; each way comes back as JSON whose money is text.
  // E-mail has no operator; a number SMSC could not place has none either.
  const funnel = (key: RawBuilder<unknown>) => sql`
      SELECT coalesce(json_agg(f ORDER BY f.sent DESC, f.key), '[]') FROM (
        SELECT ${key} AS key, sum(v.sent)::int AS sent, sum(v.delivered)::int AS delivered, sum(v.failed)::int AS failed,
               sum(v.pending)::int AS pending,
               round(100.0 * sum(v.delivered) / nullif(sum(v.sent) - sum(v.pending), 0), 1)::text AS delivered_pct,
               coalesce(sum(v.cost), 0)::text AS cost
        FROM month v GROUP BY 1) f`;
  const [delivery] = (
    await sql<{ daily: DailyRow[]; totals: ReportData['totals']; by_operator: FunnelRow[]; by_sender: FunnelRow[] }>`
      WITH month AS MATERIALIZED (SELECT * FROM smsc.delivery_daily v WHERE ${inMonth}),
      days AS (SELECT d::date AS day FROM generate_series(${first}::date, ${next}::date - 1, interval '1 day') d)
      SELECT
        (SELECT json_agg(d ORDER BY d.day) FROM (
          SELECT to_char(days.day, 'YYYY-MM-DD') AS day,
                 coalesce(sum(v.sent), 0)::int AS messages,
                 coalesce(sum(v.parts), 0)::int AS parts,
                 coalesce(sum(v.cost), 0)::text AS cost,
                 coalesce(sum(v.cost_unknown), 0)::int AS cost_unknown
          FROM days LEFT JOIN month v ON v.day = days.day
          GROUP BY days.day) d) AS daily,
        (SELECT row_to_json(t) FROM (
          SELECT coalesce(sum(v.sent), 0)::int AS messages, coalesce(sum(v.parts), 0)::int AS parts,
                 coalesce(sum(v.cost), 0)::text AS cost, coalesce(sum(v.cost_unknown), 0)::int AS cost_unknown
          FROM month v) t) AS totals,
        (${funnel(sql`coalesce(v.operator, CASE WHEN v.channel = 'email' THEN '(e-mail)' ELSE '(unknown)' END)`)}) AS by_operator,
        (${funnel(sql`coalesce(v.sender_id, '(none)')`)}) AS by_sender`.execute(db)
  ).rows;
  const { daily, totals, by_operator: byOperator, by_sender: bySender } = delivery!;

  // delivery_latency_daily's figures for the month's messages alone: the view finds the first
  // final status of every message held before it can filter by day (7 s of a 1M-message
  // warehouse); here the month's messages are found by their send time first (an index).
  const latency = (
    await sql<LatencyRow>`
      WITH tz AS (SELECT smsc.account_timezone(${account}) AS zone),
      sent AS (
        SELECT m.int_id, m.channel, m.sent_at, (m.sent_at AT TIME ZONE tz.zone)::date AS day
        FROM smsc.outbound_messages m, tz
        WHERE m.account = ${account} AND m.sent_at >= ${first}::timestamp AT TIME ZONE tz.zone AND m.sent_at < ${next}::timestamp AT TIME ZONE tz.zone
      ),
      final AS (
        SELECT s.int_id, s.channel, s.day, extract(epoch FROM min(c.changed_at) - s.sent_at) AS seconds
        FROM sent s
        JOIN smsc.outbound_status_changes c ON c.account = ${account} AND c.int_id = s.int_id
        JOIN smsc.status_codes k ON k.code = c.status AND k.is_final
        GROUP BY s.int_id, s.channel, s.day, s.sent_at
      )
      SELECT to_char(f.day, 'YYYY-MM-DD') AS day, f.channel, count(*)::int AS messages,
             round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f.seconds)::numeric, 1)::text AS p50_seconds,
             round(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.seconds)::numeric, 1)::text AS p90_seconds,
             round(percentile_cont(0.99) WITHIN GROUP (ORDER BY f.seconds)::numeric, 1)::text AS p99_seconds,
             round(max(f.seconds)::numeric, 1)::text AS max_seconds
      FROM final f
      GROUP BY f.day, f.channel ORDER BY f.day, f.channel`.execute(db)
  ).rows;

  // Read once, like delivery_daily: the view sums the cost of every message held.
  const [reconciled] = (
    await sql<{ days: ReconciliationRow[]; totals: ReconciliationTotal[] }>`
      WITH month AS MATERIALIZED (SELECT * FROM smsc.cost_reconciliation_daily v WHERE ${inMonth})
      SELECT
        (SELECT coalesce(json_agg(d ORDER BY d.day, d.own_login DESC, d.login), '[]') FROM (
          SELECT to_char(v.day, 'YYYY-MM-DD') AS day, v.login, v.currency, v.stats_credit::text AS stats_credit,
                 v.messages_cost::text AS messages_cost, v.difference::text AS difference, v.difference_pct::text AS difference_pct,
                 v.messages_cost_unknown, v.flagged, v.own_login
          FROM month v) d) AS days,
        (SELECT coalesce(json_agg(t ORDER BY t.own_login DESC, t.login, t.currency), '[]') FROM (
          SELECT v.login, v.currency, count(*)::int AS days, sum(v.stats_credit)::text AS stats_credit,
                 sum(v.messages_cost)::text AS messages_cost, sum(v.difference)::text AS difference,
                 count(*) FILTER (WHERE v.flagged)::int AS flagged_days, bool_or(v.own_login) AS own_login
          FROM month v GROUP BY v.login, v.currency) t) AS totals`.execute(db)
  ).rows;
  const { days: reconciliation, totals: reconciliationTotals } = reconciled!;

  const completeness = (
    await sql<CompletenessRow>`
      SELECT to_char(v.day, 'YYYY-MM-DD') AS day, v.messages_held, v.messages_reported, v.gap
      FROM smsc.completeness_daily v WHERE ${inMonth}
      ORDER BY v.day`.execute(db)
  ).rows;

  const topTexts = (
    await sql<TopTextRow>`
      SELECT m.message, count(*)::int AS sent,
             count(*) FILTER (WHERE m.status IN (1, 2, 4))::int AS delivered,
             count(*) FILTER (WHERE m.is_final AND m.status NOT IN (1, 2, 4))::int AS failed,
             count(*) FILTER (WHERE NOT m.is_final)::int AS pending,
             coalesce(sum(m.cost), 0)::text AS cost
      FROM smsc.outbound_messages m
      WHERE m.account = ${account}
        AND m.sent_at >= ${first}::timestamp AT TIME ZONE smsc.account_timezone(${account})
        AND m.sent_at < ${next}::timestamp AT TIME ZONE smsc.account_timezone(${account})
      GROUP BY m.message ORDER BY sent DESC, m.message LIMIT ${TOP_TEXTS}`.execute(db)
  ).rows;

  return {
    account,
    month,
    timezone: meta!.timezone,
    currency: meta!.currency,
    totals,
    daily,
    byOperator,
    bySender,
    latency,
    reconciliation,
    reconciliationTotals,
    completeness,
    topTexts,
  };
}

/** The accounts the warehouse holds (written by every sync), by name. */
export async function warehouseAccounts(db: Kysely<Warehouse>): Promise<{ account: string; timezone: string }[]> {
  return (await sql<{ account: string; timezone: string }>`SELECT account, timezone FROM smsc.accounts ORDER BY account`.execute(db)).rows;
}

/** The zone an account's days are counted in (Moscow until a sync has recorded it), as the views use it. */
export async function accountTimezone(db: Kysely<Warehouse>, account: string): Promise<string> {
  return (await sql<{ timezone: string }>`SELECT smsc.account_timezone(${account}) AS timezone`.execute(db)).rows[0]!.timezone;
}
