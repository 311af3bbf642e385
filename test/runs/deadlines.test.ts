// Nothing waits without a deadline: an SMSC answer that trickles in is cut off at the request
// deadline, a session of the read-only role holding a lock's key makes a run skip or fail
// with a message (never hang), `start` exits within its stop deadline whatever is running,
// sync exits 130 on Ctrl-C and 143 on SIGTERM, a run left by a dead process is shown as
// interrupted at once, and the embedded warehouse refuses a second process.
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { configWithDefaults } from '../../src/config.ts';
import { SmscClient } from '../../src/smsc/client.ts';
import { runSync } from '../../src/sync/sync.ts';
import { openWarehouse } from '../../src/warehouse/database.ts';
import type { Warehouse } from '../../src/warehouse/schema.ts';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { QuotaDeferredError } from '../../src/smsc/errors.ts';
import { QuotaLedger } from '../../src/smsc/quota-ledger.ts';
import { grantReader } from '../../src/warehouse/reader-role.ts';
import { type TestDatabase, testServerUrl, withDatabase } from '../helpers/database.ts';
import { testSandbox } from '../helpers/sandbox.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';
import { cli, until } from './processes.ts';
import { everyJobOn } from '../helpers/schedules.ts';

const lines: string[] = [];
const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }) });

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('deadlines');
  sandbox = await testSandbox({ world: { historyDays: 9, futureDays: 0, messagesPerDay: 3000 } });
});
beforeEach(() => {
  // The emulator's clock stands still: move it past SMSC's windows between tests, the
  // one-minute ones (the tests send the same requests) and the hour of 30 history requests
  // (several tests walk the history), so that no test inherits another's spent quota.
  sandbox.clock.advance(61 * 60_000);
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
  expect(sandbox.quotas.violations).toEqual([]);
});

const releases: (() => void)[] = [];
const sessions: Promise<unknown>[] = [];
const env = () => ({ SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_BASE_URL: sandbox.url, DATABASE_URL: database.url });
const db = () => database.warehouse.db;

describe('an SMSC answer that trickles in', () => {
  it('ends with a timeout error at the request deadline, not when the last byte comes', async () => {
    const account = { name: 'demo', login: 'demo', password: 'demo', baseUrl: sandbox.url, timezone: 'Europe/Moscow' };
    const client = new SmscClient({ account, ledger: new QuotaLedger(db(), sandbox.clock), logger, clock: sandbox.clock, timeoutMs: 1000, retries: 1, minBackoffMs: 10, maxBackoffMs: 20 });
    // One byte every 200 ms: a price list of ~700 bytes would take over two minutes.
    sandbox.faults.inject({ kind: 'trickle', endpoint: 'get_price', delayMs: 200, rate: 1 });
    try {
      const t0 = performance.now();
      await expect(client.getPrice()).rejects.toThrow(/SMSC did not answer get\.php in full within 1 s \(SMSC_REQUEST_TIMEOUT_SECONDS\)/);
      // Two attempts of one second each, and a back-off of at most 20 ms between them.
      expect(performance.now() - t0).toBeLessThan(2 * 1000 + 1500);
      expect(sandbox.requests.filter((r) => r.outcome === 'fault trickle')).toHaveLength(2);
    } finally {
      sandbox.faults.clear();
      await client.close();
    }
  });
});

describe('a database that gives no connection', () => {
  it('a warehouse server that does not answer: the CLI says which one, and what it waited for', async () => {
    // A port that accepts connections and never says a word, like a firewall that drops.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as AddressInfo).port;
    try {
      const run = cli(['status'], { ...env(), DATABASE_URL: `postgres://someone:secret-pw@127.0.0.1:${port}/warehouse`, SMSC_DB_TIMEOUT_SECONDS: '1' });
      const { code } = await run.exit;
      expect(code).toBe(1);
      expect(run.output()).toContain(`the database could not be reached at 127.0.0.1:${port} (DATABASE_URL): no answer within SMSC_DB_TIMEOUT_SECONDS (1 s): `);
      expect(run.output()).not.toContain('secret-pw');
    } finally {
      silent.close();
    }
  });

  it.skipIf(!testServerUrl())('fails the run with a message after SMSC_DB_TIMEOUT_SECONDS, never waits without end', async () => {
    // One run slot: a pool of 1 + 3 spare connections, all four taken by someone else.
    const warehouse = await openWarehouse<Warehouse>({ databaseUrl: database.url, maxConcurrentRuns: 1, dbTimeoutMs: 1000 });
    for (let i = 0; i < 4; i++) sessions.push(warehouse.session(() => new Promise<void>((release) => releases.push(release))));
    const account = { name: 'demo', login: 'demo', password: 'demo', baseUrl: sandbox.url, timezone: 'Europe/Moscow' };
    try {
      await until(() => releases.length === 4, 5000, 'four sessions held');
      const t0 = performance.now();
      const [run] = await runSync({ config: configWithDefaults([account], { maxConcurrentRuns: 1 }), warehouse, logger, streams: ['tariffs'], clock: sandbox.clock }).catch((e: unknown) => [
        { outcome: 'threw', error: String(e) },
      ]);
      expect(performance.now() - t0).toBeLessThan(1000 * 3 + 2000);
      expect(JSON.stringify(run)).toMatch(/no database connection became free within 1 s \(pool of 4\)/);
    } finally {
      for (const release of releases.splice(0)) release();
      await Promise.all(sessions.splice(0));
      await warehouse.close();
    }
  });
});

describe('two account names for one SMSC login', () => {
  it('share one quota: SMSC counts per login, and so does the ledger', async () => {
    const seen = sandbox.requests.length;
    sandbox.clock.advance(2 * 3_600_000);
    const as = (name: string) => configWithDefaults([{ name, login: 'demo', password: 'demo', baseUrl: sandbox.url, timezone: 'Europe/Moscow' }]);
    // Two installations (each configuration valid on its own) reading one login's history.
    const client = (name: string) =>
      new SmscClient({ account: as(name).accounts[0]!, ledger: new QuotaLedger(db(), sandbox.clock), logger, clock: sandbox.clock, minBackoffMs: 5, maxBackoffMs: 20 });
    const [a, b] = [client('shop'), client('shop-copy')];
    let deferred = 0;
    try {
      for (let i = 0; i < 25; i++) {
        for (const c of [a, b]) {
          await c.getMessages({ cnt: 10 + i, format: c === a ? 0 : 8 }).catch((e: unknown) => {
            if (!(e instanceof QuotaDeferredError)) throw e;
            deferred += 1;
          });
        }
      }
    } finally {
      await a.close();
      await b.close();
    }
    const history = sandbox.requests.slice(seen).filter((r) => r.endpoint === 'get_messages');
    expect(history).toHaveLength(30);
    expect(deferred).toBe(50 - 30);
    expect(history.filter((r) => r.outcome !== 'ok')).toEqual([]);
  });
});

describe('HTTP 429 with Retry-After', () => {
  it('backs off every client of the login until Retry-After, through the ledger; a longer one defers', async () => {
    const account = { name: 'demo', login: 'demo', password: 'demo', baseUrl: sandbox.url, timezone: 'Europe/Moscow' };
    // Time runs here, for the emulator and the clients alike.
    sandbox.clock.setSpeed(1);
    const clock = new SandboxClock({ start: sandbox.clock.now(), speed: 1 });
    const client = (maxBackoffMs = 30_000) =>
      new SmscClient({ account, ledger: new QuotaLedger(db(), clock), logger, clock, timeoutMs: 5000, minBackoffMs: 10, maxBackoffMs });
    const [a, b] = [client(), client()];
    const seen = sandbox.requests.length;
    sandbox.faults.inject({ kind: 'http429', endpoint: 'get_price', retryAfter: 2, count: 1 });
    try {
      const t0 = clock.now();
      const first = a.getPrice();
      const recorded = async () => (await db().selectFrom('smsc_internal.api_requests').select('id').where('retry_at', 'is not', null).execute()).length > 0;
      await until(recorded, 5000, 'the 429 in the ledger');
      // Another client (another process: its own ledger object, the same table) waits too.
      const second = b.getStat({ start: '14.06.2026', end: '14.06.2026' });
      expect(await first).toMatchObject({ zones: expect.any(Array) });
      await second;
      const served = sandbox.requests.slice(seen);
      expect(served.map((r) => r.outcome)).toEqual(['fault http429', 'ok', 'ok']);
      // Nothing was sent to SMSC before the Retry-After had passed.
      for (const r of served.slice(1)) expect(r.at - served[0]!.at).toBeGreaterThanOrEqual(2000);
      expect(clock.now() - t0).toBeGreaterThanOrEqual(2000);

      sandbox.faults.inject({ kind: 'http429', endpoint: 'get_price', retryAfter: 120, count: 1 });
      const impatient = client(1000);
      const deferred = await impatient.getPrice().catch((e: unknown) => e);
      expect(deferred).toBeInstanceOf(QuotaDeferredError);
      expect(deferred).toMatchObject({ rule: 'retry_after' });
      expect((deferred as QuotaDeferredError).retryAt.getTime() - clock.now()).toBeGreaterThan(110_000);
      await impatient.close();
    } finally {
      sandbox.clock.setSpeed(0);
      sandbox.faults.clear();
      await a.close();
      await b.close();
      await db().deleteFrom('smsc_internal.api_requests').where('retry_at', 'is not', null).execute();
    }
  });
});

describe('a session of the read-only role holding a lock key', () => {
  const role = `smsc_reader_t${process.pid}`;
  const login = `${role}_login`;
  let reader: pg.Client;
  beforeAll(async () => {
    if (!testServerUrl()) return;
    await grantReader(db(), role);
    await sql`CREATE ROLE ${sql.id(login)} LOGIN IN ROLE ${sql.id(role)}`.execute(db());
    const url = new URL(withDatabase(testServerUrl()!, database.name));
    url.username = login;
    reader = new pg.Client({ connectionString: url.toString() });
    await reader.connect();
  });
  afterAll(async () => {
    if (!testServerUrl()) return;
    await reader.end();
    await sql`DROP OWNED BY ${sql.id(login)}, ${sql.id(role)}`.execute(db());
    await sql`DROP ROLE ${sql.id(login)}`.execute(db());
    await sql`DROP ROLE ${sql.id(role)}`.execute(db());
  });

  it.skipIf(!testServerUrl())('on a run lock: the stream is reported skipped, promptly', async () => {
    // The run lock's key: hashtext(account || newline || stream) in key space 0x51c50002.
    await reader.query(`SELECT pg_advisory_lock(${0x51c5_0002}, hashtext('demo' || E'\\n' || 'tariffs'))`);
    try {
      const run = cli(['sync', '--streams', 'tariffs'], { ...env(), SMSC_DB_TIMEOUT_SECONDS: '2' }, sandbox);
      const { code } = await run.exit;
      expect(code, run.output()).toBe(0);
      const synced = run.logs().filter((l) => l.msg === 'stream synced');
      expect(synced.map((l) => [l.stream, l.outcome])).toEqual([['tariffs', 'skipped']]);
      const runs = await db().selectFrom('smsc.sync_runs').select(['stream', 'outcome']).where('stream', '=', 'tariffs').execute();
      expect(runs).toEqual([{ stream: 'tariffs', outcome: 'skipped' }]);
    } finally {
      await reader.query(`SELECT pg_advisory_unlock_all()`);
    }
  });

  it.skipIf(!testServerUrl())("on the quota ledger's lock: the run fails after lock_timeout with a message that says so", async (ctx) => {
    // scripts/test-times.sh runs PostgreSQL under libfaketime, where its timers never fire.
    if (process.env.FAKETIME) ctx.skip('PostgreSQL under libfaketime (scripts/test-times.sh) never fires lock_timeout; this test runs in the ordinary run');
    // The ledger's key: hashtext(host/login) in key space 0x51c50001.
    const key = `${new URL(sandbox.url).host}/demo`;
    await reader.query(`SELECT pg_advisory_lock(${0x51c5_0001}, hashtext($1))`, [key]);
    const seen = sandbox.requests.length;
    try {
      const run = cli(['sync', '--streams', 'tariffs'], { ...env(), SMSC_DB_TIMEOUT_SECONDS: '2' }, sandbox);
      const { code } = await run.exit;
      expect(code, run.output()).toBe(1);
      const failed = run.logs().find((l) => l.msg === 'stream failed') as { err?: { message?: string } } | undefined;
      expect(failed?.err?.message).toBe(
        `the quota ledger's lock for ${key} was not free within lock_timeout (SMSC_DB_TIMEOUT_SECONDS): another session holds it (look for advisory locks in pg_locks); no request was sent`,
      );
      expect(sandbox.requests.slice(seen)).toEqual([]);
    } finally {
      await reader.query(`SELECT pg_advisory_unlock_all()`);
    }
  });
});

describe('stopping', () => {
  it.skipIf(!testServerUrl())('start exits 0 within its stop deadline while a request hangs, and status shows the run as interrupted at once', async () => {
    sandbox.faults.inject({ kind: 'slow', endpoint: 'get_messages', delayMs: 120_000, rate: 1 });
    try {
      // Outbound alone: no start-up runs, and the other jobs scheduled 12 hours from now, so
      // that no fire of theirs (inbound's every 2 minutes) comes during the test, whatever the
      // time of day (a slow inbound run was once still in flight at the SIGTERM).
      const away = `0 ${(new Date().getUTCHours() + 3 + 12) % 24} * * *`;
      const others = everyJobOn(away, ['outbound']);
      const run = cli(['start'], { ...env(), ...others, SMSC_RUN_ON_START: 'false', SMSC_SCHEDULE_OUTBOUND: '* * * * * *', SMSC_STOP_TIMEOUT_SECONDS: '2' }, sandbox);
      const running = async () =>
        (await db().selectFrom('smsc.sync_runs').select('outcome').where('stream', '=', 'outbound').where('outcome', '=', 'running').execute()).length > 0;
      const seen = sandbox.requests.length;
      await until(running, 20_000, 'an outbound run to start');
      await until(() => sandbox.requests.slice(seen).some((r) => r.outcome === 'fault slow'), 10_000, 'the hanging request');
      const t0 = performance.now();
      run.child.kill('SIGTERM');
      const { code } = await run.exit;
      const waited = performance.now() - t0;
      expect(code, run.output()).toBe(0);
      expect(waited).toBeGreaterThanOrEqual(2000);
      expect(waited).toBeLessThan(2000 + 4000);
      const gaveUp = run.logs().find((l) => l.msg === 'exiting at the stop deadline with jobs still running; their open pages roll back');
      expect(gaveUp?.running).toEqual(['outbound:demo']);

      // The process is gone, its lock with it: status says interrupted now, not at the next run.
      const status = cli(['status', '--json'], env());
      // Exit 1: an interrupted run is a problem monitoring must see.
      expect((await status.exit).code, status.output()).toBe(1);
      const report = JSON.parse(status.output().slice(status.output().indexOf('['))) as { streams: { stream: string; lastRun: { outcome: string } | null; warnings: string[] }[] }[];
      const outbound = report[0]!.streams.find((s) => s.stream === 'outbound')!;
      expect(outbound.lastRun!.outcome).toBe('interrupted');
      expect(outbound.warnings.some((w) => /was interrupted \(its process ended\)/.test(w))).toBe(true);
    } finally {
      sandbox.faults.clear();
    }
  });

  it.skipIf(!testServerUrl())('start exits 0 on a SIGTERM that comes during its start-up, while it opens and migrates the warehouse', async () => {
    // A rolling update may stop a replica before its scheduler runs. (Before Node has loaded
    // any of the CLI, a few hundred milliseconds, no program of its own can catch a signal.)
    const connections = async () =>
      Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'smsc-sync' AND datname = current_database()`.execute(db())).rows[0]!.n);
    for (const afterMs of [0, 5, 50]) {
      const before = await connections();
      const run = cli(['start'], env());
      // Its first connection to the warehouse: the CLI's code is running, start-up is not over.
      await until(async () => (await connections()) > before || run.child.exitCode !== null, 30_000, 'the first connection');
      await new Promise((r) => setTimeout(r, afterMs));
      run.child.kill('SIGTERM');
      const { code, signal } = await run.exit;
      expect({ afterMs, code, signal }, run.output()).toEqual({ afterMs, code: 0, signal: null });
    }
  });

  for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it.skipIf(!testServerUrl())(`sync exits ${exitCode} on ${signal}, after the page in flight`, async () => {
      await sql`TRUNCATE smsc.outbound_messages, smsc.outbound_status_changes, smsc_internal.sync_state, smsc.sync_runs`.execute(db());
      sandbox.faults.inject({ kind: 'slow', endpoint: 'get_messages', delayMs: 300, rate: 1 });
      try {
        const run = cli(['sync', '--streams', 'outbound'], env(), sandbox);
        const held = async () => Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_messages`.execute(db())).rows[0]!.n);
        await until(async () => (await held()) >= 1000, 30_000, `the first page: ${run.output()}`);
        run.child.kill(signal);
        const { code } = await run.exit;
        expect(code, run.output()).toBe(exitCode);
        // Whole pages only, and the run is recorded as deferred (it resumes next time).
        expect((await held()) % 1000).toBe(0);
        const runs = await db().selectFrom('smsc.sync_runs').select('outcome').execute();
        expect(runs.map((r) => r.outcome)).toEqual(['deferred']);
      } finally {
        sandbox.faults.clear();
      }
    });
  }
});

describe('the embedded warehouse', () => {
  it('refuses a second process with one line naming the holder, and is taken over from a process that died', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsc-embedded-'));
    const embedded = { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_BASE_URL: sandbox.url, SMSC_DATA_DIR: dir };
    sandbox.faults.inject({ kind: 'slow', endpoint: 'get_messages', delayMs: 400, rate: 1 });
    try {
      const seen = sandbox.requests.length;
      const first = cli(['sync', '--streams', 'outbound'], embedded, sandbox);
      await until(() => sandbox.requests.slice(seen).some((r) => r.outcome === 'fault slow'), 60_000, 'the first sync to send a request');
      const second = cli(['status'], embedded);
      expect((await second.exit).code).toBe(1);
      // One line, on stderr, no stack trace.
      expect(second.output().trim().split('\n')).toHaveLength(1);
      expect(second.output()).toContain(
        `the embedded warehouse in ${dir} is in use by process ${first.child.pid} (smsc-sync sync, since `,
      );
      expect(second.output()).toContain('set DATABASE_URL to a PostgreSQL database to share a warehouse between processes');
      first.child.kill('SIGKILL');
      await first.exit;
      // The holder died: the next process takes the folder over and reports the run it left.
      const third = cli(['status', '--json'], embedded);
      // Exit 1: the interrupted run is reported as a problem.
      expect((await third.exit).code, third.output()).toBe(1);
      const report = JSON.parse(third.output().slice(third.output().indexOf('['))) as { streams: { stream: string; lastRun: { outcome: string } | null }[] }[];
      expect(report[0]!.streams.find((s) => s.stream === 'outbound')!.lastRun!.outcome).toBe('interrupted');
    } finally {
      sandbox.faults.clear();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
