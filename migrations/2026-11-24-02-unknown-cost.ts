// A history row without `cost` was stored as 0, a free message, and the daily reconciliation
// then reported SMSC's credit for it as a loss that was not real. The cost is now NULL
// (unknown) until SMSC gives one: the status refresh re-reads such messages within the status
// window (a partial index finds them), and a later read fills the cost in.
// The views say how many costs are unknown: delivery_daily.cost_unknown, and
// cost_reconciliation_daily.messages_cost_unknown; a day with unknown costs is not flagged,
// its difference being over the known costs only. (Columns are added at the end: CREATE OR
// REPLACE VIEW keeps the existing ones, their order and the grants.)
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE smsc.outbound_messages ALTER COLUMN cost DROP NOT NULL`.execute(db);
  await sql`ALTER TABLE smsc.outbound_status_changes ALTER COLUMN cost DROP NOT NULL`.execute(db);
  // The status refresh re-reads messages whose cost is unknown, within the status window.
  await sql`CREATE INDEX outbound_messages_cost_unknown ON smsc.outbound_messages (account, channel, sent_at) WHERE cost IS NULL`.execute(db);

  await sql`
    CREATE OR REPLACE VIEW smsc.delivery_daily AS
    SELECT (m.sent_at AT TIME ZONE smsc.account_timezone(m.account))::date AS day,
           m.account, m.country, m.operator, m.sender_id, m.channel,
           count(*)::int AS sent,
           count(*) FILTER (WHERE m.status IN (1, 2, 4))::int AS delivered,
           count(*) FILTER (WHERE m.is_final AND m.status NOT IN (1, 2, 4))::int AS failed,
           count(*) FILTER (WHERE NOT m.is_final)::int AS pending,
           coalesce(sum(m.sms_cnt), 0)::int AS parts,
           sum(m.cost) AS cost,
           count(*) FILTER (WHERE m.cost IS NULL)::int AS cost_unknown
    FROM smsc.outbound_messages m
    GROUP BY 1, 2, 3, 4, 5, 6`.execute(db);

  await sql`
    CREATE OR REPLACE VIEW smsc.cost_reconciliation_daily AS
    WITH stats AS (
      SELECT account, login, day, sum(messages)::int AS messages, sum(credit) AS credit, min(currency) AS currency
      FROM smsc.daily_stats GROUP BY account, login, day
    ),
    costs AS (
      SELECT account, (sent_at AT TIME ZONE smsc.account_timezone(account))::date AS day, count(*)::int AS messages, sum(cost) AS cost,
             count(*) FILTER (WHERE cost IS NULL)::int AS unknown
      FROM smsc.outbound_messages GROUP BY 1, 2
    )
    SELECT s.day, s.account, s.login, s.currency,
           s.credit AS stats_credit,
           c.cost AS messages_cost,
           s.credit - c.cost AS difference,
           CASE WHEN s.credit <> 0 THEN round(100 * (s.credit - c.cost) / s.credit, 2) END AS difference_pct,
           coalesce(coalesce(c.unknown, 0) = 0 AND abs(s.credit - c.cost) > greatest(0.001 * abs(s.credit), 0.05), false) AS flagged,
           a.login IS NOT NULL AND s.login = a.login AS own_login,
           c.unknown AS messages_cost_unknown
    FROM stats s
    LEFT JOIN smsc.accounts a ON a.account = s.account
    LEFT JOIN costs c ON c.account = s.account AND c.day = s.day AND s.login = a.login`.execute(db);

  const comments: [string, string][] = [
    ['COLUMN smsc.outbound_messages.cost', 'Cost of the message in the account currency, exact; null while SMSC gives none (unknown, not free); may be filled in or corrected after sending.'],
    ['COLUMN smsc.delivery_daily.cost', 'Sum of the known message costs, account currency (see cost_unknown).'],
    ['COLUMN smsc.delivery_daily.cost_unknown', 'Messages whose cost SMSC has not given (not counted in cost).'],
    ['COLUMN smsc.cost_reconciliation_daily.messages_cost', "Sum of the day's known message costs; null for sub-client logins (their messages are not in this account's history)."],
    ['COLUMN smsc.cost_reconciliation_daily.difference', 'stats_credit - messages_cost (over the known costs only when messages_cost_unknown > 0).'],
    ['COLUMN smsc.cost_reconciliation_daily.flagged', 'True when the difference exceeds both 0.1% of the credit and 0.05 and every cost of the day is known.'],
    ['COLUMN smsc.cost_reconciliation_daily.messages_cost_unknown', "Messages of the day whose cost SMSC has not given; while above 0 the day is not flagged."],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}
