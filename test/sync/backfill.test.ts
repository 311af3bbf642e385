// backfill: walks an existing warehouse back to --since within the quotas, waiting for each
// next slot, reporting progress, and going on where it stopped when started again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { type BackfillProgress, formatProgress, runBackfill } from '../../src/sync/backfill.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { addDaysText, zoneDay, zoneDayStart } from '../helpers/oracle.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { expectNoGapPerChannel, sandboxConfig, syncOnce, testLogger } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const TZ = 'Europe/Moscow';
const HOUR = 3_600_000;
let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('backfill');
  sandbox = await testSandbox({ seed: 8, world: { historyDays: 4, futureDays: 1, messagesPerDay: 15_000 } });
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

describe('backfill', () => {
  it('extends the warehouse back to --since across quota waits, resumable, with progress', async () => {
    // The warehouse holds today only.
    // A busy account: a 1-hour status window keeps each walk from the top within the budget.
    const config = sandboxConfig(sandbox, { statusWindowHours: 1 });
    await syncOnce(sandbox, database.warehouse, { streams: ['outbound'], since: new Date(zoneDayStart(T0, TZ)), config: { statusWindowHours: 1 } });
    const since = new Date(zoneDayStart(T0 - 3 * 24 * HOUR, TZ));
    const progress: (BackfillProgress & { at: number })[] = [];
    // What the warehouse lacks per channel: the messages from since to the oldest held.
    const oldestHeld = Number((await database.warehouse.db.selectFrom('smsc.outbound_messages').select((eb) => eb.fn.min('sent_at').as('t')).executeTakeFirstOrThrow()).t.valueOf());
    const missing = sandbox.world.truth('demo', T0).filter((v) => v.message.sendTs >= since.getTime() && v.message.sendTs < oldestHeld);
    const pagesNeeded = [0, 8].reduce((n, format) => n + Math.ceil(missing.filter((v) => (v.message.format === 8 ? 8 : 0) === format).length / 1000), 0);
    expect(pagesNeeded).toBeGreaterThan(30);
    const requestsBefore = sandbox.requests.length;
    const options = {
      config,
      warehouse: database.warehouse,
      logger: testLogger,
      streams: ['outbound', 'stats'],
      since,
      clock: sandbox.clock,
      client: { timeoutMs: 5000, minBackoffMs: 5, maxBackoffMs: 20 },
      onProgress: (p: BackfillProgress) => progress.push({ ...p, at: sandbox.clock.now() }),
      // Waiting for the next slot moves the emulator's clock instead of sleeping.
      sleepUntil: async (at: number) => sandbox.clock.set(at),
    };
    // Stopped after two passes, as by Ctrl-C, then started again.
    const first = await runBackfill({ ...options, maxPasses: 2 });
    expect(first.some((s) => s.outcome === 'deferred')).toBe(true);
    const final = await runBackfill(options);
    expect(final.every((s) => s.outcome === 'succeeded')).toBe(true);

    expect(progress.length).toBeGreaterThan(3);
    expect(progress.filter((p) => p.waitingUntil).length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ done: 1, etaMs: 0, waitingUntil: undefined });
    expect(progress[0]!.done).toBeLessThan(progress.at(-1)!.done);
    expect(formatProgress(progress[0]!)).toMatch(
      /^backfill: \d+\.\d% of the period held \(outbound (\d+\.\d%|done), stats (\d+\.\d%|done)\), \d+ rows, \d+ pages, \d+ history requests left this hour, ETA /,
    );
    // Progress covers both streams: never 100% while one of them still walks.
    for (const p of progress) {
      expect(p.streams.map((s) => s.stream)).toEqual(['outbound', 'stats']);
      if (p.streams.some((s) => !s.finished)) expect(p.done).toBeLessThan(1);
      // The ETA never comes before the quota lets the waiting streams run again.
      const wait = Math.max(0, ...p.streams.filter((s) => s.waitingUntil).map((s) => s.waitingUntil!.getTime() - p.at));
      if (p.etaMs !== undefined && p.streams.some((s) => !s.finished)) expect(p.etaMs).toBeGreaterThanOrEqual(wait);
    }

    // Requests: once a stream finished, nothing more of its endpoint, while the other still
    // walked (stats is done in minutes; outbound takes hours of its 30 an hour).
    const sent = sandbox.requests.slice(requestsBefore);
    const endpoints = { outbound: 'get_messages', stats: 'get_stat' } as const;
    expect(progress.some((p) => p.streams.filter((s) => s.finished).length === 1)).toBe(true);
    for (const [i, stream] of (['outbound', 'stats'] as const).entries()) {
      const doneAt = progress.find((p) => p.streams[i]!.finished)!.at;
      expect(sent.filter((r) => r.endpoint === endpoints[stream] && r.at > doneAt), stream).toEqual([]);
    }
    // History requests: the pages of what was missing, plus each outbound run's look at the
    // newest page of each channel (2 per run), and no more.
    const history = sent.filter((r) => r.endpoint === 'get_messages' && r.outcome === 'ok');
    const outboundRuns =
      Number((await database.warehouse.db.selectFrom('smsc.sync_runs').select((eb) => eb.fn.countAll().as('n')).where('stream', '=', 'outbound').executeTakeFirstOrThrow()).n) - 1;
    expect(outboundRuns).toBeGreaterThan(1);
    expect(history.length).toBeGreaterThanOrEqual(pagesNeeded);
    expect(history.length).toBeLessThanOrEqual(pagesNeeded + 2 * outboundRuns);

    const now = sandbox.clock.now();
    await expectNoGapPerChannel(sandbox, database.warehouse, since.getTime());
    const days = (await database.warehouse.db.selectFrom('smsc.daily_stats').select('day').where('login', '=', 'demo').where('balance', '=', 'main').orderBy('day').execute()).map((r) =>
      String(r.day),
    );
    expect(days[0]).toBe(zoneDay(since.getTime(), TZ));
    expect(days.at(-1)).toBe(zoneDay(now, TZ));
    expect(days.length).toBe((Date.parse(days.at(-1)!) - Date.parse(days[0]!)) / 86_400_000 + 1);
    expect(addDaysText(days[0]!, days.length - 1)).toBe(days.at(-1));

    const times = sandbox.requests.filter((r) => r.endpoint === 'get_messages').map((r) => r.at);
    for (const t of times) expect(times.filter((u) => u > t - HOUR && u <= t).length).toBeLessThanOrEqual(30);
    expect(sandbox.quotas.violations).toEqual([]);
  });
});
