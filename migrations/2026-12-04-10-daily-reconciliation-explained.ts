// cost_reconciliation_daily, as finance closes days: today (a partial day in the account's
// zone: SMSC's statistics and the history are read at different moments of it) is left out,
// and a flag says why. The stats stream now reads the electronic balance by default
// (SMSC_STATS_ELECTRONIC=auto), since the history does not say which balance paid a message;
// the view says which balances a day's credit sums (credit_main, credit_electronic,
// balances_compared), and flag_reason explains each flag in words.
// (New columns go at the end: CREATE OR REPLACE VIEW keeps the existing ones and the grants.)
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE OR REPLACE VIEW smsc.cost_reconciliation_daily AS
    WITH stats AS (
      SELECT account, login, day, sum(messages)::int AS messages, sum(credit) AS credit, min(currency) AS currency,
             sum(credit) FILTER (WHERE balance = 'main') AS credit_main,
             sum(credit) FILTER (WHERE balance = 'electronic') AS credit_electronic,
             bool_or(balance = 'electronic') AS electronic_read
      FROM smsc.daily_stats GROUP BY account, login, day
    ),
    costs AS (
      SELECT account, (sent_at AT TIME ZONE smsc.account_timezone(account))::date AS day, count(*)::int AS messages, sum(cost) AS cost,
             count(*) FILTER (WHERE cost IS NULL)::int AS unknown
      FROM smsc.outbound_messages GROUP BY 1, 2
    ),
    judged AS (
      SELECT s.*, a.login AS account_login, c.cost, c.unknown,
             coalesce(coalesce(c.unknown, 0) = 0 AND abs(s.credit - c.cost) > greatest(0.001 * abs(s.credit), 0.05), false) AS is_flagged
      FROM stats s
      LEFT JOIN smsc.accounts a ON a.account = s.account
      LEFT JOIN costs c ON c.account = s.account AND c.day = s.day AND s.login = a.login
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
    FROM judged j`.execute(db);

  const comments: [string, string][] = [
    ['VIEW smsc.cost_reconciliation_daily', "Per day (account's zone, today left out: a partial day) and login: SMSC's credit (daily_stats, the balances read) against the sum of message costs in outbound_messages (own login only); flagged beyond 0.1% and 0.05, with the reason in flag_reason. SMSC_STATS_ELECTRONIC=auto (the default) reads the electronic balance too: the history does not say which balance paid a message."],
    ['COLUMN smsc.cost_reconciliation_daily.stats_credit', 'Spending SMSC reports for the day and login: credit_main + credit_electronic (the balances in balances_compared).'],
    ['COLUMN smsc.cost_reconciliation_daily.credit_main', "SMSC's credit of the day paid from the main balance (daily_stats.balance = main)."],
    ['COLUMN smsc.cost_reconciliation_daily.credit_electronic', "SMSC's credit of the day paid from the electronic balance; null when its statistics were not read (SMSC_STATS_ELECTRONIC=false)."],
    ['COLUMN smsc.cost_reconciliation_daily.balances_compared', 'Which balances stats_credit sums: main+electronic, or main (the electronic balance not read for the day).'],
    ['COLUMN smsc.cost_reconciliation_daily.flag_reason', 'Why the day is flagged, in words (which balances were compared, which login, which way the difference goes and its usual causes); null when not flagged.'],
    ['COLUMN smsc.cost_reconciliation_daily.own_login', "True for the account's own login (the one whose history is synced); false for a reseller's sub-client, whose messages_cost is null and which is never flagged."],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}

/** Back to 2026-11-24-02's view (today in, no explanation), with its comments. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP VIEW smsc.cost_reconciliation_daily`.execute(db);
  await sql`
    CREATE VIEW smsc.cost_reconciliation_daily AS
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
    ['VIEW smsc.cost_reconciliation_daily', "Per day and login: SMSC's credit (daily_stats, all balances) against the sum of message costs in outbound_messages (own login only); flagged beyond 0.1% and 0.05. Exact only when the electronic balance is kept too (SMSC_STATS_ELECTRONIC) on accounts that use it: the history does not say which balance paid a message."],
    ['COLUMN smsc.cost_reconciliation_daily.stats_credit', 'Spending SMSC reports for the day (daily_stats.credit, main + electronic).'],
    ['COLUMN smsc.cost_reconciliation_daily.messages_cost', "Sum of the day's known message costs; null for sub-client logins (their messages are not in this account's history)."],
    ['COLUMN smsc.cost_reconciliation_daily.difference', 'stats_credit - messages_cost (over the known costs only when messages_cost_unknown > 0).'],
    ['COLUMN smsc.cost_reconciliation_daily.difference_pct', 'difference as a percentage of stats_credit.'],
    ['COLUMN smsc.cost_reconciliation_daily.flagged', 'True when the difference exceeds both 0.1% of the credit and 0.05 and every cost of the day is known.'],
    ['COLUMN smsc.cost_reconciliation_daily.own_login', "True for the account's own login (the one whose history is synced)."],
    ['COLUMN smsc.cost_reconciliation_daily.messages_cost_unknown', "Messages of the day whose cost SMSC has not given; while above 0 the day is not flagged."],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}
