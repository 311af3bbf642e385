// Views that stay fast at millions of rows. Every view counted a message's day per row as
// (sent_at AT TIME ZONE smsc.account_timezone(account))::date, so a dashboard's
// `WHERE day >= current_date - 30` could use no index: every query read all of
// outbound_messages, looked up the account's zone once per row, and sorted. Now:
//
// - outbound_messages.sent_day holds that day, written by the sync in the same statement that
//   stores the row (src/streams/store.ts), and rewritten for an account whose zone changes (a
//   trigger on smsc.accounts), so it always equals the expression above;
// - indexes outbound_messages_day (sent_day, account) and outbound_messages_day_covering (the
//   same, covering what the per-message views read) serve a day range, with or without an
//   account; outbound_messages_phone gains int_id, so the next message to a number is one probe;
// - the views group by sent_day, and where they combined all of a table before joining
//   (reply pairing, first final status, the costs of each day or month) they now look up the
//   rows of each day, message or month they show (LATERAL), so a filter on day or month reaches
//   the index: a 30-day tile reads 30 days. Their columns and meaning are unchanged, except that
//   reply_rate_daily.sent no longer counts a message once per reply (it joined replies before
//   counting), and cost_reconciliation_monthly flags a month only once the statistics of every
//   day it must compare are read (a first sync reads the history at once and the statistics at
//   3 requests a minute: the month was flagged by the days not read yet).
//
// bench/views.ts measures each view on two million messages against the same query on a plain
// indexed range; test/warehouse/view-plans.test.ts checks that no view filtered to 30 days
// scans all of outbound_messages.
import { type Kysely, sql } from 'kysely';

/** The view definitions, with the day of a message row `m` written as `day('m')`. */
function views(day: (alias: string) => string): string[] {
  return [
    `CREATE OR REPLACE VIEW smsc.delivery_daily AS
     SELECT ${day('m')} AS day,
            m.account, m.country, m.operator, m.sender_id, m.channel,
            count(*)::int AS sent,
            count(*) FILTER (WHERE m.status IN (1, 2, 4))::int AS delivered,
            count(*) FILTER (WHERE m.is_final AND m.status NOT IN (1, 2, 4))::int AS failed,
            count(*) FILTER (WHERE NOT m.is_final)::int AS pending,
            coalesce(sum(m.sms_cnt), 0)::int AS parts,
            sum(m.cost) AS cost,
            count(*) FILTER (WHERE m.cost IS NULL)::int AS cost_unknown,
            smsc.account_currency(m.account) AS currency
     FROM smsc.outbound_messages m
     GROUP BY 1, 2, 3, 4, 5, 6`,

    // The first final status of each message shown (the primary key of the history serves it).
    `CREATE OR REPLACE VIEW smsc.delivery_latency_daily AS
     SELECT ${day('m')} AS day, m.account, m.channel,
            count(*)::int AS messages,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)::float8) AS p50_seconds,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)::float8) AS p90_seconds,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)::float8) AS p99_seconds,
            max(extract(epoch FROM f.final_at - m.sent_at)) AS max_seconds
     FROM smsc.outbound_messages m
     CROSS JOIN LATERAL (
       SELECT min(c.changed_at) AS final_at
       FROM smsc.outbound_status_changes c
       JOIN smsc.status_codes s ON s.code = c.status AND s.is_final
       WHERE c.account = m.account AND c.int_id = m.int_id
     ) f
     WHERE f.final_at IS NOT NULL
     GROUP BY 1, 2, 3`,

    // A reply belongs to the latest message (any channel) sent to its number no later than it
    // arrived, the later int_id first at equal times. Seen from the message: the replies from
    // its number that arrived from its sending until the next message to that number.
    `CREATE OR REPLACE VIEW smsc.reply_rate_daily AS
     SELECT ${day('m')} AS day, m.account, m.sender_id,
            count(*)::int AS sent,
            count(*) FILTER (WHERE r.replies > 0)::int AS replied,
            coalesce(sum(r.replies), 0)::int AS replies,
            round(100.0 * count(*) FILTER (WHERE r.replies > 0) / count(*), 2) AS reply_rate_pct
     FROM smsc.outbound_messages m
     LEFT JOIN LATERAL (
       SELECT n.sent_at FROM smsc.outbound_messages n
       WHERE n.phone = m.phone AND (n.sent_at, n.int_id) > (m.sent_at, m.int_id) AND n.account = m.account
       ORDER BY n.sent_at, n.int_id
       LIMIT 1
     ) nx ON true
     CROSS JOIN LATERAL (
       SELECT count(*) AS replies FROM smsc.inbound_messages i
       WHERE i.phone = m.phone AND i.received_at >= m.sent_at AND i.account = m.account
         AND (nx.sent_at IS NULL OR i.received_at < nx.sent_at)
     ) r
     WHERE m.channel = 'sms'
     GROUP BY 1, 2, 3`,

    `CREATE OR REPLACE VIEW smsc.completeness_daily AS
     WITH reported AS (
       SELECT s.account, s.day, sum(s.messages)::int AS messages
       FROM smsc.daily_stats s JOIN smsc.accounts a ON a.account = s.account AND a.login = s.login
       GROUP BY s.account, s.day
     )
     SELECT r.day, r.account, h.messages AS messages_held, r.messages AS messages_reported, r.messages - h.messages AS gap
     FROM reported r
     CROSS JOIN LATERAL (SELECT count(*)::int AS messages FROM smsc.outbound_messages m WHERE m.account = r.account AND ${day('m')} = r.day) h
     WHERE r.day < (now() AT TIME ZONE smsc.account_timezone(r.account))::date
       -- from the first day a message is held (the earliest message, by the (account, sent_at) index)
       AND r.day >= (SELECT ${day('f')} FROM smsc.outbound_messages f WHERE f.account = r.account ORDER BY f.sent_at LIMIT 1)`,

    `CREATE OR REPLACE VIEW smsc.cost_reconciliation_daily AS
     WITH stats AS (
       SELECT account, login, day, sum(messages)::int AS messages, sum(credit) AS credit, min(currency) AS currency,
              sum(credit) FILTER (WHERE balance = 'main') AS credit_main,
              sum(credit) FILTER (WHERE balance = 'electronic') AS credit_electronic,
              bool_or(balance = 'electronic') AS electronic_read
       FROM smsc.daily_stats GROUP BY account, login, day
     ),
     judged AS (
       SELECT s.*, a.login AS account_login, c.cost, c.unknown,
              coalesce(coalesce(c.unknown, 0) = 0 AND abs(s.credit - c.cost) > greatest(0.001 * abs(s.credit), 0.05), false) AS is_flagged
       FROM stats s
       LEFT JOIN smsc.accounts a ON a.account = s.account
       LEFT JOIN LATERAL (
         SELECT sum(m.cost) AS cost, count(*) FILTER (WHERE m.cost IS NULL)::int AS unknown
         FROM smsc.outbound_messages m
         WHERE s.login = a.login AND m.account = s.account AND ${day('m')} = s.day
         GROUP BY m.account
       ) c ON true
       WHERE s.day < (now() AT TIME ZONE smsc.account_timezone(s.account))::date
     )
     SELECT j.day, j.account, j.login, j.currency,
            j.credit AS stats_credit,
            j.cost AS messages_cost,
            j.credit - j.cost AS difference,
            CASE WHEN j.credit <> 0 THEN round(100 * (j.credit - j.cost) / j.credit, 2) END AS difference_pct,
            j.is_flagged AS flagged,
            j.account_login IS NOT NULL AND j.login = j.account_login AS own_login,
            j.unknown AS messages_cost_unknown,
            j.credit_main,
            j.credit_electronic,
            CASE WHEN j.electronic_read THEN 'main+electronic' ELSE 'main' END AS balances_compared,
            CASE
              WHEN NOT j.is_flagged THEN NULL
              WHEN j.credit < j.cost AND NOT j.electronic_read THEN
                'the messages held cost ' || (j.cost - j.credit) || ' more than SMSC''s credit of the main balance, and the electronic balance was not read (SMSC_STATS_ELECTRONIC=false): messages it paid are in the history but not in this credit'
              WHEN j.credit > j.cost THEN
                'SMSC''s credit (' || CASE WHEN j.electronic_read THEN 'main+electronic' ELSE 'main' END || ') exceeds the costs held for login ' || j.login || ' by ' || (j.credit - j.cost) ||
                ': messages missing from the warehouse (see completeness_daily) or costs SMSC raised since the last outbound sync'
              ELSE
                'the costs held for login ' || j.login || ' exceed SMSC''s credit (' || CASE WHEN j.electronic_read THEN 'main+electronic' ELSE 'main' END || ') by ' || (j.cost - j.credit) ||
                ': costs SMSC lowered (refunds) not yet re-read by the outbound status refresh, or statistics not re-read since the day ended'
            END AS flag_reason
     FROM judged j`,

    `CREATE OR REPLACE VIEW smsc.cost_reconciliation_monthly AS
     WITH days AS (
       SELECT s.account, s.login, s.currency, s.day, date_trunc('month', s.day)::date AS month,
              sum(s.credit) FILTER (WHERE s.balance = 'main') AS credit_main,
              sum(s.credit) FILTER (WHERE s.balance = 'electronic') AS credit_electronic,
              sum(s.debit) FILTER (WHERE s.balance = 'main') AS debit_main,
              sum(s.debit) FILTER (WHERE s.balance = 'electronic') AS debit_electronic,
              EXISTS (SELECT 1 FROM smsc.daily_stats n WHERE n.account = s.account AND n.login = s.login AND n.day = s.day + 1)
                AND s.day + 1 < (now() AT TIME ZONE smsc.account_timezone(s.account))::date AS settled
       FROM smsc.daily_stats s
       WHERE s.day < (now() AT TIME ZONE smsc.account_timezone(s.account))::date
       GROUP BY s.account, s.login, s.currency, s.day
     ),
     months AS (
       SELECT account, login, currency, month,
              sum(credit_main) AS spending, sum(credit_electronic) AS spending_electronic,
              sum(debit_main) AS payments, sum(debit_electronic) AS payments_electronic,
              count(*)::int AS days_read, count(*) FILTER (WHERE settled)::int AS days_settled
       FROM days GROUP BY account, login, currency, month
     ),
     joined AS (
       SELECT m.*, a.login IS NOT NULL AND m.login = a.login AS own_login,
              c.cost, c.unknown, coalesce(f.n, 0) AS flagged_days,
              m.spending + coalesce(m.spending_electronic, 0) AS stats_credit,
              (m.month::timestamp AT TIME ZONE smsc.account_timezone(m.account)) AS starts_at,
              ((m.month + interval '1 month')::timestamp AT TIME ZONE smsc.account_timezone(m.account)) AS ends_at,
              ((m.month + interval '1 month')::date - m.month) AS days_in_month,
              -- The days whose statistics must be read before the month can be judged: from its
              -- first day (or the first message held) to its last or yesterday.
              least((m.month + interval '1 month')::date, (now() AT TIME ZONE smsc.account_timezone(m.account))::date)
                - greatest(m.month, (SELECT ${day('h')} FROM smsc.outbound_messages h WHERE h.account = m.account ORDER BY h.sent_at LIMIT 1)) AS days_due
       FROM months m
       LEFT JOIN smsc.accounts a ON a.account = m.account
       LEFT JOIN LATERAL (
         SELECT sum(o.cost) AS cost, count(*) FILTER (WHERE o.cost IS NULL)::int AS unknown
         FROM smsc.outbound_messages o
         WHERE m.login = a.login AND o.account = m.account
           AND ${day('o')} >= m.month AND ${day('o')} < (m.month + interval '1 month')::date
           AND ${day('o')} < (now() AT TIME ZONE smsc.account_timezone(m.account))::date
         GROUP BY o.account
       ) c ON true
       LEFT JOIN LATERAL (
         SELECT count(*)::int AS n FROM smsc.cost_reconciliation_daily d
         WHERE d.account = m.account AND d.login = m.login AND d.flagged
           AND d.day >= m.month AND d.day < (m.month + interval '1 month')::date
       ) f ON true
     ),
     sampled AS (
       SELECT j.*, o.balance AS opening_balance, o.sampled_at AS opening_sampled_at,
              cl.balance AS closing_balance, cl.sampled_at AS closing_sampled_at
       FROM joined j
       LEFT JOIN LATERAL (
         SELECT b.balance, b.sampled_at FROM smsc.balance_history b
         WHERE j.own_login AND b.account = j.account AND coalesce(b.currency, j.currency) = j.currency AND b.sampled_at < j.starts_at
         ORDER BY b.sampled_at DESC LIMIT 1
       ) o ON true
       LEFT JOIN LATERAL (
         SELECT b.balance, b.sampled_at FROM smsc.balance_history b
         WHERE j.own_login AND b.account = j.account AND coalesce(b.currency, j.currency) = j.currency
           AND b.sampled_at >= j.starts_at AND b.sampled_at < j.ends_at
         ORDER BY b.sampled_at DESC LIMIT 1
       ) cl ON true
     ),
     judged AS (
       SELECT s.*, coalesce(s.unknown, 0) = 0 AND s.cost IS NOT NULL AND s.days_read >= s.days_due
                   AND (s.flagged_days > 0 OR abs(s.stats_credit - s.cost) > 0.05) AS is_flagged
       FROM sampled s
     )
     SELECT j.month, j.account, j.login, j.currency, j.own_login,
            j.opening_balance, j.opening_sampled_at,
            j.payments, j.payments_electronic,
            j.spending, j.spending_electronic, j.stats_credit,
            j.cost AS messages_cost, j.unknown AS messages_cost_unknown,
            j.stats_credit - j.cost AS difference,
            j.closing_balance, j.closing_sampled_at,
            j.opening_balance + j.payments - j.spending - j.closing_balance AS balance_gap,
            j.days_in_month, j.days_read, j.days_settled,
            j.ends_at <= now() AND j.days_settled = j.days_in_month AS complete,
            j.is_flagged AS flagged,
            CASE
              WHEN NOT j.is_flagged THEN NULL
              WHEN j.stats_credit > j.cost THEN
                'SMSC''s credit (' || CASE WHEN j.spending_electronic IS NULL THEN 'main' ELSE 'main+electronic' END || ') for login ' || j.login ||
                ' exceeds the costs held by ' || (j.stats_credit - j.cost) || ' over ' || j.flagged_days ||
                ' flagged day(s): messages missing from the warehouse (see cost_reconciliation_daily and completeness_daily)'
              ELSE
                'the costs held for login ' || j.login || ' exceed SMSC''s credit (' ||
                CASE WHEN j.spending_electronic IS NULL THEN 'main only: SMSC_STATS_ELECTRONIC=false' ELSE 'main+electronic' END ||
                ') by ' || (j.cost - j.stats_credit) || ' over ' || j.flagged_days || ' flagged day(s): see cost_reconciliation_daily'
            END AS flag_reason
     FROM judged j`,
  ];
}

const BY_ZONE = (alias: string) => `(${alias}.sent_at AT TIME ZONE smsc.account_timezone(${alias}.account))::date`;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE smsc.outbound_messages ADD COLUMN sent_day date`.execute(db);
  await sql`UPDATE smsc.outbound_messages m SET sent_day = ${sql.raw(BY_ZONE('m'))}`.execute(db);
  await sql`ALTER TABLE smsc.outbound_messages ALTER COLUMN sent_day SET NOT NULL`.execute(db);
  await sql`COMMENT ON COLUMN smsc.outbound_messages.sent_day IS 'Day the message was sent, in the account''s time zone (smsc.accounts.timezone): what the views count days by (indexed).'`.execute(db);
  // A day range, for the views that read the messages' rows (small: equal days are deduplicated).
  await sql`CREATE INDEX outbound_messages_day ON smsc.outbound_messages (sent_day, account)`.execute(db);
  // Covering what the views that look rows up per message read of it (delivery_latency_daily,
  // reply_rate_daily): an index-only scan of the days asked for, where the planner, facing a
  // probe per message, otherwise preferred reading the whole table in parallel. (The narrow
  // index stays: with this wider one alone, delivery_daily's 30 days tipped to a whole scan.)
  await sql`CREATE INDEX outbound_messages_day_covering ON smsc.outbound_messages (sent_day, account) INCLUDE (channel, int_id, sent_at, phone, sender_id)`.execute(db);
  // The next message to a number (reply pairing) in one probe: int_id breaks ties of sent_at.
  await sql`DROP INDEX smsc.outbound_messages_phone`.execute(db);
  await sql`CREATE INDEX outbound_messages_phone ON smsc.outbound_messages (phone, sent_at, int_id)`.execute(db);

  // An account's zone set, changed or its row removed: its messages' days are counted again, in
  // the zone smsc.account_timezone() gives after the change (the default one for a removed row).
  await sql`
    CREATE FUNCTION smsc_internal.recount_sent_days() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      changed text := CASE TG_OP WHEN 'DELETE' THEN OLD.account ELSE NEW.account END;
      zone text := smsc.account_timezone(changed);
    BEGIN
      UPDATE smsc.outbound_messages
      SET sent_day = (sent_at AT TIME ZONE zone)::date
      WHERE account = changed AND sent_day <> (sent_at AT TIME ZONE zone)::date;
      RETURN NULL;
    END
    $$`.execute(db);
  await sql`CREATE TRIGGER accounts_zone_set AFTER INSERT ON smsc.accounts FOR EACH ROW EXECUTE FUNCTION smsc_internal.recount_sent_days()`.execute(db);
  await sql`
    CREATE TRIGGER accounts_zone_changed AFTER UPDATE OF timezone ON smsc.accounts
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone) EXECUTE FUNCTION smsc_internal.recount_sent_days()`.execute(db);
  await sql`CREATE TRIGGER accounts_zone_removed AFTER DELETE ON smsc.accounts FOR EACH ROW EXECUTE FUNCTION smsc_internal.recount_sent_days()`.execute(db);

  for (const view of views((m) => `${m}.sent_day`)) await sql.raw(view).execute(db);
}

/** The views count days per row again; the column, its index and the triggers go. */
export async function down(db: Kysely<any>): Promise<void> {
  for (const view of views(BY_ZONE)) await sql.raw(view).execute(db);
  await sql`DROP TRIGGER accounts_zone_removed ON smsc.accounts`.execute(db);
  await sql`DROP TRIGGER accounts_zone_changed ON smsc.accounts`.execute(db);
  await sql`DROP TRIGGER accounts_zone_set ON smsc.accounts`.execute(db);
  await sql`DROP FUNCTION smsc_internal.recount_sent_days()`.execute(db);
  await sql`ALTER TABLE smsc.outbound_messages DROP COLUMN sent_day`.execute(db);
  await sql`DROP INDEX smsc.outbound_messages_phone`.execute(db);
  await sql`CREATE INDEX outbound_messages_phone ON smsc.outbound_messages (phone, sent_at)`.execute(db);
}
