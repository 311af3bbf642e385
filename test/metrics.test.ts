// /metrics as a Prometheus user reads it: the process metrics under their standard names, an
// empty history counted as an answer, and the warehouse's gauges.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.ts';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { startHttp } from '../src/scheduler/http.ts';
import { runSync } from '../src/sync/sync.ts';
import type { TestDatabase } from './helpers/database.ts';
import { itNeedsServer } from './helpers/needs-server.ts';
import { zoneDayStart } from './helpers/oracle.ts';
import { sandboxConfig, syncOnce, testLogger } from './helpers/sync.ts';
import { migratedDatabase } from './helpers/warehouse.ts';
import { cli, until } from './runs/processes.ts';
import { everyJobOn, NEVER } from './helpers/schedules.ts';

/** One sample of the exposition text: its metric name, labels and value. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples of `name` whose labels include `labels`. */
function find(text: string, name: string, labels: Record<string, string> = {}): Sample[] {
  return samples(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Every job of `start` on a schedule that does not come round during a test. */
const NO_FIRES = everyJobOn(NEVER);

/** Everything the warehouse-derived gauges read, as another session can lock it. */
const READ_TABLES = [
  'smsc.sync_runs',
  'smsc_internal.api_requests',
  'smsc_internal.account_holds',
  'smsc.outbound_messages',
  'smsc.inbound_messages',
  'smsc.daily_stats',
  'smsc.short_link_clicks',
];

/** A session of its own that holds ACCESS EXCLUSIVE locks on `tables` until release(). */
async function lockTables(url: string, tables: readonly string[]): Promise<{ release(): Promise<void> }> {
  const session = new pg.Client({ connectionString: url });
  await session.connect();
  await session.query('BEGIN');
  await session.query(`LOCK TABLE ${tables.join(', ')} IN ACCESS EXCLUSIVE MODE`);
  return {
    async release() {
      await session.query('ROLLBACK');
      await session.end();
    },
  };
}

async function scrape(port: number): Promise<string> {
  // A scrape that hangs fails here, not at the test's timeout.
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return res.text();
}

describe('requests and the process', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('metrics_requests');
    sandbox = await startSandbox({
      clock: new SandboxClock({ speed: 0 }),
      world: { historyDays: 3, futureDays: 0, messagesPerDay: 50, accounts: [{ login: 'quiet', password: 'quiet-pass', messagesPerDay: 0 }] },
    });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  it('an empty history (SMSC error 3) counts as ok', async () => {
    const base = sandboxConfig(sandbox).accounts[0]!;
    const config = sandboxConfig(sandbox, { accounts: [{ ...base, name: 'quiet', login: 'quiet', password: 'quiet-pass' }] });
    const metrics = new Metrics();
    const summaries = await runSync({ config, warehouse: database.warehouse, logger: testLogger, streams: ['outbound', 'inbound'], clock: sandbox.clock, metrics });
    expect(summaries.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
    const http = await startHttp({ port: 0, host: '127.0.0.1', metrics, health: async () => undefined });
    try {
      const text = await scrape(http.port);
      // The emulator's record of what it answered: an account with no messages gets error 3 to
      // every history request (SMS and e-mail), and [] to the replies.
      const served = sandbox.requests.filter((r) => r.login === 'quiet');
      expect(served.filter((r) => r.endpoint === 'get_messages').map((r) => r.outcome)).toEqual(['error 3', 'error 3']);
      expect(served.filter((r) => r.endpoint === 'get_answers').map((r) => r.outcome)).toEqual(['ok']);
      expect(find(text, 'smsc_sync_requests_total', { account: 'quiet' }).map((s) => [s.labels.endpoint, s.labels.outcome, s.value]).sort()).toEqual([
        ['get_answers', 'ok', 1],
        ['get_messages', 'ok', 2],
      ]);
      expect(text).not.toContain('error_3');
    } finally {
      await http.close();
    }
  });

  it('the process metrics carry their standard names', async () => {
    const http = await startHttp({ port: 0, host: '127.0.0.1', metrics: new Metrics(), health: async () => undefined });
    try {
      const text = await scrape(http.port);
      // Stock Node.js dashboards and alerts look for these names.
      for (const name of ['process_cpu_seconds_total', 'process_start_time_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_version_info']) {
        expect(text).toContain(`\n# TYPE ${name} `);
        expect(find(text, name).length).toBeGreaterThan(0);
      }
      expect(text).not.toMatch(/smsc_sync_(process|nodejs)_/);
    } finally {
      await http.close();
    }
  });
});

describe('smsc-sync start restarted', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('metrics_restart');
    sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 3, futureDays: 0, messagesPerDay: 50 } });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  itNeedsServer('the CLI process reaches the warehouse through DATABASE_URL, and a second session locks its tables')(
    'serves the last successes of the warehouse from its first scrape, and answers while the database is locked',
    async () => {
      // An earlier process synced (this test process stands in for it).
      const synced = await runSync({ config: sandboxConfig(sandbox), warehouse: database.warehouse, logger: testLogger, streams: ['outbound', 'inbound', 'tariffs'], clock: sandbox.clock });
      expect(synced.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      const start = cli(['start'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_BASE_URL: sandbox.url, DATABASE_URL: database.url!, SMSC_HTTP_PORT: '0', ...NO_FIRES }, sandbox);
      try {
        let port = 0;
        await until(() => (port = Number(start.logs().find((l) => l.msg === 'http listening (/healthz, /metrics)')?.port ?? 0)) > 0, 30_000, `start to listen: ${start.output()}`);
        const text = await scrape(port);

        const db = database.warehouse.db;
        const succeeded = await sql<{ stream: string; at: Date }>`
          SELECT stream, max(finished_at) AS at FROM smsc.sync_runs WHERE account = 'demo' AND outcome = 'succeeded' GROUP BY stream`.execute(db);
        expect(succeeded.rows.map((r) => r.stream).sort()).toEqual(['inbound', 'outbound', 'tariffs']);
        expect(find(text, 'smsc_sync_last_success_timestamp_seconds').map((s) => [s.labels.account, s.labels.stream, s.value]).sort()).toEqual(
          succeeded.rows.map((r) => ['demo', r.stream, new Date(r.at).getTime() / 1000]).sort(),
        );
        // The earlier process's history requests count against this hour's 30.
        const history = sandbox.requests.filter((r) => r.endpoint === 'get_messages').length;
        expect(history).toBeGreaterThan(0);
        expect(find(text, 'smsc_sync_history_requests_remaining')).toEqual([{ name: 'smsc_sync_history_requests_remaining', labels: { account: 'demo' }, value: 30 - history }]);
        expect(find(text, 'process_cpu_seconds_total')).toHaveLength(1);
        // Its clock is the emulator's (standing still): the ages are exact.
        const now = sandbox.clock.now();
        expect(find(text, 'smsc_sync_newest_row_age_seconds').map((s) => [s.labels.stream, s.value]).sort()).toEqual([
          ['inbound', (now - Math.max(...sandbox.world.repliesAt('demo', now).map((r) => r.receivedTs))) / 1000],
          ['outbound', (now - Math.max(...sandbox.world.truth('demo', now).map((v) => v.message.sendTs))) / 1000],
        ]);
        expect(find(text, 'smsc_sync_runs_in_progress').map((s) => s.value)).toEqual([0, 0, 0, 0, 0, 0, 0]);
        expect(find(text, 'smsc_sync_account_held')).toEqual([]);

        // Another session locks what the gauges are read from: scrapes answer from memory, with
        // the same values, and /healthz (which reads no table) stays healthy.
        const lock = await lockTables(database.url!, READ_TABLES);
        try {
          for (let i = 0; i < 3; i++) {
            const locked = await scrape(port);
            expect(find(locked, 'smsc_sync_last_success_timestamp_seconds')).toEqual(find(text, 'smsc_sync_last_success_timestamp_seconds'));
            await new Promise((r) => setTimeout(r, 200));
          }
          const health = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
          expect(health.status).toBe(200);
        } finally {
          await lock.release();
        }
      } finally {
        start.child.kill('SIGTERM');
        expect((await start.exit).code).toBe(0);
      }
    },
  );
});

describe('the warehouse read in the background', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('metrics_refresh');
    sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 3, futureDays: 0, messagesPerDay: 50 } });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  itNeedsServer('a second session locks the tables the gauges are read from')(
    'a refresh that cannot read gives up at its timeout, one at a time, and the scrape answers with the values read last',
    async (ctx) => {
      // The refresh's timeout is PostgreSQL's statement_timeout, and scripts/test-times.sh runs
      // PostgreSQL under libfaketime, where its timers never fire.
      if (process.env.FAKETIME) ctx.skip('PostgreSQL under libfaketime (scripts/test-times.sh) never fires statement_timeout; this test runs in the ordinary run');
      const config = sandboxConfig(sandbox);
      await runSync({ config, warehouse: database.warehouse, logger: testLogger, streams: ['tariffs'], clock: sandbox.clock });
      const metrics = new Metrics({ db: database.warehouse.db, accounts: config.accounts, refreshIntervalMs: 100, refreshTimeoutMs: 1000 });
      await metrics.startRefreshing();
      const http = await startHttp({ port: 0, host: '127.0.0.1', metrics, health: async () => undefined });
      try {
        const before = await scrape(http.port);
        const [refreshed] = find(before, 'smsc_sync_metrics_refresh_timestamp_seconds');
        expect(refreshed!.value).toBeGreaterThan(0);
        expect(find(before, 'smsc_sync_metrics_refresh_failures_total')[0]!.value).toBe(0);
        expect(find(before, 'smsc_sync_last_success_timestamp_seconds', { stream: 'tariffs' })).toHaveLength(1);

        const lock = await lockTables(database.url!, READ_TABLES);
        try {
          // Refreshes every 100 ms against a lock held for seconds: never more than one of them
          // waits for it (the next waits for the one under way instead of piling up).
          const waiting = () =>
            sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'smsc.sync_runs'::regclass`.execute(database.warehouse.db);
          let failures = 0;
          await until(async () => {
            expect((await waiting()).rows[0]!.n).toBeLessThanOrEqual(1);
            const text = await scrape(http.port);
            failures = find(text, 'smsc_sync_metrics_refresh_failures_total')[0]!.value;
            expect(find(text, 'smsc_sync_metrics_refresh_timestamp_seconds')).toEqual([refreshed]);
            expect(find(text, 'smsc_sync_last_success_timestamp_seconds')).toEqual(find(before, 'smsc_sync_last_success_timestamp_seconds'));
            return failures >= 2;
          }, 30_000, 'two refreshes to fail on the lock');
          expect(await metrics.refresh()).toBe(false);
        } finally {
          await lock.release();
        }
        expect(await metrics.refresh()).toBe(true);
        const after = await scrape(http.port);
        expect(find(after, 'smsc_sync_metrics_refresh_timestamp_seconds')[0]!.value).toBeGreaterThan(refreshed!.value);
      } finally {
        metrics.stopRefreshing();
        await http.close();
      }
    },
  );
});

describe('runs in progress', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('metrics_running');
    sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 3, futureDays: 0, messagesPerDay: 50 } });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  it('count the runs of this process under way, as sync_runs records them', async () => {
    const config = sandboxConfig(sandbox);
    const metrics = new Metrics({ accounts: config.accounts });
    const http = await startHttp({ port: 0, host: '127.0.0.1', metrics, health: async () => undefined });
    try {
      const inProgress = async () => Object.fromEntries(find(await scrape(http.port), 'smsc_sync_runs_in_progress', { account: 'demo' }).map((s) => [s.labels.stream, s.value]));
      const idle = { outbound: 0, inbound: 0, stats: 0, tariffs: 0, operators: 0, short_links: 0, balance: 0 };
      expect(await inProgress()).toEqual(idle);

      // The first history request answers late: the outbound run is under way meanwhile.
      sandbox.faults.inject({ kind: 'slow', endpoint: 'get_messages', delayMs: 1500, count: 1 });
      const sync = runSync({ config, warehouse: database.warehouse, logger: testLogger, streams: ['outbound'], clock: sandbox.clock, metrics });
      await until(async () => (await inProgress()).outbound === 1, 10_000, 'the outbound run to be under way');
      const recorded = await sql<{ stream: string; n: number }>`
        SELECT stream, count(*)::int AS n FROM smsc.sync_runs WHERE account = 'demo' AND outcome = 'running' GROUP BY stream`.execute(database.warehouse.db);
      expect(recorded.rows).toEqual([{ stream: 'outbound', n: 1 }]);
      expect(await inProgress()).toEqual({ ...idle, outbound: 1 });

      expect((await sync).map((s) => s.outcome)).toEqual(['succeeded']);
      expect(await inProgress()).toEqual(idle);
    } finally {
      await http.close();
    }
  });
});

describe('holds and the age of the newest data', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('metrics_gauges');
    sandbox = await startSandbox({
      clock: new SandboxClock({ speed: 0 }),
      world: {
        historyDays: 3,
        futureDays: 0,
        messagesPerDay: 200,
        accounts: [
          { login: 'demo', password: 'demo', subLogins: ['demo-shop'], shortLinks: [{ id: 145142, url: 'https://romashka.example/sale', short: 'https://smsc.ru/l/aB3dE' }] },
          { login: 'refused', password: 'refused-pass' },
          { login: 'blocked', password: 'blocked-pass' },
        ],
      },
    });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  it('report the accounts SMSC holds with the error code, and how old each stream\'s newest row is', async () => {
    const base = sandboxConfig(sandbox).accounts[0]!;
    const demo = { ...base, shortLinks: [{ id: 145142 }] };
    const refused = { ...base, name: 'refused', login: 'refused', password: 'not-the-password' };
    const blocked = { ...base, name: 'blocked', login: 'blocked', password: 'blocked-pass' };
    // SMSC blocks the address (error 4) at blocked's first request, and refuses refused's password (error 2).
    sandbox.faults.inject({ kind: 'error', code: 4, endpoint: 'get_price', count: 1 });
    expect((await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'], config: { accounts: [blocked] } })).map((s) => s.outcome)).toEqual(['failed']);
    expect((await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'], config: { accounts: [refused] } })).map((s) => s.outcome)).toEqual(['failed']);
    expect(sandbox.requests.filter((r) => r.login !== 'demo').map((r) => [r.login, r.outcome])).toEqual([
      ['blocked', 'fault error'],
      ['refused', 'error 2'],
    ]);
    const streams = ['outbound', 'inbound', 'stats', 'short_links', 'tariffs'];
    const synced = await syncOnce(sandbox, database.warehouse, { streams, config: { accounts: [demo] } });
    // (stats reads yesterday and today first, then the quota of 3 a minute defers the walk back.)
    expect(synced.map((s) => [s.stream, s.outcome])).toEqual([
      ['outbound', 'succeeded'],
      ['inbound', 'succeeded'],
      ['stats', 'deferred'],
      ['short_links', 'succeeded'],
      ['tariffs', 'succeeded'],
    ]);

    const accounts = [demo, refused, blocked];
    const metrics = new Metrics({ db: database.warehouse.db, accounts, clock: sandbox.clock });
    await metrics.startRefreshing();
    const http = await startHttp({ port: 0, host: '127.0.0.1', metrics, health: async () => undefined });
    try {
      const text = await scrape(http.port);
      expect(find(text, 'smsc_sync_account_held').map((s) => [s.labels.account, s.labels.error_code, s.value]).sort()).toEqual([
        ['blocked', '4', 1],
        ['refused', '2', 1],
      ]);

      // The emulator's truth: the newest message sent, the newest reply received, today (the
      // stats' newest day, from midnight Moscow), and the snapshot just taken.
      const now = sandbox.clock.now();
      const newestSent = Math.max(...sandbox.world.truth('demo', now).map((v) => v.message.sendTs));
      const replies = sandbox.world.repliesAt('demo', now);
      expect(replies.length).toBeGreaterThan(0);
      const newestReply = Math.max(...replies.map((r) => r.receivedTs));
      expect(find(text, 'smsc_sync_newest_row_age_seconds').map((s) => [s.labels.account, s.labels.stream, s.value]).sort()).toEqual([
        ['demo', 'inbound', (now - newestReply) / 1000],
        ['demo', 'outbound', (now - newestSent) / 1000],
        ['demo', 'short_links', 0],
        ['demo', 'stats', (now - zoneDayStart(now, 'Europe/Moscow')) / 1000],
      ]);

      // The age is taken at the scrape, from the instants read last: an hour later, an hour older.
      sandbox.clock.advance(3_600_000);
      const later = await scrape(http.port);
      expect(find(later, 'smsc_sync_newest_row_age_seconds', { stream: 'short_links' })[0]!.value).toBe(3600);
      // SMSC's block (error 4) is over 35 minutes after it came; a wrong password stays wrong.
      expect(await metrics.refresh()).toBe(true);
      const read = await scrape(http.port);
      expect(find(read, 'smsc_sync_account_held').map((s) => [s.labels.account, s.labels.error_code, s.value])).toEqual([['refused', '2', 1]]);
      expect(find(read, 'smsc_sync_newest_row_age_seconds', { stream: 'short_links' })[0]!.value).toBe(3600);
    } finally {
      metrics.stopRefreshing();
      await http.close();
    }
  });
});
