// Closing a month to the kopeck, on the defaults: the emulator's account pays some messages
// from the electronic balance, the balance stream samples balance.php at the month's edges
// (the emulator's clock moved there), and the daily and monthly reconciliation are checked
// against sums computed here from the emulator's ground truth and its balance history.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import type { MessageView } from '../../src/sandbox/world.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { itNeedsServer } from '../helpers/needs-server.ts';
import { addDaysText, daysFromTo, moneyText, zoneDay, zoneDayStart } from '../helpers/oracle.ts';
import { syncOnce } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const TZ = 'Europe/Moscow';
const DAY = 86_400_000;
const LIFTED = { statsPerMinute: 1000, identicalPerMinute: 1000, historyPerHour: 1000 };

let database: TestDatabase;
let sandbox: Sandbox;
let now: number;
let today: string;
/** The last whole month before today's, in Moscow: its first day and its edges. */
let month: string;
let monthStart: number;
let monthEnd: number;
let truth: MessageView[];
const db = () => database.warehouse.db;
const rows = async <T,>(query: string) => (await sql.raw<T>(query).execute(db())).rows;

beforeAll(async () => {
  database = await migratedDatabase('finance');
  now = Math.floor(Date.now() / 1000) * 1000;
  today = zoneDay(now, TZ);
  const [y, m] = today.split('-').map(Number) as [number, number];
  month = m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, '0')}-01`;
  const nextMonth = `${y}-${String(m).padStart(2, '0')}-01`;
  monthStart = zoneDayStart(month, TZ);
  monthEnd = zoneDayStart(nextMonth, TZ);
  // The world begins three days before the month (messages and cost corrections straddle its
  // first edge) and reaches past the real now, where the warehouse's views count "today".
  const start = monthStart - 1000;
  sandbox = await startSandbox({
    clock: new SandboxClock({ start, speed: 0 }),
    seed: 7,
    world: { historyDays: 3, futureDays: Math.ceil((now - start) / DAY) + 2, messagesPerDay: 120 },
    limits: LIFTED,
  });
  const sync = async (streams: string[], since?: number) => {
    const runs = await syncOnce(sandbox, database.warehouse, { streams, quota: LIFTED, ...(since !== undefined ? { since: new Date(since) } : {}) });
    expect(runs.map((r) => [r.stream, r.outcome])).toEqual(streams.map((s) => [s, 'succeeded']));
  };
  // The balance at the month's edges: a second before each.
  await sync(['balance']);
  sandbox.clock.set(monthEnd - 1000);
  await sync(['balance']);
  sandbox.clock.set(now);
  await sync(['outbound', 'stats'], monthStart - 3 * DAY);
  await sync(['outbound', 'inbound', 'balance']);
  truth = sandbox.world.truth('demo', now);
}, 180_000);
afterAll(async () => {
  await sandbox?.stop();
  await database?.drop();
});

const costOf = (views: MessageView[]) => views.reduce((s, v) => s + v.cost, 0);
const onDay = (day: string) => truth.filter((v) => zoneDay(v.message.sendTs, TZ) === day);

describe('reconciliation on the defaults', () => {
  it('the account pays from both balances', () => {
    const monthViews = truth.filter((v) => v.message.sendTs >= monthStart && v.message.sendTs < monthEnd);
    expect(monthViews.filter((v) => v.message.balance === 'electronic').length).toBeGreaterThan(10);
    expect(monthViews.filter((v) => v.message.balance === 'main').length).toBeGreaterThan(1000);
  });

  it('cost_reconciliation_daily: difference 0 and no flag on every settled day, equal to the truth, and today absent', async () => {
    const got = await rows<{ day: string; stats_credit: string; messages_cost: string; difference: string; flagged: boolean; flag_reason: string | null; balances_compared: string; currency: string }>(
      `SELECT day::text, stats_credit::text, messages_cost::text, difference::text, flagged, flag_reason, balances_compared, currency
       FROM smsc.cost_reconciliation_daily WHERE own_login AND day >= '${month}' ORDER BY day`,
    );
    const days = daysFromTo(month, addDaysText(today, -1));
    expect(got.map((r) => r.day)).toEqual(days);
    for (const r of got) {
      const cost = moneyText(costOf(onDay(r.day)));
      expect(r).toEqual({ day: r.day, stats_credit: cost, messages_cost: cost, difference: '0.00', flagged: false, flag_reason: null, balances_compared: 'main+electronic', currency: 'RUB' });
    }
    expect(await rows(`SELECT day FROM smsc.cost_reconciliation_daily WHERE day >= '${today}'`)).toEqual([]);
    expect(await rows(`SELECT day FROM smsc.completeness_daily WHERE gap <> 0`)).toEqual([]);
  });

  it('cost_reconciliation_monthly: opening + payments - spending = closing against the emulator balance history, to the kopeck', async () => {
    const world = sandbox.world;
    const account = world.account('demo')!;
    const opening = world.balance('demo', monthStart - 1000);
    const closing = world.balance('demo', monthEnd - 1000);
    const inMonth = truth.filter((v) => v.message.sendTs >= monthStart && v.message.sendTs < monthEnd);
    const payments = account.payments.filter((p) => p.at >= monthStart && p.at < monthEnd).reduce((s, p) => s + p.amount, 0);
    const spending = costOf(inMonth.filter((v) => v.message.balance === 'main'));
    const electronic = costOf(inMonth.filter((v) => v.message.balance === 'electronic'));
    // What the balance moved by that the month's statistics (read now) do not explain: costs
    // of main-balance messages that changed between the samples and now (sent in the month)
    // or between the two samples (sent before it).
    const costAt = (v: MessageView, at: number) => world.view(v.message, at)!.cost;
    const explained =
      inMonth.filter((v) => v.message.balance === 'main').reduce((s, v) => s + costAt(v, monthEnd - 1000) - v.cost, 0) +
      truth.filter((v) => v.message.sendTs < monthStart && v.message.balance === 'main').reduce((s, v) => s + costAt(v, monthEnd - 1000) - costAt(v, monthStart - 1000), 0);
    expect(opening + payments - spending - closing).toBe(explained);

    const [row] = await rows<Record<string, unknown>>(`
      SELECT opening_balance::text, opening_sampled_at, payments::text, spending::text, spending_electronic::text, stats_credit::text,
             messages_cost::text, difference::text, closing_balance::text, closing_sampled_at, balance_gap::text, currency,
             days_in_month, days_read, complete, flagged, flag_reason
      FROM smsc.cost_reconciliation_monthly WHERE own_login AND month = '${month}'`);
    const days = daysFromTo(month, addDaysText(zoneDay(monthEnd, TZ), -1)).length;
    expect(row).toEqual({
      opening_balance: moneyText(opening),
      opening_sampled_at: new Date(monthStart - 1000),
      payments: moneyText(payments),
      spending: moneyText(spending),
      spending_electronic: moneyText(electronic),
      stats_credit: moneyText(spending + electronic),
      messages_cost: moneyText(spending + electronic),
      difference: '0.00',
      closing_balance: moneyText(closing),
      closing_sampled_at: new Date(monthEnd - 1000),
      balance_gap: moneyText(opening + payments - spending - closing),
      currency: 'RUB',
      days_in_month: days,
      days_read: days,
      // Settled once the day after the month's last is over too.
      complete: today > addDaysText(zoneDay(monthEnd, TZ), 0),
      flagged: false,
      flag_reason: null,
    });
    // Sub-clients: their own statistics, no balance of theirs.
    const subs = await rows<{ opening_balance: string | null; messages_cost: string | null }>(
      `SELECT opening_balance, messages_cost FROM smsc.cost_reconciliation_monthly WHERE NOT own_login AND month = '${month}'`,
    );
    expect(subs.every((s) => s.opening_balance === null && s.messages_cost === null)).toBe(true);
    // The current month is not complete.
    const [current] = await rows<{ complete: boolean }>(`SELECT complete FROM smsc.cost_reconciliation_monthly WHERE own_login AND month > '${month}'`);
    if (current) expect(current.complete).toBe(false);
  });
});

describe('ids for JavaScript clients', () => {
  it('every int8 column of schema smsc has a text twin', async () => {
    const missing = await rows<{ col: string }>(`
      SELECT c.relname || '.' || a.attname AS col
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'smsc' AND c.relkind IN ('r', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'int8'::regtype
        AND NOT EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid AND t.attname = a.attname || '_text' AND t.atttypid = 'text'::regtype)
      ORDER BY 1`);
    expect(missing).toEqual([]);
  });

  itNeedsServer('node-postgres, the client under test, connects over the network')('a client that reads int8 as a JavaScript number gets every id right from the text columns', async () => {
    const client = new pg.Client({ connectionString: database.url, types: { getTypeParser: (oid: number, format?: any) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) } as any });
    await client.connect();
    try {
      // Every view and table of smsc reads through such a client.
      const relations = (await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'smsc' ORDER BY 1`)).rows.map((r) => r.table_name as string);
      for (const r of relations) await client.query(`SELECT * FROM smsc.${r} LIMIT 5`);
      const held = (await client.query(`SELECT int_id, int_id_text, message_id_text, crc_text FROM smsc.outbound_messages WHERE account = 'demo' ORDER BY int_id`)).rows;
      const expected = truth.filter((v) => v.message.sendTs >= zoneDayStart(monthStart - 3 * DAY, TZ)).sort((a, b) => (a.message.intId < b.message.intId ? -1 : 1));
      expect(held.map((r) => [r.int_id_text, r.message_id_text, r.crc_text])).toEqual(expected.map((v) => [v.message.intId.toString(), String(v.message.id), v.message.crc.toString()]));
      // The number column is wrong where the id passes 2^53: why the text is there.
      const big = held.filter((r) => BigInt(r.int_id_text) > 2n ** 53n);
      expect(big.length).toBeGreaterThan(0);
      expect(big.some((r) => String(r.int_id) !== r.int_id_text)).toBe(true);
      const changes = (await client.query(`SELECT DISTINCT int_id_text FROM smsc.outbound_status_changes ORDER BY 1`)).rows.map((r) => r.int_id_text);
      expect(changes).toEqual(expected.map((v) => v.message.intId.toString()).sort());
      const replies = (await client.query(`SELECT id_text FROM smsc.inbound_messages ORDER BY id`)).rows.map((r) => r.id_text);
      expect(replies).toEqual(sandbox.world.repliesAt('demo', now).map((r) => String(r.id)));
    } finally {
      await client.end();
    }
  });
});

// Last: it deletes a message.
describe('a lost message', () => {
  it('a lost message flags its day and its month by exactly its cost', async () => {
    const day = addDaysText(month, 9);
    const lost = onDay(day).sort((a, b) => b.cost - a.cost)[0]!;
    await sql`DELETE FROM smsc.outbound_messages WHERE int_id = ${lost.message.intId.toString()}`.execute(db());
    const [daily] = await rows<{ difference: string; flagged: boolean; flag_reason: string }>(
      `SELECT difference::text, flagged, flag_reason FROM smsc.cost_reconciliation_daily WHERE own_login AND day = '${day}'`,
    );
    expect(daily).toMatchObject({ difference: moneyText(lost.cost), flagged: true });
    expect(daily!.flag_reason).toContain(`exceeds the costs held for login demo by ${moneyText(lost.cost)}`);
    const [monthly] = await rows<{ difference: string; flagged: boolean; flag_reason: string }>(
      `SELECT difference::text, flagged, flag_reason FROM smsc.cost_reconciliation_monthly WHERE own_login AND month = '${month}'`,
    );
    expect(monthly).toMatchObject({ difference: moneyText(lost.cost), flagged: true });
    expect(monthly!.flag_reason).toContain(`by ${moneyText(lost.cost)} over 1 flagged day(s)`);
    expect(await rows(`SELECT day::text FROM smsc.cost_reconciliation_daily WHERE flagged`)).toEqual([{ day }]);
  });
});
