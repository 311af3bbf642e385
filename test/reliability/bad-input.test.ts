// Bad-input suite: a corpus of malformed API rows. Each lands in rejected_rows with a reason
// naming the field and the row as it came; the valid rows of the same page load; the run
// succeeds. The emulator corrupts rows on the wire, raw bytes included (invalid UTF-8).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { decodeUtf8 } from '../../src/smsc/utf8.ts';
import { startOfLocalDay } from '../../src/time/zoned-time.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { syncOnce } from '../helpers/sync.ts';
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
    const since = new Date(startOfLocalDay(T0 - 8 * 86_400_000, 'Europe/Moscow'));
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
