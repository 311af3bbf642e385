// Bad-input suite: a corpus of malformed API rows. Each lands in rejected_rows with a reason
// naming the field and the row as it came; the valid rows of the same page load; the run
// succeeds. The emulator corrupts rows on the wire, raw bytes included (invalid UTF-8).
// The same bad rows re-read run after run at the production cadence never become a cursor
// and are held once each; fields SMSC leaves out (cost) or adds (unknown keys) are kept right.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/world.ts';
import { decodeUtf8 } from '../../src/smsc/utf8.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { moneyText, smscDateTimeText, zoneDayStart } from '../helpers/oracle.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { logLines, syncOnce } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('bad_input');
  sandbox = await testSandbox({ world: { historyDays: 10, futureDays: 1, messagesPerDay: 1600 } });
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

/** [patch of a history row, the reason it must be refused with]. */
const OUTBOUND_CORPUS: [Record<string, unknown>, string][] = [
  [{ int_id: undefined }, 'int_id: expected a whole number, got undefined'],
  [{ phone: undefined }, 'phone: expected text, got undefined'],
  [{ status: 'delivered' }, 'status: expected a whole number, got "delivered"'],
  [{ message: { text: 'привет' } }, 'message: expected text, got {"text":"привет"}'],
  [{ sms_cnt: 'two' }, 'sms_cnt: expected a whole number, got "two"'],
  [{ sms_cnt: -2 }, 'sms_cnt: -2 is negative; expected a count'],
  [{ send_timestamp: undefined, send_date: '31.02.2026 10:00:00' }, 'send_date: "31.02.2026 10:00:00" is not a date DD.MM.YYYY hh:mm:ss'],
  [{ send_timestamp: 'yesterday' }, 'send_date: timestamp "yesterday" is not a whole number of seconds'],
  [{ send_timestamp: 99_999_999_999 }, 'send_date: 99999999999 is outside 2000–2100'],
  [{ cost: 'n/a' }, 'cost: expected an amount like "1.60", got "n/a"'],
  [{ int_id: '9223372036854775808' }, 'int_id: 9223372036854775808 does not fit a 64-bit integer'],
  [{ crc: 2n ** 64n }, 'crc: 18446744073709551616 does not fit a 64-bit integer'],
  [{ message: 'до\u0000после' }, 'message: contains a NUL byte, which PostgreSQL text cannot hold'],
  [{ message: 'x'.repeat(100_000) }, 'message: 100000 characters, more than the 65536 accepted'],
  // Lone surrogates in a patch go on the wire as the raw bytes 0xFF and 0xFE.
  [{ message: 'оплата \uDCFF принята' }, 'message: not valid UTF-8 (byte 0xFF)'],
  [{ flag: 'x\uDCFE' }, 'not valid UTF-8 (byte 0xFE)'],
  [{ flag: 'a\u0000b' }, 'contains a NUL byte, which PostgreSQL cannot store'],
];
const INBOUND_CORPUS: [Record<string, unknown>, string][] = [
  [{ received: 'вчера' }, 'received: "вчера" is not a date DD.MM.YYYY hh:mm:ss'],
  [{ id: 'abc' }, 'id: expected a whole number, got "abc"'],
  [{ message: 'да \uDCC0' }, 'message: not valid UTF-8 (byte 0xC0)'],
];

describe('a corpus of malformed API rows', () => {
  it('lands in rejected_rows with the reason, while the valid rows of the same pages load', async () => {
    // Every 7th row of three history pages, the corpus in turn; every 5th reply.
    sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', patches: OUTBOUND_CORPUS.map(([p]) => p), every: 7, count: 3 });
    sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_answers', patches: INBOUND_CORPUS.map(([p]) => p), every: 5 });
    sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_stat', patch: { credit: 'много' }, every: 1 });
    const since = new Date(zoneDayStart(T0 - 8 * 86_400_000, 'Europe/Moscow'));
    const [outbound, inbound, stats] = await syncOnce(sandbox, database.warehouse, { since, streams: ['outbound', 'inbound', 'stats'] });
    expect([outbound!.outcome, inbound!.outcome]).toEqual(['succeeded', 'succeeded']);
    expect(stats!.outcome).not.toBe('failed');
    expect(sandbox.faults.applied.get('corruptRows')).toBe(5);

    const rejected = await database.warehouse.db.selectFrom('smsc.rejected_rows').selectAll().orderBy('id').execute();
    const reasons = (stream: string) => [...new Set(rejected.filter((r) => r.stream === stream).map((r) => r.reason))];
    expect(reasons('outbound')).toEqual(OUTBOUND_CORPUS.map(([, reason]) => reason));
    expect(reasons('inbound')).toEqual(INBOUND_CORPUS.map(([, reason]) => reason));
    expect(reasons('stats')).toEqual(['credit: expected an amount like "1.60", got "много"']);

    // Every row of a corrupted page was either loaded or rejected: none lost, none invented.
    const outboundRejected = rejected.filter((r) => r.stream === 'outbound');
    expect(outboundRejected.length).toBe(outbound!.rejected);
    const truth = sandbox.world.truth('demo', T0).filter((v) => v.message.sendTs >= since.getTime());
    const loaded = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_messages`.execute(database.warehouse.db)).rows[0]!.n;
    expect(loaded + outboundRejected.length).toBe(truth.length);
    // 143 rows of each of three pages (the last may be shorter).
    expect(outboundRejected.length).toBeGreaterThan(2 * 143);
    expect(inbound!.inserted + inbound!.rejected).toBe(sandbox.world.repliesAt('demo', T0).length);
    // A refused row's int_id is not in the table (it was not half-loaded).
    const refusedIds = outboundRejected.map((r) => /"int_id":"?(\d+)/.exec(r.raw)?.[1]).filter((id): id is string => id !== undefined && id.length < 19);
    const held = await database.warehouse.db.selectFrom('smsc.outbound_messages').select('int_id').where('int_id', 'in', refusedIds).execute();
    expect(held).toEqual([]);

    // The row is kept as it came: the bad value is there to be read.
    const rawOf = (reason: string) => JSON.parse(outboundRejected.find((r) => r.reason === reason)!.raw);
    expect(rawOf('cost: expected an amount like "1.60", got "n/a"').cost).toBe('n/a');
    expect(rawOf('message: 100000 characters, more than the 65536 accepted').message).toHaveLength(100_000);
    expect(rawOf('message: not valid UTF-8 (byte 0xFF)').message).toBe('оплата \uDCFF принята');
    expect(rawOf('message: contains a NUL byte, which PostgreSQL text cannot hold').message).toBe('до\u0000после');
    expect(outboundRejected.every((r) => r.run_id === outbound!.runId)).toBe(true);
    const run = await database.warehouse.db.selectFrom('smsc.sync_runs').selectAll().where('run_id', '=', outbound!.runId).executeTakeFirstOrThrow();
    expect(run.rows_rejected).toBe(outboundRejected.length);
  });

  it('decodes UTF-8 exactly and keeps every stray byte recognisable, never as U+FFFD', () => {
    const valid = Buffer.from('Привет 🎉 €', 'utf8');
    expect(decodeUtf8(valid)).toBe('Привет 🎉 €');
    expect(decodeUtf8(Buffer.from([0x61, 0xff, 0x62]))).toBe('a\uDCFFb');
    // Overlong, truncated and surrogate-encoding sequences are bytes too.
    expect(decodeUtf8(Buffer.from([0xc0, 0xaf]))).toBe('\uDCC0\uDCAF');
    expect(decodeUtf8(Buffer.from([0xe2, 0x82]))).toBe('\uDCE2\uDC82');
    expect(decodeUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\uDCED\uDCA0\uDC80');
    expect(decodeUtf8(Buffer.from([0xf0, 0x9f, 0x8e, 0x89, 0xf5]))).toBe('🎉\uDCF5');
    expect(decodeUtf8(Buffer.from([0xff]))).not.toContain('\uFFFD');
  });
});

const MINUTE = 60_000;
const DAY = 86_400_000;
const TZ = 'Europe/Moscow';

describe('the same bad rows, re-read at the production cadence', () => {
  let rig: TestDatabase;
  let sb: Sandbox;
  beforeAll(async () => {
    rig = await migratedDatabase('bad_rows_cadence');
    sb = await testSandbox({ seed: 7, world: { historyDays: 3, futureDays: 1, messagesPerDay: 800, replyRate: 0.4 } });
  });
  afterAll(async () => {
    await sb.stop();
    await rig.drop();
    expect(sb.quotas.violations).toEqual([]);
  });

  it('never puts a rejected id in a cursor; later rows and replies keep coming; rejected_rows holds each bad row once, counting its re-reads', async () => {
    const BAD_INT_ID = '9223372036854775808';
    const BAD_REPLY_ID = 9_999_999_999_999_999_999n;
    const since = zoneDayStart(T0 - DAY, TZ);
    // The newest and the 4th newest SMS at T0 are on the newest page, which every run reads.
    const sms = sb.world.truth('demo', T0).filter((v) => v.message.format !== 8);
    const badMessages = [sms.at(-1)!, sms.at(-4)!].map((v) => v.message);
    const badReply = sb.world.repliesAt('demo', T0).at(-1)!;
    sb.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', rows: badMessages.map((m) => m.intId.toString()), patch: { int_id: BAD_INT_ID }, count: Infinity });
    sb.faults.inject({ kind: 'corruptRows', endpoint: 'get_answers', rows: [String(badReply.id)], patch: { id: BAD_REPLY_ID }, count: Infinity });
    const db = rig.warehouse.db;

    // Twelve runs of both streams, five emulated minutes apart.
    const runs: { outbound: string; inbound: string; rejected: [number, number] }[] = [];
    for (let run = 0; run < 12; run++) {
      if (run > 0) sb.clock.advance(5 * MINUTE);
      const [outbound, inbound] = await syncOnce(sb, rig.warehouse, { streams: ['outbound', 'inbound'], since: run === 0 ? new Date(since) : undefined });
      expect([outbound!.outcome, inbound!.outcome], `run ${run}: ${outbound!.error ?? ''} ${inbound!.error ?? ''}`).toEqual(['succeeded', 'succeeded']);
      runs.push({ outbound: outbound!.runId, inbound: inbound!.runId, rejected: [outbound!.rejected, inbound!.rejected] });
      // Every id in a cursor is the id of a row the warehouse holds; no rejected id is one.
      const state = Object.fromEntries((await db.selectFrom('smsc_internal.sync_state').select(['stream', 'cursor']).execute()).map((r) => [r.stream, r.cursor as any]));
      expect(JSON.stringify(state)).not.toMatch(new RegExp(`${BAD_INT_ID}|${BAD_REPLY_ID}`));
      for (const channel of ['sms', 'email'] as const) {
        const newest = state.outbound[channel].newest;
        if (newest !== undefined) expect(await db.selectFrom('smsc.outbound_messages').select('channel').where('int_id', '=', newest).executeTakeFirst(), `run ${run} ${channel}`).toEqual({ channel });
      }
      expect(await db.selectFrom('smsc.inbound_messages').select('id').where('id', '=', state.inbound.lastId).executeTakeFirst(), `run ${run}`).toEqual({ id: state.inbound.lastId });
    }
    const end = sb.clock.now();

    // Later rows and replies kept arriving: everything since --since but the bad rows is held.
    const bad = new Set(badMessages.map((m) => m.intId.toString()));
    for (const channel of ['sms', 'email'] as const) {
      const truth = sb.world
        .truth('demo', end)
        .filter((v) => (v.message.format === 8) === (channel === 'email') && v.message.sendTs >= since && !bad.has(v.message.intId.toString()))
        .map((v) => v.message.intId.toString());
      const held = (await db.selectFrom('smsc.outbound_messages').select('int_id').where('channel', '=', channel).orderBy('int_id').execute()).map((r) => r.int_id);
      // (Pages from the top cover the status window, which may reach before --since.)
      expect(held.filter((id) => BigInt(id) >= BigInt(truth[0]!)), channel).toEqual(truth);
    }
    expect(sb.world.truth('demo', end).filter((v) => v.message.sendTs > T0 + 50 * MINUTE).length).toBeGreaterThan(0);
    const replies = sb.world.repliesAt('demo', end).filter((r) => r.id !== badReply.id);
    expect(replies.filter((r) => r.receivedTs > T0).length).toBeGreaterThan(5);
    expect((await db.selectFrom('smsc.inbound_messages').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(replies.map((r) => String(r.id)));

    // One row per bad row, times_seen = how many times the emulator sent it, first and last seen when it did.
    const rejected = await db.selectFrom('smsc.rejected_rows').selectAll().orderBy('stream').orderBy('id').execute();
    const sent = (id: bigint | number) => sb.faults.rowsCorrupted.get(String(id))!;
    const expected = [
      ...badMessages.map((m) => ({ stream: 'outbound', crc: m.crc.toString(), reason: `int_id: ${BAD_INT_ID} does not fit a 64-bit integer`, sent: sent(m.intId) })),
      { stream: 'inbound', crc: undefined, reason: `id: ${BAD_REPLY_ID} does not fit a 64-bit integer`, sent: sent(badReply.id) },
    ];
    expect(
      rejected.map((r) => ({ stream: r.stream, crc: r.stream === 'outbound' ? /"crc":(\d+)/.exec(r.raw)?.[1] : undefined, reason: r.reason, times: r.times_seen, first: new Date(r.first_seen_at).getTime(), last: new Date(r.last_seen_at).getTime(), runId: r.run_id })),
    ).toEqual(
      expect.arrayContaining(
        expected.map((e) => ({ stream: e.stream, crc: e.crc, reason: e.reason, times: e.sent.times, first: e.sent.first, last: e.sent.last, runId: e.stream === 'outbound' ? runs[0]!.outbound : runs[0]!.inbound })),
      ),
    );
    expect(rejected).toHaveLength(3);
    // The newest page is read by (nearly) every run: the quieter-channel rule may skip one.
    for (const m of badMessages) expect(sent(m.intId).times).toBeGreaterThanOrEqual(10);
    expect(JSON.parse(rejected.find((r) => r.stream === 'inbound')!.raw)).toMatchObject({ phone: badReply.phone, received: smscDateTimeText(badReply.receivedTs, TZ) });

    // Counts and warnings report newly rejected rows only: the first run's.
    expect(runs.map((r) => r.rejected)).toEqual(runs.map((_, i) => (i === 0 ? [2, 1] : [0, 0])));
    const recorded = await db.selectFrom('smsc.sync_runs').select(['stream', 'rows_rejected']).orderBy('started_at').execute();
    expect(recorded.filter((r) => r.rows_rejected > 0)).toEqual([
      { stream: 'outbound', rows_rejected: 2 },
      { stream: 'inbound', rows_rejected: 1 },
    ]);
    const ours = new Set(runs.flatMap((r) => [r.outbound, r.inbound]));
    const warned = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'rows rejected' && ours.has(l.runId));
    expect(warned.map((l) => [l.runId, l.rejected])).toEqual([
      [runs[0]!.outbound, 2],
      [runs[0]!.inbound, 1],
    ]);
  });
});

describe('fields SMSC leaves out or adds', () => {
  let rig: TestDatabase;
  let sb: Sandbox;
  beforeAll(async () => {
    rig = await migratedDatabase('bad_input_fields');
    sb = await testSandbox({ seed: 11, world: { historyDays: 4, futureDays: 2, messagesPerDay: 400 } });
  });
  afterAll(async () => {
    await sb.stop();
    await rig.drop();
    expect(sb.quotas.violations).toEqual([]);
  });

  it('keeps fields the documentation does not list in raw, and never refuses a row for one', async () => {
    const extra = { flag: 1, extra: { nested: [1, 'два'] }, новое_поле: 'да', big: 2n ** 63n - 1n };
    sb.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', patch: extra, every: 3, count: 2 });
    sb.faults.inject({ kind: 'corruptRows', endpoint: 'get_answers', patch: extra, every: 2 });
    const since = new Date(zoneDayStart(T0 - DAY, TZ));
    const [outbound, inbound] = await syncOnce(sb, rig.warehouse, { streams: ['outbound', 'inbound'], since });
    expect([outbound!.outcome, inbound!.outcome, outbound!.rejected, inbound!.rejected]).toEqual(['succeeded', 'succeeded', 0, 0]);
    const db = rig.warehouse.db;
    expect(outbound!.inserted).toBe(sb.world.truth('demo', T0).filter((v) => v.message.sendTs >= since.getTime()).length);
    expect(inbound!.inserted).toBe(sb.world.repliesAt('demo', T0).length);
    const kept = await sql<{ n: number; big: string; nested: unknown }>`
      SELECT count(*)::int AS n, min(raw->>'big') AS big, min((raw->'extra'->'nested')::text) AS nested FROM smsc.outbound_messages WHERE raw ? 'новое_поле'`.execute(db);
    expect(kept.rows[0]!.n).toBeGreaterThan(100);
    expect(kept.rows[0]).toMatchObject({ big: '9223372036854775807', nested: '[1, "два"]' });
    const replies = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.inbound_messages WHERE (raw->>'flag')::int = 1 AND raw ? 'extra'`.execute(db);
    expect(replies.rows[0]!.n).toBe(Math.ceil(sb.world.repliesAt('demo', T0).length / 2));
    expect(await db.selectFrom('smsc.rejected_rows').selectAll().execute()).toEqual([]);
  });
});

describe('a cost SMSC leaves out', () => {
  let rig: TestDatabase;
  let sb: Sandbox;
  beforeAll(async () => {
    rig = await migratedDatabase('bad_input_cost');
    // An account whose every message the test places: 1200 delivered SMS a minute apart, the
    // last at T0; SMSC leaves out the cost of the first three.
    sb = await testSandbox({ world: { historyDays: 3, futureDays: 1, accounts: [{ ...DEFAULT_ACCOUNTS[0]!, messagesPerDay: 0 }] } });
    for (let i = 0; i < 1200; i++) sb.world.addMessage('demo', { sendTs: T0 - (1199 - i) * MINUTE, phone: `7916${String(1_000_000 + i)}`, text: `Заказ ${i}` });
  });
  afterAll(async () => {
    await sb.stop();
    await rig.drop();
    expect(sb.quotas.violations).toEqual([]);
  });

  it('is stored as unknown (NULL): no loss in the reconciliation, and the status refresh fills it in later', async () => {
    const db = rig.warehouse.db;
    const all = sb.world.truth('demo', T0);
    expect(all).toHaveLength(1200);
    const costless = all.slice(0, 3);
    const ids = costless.map((v) => v.message.intId.toString());
    sb.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', rows: ids, patch: { cost: undefined }, count: Infinity });
    const since = new Date(zoneDayStart(T0 - DAY, TZ));
    const [outbound] = await syncOnce(sb, rig.warehouse, { streams: ['outbound'], since });
    expect([outbound!.outcome, outbound!.rejected, outbound!.inserted]).toEqual(['succeeded', 0, 1200]);
    for (let run = 0; run < 5; run++) {
      const [stats] = await syncOnce(sb, rig.warehouse, { streams: ['stats'], since });
      if (stats!.outcome === 'succeeded') break;
      sb.clock.advance(20_000);
    }
    const costs = async () => (await db.selectFrom('smsc.outbound_messages').select('cost').where('int_id', 'in', ids).orderBy('int_id').execute()).map((r) => r.cost);
    expect(await costs()).toEqual([null, null, null]);
    expect(await db.selectFrom('smsc.outbound_status_changes').select('cost').where('int_id', 'in', ids).execute()).toEqual([{ cost: null }, { cost: null }, { cost: null }]);

    // The day's known costs fall short of SMSC's credit by exactly the unknown ones: not a loss.
    const dayOf = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(ms);
    const day = dayOf(costless[0]!.message.sendTs);
    const ofDay = all.filter((v) => dayOf(v.message.sendTs) === day);
    const unknown = costless.reduce((sum, v) => sum + v.cost, 0);
    const known = ofDay.reduce((sum, v) => sum + v.cost, 0) - unknown;
    expect(unknown).toBeGreaterThan(5);
    const [row] = (
      await sql<Record<string, unknown>>`
        SELECT messages_cost::text, difference::text, flagged, messages_cost_unknown FROM smsc.cost_reconciliation_daily WHERE own_login AND day = ${day}::date`.execute(db)
    ).rows;
    expect(row).toEqual({ messages_cost: moneyText(known), difference: moneyText(unknown), flagged: false, messages_cost_unknown: 3 });
    const delivery = await sql<{ unknown: number; cost: string }>`SELECT sum(cost_unknown)::int AS unknown, sum(cost)::text AS cost FROM smsc.delivery_daily WHERE day = ${day}::date`.execute(db);
    expect(delivery.rows[0]).toEqual({ unknown: 3, cost: moneyText(known) });

    // SMSC gives the costs again. The three are older than the newest page, and final: only the
    // status refresh (whole window once a day) reads them again.
    sb.faults.clear();
    sb.clock.advance(DAY + MINUTE);
    const [later] = await syncOnce(sb, rig.warehouse, { streams: ['outbound'] });
    expect(later!.outcome).toBe('succeeded');
    expect(await costs()).toEqual(costless.map((v) => moneyText(v.cost)));
    const filled = await db.selectFrom('smsc.outbound_status_changes').select(['reason', 'cost']).where('int_id', 'in', ids).where('reason', '=', 'cost').execute();
    expect(filled).toHaveLength(3);
  });
});
