// The views hold up on a real account: filtered to the last 30 days, as a dashboard tile is,
// no view reads all of outbound_messages (nor all of the replies or the status history). The
// warehouse holds a year of two accounts' messages; each view is run under EXPLAIN ANALYZE
// with sequential scans disabled (so that the question is whether an index CAN serve the
// filter, whatever the planner would pick for a table this small), and the rows every scan of
// the big tables touched, loops included, are added up. bench/views.ts measures the same views
// on two million messages.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../helpers/database.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const DAYS = 365;
const PER_DAY = 24;
const TZ = 'Asia/Novosibirsk';

let database: TestDatabase;
const db = () => database.warehouse.db;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows each big table's scans touched (returned or filtered away), over every loop; and the scans themselves. */
function touched(plan: PlanNode, into = new Map<string, { rows: number; scans: string[] }>()) {
  const relation = plan['Relation Name'];
  if (relation !== undefined && plan['Node Type'] !== 'Bitmap Index Scan') {
    const per = (plan['Actual Rows'] ?? 0) + (plan['Rows Removed by Filter'] ?? 0) + (plan['Rows Removed by Index Recheck'] ?? 0);
    const entry = into.get(relation) ?? { rows: 0, scans: [] };
    entry.rows += per * (plan['Actual Loops'] ?? 1);
    entry.scans.push(plan['Node Type']);
    into.set(relation, entry);
  }
  for (const child of plan.Plans ?? []) touched(child, into);
  return into;
}

beforeAll(async () => {
  database = await migratedDatabase('view-plans');
  // The test writes the rows itself, with their day in the account's zone worked out here.
  await sql`INSERT INTO smsc.accounts (account, login, timezone, updated_at) VALUES ('a', 'a', ${TZ}, now()), ('b', 'b', ${TZ}, now())`.execute(db());
  for (const account of ['a', 'b']) {
    await sql`
      INSERT INTO smsc.outbound_messages (account, int_id, channel, phone, status, is_final, sent_at, cost, message, format, raw, first_seen_at, updated_at, sent_day)
      SELECT ${account}, g, 'sms', '7900' || lpad((g % 500)::text, 7, '0'), CASE WHEN g % 10 = 0 THEN 0 ELSE 1 END, g % 10 <> 0,
             t, 1.5, 'text', 0, '{}', now(), now(), (t AT TIME ZONE ${TZ})::date
      FROM generate_series(1, ${DAYS * PER_DAY}) g,
           LATERAL (SELECT now() - make_interval(secs => (${DAYS * PER_DAY} - g) * ${86_400 / PER_DAY})) s(t)`.execute(db());
    await sql`
      INSERT INTO smsc.outbound_status_changes (account, int_id, status, changed_at, seen_at, reason)
      SELECT account, int_id, status, sent_at + interval '30 seconds', now(), 'first_seen' FROM smsc.outbound_messages WHERE account = ${account}`.execute(db());
    await sql`
      INSERT INTO smsc.inbound_messages (account, id, phone, message, received_at, raw, first_seen_at)
      SELECT account, int_id, phone, 'yes', sent_at + interval '5 minutes', '{}'::jsonb, now()
      FROM smsc.outbound_messages WHERE account = ${account} AND int_id % 7 = 0
      UNION ALL -- a second reply to every other one of them
      SELECT account, int_id + 1000000, phone, 'and again', sent_at + interval '6 minutes', '{}', now()
      FROM smsc.outbound_messages WHERE account = ${account} AND int_id % 14 = 0`.execute(db());
    await sql`
      INSERT INTO smsc.daily_stats (account, login, day, balance, messages, credit, debit, currency, raw, first_seen_at, updated_at)
      SELECT ${account}, ${account}, d::date, 'main', ${PER_DAY}, ${PER_DAY * 1.5}, 0, 'RUB', '{}', now(), now()
      FROM generate_series((now() AT TIME ZONE ${TZ})::date - ${DAYS}::int, (now() AT TIME ZONE ${TZ})::date, interval '1 day') d`.execute(db());
  }
  await sql`ANALYZE`.execute(db());
});
afterAll(async () => {
  await database.drop();
});

const LAST_30_DAYS = 'day >= current_date - 30';
/** Each query, and the first day of the messages it shows (the window an index should confine it to). */
const QUERIES: Record<string, { query: string; from: string }> = {
  delivery_daily: { query: `SELECT * FROM smsc.delivery_daily WHERE ${LAST_30_DAYS}`, from: 'current_date - 30' },
  'delivery_daily of one account': { query: `SELECT * FROM smsc.delivery_daily WHERE account = 'a' AND ${LAST_30_DAYS}`, from: 'current_date - 30' },
  delivery_latency_daily: { query: `SELECT * FROM smsc.delivery_latency_daily WHERE ${LAST_30_DAYS}`, from: 'current_date - 30' },
  reply_rate_daily: { query: `SELECT * FROM smsc.reply_rate_daily WHERE ${LAST_30_DAYS}`, from: 'current_date - 30' },
  completeness_daily: { query: `SELECT * FROM smsc.completeness_daily WHERE ${LAST_30_DAYS}`, from: 'current_date - 30' },
  cost_reconciliation_daily: { query: `SELECT * FROM smsc.cost_reconciliation_daily WHERE ${LAST_30_DAYS}`, from: 'current_date - 30' },
  cost_reconciliation_monthly: {
    query: `SELECT * FROM smsc.cost_reconciliation_monthly WHERE month >= date_trunc('month', current_date - 30)::date`,
    from: `date_trunc('month', current_date - 30)::date`,
  },
};

describe('views filtered to 30 days', () => {
  it.each(Object.keys(QUERIES))('%s reads no table whole', async (name) => {
    const { query, from } = QUERIES[name]!;
    const plan = await db().transaction().execute(async (tx) => {
      await sql`SET LOCAL enable_seqscan = off`.execute(tx);
      const { rows } = await sql.raw<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${query}`).execute(tx);
      const json = rows[0]!['QUERY PLAN'];
      return (typeof json === 'string' ? JSON.parse(json) : json) as [{ Plan: PlanNode }];
    });
    const scans = touched(plan[0].Plan);
    // The messages of the window, both accounts, counted from the times written above.
    const { rows } = await sql.raw<{ n: number }>(`SELECT count(*)::int AS n FROM smsc.outbound_messages WHERE (sent_at AT TIME ZONE '${TZ}')::date >= ${from}`).execute(db());
    const window = rows[0]!.n;
    const total = 2 * DAYS * PER_DAY;
    expect(window).toBeLessThan(total / 8);
    // Each message of the window is read once or twice (the monthly view reads its month's costs
    // for the month and again for its flagged days), plus a probe or two per message shown for
    // the lateral look-ups (the next message to its number, its replies, its first final
    // status): at most three times the window, under 3/8 of each table. A whole scan is all of it.
    for (const relation of ['outbound_messages', 'inbound_messages', 'outbound_status_changes']) {
      const seen = scans.get(relation);
      if (seen === undefined) continue;
      expect(seen.rows, `${name}: rows of ${relation} touched (${seen.scans.join(', ')}); ${window} messages in the window, ${total} in all`).toBeLessThanOrEqual(3 * window);
    }
  });
});

describe('reply_rate_daily', () => {
  it('counts a message with two replies once in sent and replied, twice in replies', async () => {
    // Every 7th message of each account has a reply 5 minutes later, every 14th a second one a
    // minute after; the next message to the same number comes 500 messages (12.5 days) later.
    const { rows } = await sql<{ sent: number; replied: number; replies: number }>`
      SELECT sum(sent)::int AS sent, sum(replied)::int AS replied, sum(replies)::int AS replies FROM smsc.reply_rate_daily WHERE account = 'a'`.execute(db());
    const n = DAYS * PER_DAY;
    expect(rows[0]).toEqual({ sent: n, replied: Math.floor(n / 7), replies: Math.floor(n / 7) + Math.floor(n / 14) });
  });
});

describe('cost_reconciliation_monthly', () => {
  it('flags a month only once every day of it is read, and then by exactly a lost message\'s cost', async () => {
    // Last month of account a: 24 messages at 1.50 every day, and SMSC's statistics say 36.00 a day.
    const month = sql`date_trunc('month', (now() AT TIME ZONE ${TZ})::date - interval '1 month')::date`;
    const judged = async (tx: typeof database.warehouse.db) =>
      (await sql<{ difference: string; flagged: boolean; days_read: number }>`
        SELECT round(difference, 2)::text AS difference, flagged, days_read FROM smsc.cost_reconciliation_monthly WHERE account = 'a' AND month = ${month}`.execute(tx)).rows;
    const undone = new Error('rolled back');
    const inTransaction = async (fn: (tx: any) => Promise<void>) => {
      await db().transaction().execute(async (tx) => {
        await fn(tx);
        throw undone;
      }).catch((e) => {
        if (e !== undone) throw e;
      });
    };
    expect(await judged(db())).toEqual([{ difference: '0.00', flagged: false, days_read: expect.any(Number) }]);
    // Statistics read for the first ten days only (a first sync still reading them): the
    // costs held exceed them, and the month is not judged yet.
    await inTransaction(async (tx) => {
      await sql`DELETE FROM smsc.daily_stats WHERE account = 'a' AND day >= ${month} + 10 AND day < (${month} + interval '1 month')::date`.execute(tx);
      const [row] = await judged(tx);
      expect(row).toMatchObject({ flagged: false, days_read: 10 });
      expect(Number(row!.difference)).toBeLessThan(0);
    });
    // Every day read, one message lost: flagged, by its cost.
    await inTransaction(async (tx) => {
      await sql`DELETE FROM smsc.outbound_messages WHERE int_id = (SELECT min(int_id) FROM smsc.outbound_messages WHERE account = 'a' AND sent_day = ${month} + 5) AND account = 'a'`.execute(tx);
      expect(await judged(tx)).toEqual([{ difference: '1.50', flagged: true, days_read: expect.any(Number) }]);
    });
  });
});

describe('outbound_messages.sent_day', () => {
  it("is counted again when an account's zone changes, and in the default zone when its row goes", async () => {
    const wrongDays = async (zone: string) =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_messages WHERE account = 'b' AND sent_day <> (sent_at AT TIME ZONE ${zone})::date`.execute(db())).rows[0]!.n;
    // Novosibirsk is 7 hours ahead of UTC: the messages of those hours fall on another day.
    expect(await wrongDays('UTC')).toBeGreaterThan(0);
    await sql`UPDATE smsc.accounts SET timezone = 'UTC' WHERE account = 'b'`.execute(db());
    expect(await wrongDays('UTC')).toBe(0);
    await sql`DELETE FROM smsc.accounts WHERE account = 'b'`.execute(db());
    expect(await wrongDays('Europe/Moscow')).toBe(0);
    await sql`INSERT INTO smsc.accounts (account, login, timezone, updated_at) VALUES ('b', 'b', ${TZ}, now())`.execute(db());
    expect(await wrongDays(TZ)).toBe(0);
  });
});
