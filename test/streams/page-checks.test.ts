// A page is checked against its request before anything of it is stored, and cursors are made
// of committed rows only: a server that ignores prev_id or after_id fails the run at once (and
// spends no further request on it), a server that caps its pages leaves no gap, a page with no
// readable row fails loudly, and a cursor poisoned by an older version is repaired.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { zoneDayStart } from '../helpers/oracle.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { syncOnce } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TZ = 'Europe/Moscow';

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('page_checks');
});
afterAll(() => database.drop());

const db = () => database.warehouse.db;
const historyRequests = () => sandbox.requests.filter((r) => r.endpoint === 'get_messages').length;
const answerRequests = () => sandbox.requests.filter((r) => r.endpoint === 'get_answers').length;
const heldIds = async (channel: 'sms' | 'email') =>
  (await db().selectFrom('smsc.outbound_messages').select('int_id').where('channel', '=', channel).orderBy('int_id').execute()).map((r) => r.int_id);
const heldReplies = async () => (await db().selectFrom('smsc.inbound_messages').select('id').orderBy('id').execute()).map((r) => r.id);
/** Truth: int_ids of one channel sent in [from, to], oldest first. */
const truthIds = (channel: 'sms' | 'email', from: number, to: number) =>
  sandbox.world
    .truth('demo', to)
    .filter((v) => (v.message.format === 8) === (channel === 'email') && v.message.sendTs >= from)
    .map((v) => v.message.intId.toString());
const cursorOf = async (stream: string) => (await db().selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', stream).executeTakeFirst())?.cursor as any;

async function fresh(world: { messagesPerDay: number; replyRate?: number }): Promise<void> {
  await sql`TRUNCATE smsc.outbound_messages, smsc.outbound_status_changes, smsc.inbound_messages, smsc_internal.sync_state, smsc.sync_runs, smsc.rejected_rows, smsc_internal.api_requests`.execute(db());
  sandbox = await testSandbox({ world: { historyDays: 4, futureDays: 1, ...world } });
}

async function stop(): Promise<void> {
  await sandbox.stop();
  expect(sandbox.quotas.violations).toEqual([]);
}

describe('a server that ignores prev_id', () => {
  afterAll(stop);

  it('fails the walk on its second page, stores the first, and spends one request per run after that', async () => {
    await fresh({ messagesPerDay: 2500 });
    const since = zoneDayStart(T0 - DAY, TZ);
    sandbox.faults.inject({ kind: 'ignoreParam', param: 'prev_id', endpoint: 'get_messages', count: Infinity });
    const [first] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'], since: new Date(since) });
    expect(first!.outcome).toBe('failed');
    expect(first!.error).toMatch(/^SMSC answered get_messages \(sms, prev_id=\d+\) with prev_id=\d+ by a page holding 1000 of 1000 messages whose int_id is not below it .*the server ignored prev_id or repeated a page/);
    // The newest page (asked without prev_id) is good and stored; its repeat was not.
    expect(historyRequests()).toBe(2);
    const newest = truthIds('sms', since, T0).slice(-1000);
    expect(await heldIds('sms')).toEqual(newest);
    expect((await cursorOf('outbound')).sms.walk.next).toBe(newest[0]);

    // The next run asks for the page below once, sees the repeat and stops: one request.
    sandbox.clock.advance(5 * MINUTE);
    const [second] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'] });
    expect(second!.outcome).toBe('failed');
    expect(historyRequests()).toBe(3);
    expect(await heldIds('sms')).toEqual(newest);

    // Once the server honours prev_id again, the walk goes on from where it stood: no gap.
    sandbox.faults.clear();
    sandbox.clock.advance(5 * MINUTE);
    const [third] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'] });
    expect(third!.outcome).toBe('succeeded');
    expect(await heldIds('sms')).toEqual(truthIds('sms', since, sandbox.clock.now()));
  });
});

describe('a server that ignores after_id', () => {
  afterAll(stop);

  it('fails the inbound run with a clear message and stores nothing of the page', async () => {
    await fresh({ messagesPerDay: 600, replyRate: 0.3 });
    const [first] = await syncOnce(sandbox, database.warehouse, { streams: ['inbound'] });
    expect(first!.outcome).toBe('succeeded');
    const held = await heldReplies();
    const cursor = await cursorOf('inbound');
    expect(cursor.lastId).toBe(held.at(-1));

    sandbox.clock.advance(2 * MINUTE);
    sandbox.faults.inject({ kind: 'ignoreParam', param: 'after_id', endpoint: 'get_answers' });
    const before = answerRequests();
    const [second] = await syncOnce(sandbox, database.warehouse, { streams: ['inbound'] });
    expect(second!.outcome).toBe('failed');
    expect(second!.error).toMatch(new RegExp(`^SMSC answered get_answers \\(after_id=${cursor.lastId}\\) with after_id=${cursor.lastId} by a page holding \\d+ of \\d+ replies whose id is not above it`));
    expect(answerRequests() - before).toBe(1);
    expect(await heldReplies()).toEqual(held);
    expect((await cursorOf('inbound')).lastId).toBe(cursor.lastId);
  });
});

describe('a server that caps its pages below cnt', () => {
  afterAll(stop);

  it('is read on past every short page to the stop id or an empty page: no gap', async () => {
    await fresh({ messagesPerDay: 1500 });
    const since = zoneDayStart(T0 - DAY, TZ);
    sandbox.faults.inject({ kind: 'capRows', maxRows: 300, endpoint: 'get_messages', count: Infinity });
    const [first] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'], since: new Date(since) });
    expect(first!.outcome).toBe('succeeded');
    for (const channel of ['sms', 'email'] as const) expect(await heldIds(channel), channel).toEqual(truthIds(channel, since, T0));

    // Some 700 SMS later, a run from the top must read three short pages down to the newest held.
    sandbox.clock.advance(11 * HOUR);
    const arrived = truthIds('sms', T0 + 1, sandbox.clock.now()).length;
    expect(arrived).toBeGreaterThan(600);
    const [second] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'] });
    expect(second!.outcome).toBe('succeeded');
    // (A page from the top covers the status window, so it may bring messages older than
    // --since too: what counts is that nothing from --since on is missing.)
    for (const channel of ['sms', 'email'] as const) {
      const truth = truthIds(channel, since, sandbox.clock.now());
      expect((await heldIds(channel)).filter((id) => BigInt(id) >= BigInt(truth[0]!)), channel).toEqual(truth);
    }
  });
});

describe('a page none of whose rows can be read', () => {
  afterAll(stop);

  it('fails the run with the reason, records the rows in rejected_rows, and moves no cursor', async () => {
    await fresh({ messagesPerDay: 1500 });
    const since = zoneDayStart(T0 - DAY, TZ);
    sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', patch: { send_timestamp: 'вчера' }, every: 1 });
    const [first] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'], since: new Date(since) });
    expect(first!.outcome).toBe('failed');
    expect(first!.error).toBe(
      'SMSC answered get_messages (sms, newest page) with 1000 rows of which none could be read (first reason: send_date: timestamp "вчера" is not a whole number of seconds; ' +
        'all are in smsc.rejected_rows): without one readable id the walk cannot tell where it stands, so the run stops here rather than skip or re-read history. ' +
        'The cursor did not move; the next run asks for the same page again',
    );
    expect(first!.rejected).toBe(1000);
    const rejected = await db().selectFrom('smsc.rejected_rows').select(({ fn }) => fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(rejected.n)).toBe(1000);
    expect(await heldIds('sms')).toEqual([]);
    expect(await cursorOf('outbound')).toEqual({ sms: {}, email: {} });

    // The page reads well again: everything loads.
    sandbox.clock.advance(MINUTE);
    const [second] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'], since: new Date(since) });
    expect(second!.outcome).toBe('succeeded');
    expect(await heldIds('sms')).toEqual(truthIds('sms', since, sandbox.clock.now()));
  });
});

describe('a cursor poisoned by an earlier version', () => {
  afterAll(stop);

  it('is repaired from the rows held: an int_id beyond 64 bits, an after_id of no stored reply', async () => {
    await fresh({ messagesPerDay: 600, replyRate: 0.3 });
    const since = zoneDayStart(T0 - DAY, TZ);
    const first = await syncOnce(sandbox, database.warehouse, { streams: ['outbound', 'inbound'], since: new Date(since) });
    expect(first.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
    // What the old page bounds wrote from rejected rows.
    const outbound = await cursorOf('outbound');
    await db().updateTable('smsc_internal.sync_state').set({ cursor: JSON.stringify({ ...outbound, sms: { ...outbound.sms, newest: '9223372036854775808' } }) }).where('stream', '=', 'outbound').execute();
    await db().updateTable('smsc_internal.sync_state').set({ cursor: JSON.stringify({ ...(await cursorOf('inbound')), lastId: '9999999999999999999' }) }).where('stream', '=', 'inbound').execute();

    sandbox.clock.advance(3 * HOUR);
    const later = await syncOnce(sandbox, database.warehouse, { streams: ['outbound', 'inbound'] });
    expect(later.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
    expect(await heldIds('sms')).toEqual(truthIds('sms', since, sandbox.clock.now()));
    expect(await heldReplies()).toEqual(sandbox.world.repliesAt('demo', sandbox.clock.now()).map((r) => String(r.id)));
    expect((await cursorOf('outbound')).sms.newest).toBe((await heldIds('sms')).at(-1));
    expect((await cursorOf('inbound')).lastId).toBe((await heldReplies()).at(-1));
  });
});
