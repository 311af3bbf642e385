// Closing a month to the kopeck. balance_history keeps every balance.php sample (the balance
// stream, hourly); accounts.currency is the account's currency as balance.php last gave it.
// cost_reconciliation_monthly puts, per account, login, currency and month, the opening
// balance, payments and spending from SMSC's statistics, the message costs held and the
// closing balance side by side: opening + payments - spending - closing (balance_gap) is 0
// when the samples sit at the month's edges and no cost of a message sent before the month
// changed in it. delivery_daily gains the currency of its costs (the account's). Today, a
// partial day, is left out of the monthly sums as it is of the daily view.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE smsc.balance_history (
      account text NOT NULL,
      sampled_at timestamptz NOT NULL,
      balance numeric NOT NULL,
      currency text,
      raw jsonb NOT NULL,
      PRIMARY KEY (account, sampled_at)
    )`.execute(db);
  await sql`ALTER TABLE smsc.accounts ADD COLUMN currency text`.execute(db);

  // The account's currency: as balance.php last gave it, else as its own login's statistics do.
  await sql`
    CREATE FUNCTION smsc.account_currency(p_account text) RETURNS text
    LANGUAGE sql STABLE AS $$
      SELECT coalesce(
        (SELECT currency FROM smsc.accounts WHERE account = p_account),
        (SELECT s.currency FROM smsc.daily_stats s JOIN smsc.accounts a ON a.account = s.account AND a.login = s.login
          WHERE s.account = p_account ORDER BY s.day DESC LIMIT 1))
    $$`.execute(db);

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
           count(*) FILTER (WHERE m.cost IS NULL)::int AS cost_unknown,
           smsc.account_currency(m.account) AS currency
    FROM smsc.outbound_messages m
    GROUP BY 1, 2, 3, 4, 5, 6`.execute(db);

  await sql`
    CREATE VIEW smsc.cost_reconciliation_monthly AS
    WITH days AS (
      SELECT s.account, s.login, s.currency, s.day, date_trunc('month', s.day)::date AS month,
             sum(s.credit) FILTER (WHERE s.balance = 'main') AS credit_main,
             sum(s.credit) FILTER (WHERE s.balance = 'electronic') AS credit_electronic,
             sum(s.debit) FILTER (WHERE s.balance = 'main') AS debit_main,
             sum(s.debit) FILTER (WHERE s.balance = 'electronic') AS debit_electronic,
             -- Read together with the day after it: read after it ended, so settled.
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
    costs AS (
      SELECT account, date_trunc('month', (sent_at AT TIME ZONE smsc.account_timezone(account))::date)::date AS month,
             sum(cost) AS cost, count(*) FILTER (WHERE cost IS NULL)::int AS unknown
      FROM smsc.outbound_messages
      WHERE (sent_at AT TIME ZONE smsc.account_timezone(account))::date < (now() AT TIME ZONE smsc.account_timezone(account))::date
      GROUP BY 1, 2
    ),
    flagged_days AS (
      SELECT account, login, date_trunc('month', day)::date AS month, count(*)::int AS n
      FROM smsc.cost_reconciliation_daily WHERE flagged GROUP BY 1, 2, 3
    ),
    joined AS (
      SELECT m.*, a.login IS NOT NULL AND m.login = a.login AS own_login,
             c.cost, c.unknown, coalesce(f.n, 0) AS flagged_days,
             m.spending + coalesce(m.spending_electronic, 0) AS stats_credit,
             (m.month::timestamp AT TIME ZONE smsc.account_timezone(m.account)) AS starts_at,
             ((m.month + interval '1 month')::timestamp AT TIME ZONE smsc.account_timezone(m.account)) AS ends_at,
             ((m.month + interval '1 month')::date - m.month) AS days_in_month
      FROM months m
      LEFT JOIN smsc.accounts a ON a.account = m.account
      LEFT JOIN costs c ON c.account = m.account AND c.month = m.month AND m.login = a.login
      LEFT JOIN flagged_days f ON f.account = m.account AND f.login = m.login AND f.month = m.month
    ),
    sampled AS (
      SELECT j.*, o.balance AS opening_balance, o.sampled_at AS opening_sampled_at, cl.balance AS closing_balance, cl.sampled_at AS closing_sampled_at
      FROM joined j
      LEFT JOIN LATERAL (
        SELECT b.balance, b.sampled_at FROM smsc.balance_history b
        WHERE j.own_login AND b.account = j.account AND coalesce(b.currency, j.currency) = j.currency AND b.sampled_at < j.starts_at
        ORDER BY b.sampled_at DESC LIMIT 1
      ) o ON true
      LEFT JOIN LATERAL (
        SELECT b.balance, b.sampled_at FROM smsc.balance_history b
        WHERE j.own_login AND b.account = j.account AND coalesce(b.currency, j.currency) = j.currency AND b.sampled_at >= j.starts_at AND b.sampled_at < j.ends_at
        ORDER BY b.sampled_at DESC LIMIT 1
      ) cl ON true
    ),
    judged AS (
      SELECT s.*, coalesce(s.unknown, 0) = 0 AND s.cost IS NOT NULL AND (s.flagged_days > 0 OR abs(s.stats_credit - s.cost) > 0.05) AS is_flagged
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
               'SMSC''s credit (' || CASE WHEN j.spending_electronic IS NULL THEN 'main' ELSE 'main+electronic' END || ') for login ' || j.login || ' exceeds the costs held by ' || (j.stats_credit - j.cost) ||
               ' over ' || j.flagged_days || ' flagged day(s): messages missing from the warehouse (see cost_reconciliation_daily and completeness_daily)'
             ELSE
               'the costs held for login ' || j.login || ' exceed SMSC''s credit (' || CASE WHEN j.spending_electronic IS NULL THEN 'main only: SMSC_STATS_ELECTRONIC=false' ELSE 'main+electronic' END || ') by ' || (j.cost - j.stats_credit) ||
               ' over ' || j.flagged_days || ' flagged day(s): see cost_reconciliation_daily'
           END AS flag_reason
    FROM judged j`.execute(db);

  const comments: [string, string][] = [
    ['TABLE smsc.balance_history', 'Samples of the account balance (balance.php with cur=1) taken by the balance stream on its schedule (hourly at hh:59:50): the opening and closing balances of cost_reconciliation_monthly.'],
    ['COLUMN smsc.balance_history.account', 'The SMSC account (SMSC_ACCOUNT_NAME or the login).'],
    ['COLUMN smsc.balance_history.sampled_at', 'When the balance was read (the instant its answer came, whole seconds).'],
    ['COLUMN smsc.balance_history.balance', 'The balance SMSC showed then (balance.php: the main balance), exact, in currency.'],
    ['COLUMN smsc.balance_history.currency', 'Three-letter currency of balance (cur=1); null if SMSC left it out.'],
    ['COLUMN smsc.balance_history.raw', 'The API object as it came.'],
    ['COLUMN smsc.accounts.currency', "The account's currency as balance.php last gave it (written by the balance stream); null until it ran. The currency of outbound_messages.cost and the views' costs."],
    ['FUNCTION smsc.account_currency(text)', "The account's currency: accounts.currency, else that of its own login's newest daily_stats row."],
    ['COLUMN smsc.delivery_daily.currency', "Currency of cost: the account's (smsc.account_currency)."],
    ['VIEW smsc.cost_reconciliation_monthly', "Per month (account's zone), account, login and currency: opening balance, payments and spending from SMSC's statistics, the message costs held, their difference, the closing balance, balance_gap = opening + payments - spending - closing, and whether the month is complete. Today (partial) is left out of the sums."],
    ['COLUMN smsc.cost_reconciliation_monthly.month', "First day of the month, in the account's time zone."],
    ['COLUMN smsc.cost_reconciliation_monthly.account', 'The SMSC account.'],
    ['COLUMN smsc.cost_reconciliation_monthly.login', "Login of the statistics: the account's own or a reseller's sub-client."],
    ['COLUMN smsc.cost_reconciliation_monthly.currency', 'Currency of every money column of the row (daily_stats.currency).'],
    ['COLUMN smsc.cost_reconciliation_monthly.own_login', "True for the account's own login; balances and message costs are known for it only (null for sub-clients)."],
    ['COLUMN smsc.cost_reconciliation_monthly.opening_balance', 'The last balance_history sample taken before the month began (sampled_at < its first midnight); null without one. Own login only.'],
    ['COLUMN smsc.cost_reconciliation_monthly.opening_sampled_at', 'When opening_balance was sampled: the nearer the month start, the fewer messages fall between.'],
    ['COLUMN smsc.cost_reconciliation_monthly.payments', "Payments into the main balance in the month (daily_stats.debit, balance main): what balance.php's balance rose by."],
    ['COLUMN smsc.cost_reconciliation_monthly.payments_electronic', "Payments recorded on the electronic balance (not part of balance.php's balance); null when it was not read."],
    ['COLUMN smsc.cost_reconciliation_monthly.spending', "Spending from the main balance in the month (daily_stats.credit, balance main): what balance.php's balance fell by."],
    ['COLUMN smsc.cost_reconciliation_monthly.spending_electronic', 'Spending from the electronic balance in the month; null when its statistics were not read (SMSC_STATS_ELECTRONIC=false).'],
    ['COLUMN smsc.cost_reconciliation_monthly.stats_credit', "spending + spending_electronic: all the month's spending SMSC reports for the login."],
    ['COLUMN smsc.cost_reconciliation_monthly.messages_cost', "Sum of the month's known message costs held (outbound_messages, days before today); null for sub-client logins."],
    ['COLUMN smsc.cost_reconciliation_monthly.messages_cost_unknown', 'Messages of the month whose cost SMSC has not given; while above 0 the month is not flagged.'],
    ['COLUMN smsc.cost_reconciliation_monthly.difference', 'stats_credit - messages_cost: 0 when the warehouse holds every message SMSC charged, at its cost.'],
    ['COLUMN smsc.cost_reconciliation_monthly.closing_balance', 'The last balance_history sample taken in the month (before the next month began); null without one. Own login only.'],
    ['COLUMN smsc.cost_reconciliation_monthly.closing_sampled_at', 'When closing_balance was sampled.'],
    ['COLUMN smsc.cost_reconciliation_monthly.balance_gap', 'opening_balance + payments - spending - closing_balance: 0 when the samples sit at the month edges; otherwise what the balance moved by that the statistics do not explain (messages and payments between a sample and the month edge, costs of messages sent before the month corrected in it). Own login only.'],
    ['COLUMN smsc.cost_reconciliation_monthly.days_in_month', 'Days of the month.'],
    ['COLUMN smsc.cost_reconciliation_monthly.days_read', 'Days of the month (before today) with statistics held for the login.'],
    ['COLUMN smsc.cost_reconciliation_monthly.days_settled', 'Days whose statistics were read together with the next day, that day being over too (the stats stream re-reads yesterday with today: such a day was read after it ended).'],
    ['COLUMN smsc.cost_reconciliation_monthly.complete', 'True when the month is over and every day of it is read and settled (days_settled = days_in_month).'],
    ['COLUMN smsc.cost_reconciliation_monthly.flagged', "True when a day of the month is flagged in cost_reconciliation_daily, or the month's difference exceeds 0.05, every cost being known."],
    ['COLUMN smsc.cost_reconciliation_monthly.flag_reason', 'Why the month is flagged, in words (balances compared, login, direction, flagged days); null when not flagged.'],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}

/** Drops the monthly view, the balance history and accounts.currency; delivery_daily as 2026-11-24-02 left it. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP VIEW smsc.cost_reconciliation_monthly`.execute(db);
  await sql`DROP VIEW smsc.delivery_daily`.execute(db);
  await sql`
    CREATE VIEW smsc.delivery_daily AS
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
  const comments: [string, string][] = [
    ['VIEW smsc.delivery_daily', "Per day (account's zone), account, country, operator, sender and channel: messages sent, delivered (delivered/read/link clicked), failed (other final statuses), pending, parts, cost."],
    ['COLUMN smsc.delivery_daily.day', "Day the messages were sent, in the account's time zone."],
    ['COLUMN smsc.delivery_daily.sent', 'Messages sent.'],
    ['COLUMN smsc.delivery_daily.delivered', 'Messages delivered, read or whose link was clicked.'],
    ['COLUMN smsc.delivery_daily.failed', 'Messages with another final status (undeliverable, wrong number, expired, ...).'],
    ['COLUMN smsc.delivery_daily.pending', 'Messages without a final status yet.'],
    ['COLUMN smsc.delivery_daily.parts', 'SMS parts (sms_cnt) billed.'],
    ['COLUMN smsc.delivery_daily.cost', 'Sum of the known message costs, account currency (see cost_unknown).'],
    ['COLUMN smsc.delivery_daily.cost_unknown', 'Messages whose cost SMSC has not given (not counted in cost).'],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
  await sql`DROP FUNCTION smsc.account_currency(text)`.execute(db);
  await sql`ALTER TABLE smsc.accounts DROP COLUMN currency`.execute(db);
  await sql`DROP TABLE smsc.balance_history`.execute(db);
}
