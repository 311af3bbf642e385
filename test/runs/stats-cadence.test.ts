// The production cadence on a controlled clock: `start`'s scheduler (node-cron, the real
// Scheduler) with the stats job on its default hourly schedule and SMSC_STATS_ELECTRONIC at its
// default (auto: both balances), for two simulated days. Yesterday and today take 4 get_stat
// requests (two days, two balances) against SMSC's 3 a minute: a run is deferred every hour,
// and must be resumed at its retry time, so that every day gets both balances. Time is vitest's fake clock; the emulator,
// the ledger and node-cron all read it, and the test moves it from timer to timer once the
// runs started by the previous one are done (their IO is real).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { statsJob } from '../../jobs/stats.ts';
import { configWithDefaults } from '../../src/config.ts';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import { openWarehouse } from '../../src/warehouse/database.ts';
import type { Warehouse } from '../../src/warehouse/schema.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { testLogger } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Moscow has kept UTC+3 since 2014. */
const MOSCOW = 3 * HOUR;
/** 15 June 2026, 00:20 in Moscow. */
const START = Date.UTC(2026, 5, 14, 21, 20);
const money = (kopecks: number) => `${Math.trunc(kopecks / 100)}.${String(kopecks % 100).padStart(2, '0')}`;
const realSleep = (ms: number) => new Promise<void>((resolve) => realSetTimeout(resolve, ms));
const realSetTimeout = globalThis.setTimeout;

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('stats_cadence');
});
afterAll(async () => {
  vi.useRealTimers();
  await sandbox?.stop();
  await database.drop();
});

describe('stats with the electronic balance (the default) on its default hourly schedule', () => {
  it('holds every day with both balances, equal to the truth, over two simulated days', async () => {
    vi.useFakeTimers({ now: START, toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    sandbox = await startSandbox({ clock: new SandboxClock({ start: START, speed: 1 }), seed: 7, world: { historyDays: 10, futureDays: 3, messagesPerDay: 400 } });
    const account = { name: 'demo', login: 'demo', password: 'demo', baseUrl: sandbox.url, timezone: 'Europe/Moscow' };
    const config = configWithDefaults([account]);
    // pg-pool times its connection attempts with setTimeout, which is fake here: a jump of
    // the fake clock during a real connect would end it. This warehouse has no such deadline.
    const warehouse = await openWarehouse<Warehouse>({ databaseUrl: database.url, dbTimeoutMs: 0 });
    const scheduler = new Scheduler({ config, warehouse, logger: testLogger, clock: { now: () => Date.now() }, jobs: [statsJob], client: { minBackoffMs: 5, maxBackoffMs: 20 } });
    scheduler.start();
    let stoppedAt = START;
    // Two days: to the midnight two days after the start (17 June, 00:00 in Moscow).
    const end = START - 20 * MINUTE + 2 * DAY;
    try {
      // (…and the resumes of the last fire's deferred run, wherever the last step landed.)
      // (Real time: Date and performance are fake here.)
      const realMs = () => Number(process.hrtime.bigint() / 1_000_000n);
      const watchdog = realMs();
      while (Date.now() < end || scheduler.pendingResumes > 0 || scheduler.busy > 0) {
        // A run that never ends would spin here until the test's timeout: say what is stuck.
        if (realMs() - watchdog > 280_000) {
          const activity = await sql<{ state: string; wait: string | null; query: string }>`
            SELECT state, wait_event_type || ':' || wait_event AS wait, left(query, 120) AS query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`.execute(database.warehouse.db);
          throw new Error(`stuck at ${new Date(Date.now()).toISOString()}: inFlight ${JSON.stringify(scheduler.inFlight)}, busy ${scheduler.busy}, pendingResumes ${scheduler.pendingResumes}, timers ${vi.getTimerCount()}; sessions ${JSON.stringify(activity.rows)}`);
        }
        await vi.advanceTimersToNextTimerAsync();
        // Let what the timer started do its IO (real time) until nothing is under way; a run
        // that still is after 10 s waits for a (fake) timer, which the next step fires (10 s,
        // not less: a loaded machine's IO must not see the fake clock jump past it).
        await realSleep(5);
        for (let i = 0; i < 1000 && scheduler.busy > 0; i++) await realSleep(10);
      }
      stoppedAt = Date.now();
      // Stopping on real timers: stop() waits for node-cron's bookkeeping of a fire by polling
      // with setTimeout, which on the fake clock never wakes. (The loop can end just as a fire
      // is claimed and not yet running; then the stop waited for ever: 2 of 6 whole-suite runs.)
      vi.useRealTimers();
      const stopped = await scheduler.stop(5000);
      expect(stopped).toEqual({ finished: true, running: [] });
    } finally {
      await warehouse.close();
      vi.useRealTimers();
    }

    // Every day from the first run's start (7 days back) to the last day, both balances.
    const dayOf = (ms: number) => new Date(ms + MOSCOW).toISOString().slice(0, 10);
    const first = Math.floor((START + MOSCOW - 7 * DAY) / DAY) * DAY - MOSCOW;
    const expectedDays: string[] = [];
    for (let d = first; d <= stoppedAt; d += DAY) expectedDays.push(dayOf(d));
    const held = await sql<{ day: string; balance: string; login: string; messages: number; credit: string; debit: string }>`
      SELECT day::text, balance, login, messages, credit::text, debit::text FROM smsc.daily_stats ORDER BY day, balance, login`.execute(database.warehouse.db);
    const days = (balance: string) => [...new Set(held.rows.filter((r) => r.balance === balance).map((r) => r.day))];
    expect(days('main')).toEqual(expectedDays);
    expect(days('electronic')).toEqual(expectedDays);
    expect(scheduler.fires).toBeGreaterThanOrEqual(48);
    // Deferred runs were resumed at their retry time, not an hour later at the next fire.
    expect(scheduler.resumes).toBeGreaterThanOrEqual(48);

    // Each (day, balance) equals the truth as of the last request that read it (the
    // emulator's own log says when), per login, to the kopeck.
    for (const row of held.rows) {
      const smscDay = row.day.split('-').reverse().join('.');
      const reads = sandbox.requests.filter(
        (r) => r.endpoint === 'get_stat' && r.outcome === 'ok' && r.fingerprint.includes(`start=${smscDay}`) && r.fingerprint.includes('balance2=1') === (row.balance === 'electronic'),
      );
      const at = reads.at(-1)!.at;
      const dayStart = Date.parse(`${row.day}T00:00:00Z`) - MOSCOW;
      const truth = sandbox.world.stats('demo', dayStart, dayStart, at, row.balance as 'main' | 'electronic').find((t) => t.login === row.login)!;
      expect({ ...row }).toEqual({ ...row, messages: truth.sms, credit: money(truth.credit), debit: money(truth.debit) });
    }
    const cursor = (await database.warehouse.db.selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', 'stats').executeTakeFirstOrThrow()).cursor as { newest: string; oldest: string };
    expect(cursor).toMatchObject({ oldest: expectedDays[0], newest: expectedDays.at(-1) });
    expect(sandbox.quotas.violations).toEqual([]);
  }, 300_000);
});
