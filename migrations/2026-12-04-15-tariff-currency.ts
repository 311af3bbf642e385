// The tariff functions give the currency of their prices (the account's, as the views do):
// every money column of the reporting surface now has its currency beside it. A function's
// result columns cannot change in place, so both are dropped and made again, with currency
// last.
import { type Kysely, sql } from 'kysely';

const COLUMNS = 'kind text, key text, name text, api numeric, mass numeric, mms numeric, hlr numeric, call numeric, valid_from timestamptz, valid_to timestamptz';

async function create(db: Kysely<any>, withCurrency: boolean): Promise<void> {
  const currency = withCurrency ? ', smsc.account_currency(p_account)' : '';
  await sql
    .raw(`
    CREATE FUNCTION smsc.tariff_at(p_account text, p_at timestamptz)
    RETURNS TABLE (${COLUMNS}${withCurrency ? ', currency text' : ''})
    LANGUAGE sql STABLE AS $$
      SELECT 'zone', z.zone, z.name, z.api, z.mass, z.mms, z.hlr, z.call, z.valid_from, z.valid_to${currency}
        FROM smsc.tariff_zones z
        WHERE z.account = p_account AND z.valid_from <= p_at AND (z.valid_to IS NULL OR z.valid_to > p_at)
      UNION ALL
      SELECT 'operator', o.mccmnc, NULL, o.cost, NULL, NULL, NULL, NULL, o.valid_from, o.valid_to${currency}
        FROM smsc.tariff_operator_prices o
        WHERE o.account = p_account AND o.valid_from <= p_at AND (o.valid_to IS NULL OR o.valid_to > p_at)
      UNION ALL
      SELECT 'email', NULL, NULL, e.price, NULL, NULL, NULL, NULL, e.valid_from, e.valid_to${currency}
        FROM smsc.tariff_email_prices e
        WHERE e.account = p_account AND e.valid_from <= p_at AND (e.valid_to IS NULL OR e.valid_to > p_at)
    $$`)
    .execute(db);
  await sql
    .raw(`
    CREATE FUNCTION smsc.tariff_on_day(p_account text, p_day date)
    RETURNS TABLE (${COLUMNS}${withCurrency ? ', currency text' : ''})
    LANGUAGE sql STABLE AS $$
      SELECT * FROM smsc.tariff_at(p_account, (p_day + 1)::timestamp AT TIME ZONE smsc.account_timezone(p_account) - interval '1 microsecond')
    $$`)
    .execute(db);
  if (withCurrency) {
    await sql`COMMENT ON FUNCTION smsc.tariff_at(text, timestamptz) IS 'The zone, operator and e-mail prices of an account in force at an instant, each with the account''s currency.'`.execute(db);
    await sql`COMMENT ON FUNCTION smsc.tariff_on_day(text, date) IS 'The prices of an account in force at the end of a day of its zone, each with the account''s currency.'`.execute(db);
  }
}

async function drop(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION smsc.tariff_on_day(text, date)`.execute(db);
  await sql`DROP FUNCTION smsc.tariff_at(text, timestamptz)`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await drop(db);
  await create(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  await drop(db);
  await create(db, false);
}
