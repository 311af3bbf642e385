// An account configured with an API key: SMSC's statistics come per login (the account's own
// and its sub-clients'), and an API key does not say which is its own. With the login named
// beside the key (SMSC_LOGIN without a password), the reconciliation compares the own login's
// statistics with the message costs held, as for a login + password account; without it, no
// row is taken for the own login's.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountConfig, loadConfig } from '../../src/config.ts';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { moneyText, zoneDay, zoneDayStart } from '../helpers/oracle.ts';
import { T0 } from '../helpers/sandbox.ts';
import { syncOnce } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const TZ = 'Europe/Moscow';
const DAY = 86_400_000;
const LIFTED = { statsPerMinute: 1000, identicalPerMinute: 1000, historyPerHour: 1000 };

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ clock: new SandboxClock({ start: T0, speed: 0 }), seed: 3, world: { historyDays: 4, futureDays: 0, messagesPerDay: 80 }, limits: LIFTED });
});
afterAll(async () => {
  await sandbox.stop();
});

async function syncWith(database: TestDatabase, account: AccountConfig) {
  const summaries = await syncOnce(sandbox, database.warehouse, {
    config: { accounts: [account] },
    streams: ['outbound', 'stats'],
    since: new Date(zoneDayStart(T0 - 3 * DAY, TZ)),
    quota: LIFTED,
  });
  expect(summaries.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
}

describe('an API-key account', () => {
  it('SMSC_APIKEY with SMSC_LOGIN alone is a valid configuration, named after the login', () => {
    const config = loadConfig({ SMSC_APIKEY: 'k-1', SMSC_LOGIN: 'shop' }, { requireAccount: true });
    expect(config.accounts).toMatchObject([{ name: 'shop', login: 'shop', apikey: 'k-1' }]);
    expect(config.accounts[0]!.password).toBeUndefined();
    expect(() => loadConfig({ SMSC_APIKEY: 'k-1', SMSC_LOGIN: 'shop', SMSC_PASSWORD: 'p' }, { requireAccount: true })).toThrow(/SMSC_APIKEY: set either/);
  });

  it('with its login named, reconciles its own statistics with the message costs held, to the kopeck', async () => {
    const database = await migratedDatabase('apikey_login');
    try {
      await syncWith(database, { name: 'shop', login: 'demo', password: undefined, apikey: 'demo-apikey', baseUrl: sandbox.url, timezone: TZ });
      expect(sandbox.requests.filter((r) => r.login !== undefined).every((r) => r.login === 'demo')).toBe(true);
      const rows = (
        await sql<{ day: string; login: string; own_login: boolean; messages_cost: string | null; difference: string | null; flagged: boolean }>`
          SELECT day, login, own_login, messages_cost::text, difference::text, flagged FROM smsc.cost_reconciliation_daily WHERE account = 'shop' ORDER BY day, login`.execute(database.warehouse.db)
      ).rows;
      const own = rows.filter((r) => r.login === 'demo');
      expect(own.length).toBeGreaterThanOrEqual(3);
      // The costs of each day, added up here from the emulator's truth.
      const truth = sandbox.world.truth('demo', sandbox.clock.now());
      for (const r of own) {
        const kopecks = truth.filter((v) => zoneDay(v.message.sendTs, TZ) === r.day).reduce((n, v) => n + v.cost, 0);
        expect([r.day, r.own_login, r.messages_cost, r.difference, r.flagged]).toEqual([r.day, true, moneyText(kopecks), '0.00', false]);
      }
      // Sub-clients' rows carry their statistics only.
      expect(rows.filter((r) => r.login !== 'demo').every((r) => !r.own_login && r.messages_cost === null)).toBe(true);
    } finally {
      await database.drop();
    }
  });

  it('without its login, takes no statistics row for its own', async () => {
    const database = await migratedDatabase('apikey_nologin');
    try {
      await syncWith(database, { name: 'shop', login: undefined, password: undefined, apikey: 'demo-apikey', baseUrl: sandbox.url, timezone: TZ });
      const { rows } = await sql<{ n: number; own: number }>`
        SELECT count(*)::int AS n, count(*) FILTER (WHERE own_login)::int AS own FROM smsc.cost_reconciliation_daily WHERE account = 'shop'`.execute(database.warehouse.db);
      expect(rows[0]!.n).toBeGreaterThan(0);
      expect(rows[0]!.own).toBe(0);
    } finally {
      await database.drop();
    }
  });
});
