// The warehouse for people: views in the account's own time zone for delivery, latency,
// cost reconciliation, reply rates and completeness, and functions for the price in force at
// an instant or on a day. smsc.accounts records each account's zone and login (written by
// every sync) so the views can count days where the account's people count them.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE smsc.accounts (
      account text PRIMARY KEY,
      login text,
      timezone text NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);

  // The account's zone, Moscow until a sync has recorded it.
  await sql`
    CREATE FUNCTION smsc.account_timezone(p_account text) RETURNS text
    LANGUAGE sql STABLE AS $$
      SELECT coalesce((SELECT timezone FROM smsc.accounts WHERE account = p_account), 'Europe/Moscow')
    $$`.execute(db);

  await sql`
    CREATE VIEW smsc.delivery_daily AS
    SELECT (m.sent_at AT TIME ZONE smsc.account_timezone(m.account))::date AS day,
           m.account, m.country, m.operator, m.sender_id, m.channel,
           count(*)::int AS sent,
           count(*) FILTER (WHERE m.status IN (1, 2, 4))::int AS delivered,
           count(*) FILTER (WHERE m.is_final AND m.status NOT IN (1, 2, 4))::int AS failed,
           count(*) FILTER (WHERE NOT m.is_final)::int AS pending,
           coalesce(sum(m.sms_cnt), 0)::int AS parts,
           sum(m.cost) AS cost
    FROM smsc.outbound_messages m
    GROUP BY 1, 2, 3, 4, 5, 6`.execute(db);

  await sql`
    CREATE VIEW smsc.delivery_latency_daily AS
    WITH final AS (
      SELECT c.account, c.int_id, min(c.changed_at) AS final_at
      FROM smsc.outbound_status_changes c JOIN smsc.status_codes s ON s.code = c.status AND s.is_final
      GROUP BY c.account, c.int_id
    )
    SELECT (m.sent_at AT TIME ZONE smsc.account_timezone(m.account))::date AS day, m.account, m.channel,
           count(*)::int AS messages,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)) AS p50_seconds,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)) AS p90_seconds,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)) AS p99_seconds,
           max(extract(epoch FROM f.final_at - m.sent_at)) AS max_seconds
    FROM smsc.outbound_messages m JOIN final f ON f.account = m.account AND f.int_id = m.int_id
    GROUP BY 1, 2, 3`.execute(db);

  // Tolerance: a difference above 0.1% of the credit and above 0.05 in currency is flagged:
  // rounding passes, a single lost message does not.
  await sql`
    CREATE VIEW smsc.cost_reconciliation_daily AS
    WITH stats AS (
      SELECT account, login, day, sum(messages)::int AS messages, sum(credit) AS credit, min(currency) AS currency
      FROM smsc.daily_stats GROUP BY account, login, day
    ),
    costs AS (
      SELECT account, (sent_at AT TIME ZONE smsc.account_timezone(account))::date AS day, count(*)::int AS messages, sum(cost) AS cost
      FROM smsc.outbound_messages GROUP BY 1, 2
    )
    SELECT s.day, s.account, s.login, s.currency,
           s.credit AS stats_credit,
           c.cost AS messages_cost,
           s.credit - c.cost AS difference,
           CASE WHEN s.credit <> 0 THEN round(100 * (s.credit - c.cost) / s.credit, 2) END AS difference_pct,
           coalesce(abs(s.credit - c.cost) > greatest(0.001 * abs(s.credit), 0.05), false) AS flagged,
           a.login IS NOT NULL AND s.login = a.login AS own_login
    FROM stats s
    LEFT JOIN smsc.accounts a ON a.account = s.account
    LEFT JOIN costs c ON c.account = s.account AND c.day = s.day AND s.login = a.login`.execute(db);

  await sql`
    CREATE VIEW smsc.reply_rate_daily AS
    -- Materialized: one lookup per reply, not one per message joined to it.
    WITH matched AS MATERIALIZED (
      SELECT i.account, i.id AS reply_id, o.int_id
      FROM smsc.inbound_messages i
      CROSS JOIN LATERAL (
        SELECT m.int_id FROM smsc.outbound_messages m
        WHERE m.account = i.account AND m.phone = i.phone AND m.sent_at <= i.received_at
        ORDER BY m.sent_at DESC, m.int_id DESC LIMIT 1
      ) o
    )
    SELECT (m.sent_at AT TIME ZONE smsc.account_timezone(m.account))::date AS day, m.account, m.sender_id,
           count(*)::int AS sent,
           count(DISTINCT r.int_id)::int AS replied,
           count(r.reply_id)::int AS replies,
           round(100.0 * count(DISTINCT r.int_id) / count(*), 2) AS reply_rate_pct
    FROM smsc.outbound_messages m LEFT JOIN matched r ON r.account = m.account AND r.int_id = m.int_id
    WHERE m.channel = 'sms'
    GROUP BY 1, 2, 3`.execute(db);

  // Days fully covered by the history, today excluded (partial): messages held vs reported.
  await sql`
    CREATE VIEW smsc.completeness_daily AS
    WITH held AS (
      SELECT account, (sent_at AT TIME ZONE smsc.account_timezone(account))::date AS day, count(*)::int AS messages
      FROM smsc.outbound_messages GROUP BY 1, 2
    ),
    first_day AS (
      SELECT account, min((sent_at AT TIME ZONE smsc.account_timezone(account))::date) AS day FROM smsc.outbound_messages GROUP BY account
    ),
    reported AS (
      SELECT s.account, s.day, sum(s.messages)::int AS messages
      FROM smsc.daily_stats s JOIN smsc.accounts a ON a.account = s.account AND a.login = s.login
      GROUP BY 1, 2
    )
    SELECT r.day, r.account, coalesce(h.messages, 0) AS messages_held, r.messages AS messages_reported,
           r.messages - coalesce(h.messages, 0) AS gap
    FROM reported r
    JOIN first_day f ON f.account = r.account AND r.day >= f.day
    LEFT JOIN held h ON h.account = r.account AND h.day = r.day
    WHERE r.day < (now() AT TIME ZONE smsc.account_timezone(r.account))::date`.execute(db);

  await sql`
    CREATE FUNCTION smsc.tariff_at(p_account text, p_at timestamptz)
    RETURNS TABLE (kind text, key text, name text, api numeric, mass numeric, mms numeric, hlr numeric, call numeric, valid_from timestamptz, valid_to timestamptz)
    LANGUAGE sql STABLE AS $$
      SELECT 'zone', z.zone, z.name, z.api, z.mass, z.mms, z.hlr, z.call, z.valid_from, z.valid_to
        FROM smsc.tariff_zones z
        WHERE z.account = p_account AND z.valid_from <= p_at AND (z.valid_to IS NULL OR z.valid_to > p_at)
      UNION ALL
      SELECT 'operator', o.mccmnc, NULL, o.cost, NULL, NULL, NULL, NULL, o.valid_from, o.valid_to
        FROM smsc.tariff_operator_prices o
        WHERE o.account = p_account AND o.valid_from <= p_at AND (o.valid_to IS NULL OR o.valid_to > p_at)
      UNION ALL
      SELECT 'email', NULL, NULL, e.price, NULL, NULL, NULL, NULL, e.valid_from, e.valid_to
        FROM smsc.tariff_email_prices e
        WHERE e.account = p_account AND e.valid_from <= p_at AND (e.valid_to IS NULL OR e.valid_to > p_at)
    $$`.execute(db);
  await sql`
    CREATE FUNCTION smsc.tariff_on_day(p_account text, p_day date)
    RETURNS TABLE (kind text, key text, name text, api numeric, mass numeric, mms numeric, hlr numeric, call numeric, valid_from timestamptz, valid_to timestamptz)
    LANGUAGE sql STABLE AS $$
      SELECT * FROM smsc.tariff_at(p_account, (p_day + 1)::timestamp AT TIME ZONE smsc.account_timezone(p_account) - interval '1 microsecond')
    $$`.execute(db);

  const comments: [string, string][] = [
    ['TABLE smsc.accounts', 'Each synced account with its login and the time zone of its dates; the views count days in that zone.'],
    ['VIEW smsc.delivery_daily', "Per day (account's zone), account, country, operator, sender and channel: messages sent, delivered (delivered/read/link clicked), failed (other final statuses), pending, parts, cost."],
    ['COLUMN smsc.delivery_daily.day', "Day the messages were sent, in the account's time zone."],
    ['COLUMN smsc.delivery_daily.sent', 'Messages sent.'],
    ['COLUMN smsc.delivery_daily.delivered', 'Messages delivered, read or whose link was clicked.'],
    ['COLUMN smsc.delivery_daily.failed', 'Messages with another final status (undeliverable, wrong number, expired, ...).'],
    ['COLUMN smsc.delivery_daily.pending', 'Messages without a final status yet.'],
    ['COLUMN smsc.delivery_daily.parts', 'SMS parts (sms_cnt) billed.'],
    ['COLUMN smsc.delivery_daily.cost', 'Sum of the messages cost, account currency.'],
    ['VIEW smsc.delivery_latency_daily', 'Per day, account and channel: seconds from sending to the first final status seen (from outbound_status_changes), as percentiles.'],
    ['COLUMN smsc.delivery_latency_daily.messages', 'Messages with a final status.'],
    ['COLUMN smsc.delivery_latency_daily.p50_seconds', 'Median seconds from sending to final status.'],
    ['COLUMN smsc.delivery_latency_daily.p90_seconds', '90th percentile.'],
    ['COLUMN smsc.delivery_latency_daily.p99_seconds', '99th percentile.'],
    ['VIEW smsc.cost_reconciliation_daily', "Per day and login: SMSC's credit (daily_stats, all balances) against the sum of message costs in outbound_messages (own login only); flagged beyond 0.1% and 0.05. Exact only when the electronic balance is kept too (SMSC_STATS_ELECTRONIC) on accounts that use it: the history does not say which balance paid a message."],
    ['COLUMN smsc.cost_reconciliation_daily.stats_credit', 'Spending SMSC reports for the day (daily_stats.credit, main + electronic).'],
    ['COLUMN smsc.cost_reconciliation_daily.messages_cost', "Sum of the day's message costs held; null for sub-client logins (their messages are not in this account's history)."],
    ['COLUMN smsc.cost_reconciliation_daily.difference', 'stats_credit - messages_cost.'],
    ['COLUMN smsc.cost_reconciliation_daily.difference_pct', 'difference as a percentage of stats_credit.'],
    ['COLUMN smsc.cost_reconciliation_daily.flagged', 'True when the difference exceeds both 0.1% of the credit and 0.05.'],
    ['COLUMN smsc.cost_reconciliation_daily.own_login', "True for the account's own login (the one whose history is synced)."],
    ['VIEW smsc.reply_rate_daily', 'Per day, account and sender: SMS sent, how many got a reply (a reply counts for the last message sent to its number before it), replies, rate.'],
    ['COLUMN smsc.reply_rate_daily.replied', 'Messages that got at least one reply.'],
    ['COLUMN smsc.reply_rate_daily.replies', 'Replies matched to the messages.'],
    ['COLUMN smsc.reply_rate_daily.reply_rate_pct', 'replied / sent, in percent.'],
    ['VIEW smsc.completeness_daily', "Per day from the first day held to yesterday: messages held against messages SMSC's statistics report for the own login; gap <> 0 means a day is incomplete (or over-full)."],
    ['COLUMN smsc.completeness_daily.gap', 'messages_reported - messages_held.'],
    ['FUNCTION smsc.tariff_at(text, timestamptz)', 'Prices in force for an account at an instant: zones, operator prices and the e-mail price.'],
    ['FUNCTION smsc.tariff_on_day(text, date)', "Prices in force for an account at the end of a day (account's zone): the last price of that day."],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}
