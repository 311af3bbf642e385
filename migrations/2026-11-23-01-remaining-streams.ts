// The tables of the remaining streams (design.md §2): daily spending per login and day,
// tariffs with history (a new row only when a price changes, so "the price on day D" is
// one query), operators of numbers, and daily snapshots of short-link counters.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE smsc.daily_stats (
      account text NOT NULL,
      login text NOT NULL,
      day date NOT NULL,
      balance text NOT NULL CHECK (balance IN ('main', 'electronic')),
      messages integer NOT NULL,
      credit numeric NOT NULL,
      debit numeric NOT NULL,
      currency text NOT NULL,
      raw jsonb NOT NULL,
      first_seen_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (account, login, day, balance)
    )`.execute(db);

  await sql`
    CREATE TABLE smsc.tariff_zones (
      account text NOT NULL,
      zone text NOT NULL,
      name text,
      api numeric,
      mass numeric,
      mms numeric,
      hlr numeric,
      call numeric,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz,
      raw jsonb NOT NULL,
      PRIMARY KEY (account, zone, valid_from),
      CHECK (valid_to IS NULL OR valid_to > valid_from)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX tariff_zones_current ON smsc.tariff_zones (account, zone) WHERE valid_to IS NULL`.execute(db);

  await sql`
    CREATE TABLE smsc.tariff_operator_prices (
      account text NOT NULL,
      mccmnc text NOT NULL,
      mcc text,
      mnc text,
      cost numeric NOT NULL,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz,
      raw jsonb NOT NULL,
      PRIMARY KEY (account, mccmnc, valid_from),
      CHECK (valid_to IS NULL OR valid_to > valid_from)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX tariff_operator_prices_current ON smsc.tariff_operator_prices (account, mccmnc) WHERE valid_to IS NULL`.execute(db);

  await sql`
    CREATE TABLE smsc.tariff_email_prices (
      account text NOT NULL,
      price numeric NOT NULL,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz,
      PRIMARY KEY (account, valid_from),
      CHECK (valid_to IS NULL OR valid_to > valid_from)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX tariff_email_prices_current ON smsc.tariff_email_prices (account) WHERE valid_to IS NULL`.execute(db);

  await sql`
    CREATE TABLE smsc.phone_operators (
      phone text PRIMARY KEY,
      found boolean NOT NULL,
      country text,
      operator text,
      region text,
      mcc text,
      mnc text,
      tz integer,
      looked_up_at timestamptz NOT NULL,
      raw jsonb NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX phone_operators_looked_up_at ON smsc.phone_operators (looked_up_at)`.execute(db);

  await sql`
    CREATE TABLE smsc.short_link_clicks (
      account text NOT NULL,
      link_id bigint NOT NULL,
      day date NOT NULL,
      link text,
      cnt integer NOT NULL,
      cnt_day integer NOT NULL,
      cnt_yes integer NOT NULL,
      cnt_mon integer NOT NULL,
      cnt_pmon integer NOT NULL,
      raw jsonb NOT NULL,
      snapshot_at timestamptz NOT NULL,
      PRIMARY KEY (account, link_id, day)
    )`.execute(db);

  const comments: [string, string][] = [
    ['TABLE smsc.daily_stats', 'Spending per login and day (get_stat, one request per day): messages, credit spent, debit paid in. Today and yesterday are re-read every run.'],
    ['COLUMN smsc.daily_stats.login', 'The account login or a reseller sub-client login.'],
    ['COLUMN smsc.daily_stats.day', "Calendar day in the account's time zone."],
    ['COLUMN smsc.daily_stats.balance', 'main, or electronic (messages paid from the electronic balance, balance2=1).'],
    ['COLUMN smsc.daily_stats.credit', 'Spent on messages that day, in currency.'],
    ['COLUMN smsc.daily_stats.debit', 'Paid in that day, in currency.'],
    ['TABLE smsc.tariff_zones', 'Prices per tariff zone with their validity: a new row only when a price changes. Price on D: valid_from <= D AND (valid_to IS NULL OR valid_to > D).'],
    ['COLUMN smsc.tariff_zones.api', 'SMS price via the API.'],
    ['COLUMN smsc.tariff_zones.mass', 'SMS price via the web account.'],
    ['COLUMN smsc.tariff_zones.valid_from', 'When this price was first seen (prices before the first snapshot are unknown).'],
    ['COLUMN smsc.tariff_zones.valid_to', 'When a different price was first seen; null while current.'],
    ['TABLE smsc.tariff_operator_prices', 'Individual per-operator SMS prices (mccmnc), with the same history rule as tariff_zones.'],
    ['TABLE smsc.tariff_email_prices', 'The e-mail price, with the same history rule as tariff_zones.'],
    ['TABLE smsc.phone_operators', 'Operator of numbers seen in replies and in history rows without one (get_operator); refreshed after SMSC_OPERATOR_TTL_DAYS.'],
    ['COLUMN smsc.phone_operators.found', 'False when SMSC does not know the number (error 3): not asked again before the TTL.'],
    ['COLUMN smsc.phone_operators.tz', 'Time zone of the region, hours from UTC.'],
    ['TABLE smsc.short_link_clicks', "Daily snapshot of a short link's click counters (tinyurls.php); a re-read the same day updates it."],
    ['COLUMN smsc.short_link_clicks.cnt', 'All clicks so far.'],
    ['COLUMN smsc.short_link_clicks.cnt_day', 'Clicks today (so far, at snapshot_at).'],
    ['COLUMN smsc.short_link_clicks.cnt_yes', 'Clicks yesterday.'],
    ['COLUMN smsc.short_link_clicks.cnt_mon', 'Clicks this month.'],
    ['COLUMN smsc.short_link_clicks.cnt_pmon', 'Clicks the previous month.'],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}
