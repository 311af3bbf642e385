// The README's example queries, taken from the README itself and run as written against a
// warehouse synced from the emulator; their figures are checked against the ground truth.
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import type { TestDatabase } from './helpers/database.ts';
import { moneyText, zoneDay, zoneDayStart } from './helpers/oracle.ts';
import { syncOnce } from './helpers/sync.ts';
import { migratedDatabase } from './helpers/warehouse.ts';

const DAY = 86_400_000;
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### Example queries'), readme.indexOf('## Reports'));
const queries = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('readme');
  // The queries use now(): the emulator's world stands still at the real time.
  sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 20, futureDays: 0 } });
  const summaries = await syncOnce(sandbox, database.warehouse);
  expect(summaries.every((s) => s.outcome === 'succeeded')).toBe(true);
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

const run = async (query: string) => (await sql.raw<Record<string, any>>(query).execute(database.warehouse.db)).rows;

/** Messages a first run without --since holds: from midnight (Moscow) 7 days back (README, `sync`). */
const held = () => {
  const from = zoneDayStart(sandbox.clock.now() - 7 * DAY, 'Europe/Moscow');
  return sandbox.world.truth('demo', sandbox.clock.now()).filter((v) => v.message.sendTs >= from);
};
const iso = (ms: number) => new Date(ms).toISOString();
/** Rows in one order whatever the order of ties in the query's ORDER BY. */
const sorted = <T,>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort();

describe('README example queries', () => {
  it('are three, each a single statement', () => {
    expect(queries).toHaveLength(3);
  });

  it('delivery rate by operator matches the truth, operator by operator', async () => {
    // The query asks for the last 7 days by PostgreSQL's now(): run it in a transaction, whose
    // now() stands still, and take the instant it stood for from the same transaction.
    const { since, rows } = await database.warehouse.db.transaction().execute(async (trx) => {
      const [bound] = (await sql<{ us: string }>`SELECT (extract(epoch FROM now() - interval '7 days') * 1000000)::bigint::text AS us`.execute(trx)).rows;
      return { since: Number(bound!.us) / 1000, rows: (await sql.raw<Record<string, any>>(queries[0]!).execute(trx)).rows };
    });
    const byOperator = new Map<string, { sent: number; delivered: number }>();
    // (Of the messages held: the window may reach before the synced one, which began at
    // midnight 7 days back, when the session's zone had a switch in the week.)
    for (const v of held()) {
      if (v.message.format === 8 || v.message.sendTs < since) continue;
      const operator = v.message.operator?.operator ?? 'unknown';
      const e = byOperator.get(operator) ?? { sent: 0, delivered: 0 };
      e.sent += 1;
      // Delivered, read, link clicked (smsc-api.md's status table).
      if ([1, 2, 4].includes(v.status)) e.delivered += 1;
      byOperator.set(operator, e);
    }
    // round(100.0 * delivered / sent, 1), half away from zero, in integer tenths.
    const pct = (d: number, s: number) => {
      const tenths = Math.floor((2000 * d + s) / (2 * s));
      return `${Math.floor(tenths / 10)}.${tenths % 10}`;
    };
    const expected = [...byOperator].map(([operator, e]) => ({ operator, sent: String(e.sent), delivered: String(e.delivered), delivered_pct: pct(e.delivered, e.sent) }));
    expect(sorted(rows.map((r) => ({ ...r })))).toEqual(sorted(expected));
    for (let i = 1; i < rows.length; i++) expect(Number(rows[i - 1]!.sent)).toBeGreaterThanOrEqual(Number(rows[i]!.sent));
    // The figures a reader looks for first, spelled out.
    expect(rows.find((r) => r.operator === 'МТС')).toEqual(expected.find((e) => e.operator === 'МТС'));
    expect(Number(rows.find((r) => r.operator === 'МТС')!.delivered)).toBeGreaterThan(0);
    expect(rows.some((r) => r.operator === 'unknown')).toBe(true);
  });

  it('spending per day and sender adds up to the truth to the kopeck', async () => {
    const rows = await run(queries[1]!);
    const byKey = new Map<string, { day: string; sender_id: string; messages: number; parts: number; cost: number }>();
    for (const v of held()) {
      const day = zoneDay(v.message.sendTs, 'Europe/Moscow');
      const key = `${day}|${v.message.sender}`;
      const e = byKey.get(key) ?? { day, sender_id: v.message.sender, messages: 0, parts: 0, cost: 0 };
      e.messages += 1;
      e.parts += v.message.parts;
      e.cost += v.cost;
      byKey.set(key, e);
    }
    // Exact: counts as int8 text, numeric sums as text, kopecks as integers.
    const expected = [...byKey.values()].map((e) => ({ day: e.day, sender_id: e.sender_id, messages: String(e.messages), parts: String(e.parts), cost: moneyText(e.cost) }));
    expect(expected.length).toBeGreaterThan(20);
    expect(sorted(rows.map((r) => ({ ...r })))).toEqual(sorted(expected));
    // ORDER BY day DESC, cost DESC.
    for (let i = 1; i < rows.length; i++) {
      const [a, b] = [rows[i - 1]!, rows[i]!];
      expect(a.day > b.day || (a.day === b.day && Number(a.cost) >= Number(b.cost)), `${a.day} ${a.cost} before ${b.day} ${b.cost}`).toBe(true);
    }
  });

  it('pairs every reply with the last message sent to its number before it', async () => {
    const rows = await run(queries[2]!);
    const messages = held();
    const expected = sandbox.world.repliesAt('demo', sandbox.clock.now()).map((r) => {
      // The last message held that went to the reply's number at or before its arrival (a
      // batch sends one text to a number at one instant: any of its copies is the same pair).
      let match: (typeof messages)[number] | undefined;
      for (const v of messages) if (v.message.phone === r.phone && v.message.sendTs <= r.receivedTs && (!match || v.message.sendTs >= match.message.sendTs)) match = v;
      return { received_at: iso(r.receivedTs), phone: r.phone, reply: r.text, in_reply_to: match?.message.text ?? null, sent_at: match ? iso(match.message.sendTs) : null };
    });
    const got = rows.map((r) => ({ received_at: iso(new Date(r.received_at).getTime()), phone: r.phone, reply: r.reply, in_reply_to: r.in_reply_to, sent_at: r.sent_at === null ? null : iso(new Date(r.sent_at).getTime()) }));
    expect(sorted(got)).toEqual(sorted(expected));
    // Both kinds are there: replies to a message held, and strangers (or replies to older ones).
    expect(expected.filter((e) => e.in_reply_to !== null).length).toBeGreaterThan(0);
    expect(expected.filter((e) => e.in_reply_to === null).length).toBeGreaterThan(0);
    for (let i = 1; i < got.length; i++) expect(got[i - 1]!.received_at >= got[i]!.received_at).toBe(true);
  });
});
