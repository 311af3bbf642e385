// Replies and history rows around 2026's daylight-saving switches, synced end to end
// (emulator account in the zone -> runSync -> warehouse), land at the right instants.
// Replies carry only zone-local text, so they are the real test; history rows are also read
// once with their Unix timestamps deleted, so that their date text is what is read.
// Expected values come from the hand-written switch table (helpers/switches-2026.ts) and
// arithmetic in the test, never from src/time (which the emulator itself uses to write its dates: the raw text
// it wrote is checked against this file's arithmetic too).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountConfig, configWithDefaults } from '../../src/config.ts';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import { runSync } from '../../src/sync/sync.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { instantOf, localText, MINUTE, SWITCHES, type Switch, wallText } from '../helpers/switches-2026.ts';
import { testLogger } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const SECOND = 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Where messages are sent and replies arrive, from the switch: before, across and after it. */
const POINTS = [-90 * MINUTE, -60 * MINUTE, -30 * MINUTE, -SECOND, 0, SECOND, 30 * MINUTE, HOUR - SECOND, HOUR, 90 * MINUTE];

const iso = (ms: number) => new Date(ms).toISOString();

let database: TestDatabase;
beforeAll(async () => {
  database = await migratedDatabase('daylight_saving');
});
afterAll(() => database.drop());
const db = () => database.warehouse.db;

/** One emulator for a switch: two accounts in the zone with the same messages and replies at the points. */
async function emulatorAround(sw: Switch): Promise<Sandbox> {
  const at = Date.parse(sw.at);
  const sandbox = await startSandbox({
    clock: new SandboxClock({ start: at + 2 * DAY, speed: 0 }),
    world: {
      historyDays: 3,
      futureDays: 0,
      accounts: ['intact', 'text'].map((login) => ({ login, password: 'p', timezone: sw.zone, messagesPerDay: 0, toPhones: ['79037700001'] })),
    },
  });
  for (const p of POINTS) {
    for (const login of ['intact', 'text']) {
      // Delivered 7 minutes later: last_date crosses the switch too.
      sandbox.world.addMessage(login, { sendTs: at + p, deliveredTs: at + p + 7 * MINUTE });
      sandbox.world.addReply(login, { receivedTs: at + p, sentTs: at + p - 5 * SECOND });
    }
  }
  return sandbox;
}

async function sync(sandbox: Sandbox, sw: Switch, name: string, login: string): Promise<void> {
  const account: AccountConfig = { name, login, password: 'p', apikey: undefined, baseUrl: sandbox.url, timezone: sw.zone };
  const summaries = await runSync({
    config: configWithDefaults([account]),
    warehouse: database.warehouse,
    logger: testLogger,
    streams: ['outbound', 'inbound'],
    since: new Date(Date.parse(sw.at) - DAY),
    clock: sandbox.clock,
    client: { timeoutMs: 5000, minBackoffMs: 5, maxBackoffMs: 20 },
  });
  expect(summaries.map((s) => [s.stream, s.outcome, s.error ?? null])).toEqual([['outbound', 'succeeded', null], ['inbound', 'succeeded', null]]);
}

interface Held {
  readonly raw: Record<string, unknown>;
  readonly first: string;
  readonly second: string | null;
}

async function replies(account: string): Promise<Held[]> {
  const rows = await sql<{ raw: string; received_at: Date; sent_at: Date | null }>`
    SELECT raw::text AS raw, received_at, sent_at FROM smsc.inbound_messages WHERE account = ${account} ORDER BY id`.execute(db());
  return rows.rows.map((r) => ({ raw: JSON.parse(r.raw), first: iso(new Date(r.received_at).getTime()), second: r.sent_at ? iso(new Date(r.sent_at).getTime()) : null }));
}

async function history(account: string): Promise<Held[]> {
  const rows = await sql<{ raw: string; sent_at: Date; status_changed_at: Date | null }>`
    SELECT raw::text AS raw, sent_at, status_changed_at FROM smsc.outbound_messages WHERE account = ${account} ORDER BY int_id`.execute(db());
  return rows.rows.map((r) => ({ raw: JSON.parse(r.raw), first: iso(new Date(r.sent_at).getTime()), second: r.status_changed_at ? iso(new Date(r.status_changed_at).getTime()) : null }));
}

describe.each(SWITCHES)('$zone, $kind switch at $at', (sw) => {
  const at = Date.parse(sw.at);
  const overlap = Math.max(0, sw.before - sw.after) * MINUTE;
  const gap = Math.max(0, sw.after - sw.before) * MINUTE;
  const id = `${sw.zone.split('/')[1]!.toLowerCase()}-${sw.kind}`;
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await emulatorAround(sw);
    await sync(sandbox, sw, `${id}-intact`, 'intact');
    // The second account reads its history without Unix timestamps, and, where the clock
    // skips an hour, one reply whose text (as a bad row might) names times inside the gap.
    sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', rate: 1, every: 1, patch: { send_timestamp: undefined, last_timestamp: undefined } });
    if (gap > 0) {
      sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_answers', count: 1, every: 1000, patch: { received: wallText(at + sw.before * MINUTE + 30 * MINUTE), sent: wallText(at + sw.before * MINUTE) } });
    }
    await sync(sandbox, sw, `${id}-text`, 'text');
    expect(sandbox.quotas.violations).toEqual([]);
  });
  afterAll(() => sandbox.stop());

  it('writes the zone-local text of every instant as the zone shows it (checked apart from src/time)', async () => {
    const truth = sandbox.world.repliesAt('intact', sandbox.clock.now());
    const held = await replies(`${id}-intact`);
    expect(held.map((h) => [h.raw.received, h.raw.sent])).toEqual(truth.map((r) => [localText(sw, r.receivedTs), localText(sw, r.sentTs)]));
    const messages = sandbox.world.truth('intact', sandbox.clock.now());
    expect((await history(`${id}-intact`)).map((h) => [h.raw.send_date, h.raw.last_date])).toEqual(messages.map((v) => [localText(sw, v.message.sendTs), localText(sw, v.lastTs)]));
  });

  it('stores replies at the instants their text stands for: exact, but in the overlap the earlier one', async () => {
    const truth = sandbox.world.repliesAt('intact', sandbox.clock.now());
    expect(truth).toHaveLength(POINTS.length);
    const held = await replies(`${id}-intact`);
    expect(held.map((h) => [h.first, h.second])).toEqual(truth.map((r) => [iso(instantOf(sw, localText(sw, r.receivedTs))), iso(instantOf(sw, localText(sw, r.sentTs)))]));
    // Spelled out: only a reply that arrived in the repeated hour is moved, by exactly that hour.
    const moved = truth.filter((r, i) => held[i]!.first !== iso(r.receivedTs));
    expect(moved.map((r) => iso(r.receivedTs))).toEqual(truth.filter((r) => r.receivedTs >= at && r.receivedTs < at + overlap).map((r) => iso(r.receivedTs)));
    for (const r of moved) expect(held[truth.indexOf(r)]!.first).toBe(iso(r.receivedTs - overlap));
  });

  it('stores history rows at their Unix timestamps where given, and from their text where not', async () => {
    const truth = sandbox.world.truth('intact', sandbox.clock.now());
    expect(truth).toHaveLength(POINTS.length);
    expect((await history(`${id}-intact`)).map((h) => [h.first, h.second])).toEqual(truth.map((v) => [iso(v.message.sendTs), iso(v.lastTs)]));
    const text = await history(`${id}-text`);
    expect(text.every((h) => !('send_timestamp' in h.raw) && !('last_timestamp' in h.raw))).toBe(true);
    expect(text.map((h) => [h.raw.send_date, h.first, h.second])).toEqual(
      truth.map((v) => [localText(sw, v.message.sendTs), iso(instantOf(sw, localText(sw, v.message.sendTs))), iso(instantOf(sw, localText(sw, v.lastTs)))]),
    );
  });

  // Only a spring switch has a gap: the test exists for those, and is not a skip for the rest.
  if (gap > 0) it('reads a time inside the spring gap with the offset before it: it lands after the gap', async () => {
    const held = (await replies(`${id}-text`))[0]!;
    // The clock went from (switch, old offset) straight on to the new: 30 minutes into the gap
    // is 30 minutes after the switch; the gap's first minute is the switch itself.
    expect(held.raw.received).toBe(wallText(at + sw.before * MINUTE + 30 * MINUTE));
    expect([held.first, held.second]).toEqual([iso(at + 30 * MINUTE), iso(at)]);
  });
});

describe('the cases people ask about, spelled out', () => {
  const cases: [account: string, text: string, stored: string[]][] = [
    // The example: Kyiv's clock shows 02:30 once that night, at 00:30Z (EET, +2).
    ['kyiv-spring-intact', '29.03.2026 02:30:00', ['2026-03-29T00:30:00.000Z']],
    // Berlin shows 02:30 twice on 25 October (00:30Z CEST, 01:30Z CET): both are read as the first.
    ['berlin-autumn-intact', '25.10.2026 02:30:00', ['2026-10-25T00:30:00.000Z', '2026-10-25T00:30:00.000Z']],
    ['new_york-autumn-intact', '01.11.2026 01:30:00', ['2026-11-01T05:30:00.000Z', '2026-11-01T05:30:00.000Z']],
    ['sydney-autumn-intact', '05.04.2026 02:30:00', ['2026-04-04T15:30:00.000Z', '2026-04-04T15:30:00.000Z']],
    ['sydney-spring-intact', '04.10.2026 03:30:00', ['2026-10-03T16:30:00.000Z']],
    ['almaty-autumn-intact', '25.10.2026 06:30:00', ['2026-10-25T01:30:00.000Z']],
    // Inside New York's gap (02:00–02:59 on 8 March does not exist): 02:30 EST is 07:30Z, 03:30 EDT.
    ['new_york-spring-text', '08.03.2026 02:30:00', ['2026-03-08T07:30:00.000Z']],
    ['berlin-spring-text', '29.03.2026 02:30:00', ['2026-03-29T01:30:00.000Z']],
  ];
  it.each(cases)('%s: a reply dated %s is stored at %j', async (account, text, stored) => {
    const rows = await sql<{ received_at: Date }>`
      SELECT received_at FROM smsc.inbound_messages WHERE account = ${account} AND raw->>'received' = ${text} ORDER BY id`.execute(db());
    expect(rows.rows.map((r) => iso(new Date(r.received_at).getTime()))).toEqual(stored);
  });
});
