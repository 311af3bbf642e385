// Failed logins get the customer's IP blocked by SMSC after five in 30 minutes, and with it
// their own production sending. Three accounts with wrong passwords beside one that works,
// every job of every account firing together, twice within 30 minutes: at most 2 failed
// logins may reach SMSC in all, and the good account must go on syncing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWithDefaults } from '../../src/config.ts';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import type { SandboxAccountSpec } from '../../src/sandbox/world.ts';
import { runSync } from '../../src/sync/sync.ts';
import { type TestDatabase, testServerUrl } from '../helpers/database.ts';
import { T0 } from '../helpers/sandbox.ts';
import { testLogger } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';
import { cli, until } from './processes.ts';
import { everyJobOn } from '../helpers/schedules.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MOSCOW = 3 * HOUR;
const moscowDayStart = (ms: number) => Math.floor((ms + MOSCOW) / DAY) * DAY - MOSCOW;

const specs: SandboxAccountSpec[] = ['good', 'bad1', 'bad2', 'bad3'].map((login, i) => ({
  login,
  password: `${login}-Real-pw`,
  subLogins: [],
  toPhones: [`7903771000${i}`],
  shortLinks: [],
}));
const accounts = (sandbox: Sandbox, which = ['good', 'bad1', 'bad2', 'bad3']) =>
  which.map((login) => ({ name: login, login, password: login === 'good' ? 'good-Real-pw' : `${login}-typo`, baseUrl: sandbox.url }));

async function startWorld(): Promise<Sandbox> {
  return startSandbox({ clock: new SandboxClock({ start: T0, speed: 1 }), seed: 51, world: { accounts: specs, historyDays: 9, futureDays: 1, messagesPerDay: 80 } });
}

/** Failed logins SMSC saw, and whether it blocked the address. */
function failures(sandbox: Sandbox): { failed: number; blocked: boolean } {
  return { failed: sandbox.requests.filter((r) => r.outcome === 'error 2').length, blocked: sandbox.requests.some((r) => r.outcome === 'error 4') };
}

describe('three wrong passwords beside one that works', () => {
  let sandbox: Sandbox;
  let database: TestDatabase;
  beforeAll(async () => {
    if (!testServerUrl()) return;
    sandbox = await startWorld();
    database = await migratedDatabase('failed_logins');
  });
  afterAll(async () => {
    await sandbox?.stop();
    await database?.drop();
  });

  it.skipIf(!testServerUrl())('start twice within 30 minutes, every job firing together: at most 2 failed logins, and the good account syncs', async () => {
    const env = { DATABASE_URL: database.url, SMSC_SECRET_KEY: 'failed-logins-test-key-0001' };
    // The working account has synced before; three accounts with mistyped passwords are added.
    const before = cli(['sync', '--streams', 'outbound'], { ...env, SMSC_ACCOUNTS: JSON.stringify(accounts(sandbox, ['good'])) }, sandbox);
    expect((await before.exit).code, before.output()).toBe(0);

    const every = '*/3 * * * * *';
    const schedules = everyJobOn(every);
    for (const round of [1, 2]) {
      const seen = sandbox.requests.length;
      const start = cli(['start'], { ...env, ...schedules, SMSC_ACCOUNTS: JSON.stringify(accounts(sandbox)) }, sandbox);
      // Three fires of every job.
      await until(() => sandbox.requests.slice(seen).filter((r) => r.login === 'good' && r.endpoint === 'get_answers').length >= 3, 60_000, `round ${round}: three inbound fires of the good account`);
      start.child.kill('SIGTERM');
      expect((await start.exit).code, start.output().slice(-3000)).toBe(0);
      // Ten minutes later (both rounds fall within SMSC's 30-minute window).
      if (round === 1) sandbox.clock.advance(10 * MINUTE);
    }
    expect(failures(sandbox).blocked).toBe(false);
    expect(failures(sandbox).failed).toBeLessThanOrEqual(2);
    expect(failures(sandbox).failed).toBeGreaterThanOrEqual(1);
    // No bad account ever had two requests at once, and none was asked again after its error 2.
    for (const login of ['bad1', 'bad2', 'bad3']) {
      const sent = sandbox.requests.filter((r) => r.login === login);
      expect(sent.length, login).toBeLessThanOrEqual(1);
    }

    // The good account: every message since the first run's start, and every reply, as now.
    const now = sandbox.clock.now();
    const held = await database.warehouse.db.selectFrom('smsc.outbound_messages').select('int_id').where('account', '=', 'good').orderBy('int_id').execute();
    const since = moscowDayStart(T0 - 7 * DAY);
    expect(held.map((r) => r.int_id)).toEqual(sandbox.world.truth('good', now).filter((v) => v.message.sendTs >= since).map((v) => v.message.intId.toString()));
    const replies = await database.warehouse.db.selectFrom('smsc.inbound_messages').select('id').where('account', '=', 'good').orderBy('id').execute();
    expect(replies.map((r) => r.id)).toEqual(sandbox.world.repliesAt('good', now).map((r) => String(r.id)));
    expect(sandbox.quotas.violations).toEqual([]);
  });
});

describe('four new accounts, three of them with wrong passwords', () => {
  let sandbox: Sandbox;
  let database: TestDatabase;
  beforeAll(async () => {
    sandbox = await startWorld();
    sandbox.clock.setSpeed(0);
    database = await migratedDatabase('failed_logins_new');
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  it('never more than 2 failed logins in any 30 minutes; the good one syncs as soon as the budget allows it, at the latest when SMSC forgets the failures', async () => {
    const config = configWithDefaults(accounts(sandbox).map((a) => ({ ...a, timezone: 'Europe/Moscow' })));
    const start = sandbox.clock.now();
    let goodSyncedAt: number | undefined;
    // A sync every 5 minutes for 40 minutes, all accounts at once.
    for (let t = 0; t <= 40; t += 5) {
      const summaries = await runSync({ config, warehouse: database.warehouse, logger: testLogger, streams: ['outbound', 'inbound'], clock: sandbox.clock, client: { minBackoffMs: 5, maxBackoffMs: 20 } });
      if (goodSyncedAt === undefined && summaries.filter((s) => s.account === 'good').every((s) => s.outcome === 'succeeded')) goodSyncedAt = sandbox.clock.now();
      sandbox.clock.advance(5 * MINUTE);
    }
    const failedAt = sandbox.requests.filter((r) => r.outcome === 'error 2').map((r) => r.at);
    for (const t of failedAt) expect(failedAt.filter((u) => u > t - 30 * MINUTE && u <= t).length).toBeLessThanOrEqual(2);
    expect(failures(sandbox).blocked).toBe(false);
    // Three wrong passwords: two found at once, the third once SMSC's window has passed.
    expect(failedAt).toHaveLength(3);
    expect(goodSyncedAt).toBeDefined();
    expect(goodSyncedAt! - start).toBeLessThanOrEqual(30 * MINUTE + 5 * MINUTE);
    expect(sandbox.quotas.violations).toEqual([]);
  });
});
