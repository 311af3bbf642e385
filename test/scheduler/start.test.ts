// Running it for real: three `smsc-sync start` replicas on one database, SIGTERM in the
// middle of a run, several accounts where one is refused, /metrics and /healthz.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.ts';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import { startHttp } from '../../src/scheduler/http.ts';
import { Scheduler, schedulerHealth } from '../../src/scheduler/scheduler.ts';
import { readStatus } from '../../src/sync/status.ts';
import { runSync } from '../../src/sync/sync.ts';
import { openWarehouse } from '../../src/warehouse/database.ts';
import { type TestDatabase } from '../helpers/database.ts';
import { itNeedsServer } from '../helpers/needs-server.ts';
import { isoDay, smscDateText, zoneDayStart } from '../helpers/oracle.ts';
import { sandboxConfig, syncOnce, testLogger } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';
import { childEnv } from '../helpers/child-env.ts';

const BIN = new URL('../../bin/smsc-sync.js', import.meta.url).pathname;
const TZ = 'Europe/Moscow';

function startReplica(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [BIN, 'start'], { env: childEnv({ LOG_LEVEL: 'info', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
}

async function stopReplica(child: ChildProcess): Promise<number> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  return code as number;
}

describe('three start replicas on one database', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('replicas');
    // The world stands still at the real time; the replicas plan their quota on the system clock.
    sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), seed: 21, world: { historyDays: 10, futureDays: 0, messagesPerDay: 300 } });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  itNeedsServer('three replica processes share the warehouse through DATABASE_URL; PGlite lives inside the test process')('run every fire once, within the quota, and fill the warehouse with the truth', async () => {
    const env = {
      SMSC_LOGIN: 'demo',
      SMSC_PASSWORD: 'demo',
      SMSC_BASE_URL: sandbox.url,
      DATABASE_URL: database.url!,
      SMSC_SCHEDULE_OUTBOUND: '*/2 * * * * *',
      SMSC_SCHEDULE_INBOUND: '*/3 * * * * *',
      SMSC_SCHEDULE_TARIFFS: '*/4 * * * * *',
    };
    const startedAt = Date.now();
    const replicas = [1, 2, 3].map(() => startReplica(env));
    // Until every job has fired a few times (not a fixed wait: a loaded machine can take
    // seconds just to start three Node processes), and every replica has claimed a fire.
    const deadline = performance.now() + 60_000;
    for (;;) {
      const claims = await sql<{ job: string; n: number; replicas: number }>`
        SELECT split_part(key, ':', 1) AS job, count(*)::int AS n, count(DISTINCT claimed_by)::int AS replicas
        FROM smsc_internal.cron_fires GROUP BY 1`.execute(database.warehouse.db);
      const fired = new Map(claims.rows.map((c) => [c.job, c]));
      const claimedBy = await sql<{ n: number }>`SELECT count(DISTINCT claimed_by)::int AS n FROM smsc_internal.cron_fires`.execute(database.warehouse.db);
      if (['outbound', 'inbound', 'tariffs'].every((j) => (fired.get(j)?.n ?? 0) >= 3) && claimedBy.rows[0]!.n > 1) break;
      if (performance.now() > deadline) throw new Error(`the jobs did not fire three times each within 60 s: ${JSON.stringify(claims.rows)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const codes = await Promise.all(replicas.map(stopReplica));
    const stoppedAt = Date.now();
    expect(codes).toEqual([0, 0, 0]);

    const db = database.warehouse.db;
    const fires = await db.selectFrom('smsc_internal.cron_fires').select(['key', 'claimed_by']).execute();
    const jobsFired = (job: string) => fires.filter((f) => f.key.startsWith(`${job}:demo:`)).length;
    expect(jobsFired('outbound')).toBeGreaterThanOrEqual(2);
    // Every job ran once shortly after start (SMSC_RUN_ON_START), once for all three replicas.
    const JOBS = ['balance', 'inbound', 'operators', 'outbound', 'short_links', 'stats', 'tariffs'];
    expect(fires.filter((f) => f.key.startsWith('startup:')).map((f) => f.key).sort()).toEqual(JOBS.map((j) => `startup:${j}:demo`));
    // Each fire (one key per job and scheduled second) ran one run of its stream, on one replica.
    const runs = await sql<{ stream: string; n: number }>`SELECT stream, count(*)::int AS n FROM smsc.sync_runs GROUP BY stream ORDER BY stream`.execute(db);
    // (A deferred stats run resumes at its retry time, a minute on: a resume claim, if any.)
    const resumed = (job: string) => fires.filter((f) => f.key.startsWith(`resume:${job}:demo:`)).length;
    // A fire that comes while the same replica still runs the job's start-up run is left to
    // the others; if none takes it (all busy), it is not run: at most that one per job.
    const runsOf = Object.fromEntries(runs.rows.map((r) => [r.stream, r.n]));
    expect(Object.keys(runsOf).sort()).toEqual([...JOBS].sort());
    for (const j of JOBS) {
      expect(runsOf[j], j).toBeGreaterThanOrEqual(jobsFired(j) + resumed(j));
      expect(runsOf[j], j).toBeLessThanOrEqual(jobsFired(j) + 1 + resumed(j));
    }
    expect(new Set(fires.map((f) => f.claimed_by)).size).toBeGreaterThan(1);
    expect(sandbox.quotas.violations).toEqual([]);

    // The replicas' first run read from midnight (Moscow) 7 days back on their system clock,
    // some time while they ran: Moscow midnight may have passed meanwhile.
    const start = new URLSearchParams(sandbox.requests.find((r) => r.endpoint === 'get_messages' && r.outcome === 'ok')!.fingerprint.split('?')[1]).get('start')!;
    expect([startedAt, stoppedAt].map((t) => smscDateText(t - 7 * 86_400_000, TZ))).toContain(start);
    const since = zoneDayStart(isoDay(start), TZ);
    const held = (await db.selectFrom('smsc.outbound_messages').select('int_id').orderBy('int_id').execute()).map((r) => r.int_id);
    const truth = sandbox.world.truth('demo', sandbox.clock.now()).filter((v) => v.message.sendTs >= since).map((v) => v.message.intId.toString());
    expect(held).toEqual(truth);
    expect(Number((await db.selectFrom('smsc.inbound_messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(sandbox.world.repliesAt('demo', sandbox.clock.now()).length);
  });
});

describe('SIGTERM in the middle of a run', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('sigterm');
    sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), seed: 22, world: { historyDays: 8, futureDays: 0, messagesPerDay: 5000 } });
    sandbox.faults.inject({ kind: 'slow', endpoint: 'get_messages', delayMs: 400, rate: 1 });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  itNeedsServer('the replica process writes to the warehouse through DATABASE_URL; PGlite lives inside the test process')('exits 0 promptly, having committed whole pages only', async () => {
    const child = startReplica({ SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_BASE_URL: sandbox.url, DATABASE_URL: database.url!, SMSC_SCHEDULE_OUTBOUND: '* * * * * *' });
    const db = database.warehouse.db;
    const held = async () => Number((await db.selectFrom('smsc.outbound_messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    while ((await held()) < 2000) await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    expect(await stopReplica(child)).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000);

    // Whole pages: the newest k × 1000 SMS of the truth, and the saved walk goes on below them.
    const ids = (await db.selectFrom('smsc.outbound_messages').select('int_id').where('channel', '=', 'sms').orderBy('int_id', 'desc').execute()).map((r) => r.int_id);
    expect(ids.length % 1000).toBe(0);
    const truth = sandbox.world.truth('demo', sandbox.clock.now()).filter((v) => v.message.format !== 8).map((v) => v.message.intId.toString()).reverse();
    expect(ids).toEqual(truth.slice(0, ids.length));
    const cursor = (await db.selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', 'outbound').executeTakeFirstOrThrow()).cursor as any;
    expect(cursor.sms.walk.next).toBe(ids.at(-1));
    const runs = await db.selectFrom('smsc.sync_runs').select(['outcome', 'error']).execute();
    expect(runs.map((r) => r.outcome)).toContain('deferred');
    expect(runs.map((r) => r.outcome)).not.toContain('running');
  });
});

describe('several accounts', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('accounts');
    sandbox = await startSandbox({
      clock: new SandboxClock({ speed: 0 }),
      world: { historyDays: 10, futureDays: 0, messagesPerDay: 100, accounts: [{ login: 'shop', password: 'shop-pass' }, { login: 'bank', password: 'bank-pass' }] },
    });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  it('one refused account (error 2) never stops the other, and status names the stopped one', async () => {
    const base = sandboxConfig(sandbox).accounts[0]!;
    const accounts = [
      { ...base, name: 'shop', login: 'shop', password: 'shop-pass' },
      { ...base, name: 'bank', login: 'bank', password: 'not-the-password' },
    ];
    const summaries = await syncOnce(sandbox, database.warehouse, { streams: ['outbound', 'inbound', 'tariffs'], config: { accounts } });
    expect(summaries.filter((s) => s.account === 'shop').map((s) => s.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(summaries.filter((s) => s.account === 'bank').map((s) => s.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(sandbox.requests.filter((r) => r.outcome === 'error 2')).toHaveLength(1);

    const shop = await database.warehouse.db.selectFrom('smsc.outbound_messages').select('int_id').where('account', '=', 'shop').orderBy('int_id').execute();
    const since = zoneDayStart(sandbox.clock.now() - 7 * 86_400_000, TZ);
    expect(shop.map((r) => r.int_id)).toEqual(sandbox.world.truth('shop', sandbox.clock.now()).filter((v) => v.message.sendTs >= since).map((v) => v.message.intId.toString()));
    const status = await readStatus(database.warehouse.db, sandboxConfig(sandbox, { accounts }), sandbox.clock);
    expect(status.find((s) => s.account === 'shop')!.stopped).toBeNull();
    expect(status.find((s) => s.account === 'bank')!.stopped).toMatchObject({ errorCode: 2, until: null, reason: 'authorization error' });
  });
});

describe('a restart', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('restart');
    sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 10, futureDays: 0, messagesPerDay: 50 } });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  it('resumes a run the quota cut short before it at its retry time, not at the next fire', async () => {
    // A stats run deferred by SMSC's 3 get_stat a minute (8 days to read), in a process gone since.
    const config = sandboxConfig(sandbox, { runOnStart: false, statsElectronic: false });
    const [deferred] = await syncOnce(sandbox, database.warehouse, { streams: ['stats'], config: { runOnStart: false, statsElectronic: false } });
    expect(deferred!.outcome).toBe('deferred');
    const retryAt = deferred!.deferredUntil!.getTime();
    // Restarted shortly before the retry time, with the stats job's fires far away.
    sandbox.clock.set(retryAt - 1500);
    // The emulator's clock follows the real one from here, as a running world would.
    sandbox.clock.setSpeed(1);
    const scheduler = new Scheduler({ config: { ...config, schedules: { stats: '0 0 1 1 *' } }, warehouse: database.warehouse, logger: testLogger, clock: sandbox.clock, jobs: [{ name: 'stats', schedule: '0 0 1 1 *', streams: ['stats'], description: 'stats' }] as never });
    scheduler.start();
    try {
      const deadline = performance.now() + 30_000;
      while (scheduler.resumes === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await scheduler.idle();
      expect(scheduler.resumes).toBe(1);
      const claims = await database.warehouse.db.selectFrom('smsc_internal.cron_fires').select('key').execute();
      expect(claims.map((c) => c.key)).toEqual([`resume:stats:demo:${new Date(retryAt).toISOString().slice(0, 19)}`]);
      const runs = await database.warehouse.db.selectFrom('smsc.sync_runs').select(['stream', 'started_at']).where('stream', '=', 'stats').orderBy('started_at').execute();
      expect(runs).toHaveLength(2);
      expect(new Date(runs[1]!.started_at).getTime()).toBeGreaterThanOrEqual(retryAt);
    } finally {
      await scheduler.stop(5000);
      sandbox.clock.setSpeed(0);
    }
  });
});

describe('/metrics and /healthz', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('metrics');
    sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 5, futureDays: 0, messagesPerDay: 100 } });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  it('serve the named metrics, and health goes 503 when the database does not answer', async () => {
    const config = sandboxConfig(sandbox);
    const metrics = new Metrics({ db: database.warehouse.db, accounts: config.accounts, clock: sandbox.clock });
    const scheduler = new Scheduler({ config, warehouse: database.warehouse, logger: testLogger, metrics, clock: sandbox.clock, jobs: [] });
    scheduler.start();
    await runSync({ config, warehouse: database.warehouse, logger: testLogger, streams: ['tariffs'], clock: sandbox.clock, metrics });
    await metrics.startRefreshing();
    const http = await startHttp({ port: 0, host: '127.0.0.1', metrics, health: schedulerHealth(scheduler, database.warehouse.db) });
    try {
      const health = await fetch(`http://127.0.0.1:${http.port}/healthz`);
      expect(health.status).toBe(200);
      const text = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
      expect(text).toContain('smsc_sync_requests_total{account="demo",endpoint="get_price",outcome="ok"} 1');
      expect(text).toMatch(/smsc_sync_history_requests_remaining\{account="demo"\} \d+/);
      expect(text).toContain('smsc_sync_rows_total{account="demo",stream="tariffs",kind="inserted"} 8');
      expect(text).toMatch(/smsc_sync_run_duration_seconds_count\{account="demo",stream="tariffs",outcome="succeeded"\} 1/);
      expect(text).toMatch(/smsc_sync_last_success_timestamp_seconds\{account="demo",stream="tariffs"\} \d+/);

      // A warehouse whose server does not answer: /healthz says so.
      const dead = await openWarehouse<any>({ databaseUrl: 'postgres://root@127.0.0.1:1/nothing' });
      const deadHttp = await startHttp({ port: 0, host: '127.0.0.1', metrics, health: schedulerHealth(scheduler, dead.db) });
      const bad = await fetch(`http://127.0.0.1:${deadHttp.port}/healthz`);
      expect(bad.status).toBe(503);
      expect(await bad.text()).toMatch(/^unhealthy: database does not answer/);
      await deadHttp.close();
      await dead.close();

      await scheduler.stop();
      expect((await fetch(`http://127.0.0.1:${http.port}/healthz`)).status).toBe(503);
    } finally {
      metrics.stopRefreshing();
      await http.close();
    }
  });
});
