// The two message streams end to end, emulator + real PostgreSQL (or PGlite): the warehouse
// equals the ground truth row for row, a re-run changes nothing, statuses settle within the
// refresh rule's requests, and a walk the quota cuts short resumes with no gap.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { zoneDayStart } from '../helpers/oracle.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { syncOnce, truthRow, warehouseRows } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TZ = 'Europe/Moscow';

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('messages');
});
afterAll(() => database.drop());
/** Stops the emulator of a describe block, which must have seen no quota violation. */
async function stopSandbox(): Promise<void> {
  await sandbox.stop();
  expect(sandbox.quotas.violations).toEqual([]);
}

async function reset(): Promise<void> {
  await sql`TRUNCATE smsc.outbound_messages, smsc.outbound_status_changes, smsc.inbound_messages, smsc_internal.sync_state, smsc.sync_runs, smsc.rejected_rows, smsc_internal.api_requests, smsc_internal.account_holds`.execute(database.warehouse.db);
}

const db = () => database.warehouse.db;
const count = async (table: string) => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(db())).rows[0]!.n;
const historyRequests = () => sandbox.requests.filter((r) => r.endpoint === 'get_messages').length;

describe('outbound and inbound streams', () => {
  const since = new Date(zoneDayStart(T0 - 30 * DAY, TZ));
  afterAll(stopSandbox);

  it('loads the history since --since and the replies: the warehouse equals the truth, row for row', async () => {
    await reset();
    sandbox = await testSandbox({ world: { historyDays: 40, futureDays: 3, messagesPerDay: 300 } });
    const summaries = await syncOnce(sandbox, database.warehouse, { since });
    expect(summaries.map((s) => [s.stream, s.outcome])).toEqual([['outbound', 'succeeded'], ['inbound', 'succeeded']]);

    const truth = sandbox.world.truth('demo', T0).filter((v) => v.message.sendTs >= since.getTime());
    expect(truth.length).toBeGreaterThan(8000);
    expect(await warehouseRows(database.warehouse)).toEqual(truth.map(truthRow).sort((a, b) => (BigInt(a.int_id as string) < BigInt(b.int_id as string) ? -1 : 1)));
    expect(summaries[0]!.inserted).toBe(truth.length);
    expect(summaries[0]!.requests).toBe(historyRequests());

    const replies = await db().selectFrom('smsc.inbound_messages').select(['id', 'phone', 'to_phone', 'message', 'received_at', 'sent_at']).orderBy('id').execute();
    expect(replies.map((r) => ({ ...r, received_at: new Date(r.received_at).toISOString(), sent_at: new Date(r.sent_at!).toISOString() }))).toEqual(
      sandbox.world.repliesAt('demo', T0).map((r) => ({
        id: String(r.id),
        phone: r.phone,
        to_phone: r.toPhone,
        message: r.text,
        received_at: new Date(r.receivedTs).toISOString(),
        sent_at: new Date(r.sentTs).toISOString(),
      })),
    );
    // Incoming calls come among the replies as [CALL] rows and are stored as they come.
    expect(replies.filter((r) => r.message === '[CALL]').length).toBeGreaterThan(0);
    // Every message got its first status row; runs are recorded with what they did.
    expect(await count('smsc.outbound_status_changes')).toBe(truth.length);
    const runs = await db().selectFrom('smsc.sync_runs').selectAll().orderBy('started_at').execute();
    expect(runs.map((r) => [r.stream, r.outcome, r.rows_inserted, r.requests])).toEqual(summaries.map((s) => [s.stream, 'succeeded', s.inserted, s.requests]));
  });

  it('changes nothing when run again on the same data', async () => {
    sandbox.clock.advance(MINUTE);
    const before = await db().selectFrom('smsc.outbound_messages').select(sql<string>`max(updated_at)::text`.as('m')).executeTakeFirstOrThrow();
    const changes = await count('smsc.outbound_status_changes');
    const summaries = await syncOnce(sandbox, database.warehouse);
    expect(summaries.map((s) => [s.outcome, s.inserted, s.updated, s.rejected])).toEqual([
      ['succeeded', 0, 0, 0],
      ['succeeded', 0, 0, 0],
    ]);
    const after = await db().selectFrom('smsc.outbound_messages').select(sql<string>`max(updated_at)::text`.as('m')).executeTakeFirstOrThrow();
    expect(after.m).toBe(before.m);
    expect(await count('smsc.outbound_status_changes')).toBe(changes);
  });

  it('brings every status and cost to the truth as time moves, spending only the pages the refresh rule needs', async () => {
    // A day after the last run, the refresh of the whole status window (72 h) is due. From the
    // emulator's truth: per channel, the oldest message the warehouse held as not final (status
    // -1 or 0 in smsc-api.md's table; the emulator always gives a cost) at that last run and
    // sent within 72 h of now; everything from it up to the newest message is read once, newest
    // first, in pages of 1000 (the newest page also brings the day's new messages); with none
    // such, the newest page alone.
    const lastRun = sandbox.clock.now();
    sandbox.clock.advance(24 * HOUR);
    const now = sandbox.clock.now();
    const truth = sandbox.world.truth('demo', now);
    const seen = sandbox.world.truth('demo', lastRun);
    let needed = 0;
    for (const email of [false, true]) {
      const inChannel = (v: (typeof truth)[number]) => (v.message.format === 8) === email;
      const open = seen.filter((v) => inChannel(v) && v.message.sendTs >= since.getTime() && v.message.sendTs >= now - 72 * HOUR && (v.status === -1 || v.status === 0));
      const arrived = truth.filter((v) => inChannel(v) && v.message.sendTs > lastRun).length;
      // (One page holds all that arrived: the walk from the top is a single request.)
      expect(arrived).toBeLessThan(1000);
      if (open.length === 0) {
        needed += 1;
        continue;
      }
      const floor = open.reduce((min, v) => (v.message.intId < min ? v.message.intId : min), open[0]!.message.intId);
      needed += Math.ceil(truth.filter((v) => inChannel(v) && v.message.intId >= floor).length / 1000);
    }
    // (More than one page in all: the refresh reads below the newest page.)
    expect(needed).toBeGreaterThan(2);
    const requestsBefore = historyRequests();
    const [outbound] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'] });
    expect(outbound!.outcome).toBe('succeeded');
    expect(historyRequests() - requestsBefore).toBe(needed);
    expect(outbound!.updated).toBeGreaterThan(0);

    const expected = truth.filter((v) => v.message.sendTs >= since.getTime()).map(truthRow);
    expect(await warehouseRows(database.warehouse)).toEqual(expected);
    const reasons = await sql<{ reason: string; n: number }>`SELECT reason, count(*)::int AS n FROM smsc.outbound_status_changes GROUP BY reason ORDER BY reason`.execute(db());
    expect(reasons.rows.map((r) => r.reason)).toEqual(['cost', 'first_seen', 'status']);
  });
});

describe('a walk longer than the hourly budget', () => {
  afterAll(stopSandbox);
  it('walks 20,000 new messages across runs within 30 requests an hour, with no gap and no duplicate', async () => {
    await reset();
    sandbox = await testSandbox({ seed: 5, world: { historyDays: 2, futureDays: 2, messagesPerDay: 20_000 } });
    const since = new Date(zoneDayStart(T0, TZ));
    const config = { statusWindowHours: 1 };
    const first = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'], since, config });
    expect(first[0]!.outcome).toBe('succeeded');
    sandbox.clock.advance(36 * HOUR);
    const arrived = sandbox.world.truth('demo', sandbox.clock.now()).filter((v) => v.message.sendTs > T0).length;
    expect(arrived).toBeGreaterThan(20_000);

    const outcomes: string[] = [];
    for (let run = 0; run < 40; run++) {
      const [s] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'], config });
      outcomes.push(s!.outcome);
      if (s!.outcome === 'succeeded') break;
      sandbox.clock.advance(10 * MINUTE);
    }
    expect(outcomes.at(-1)).toBe('succeeded');
    expect(outcomes.filter((o) => o === 'deferred').length).toBeGreaterThan(0);

    // Per channel, everything sent up to the newest id held is held once: no gap, no duplicate.
    for (const channel of ['sms', 'email'] as const) {
      const held = (await db().selectFrom('smsc.outbound_messages').select('int_id').where('channel', '=', channel).orderBy('int_id').execute()).map((r) => r.int_id);
      expect(new Set(held).size).toBe(held.length);
      const newest = BigInt(held.at(-1)!);
      const expected = sandbox.world
        .truth('demo', sandbox.clock.now())
        .filter((v) => (v.message.format === 8) === (channel === 'email') && v.message.sendTs >= since.getTime() && v.message.intId <= newest)
        .map((v) => v.message.intId.toString());
      expect(held).toEqual(expected);
    }

    // Never more than 30 history requests in any rolling hour, and the cursor is at rest.
    const times = sandbox.requests.filter((r) => r.endpoint === 'get_messages').map((r) => r.at);
    for (const t of times) expect(times.filter((u) => u > t - HOUR && u <= t).length).toBeLessThanOrEqual(30);
    const state = await db().selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', 'outbound').executeTakeFirstOrThrow();
    expect(state.cursor).toMatchObject({ sms: { newest: expect.any(String) }, email: { newest: expect.any(String) } });
    expect((state.cursor as any).sms.walk).toBeUndefined();
  });
});
