// `--since dd.mm.yyyy` is a calendar day, and each account reads it in its own zone: two
// accounts half a world apart each hold their history and statistics from their own
// midnight of that day on. (The CLI hands runSync/runBackfill the day as `YYYY-MM-DD`.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountConfig, configWithDefaults } from '../../src/config.ts';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import { runBackfill } from '../../src/sync/backfill.ts';
import { runSync } from '../../src/sync/sync.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { zoneDay } from '../helpers/oracle.ts';
import { T0 } from '../helpers/sandbox.ts';
import { testLogger } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

// 10 June 2026 begins at 2026-06-09T12:00Z in Auckland (NZST, +12) and at 04:00Z in New York
// (EDT, -4): 16 hours apart. (Hand-written from the zones' offsets in June.)
const ACCOUNTS = [
  { login: 'nz', timezone: 'Pacific/Auckland', dayStart: Date.parse('2026-06-09T12:00:00Z') },
  { login: 'ny', timezone: 'America/New_York', dayStart: Date.parse('2026-06-10T04:00:00Z') },
];
const SINCE = '2026-06-10';

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('since_per_account');
  // T0 is 15 June, 12:00 in Moscow: the 15th in both zones (21:00 in Auckland, 05:00 in New York).
  sandbox = await startSandbox({
    clock: new SandboxClock({ start: T0, speed: 0 }),
    world: {
      historyDays: 10,
      futureDays: 0,
      accounts: ACCOUNTS.map((a) => ({ login: a.login, password: 'p', timezone: a.timezone, messagesPerDay: 150 })),
    },
  });
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

const config = () =>
  configWithDefaults(
    ACCOUNTS.map((a): AccountConfig => ({ name: a.login, login: a.login, password: 'p', apikey: undefined, baseUrl: sandbox.url, timezone: a.timezone })),
  );
const options = () => ({ config: config(), warehouse: database.warehouse, logger: testLogger, clock: sandbox.clock, client: { timeoutMs: 5000, minBackoffMs: 5, maxBackoffMs: 20 } });

describe('--since in each account\'s own zone', () => {
  it('sync: each account holds its history from its own midnight of that day', async () => {
    const summaries = await runSync({ ...options(), streams: ['outbound'], since: SINCE });
    expect(summaries.map((s) => [s.account, s.outcome])).toEqual([['nz', 'succeeded'], ['ny', 'succeeded']]);
    for (const a of ACCOUNTS) {
      const held = (await database.warehouse.db.selectFrom('smsc.outbound_messages').select('int_id').where('account', '=', a.login).orderBy('int_id').execute()).map((r) => r.int_id);
      const truth = sandbox.world.truth(a.login, sandbox.clock.now());
      const expected = truth.filter((v) => v.message.sendTs >= a.dayStart).map((v) => v.message.intId.toString());
      // The day before has messages too, none of which is held.
      expect(truth.some((v) => v.message.sendTs < a.dayStart && v.message.sendTs >= a.dayStart - 86_400_000)).toBe(true);
      expect(held, a.login).toEqual(expected);
      // The day the views count each message in (sent_day, written at ingest) is its day in
      // its account's zone, the first of them 10 June in both.
      const days = await database.warehouse.db.selectFrom('smsc.outbound_messages').select(['int_id', 'sent_day']).where('account', '=', a.login).orderBy('int_id').execute();
      expect(days.map((r) => `${r.int_id} ${r.sent_day}`), a.login).toEqual(
        truth.filter((v) => v.message.sendTs >= a.dayStart).map((v) => `${v.message.intId} ${zoneDay(v.message.sendTs, a.timezone)}`),
      );
      expect(days.map((r) => r.sent_day).sort()[0]).toBe(SINCE);
    }
    // And each asked SMSC for the history from 10.06.2026, its own day.
    const starts = sandbox.requests.filter((r) => r.endpoint === 'get_messages').map((r) => `${r.login} ${/(?:^|&)start=([^&]*)/.exec(r.fingerprint)?.[1]}`);
    expect([...new Set(starts)].sort()).toEqual(['ny 10.06.2026', 'nz 10.06.2026']);
  });

  it('backfill: each account holds its daily statistics from that day on', async () => {
    const summaries = await runBackfill({ ...options(), streams: ['stats'], since: SINCE, sleepUntil: async (at: number) => sandbox.clock.set(at) });
    expect(summaries.every((s) => s.outcome === 'succeeded')).toBe(true);
    for (const a of ACCOUNTS) {
      const days = (await database.warehouse.db.selectFrom('smsc.daily_stats').select('day').distinct().where('account', '=', a.login).orderBy('day').execute()).map((r) => String(r.day));
      expect(days, a.login).toEqual(['2026-06-10', '2026-06-11', '2026-06-12', '2026-06-13', '2026-06-14', '2026-06-15']);
    }
  });
});
