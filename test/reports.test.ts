// The reporting views against a month loaded from the emulator: every figure is checked
// against sums computed here from the emulator's ground truth; the README's recipes run as
// written; the read-only role reads everything and can change nothing.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import type { MessageView } from '../src/sandbox/world.ts';
import { readStatus } from '../src/sync/status.ts';
import { grantReader } from '../src/warehouse/reader-role.ts';
import { type TestDatabase, testServerUrl } from './helpers/database.ts';
import { moneyText, zoneDay, zoneDayStart } from './helpers/oracle.ts';
import { sandboxConfig, syncOnce } from './helpers/sync.ts';
import { migratedDatabase } from './helpers/warehouse.ts';

const TZ = 'Europe/Moscow';
const DAY = 86_400_000;
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const recipes = [...readme.slice(readme.indexOf('## Reports'), readme.indexOf('### Connecting a BI tool')).matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);

let database: TestDatabase;
let sandbox: Sandbox;
let since: number;
let truth: MessageView[];
const db = () => database.warehouse.db;
const rows = async <T,>(query: string) => (await sql.raw<T>(query).execute(db())).rows;

beforeAll(async () => {
  database = await migratedDatabase('reports');
  // The world stands still at the real time (the recipes use current_date) until moved here.
  // Loading the month is not what is tested here (the quotas are, elsewhere): SMSC's 3 stats
  // requests a minute are raised on both sides for this fixture only.
  sandbox = await startSandbox({
    clock: new SandboxClock({ start: Math.floor(Date.now() / 1000) * 1000, speed: 0 }),
    seed: 31,
    world: { historyDays: 40, futureDays: 0, messagesPerDay: 300 },
    limits: { statsPerMinute: 1000, identicalPerMinute: 1000 },
  });
  since = zoneDayStart(sandbox.clock.now() - 30 * DAY, TZ);
  const config = {};
  await syncOnce(sandbox, database.warehouse, { streams: ['outbound', 'tariffs'], since: new Date(since), config });
  // A month of daily statistics, both balances.
  const [stats] = await syncOnce(sandbox, database.warehouse, { streams: ['stats'], since: new Date(since), config, quota: { statsPerMinute: 1000, identicalPerMinute: 1000 } });
  expect(stats!.outcome).toBe('succeeded');
  // Statuses, costs and replies as of now.
  const final = await syncOnce(sandbox, database.warehouse, { streams: ['outbound', 'inbound'], config });
  expect(final.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
  truth = sandbox.world.truth('demo', sandbox.clock.now()).filter((v) => v.message.sendTs >= since);
}, 120_000);
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

/** Final statuses, from smsc-api.md's status table (not src/smsc/codes.ts, which the views' data comes from). */
const FINAL = new Set([-3, -2, 1, 2, 3, 4, 20, 22, 23, 24, 25]);
const isFinalStatus = (status: number) => FINAL.has(status);
const channelOf = (v: MessageView) => (v.message.format === 8 ? 'email' : 'sms');

function percentile(sorted: number[], p: number): number {
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

describe('reporting views', () => {
  it('delivery_daily adds up to the truth per day and channel', async () => {
    const expected = new Map<string, { sent: number; delivered: number; failed: number; pending: number; parts: number; cost: number }>();
    for (const v of truth) {
      const key = `${zoneDay(v.message.sendTs, TZ)}|${channelOf(v)}`;
      const e = expected.get(key) ?? { sent: 0, delivered: 0, failed: 0, pending: 0, parts: 0, cost: 0 };
      e.sent += 1;
      if ([1, 2, 4].includes(v.status)) e.delivered += 1;
      else if (isFinalStatus(v.status)) e.failed += 1;
      else e.pending += 1;
      e.parts += v.message.parts;
      e.cost += v.cost;
      expected.set(key, e);
    }
    const got = await rows<{ day: string; channel: string; sent: number; delivered: number; failed: number; pending: number; parts: number; cost: string }>(`
      SELECT day, channel, sum(sent)::int AS sent, sum(delivered)::int AS delivered, sum(failed)::int AS failed,
             sum(pending)::int AS pending, sum(parts)::int AS parts, sum(cost)::text AS cost
      FROM smsc.delivery_daily GROUP BY day, channel ORDER BY day, channel`);
    expect(got.length).toBe(expected.size);
    for (const g of got) {
      const e = expected.get(`${g.day}|${g.channel}`)!;
      expect({ ...g }).toEqual({ day: g.day, channel: g.channel, sent: e.sent, delivered: e.delivered, failed: e.failed, pending: e.pending, parts: e.parts, cost: moneyText(e.cost) });
    }
  });

  it('delivery_latency_daily gives the percentiles of sending-to-final-status seconds', async () => {
    const latencies = new Map<string, number[]>();
    for (const v of truth) {
      const last = v.message.timeline.filter((s) => s.at <= sandbox.clock.now()).at(-1)!;
      if (!isFinalStatus(last.status)) continue;
      const key = `${zoneDay(v.message.sendTs, TZ)}|${channelOf(v)}`;
      latencies.set(key, [...(latencies.get(key) ?? []), (last.at - v.message.sendTs) / 1000]);
    }
    const got = await rows<{ day: string; channel: string; messages: number; p50_seconds: number; p90_seconds: number; max_seconds: string }>(
      'SELECT day, channel, messages, p50_seconds, p90_seconds, max_seconds::float8 AS max_seconds FROM smsc.delivery_latency_daily',
    );
    expect(got.length).toBe(latencies.size);
    for (const g of got) {
      const values = latencies.get(`${g.day}|${g.channel}`)!.sort((a, b) => a - b);
      expect(g.messages).toBe(values.length);
      expect(g.p50_seconds).toBeCloseTo(percentile(values, 0.5), 6);
      expect(g.p90_seconds).toBeCloseTo(percentile(values, 0.9), 6);
      expect(Number(g.max_seconds)).toBe(values.at(-1));
    }
  });

  it('reply_rate_daily matches each reply to the last message sent to its number before it', async () => {
    const replies = sandbox.world.repliesAt('demo', sandbox.clock.now());
    const byPhone = new Map<string, MessageView[]>();
    for (const v of truth) byPhone.set(v.message.phone, [...(byPhone.get(v.message.phone) ?? []), v]);
    const replied = new Map<string, Set<bigint>>();
    const count = new Map<string, number>();
    for (const r of replies) {
      const match = (byPhone.get(r.phone) ?? []).filter((v) => v.message.sendTs <= r.receivedTs).sort((a, b) => b.message.sendTs - a.message.sendTs || (b.message.intId > a.message.intId ? 1 : -1))[0];
      if (!match) continue;
      const key = `${zoneDay(match.message.sendTs, TZ)}|${match.message.sender}`;
      replied.set(key, (replied.get(key) ?? new Set()).add(match.message.intId));
      count.set(key, (count.get(key) ?? 0) + 1);
    }
    const got = await rows<{ day: string; sender_id: string; sent: number; replied: number; replies: number }>(
      'SELECT day, sender_id, sent, replied, replies FROM smsc.reply_rate_daily WHERE replies > 0',
    );
    expect(got.length).toBe(replied.size);
    for (const g of got) {
      const key = `${g.day}|${g.sender_id}`;
      expect([key, g.replied, g.replies]).toEqual([key, replied.get(key)!.size, count.get(key)]);
      expect(g.sent).toBe(truth.filter((v) => channelOf(v) === 'sms' && v.message.sender === g.sender_id && zoneDay(v.message.sendTs, TZ) === g.day).length);
    }
  });

  it('cost_reconciliation_daily and completeness_daily agree with SMSC on settled days, and flag a lost message', async () => {
    const settled = (await rows<{ day: string; difference: string; flagged: boolean; own_login: boolean; messages_cost: string | null }>(
      `SELECT day::text, difference::text, flagged, own_login, messages_cost::text FROM smsc.cost_reconciliation_daily
       WHERE day > '${zoneDay(since, TZ)}' AND day < '${zoneDay(sandbox.clock.now() - 3 * DAY, TZ)}' ORDER BY day`,
    ));
    const own = settled.filter((r) => r.own_login);
    expect(own.length).toBeGreaterThan(20);
    for (const r of own) expect([r.day, Number(r.difference), r.flagged]).toEqual([r.day, 0, false]);
    expect(settled.filter((r) => !r.own_login).every((r) => r.messages_cost === null)).toBe(true);
    const gaps = await rows<{ gap: number }>('SELECT gap FROM smsc.completeness_daily');
    expect(gaps.length).toBeGreaterThan(25);
    expect(gaps.every((g) => g.gap === 0)).toBe(true);

    // A message goes missing from a settled day: finance and the completeness check see it.
    const day = own[5]!.day;
    const lost = truth.filter((v) => zoneDay(v.message.sendTs, TZ) === day).sort((a, b) => b.cost - a.cost)[0]!;
    await sql`DELETE FROM smsc.outbound_messages WHERE int_id = ${lost.message.intId.toString()}`.execute(db());
    const [flag] = await rows<{ difference: string; flagged: boolean }>(`SELECT difference::text, flagged FROM smsc.cost_reconciliation_daily WHERE own_login AND day = '${day}'`);
    expect(flag).toEqual({ difference: moneyText(lost.cost), flagged: true });
    expect(await rows(`SELECT day::text, gap FROM smsc.completeness_daily WHERE gap <> 0`)).toEqual([{ day, gap: 1 }]);
    const status = await readStatus(db(), sandboxConfig(sandbox), sandbox.clock);
    const reported = truth.filter((v) => zoneDay(v.message.sendTs, TZ) === day).length;
    expect(status[0]!.streams.find((s) => s.stream === 'stats')!.warnings).toEqual([
      `completeness gap on ${day}: SMSC counts ${reported} messages, the warehouse holds ${reported - 1} (1 missing); ` +
        "day by day: SELECT * FROM smsc.completeness_daily WHERE account = 'demo' AND gap <> 0",
    ]);
    sandbox.clock.advance(61_000);
    const [stats] = await syncOnce(sandbox, database.warehouse, { streams: ['stats'] });
    expect(stats!.warnings.some((w) => w.startsWith(`completeness gap on ${day}`))).toBe(true);

    // A second day loses two messages: still one warning line, for both days.
    const day2 = own[9]!.day;
    const lost2 = truth.filter((v) => zoneDay(v.message.sendTs, TZ) === day2).slice(0, 2);
    for (const v of lost2) await sql`DELETE FROM smsc.outbound_messages WHERE int_id = ${v.message.intId.toString()}`.execute(db());
    const reported2 = truth.filter((v) => zoneDay(v.message.sendTs, TZ) === day2).length;
    const folded = await readStatus(db(), sandboxConfig(sandbox), sandbox.clock);
    expect(folded[0]!.streams.find((s) => s.stream === 'stats')!.warnings).toEqual([
      `completeness gap on 2 days from ${day} to ${day2}: SMSC counts ${reported + reported2} messages, the warehouse holds ${reported + reported2 - 3} (3 missing); ` +
        "day by day: SELECT * FROM smsc.completeness_daily WHERE account = 'demo' AND gap <> 0",
    ]);
  });

  it('tariff_on_day gives the price in force at the end of a day', async () => {
    const today = zoneDay(sandbox.clock.now(), TZ);
    const zone1 = sandbox.world.account('demo')!.pricesAt(sandbox.clock.now()).zones.get(1)!.api;
    sandbox.clock.advance(DAY);
    sandbox.world.setPrice('demo', sandbox.clock.now(), { zone: 1, field: 'api', value: 199 });
    sandbox.clock.advance(60_000);
    await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'] });
    const priceOn = async (day: string) => (await rows<{ api: string }>(`SELECT api::text FROM smsc.tariff_on_day('demo', '${day}') WHERE kind = 'zone' AND key = '1'`)).map((r) => r.api);
    expect(await priceOn(today)).toEqual([moneyText(zone1)]);
    expect(await priceOn(zoneDay(sandbox.clock.now(), TZ))).toEqual(['1.99']);
    expect((await rows(`SELECT kind FROM smsc.tariff_on_day('demo', '${today}') ORDER BY kind`)).map((r: any) => r.kind)).toEqual(
      expect.arrayContaining(['email', 'operator', 'zone']),
    );
    // Every price with the account's currency (the emulator's account is in roubles).
    expect(await rows(`SELECT DISTINCT currency FROM smsc.tariff_on_day('demo', '${today}')`)).toEqual([{ currency: 'RUB' }]);
  });

  it('every README recipe runs as written and returns rows', async () => {
    expect(recipes.length).toBeGreaterThanOrEqual(6);
    // The lost message of the test above keeps one reconciliation and one completeness row.
    for (const recipe of recipes) expect((await rows(recipe)).length, recipe).toBeGreaterThan(0);
  });

  it('carries a comment on every table, view and column of the views', async () => {
    const missing = await rows<{ name: string }>(`
      SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'smsc' AND c.relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL`);
    expect(missing).toEqual([]);
    const columns = await rows<{ n: number }>(`
      SELECT count(*)::int AS n FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'smsc' AND c.relname = 'delivery_daily' AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NOT NULL`);
    expect(columns[0]!.n).toBeGreaterThanOrEqual(6);
  });
});

describe('the read-only role', () => {
  it.skipIf(!testServerUrl())('reads every table and view, and is refused every change', async () => {
    const role = `smsc_reader_${randomBytes(3).toString('hex')}`;
    await grantReader(db(), role);
    await grantReader(db(), role); // idempotent
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query(`SET ROLE ${role}`);
      const relations = (await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'smsc' ORDER BY 1`)).rows.map((r) => r.table_name as string);
      expect(relations).toEqual(expect.arrayContaining(['delivery_daily', 'cost_reconciliation_daily', 'reply_rate_daily', 'delivery_latency_daily', 'completeness_daily', 'outbound_messages']));
      for (const r of relations) await client.query(`SELECT * FROM smsc.${r} LIMIT 1`);
      await client.query(`SELECT * FROM smsc.tariff_on_day('demo', current_date)`);
      const refused = async (statement: string) => {
        const error = await client.query(statement).then(() => undefined, (e: { code?: string }) => e);
        expect(error?.code, statement).toBe('42501'); // insufficient_privilege
      };
      await refused(`INSERT INTO smsc.accounts VALUES ('x', 'x', 'UTC', now())`);
      await refused(`UPDATE smsc.outbound_messages SET cost = 0`);
      await refused(`DELETE FROM smsc.inbound_messages`);
      await refused(`TRUNCATE smsc.daily_stats`);
      await refused(`CREATE TABLE smsc.mine (x int)`);
      await refused(`CREATE VIEW smsc.mine AS SELECT 1`);
      await refused(`CREATE TABLE public.mine (x int)`);
      await refused(`CREATE SCHEMA mine`);
      await refused(`DROP VIEW smsc.delivery_daily`);
    } finally {
      await client.query('RESET ROLE');
      await client.query(`DROP OWNED BY ${role}`);
      await client.query(`DROP ROLE ${role}`);
      await client.end();
    }
  });
});
