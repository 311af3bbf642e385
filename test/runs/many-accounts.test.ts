// Twenty accounts, as an engineer running smsc-sync for many customers configures them:
// `sync` once, then three `start` replicas on one database with every job on schedules that
// fire together. Far more runs are due at once than the database pool holds; none may hang,
// /healthz must stay 200, SIGTERM must end every replica with exit 0 within its deadline,
// no quota may be broken, and every account's warehouse must equal its emulator's truth.
import { createServer } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import type { SandboxAccountSpec } from '../../src/sandbox/world.ts';
import { type TestDatabase, testServerUrl } from '../helpers/database.ts';
import { T0 } from '../helpers/sandbox.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';
import { type CliProcess, cli, until } from './processes.ts';
import { everyJobOn } from '../helpers/schedules.ts';

const ACCOUNTS = 20;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Moscow has kept UTC+3 since 2014. */
const MOSCOW = 3 * HOUR;
const moscowDayStart = (ms: number) => Math.floor((ms + MOSCOW) / DAY) * DAY - MOSCOW;
const moscowDay = (ms: number) => new Date(ms + MOSCOW).toISOString().slice(0, 10);
const money = (kopecks: number) => `${Math.trunc(kopecks / 100)}.${String(kopecks % 100).padStart(2, '0')}`;

const specs: SandboxAccountSpec[] = Array.from({ length: ACCOUNTS }, (_, i) => ({
  login: `acct${String(i + 1).padStart(2, '0')}`,
  password: `pw-${i + 1}-Zq8`,
  subLogins: [],
  toPhones: [`790377${String(i + 1).padStart(5, '0')}`],
  shortLinks: [],
}));
const accountsJson = (sandbox: Sandbox) =>
  JSON.stringify(specs.map((s) => ({ name: `shop-${s.login}`, login: s.login, password: s.password, baseUrl: sandbox.url })));

let sandbox: Sandbox;
beforeAll(async () => {
  if (!testServerUrl()) return;
  sandbox = await startSandbox({
    clock: new SandboxClock({ start: T0, speed: 0 }),
    seed: 31,
    world: { accounts: specs, historyDays: 9, futureDays: 0, messagesPerDay: 40 },
  });
});
afterAll(async () => {
  await sandbox?.stop();
});

/** Every message of the account sent since the first run's default (7 days back, Moscow midnight), as the last outbound read saw it. */
async function expectOutboundEqualsTruth(database: TestDatabase, login: string, at: number, since: number): Promise<void> {
  const rows = await database.warehouse.db
    .selectFrom('smsc.outbound_messages')
    .select(['int_id', 'status', 'cost'])
    .where('account', '=', `shop-${login}`)
    .orderBy('int_id')
    .execute();
  const truth = sandbox.world
    .truth(login, at)
    .filter((v) => v.message.sendTs >= since)
    .map((v) => ({ int_id: v.message.intId.toString(), status: v.status, cost: money(v.cost) }));
  expect(rows, login).toEqual(truth);
}

async function expectRepliesEqualTruth(database: TestDatabase, login: string, at: number): Promise<void> {
  const rows = await database.warehouse.db.selectFrom('smsc.inbound_messages').select(['id', 'message']).where('account', '=', `shop-${login}`).orderBy('id').execute();
  expect(rows, login).toEqual(sandbox.world.repliesAt(login, at).map((r) => ({ id: String(r.id), message: r.text })));
}

describe('twenty accounts', () => {
  it.skipIf(!testServerUrl())('sync: every stream of every account in one pass, with 4 run slots and a pool of 7', async () => {
    const database = await migratedDatabase('many_sync');
    try {
      const run = cli(['sync'], { SMSC_ACCOUNTS: accountsJson(sandbox), DATABASE_URL: database.url, SMSC_MAX_CONCURRENT_RUNS: '4' }, sandbox);
      const { code } = await run.exit;
      expect(code, run.output().slice(-3000)).toBe(0);
      const outcomes = await sql<{ stream: string; outcome: string; n: number }>`
        SELECT stream, outcome, count(*)::int AS n FROM smsc.sync_runs GROUP BY 1, 2 ORDER BY 1, 2`.execute(database.warehouse.db);
      // Stats reads 8 days at 3 requests a minute: the quota defers it, the next run goes on.
      expect(outcomes.rows).toEqual([
        { stream: 'balance', outcome: 'succeeded', n: ACCOUNTS },
        { stream: 'inbound', outcome: 'succeeded', n: ACCOUNTS },
        { stream: 'operators', outcome: 'succeeded', n: ACCOUNTS },
        { stream: 'outbound', outcome: 'succeeded', n: ACCOUNTS },
        { stream: 'short_links', outcome: 'succeeded', n: ACCOUNTS },
        { stream: 'stats', outcome: 'deferred', n: ACCOUNTS },
        { stream: 'tariffs', outcome: 'succeeded', n: ACCOUNTS },
      ]);
      const since = moscowDayStart(T0 - 7 * DAY);
      for (const s of specs) {
        await expectOutboundEqualsTruth(database, s.login, T0, since);
        await expectRepliesEqualTruth(database, s.login, T0);
      }
      expect(sandbox.quotas.violations).toEqual([]);
    } finally {
      await database.drop();
    }
  });

  it.skipIf(!testServerUrl())('start: three replicas, every job firing together five times: no run hangs, /healthz stays 200, SIGTERM ends all with 0', async () => {
    const database = await migratedDatabase('many_start');
    // A new emulated hour, and the emulator's clock runs ten times faster from here, as the
    // replicas' clocks do: statuses, costs and quota windows move while they run. (Faster
    // would shrink the ledger's 2 s margin for network delay below what a loaded machine
    // takes to deliver a request: 200 ms of real time here.)
    sandbox.clock.advance(HOUR);
    sandbox.clock.setSpeed(10);
    const ports = await Promise.all([0, 1, 2].map(freePort));
    // Every 8 s: five fires take about as long as the stats walk below (8 days at 3 requests a
    // minute, on a clock ten times faster), so the replicas do not run twice as many fires as
    // the test needs while it waits for the walk (every 4 s: 24 s of CPU against 18 s).
    const every = '*/8 * * * * *';
    const env = {
      SMSC_ACCOUNTS: accountsJson(sandbox),
      DATABASE_URL: database.url,
      SMSC_STOP_TIMEOUT_SECONDS: '5',
      ...everyJobOn(every),
    };
    const replicas: CliProcess[] = ports.map((port, i) =>
      cli(['start'], { ...env, SMSC_HTTP_PORT: String(port), SMSC_MAX_CONCURRENT_RUNS: String(2 + i) }, sandbox),
    );
    const unhealthy: string[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        for (const port of ports) {
          try {
            const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
            if (res.status !== 200) unhealthy.push(`${port}: ${res.status} ${await res.text()}`);
          } catch (error) {
            // Not listening yet at start-up is not unhealthy; once listening, it must answer.
            if (!String((error as { cause?: { code?: string } }).cause?.code).includes('ECONNREFUSED')) unhealthy.push(`${port}: ${String(error)}`);
          }
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      // Every job of every account fires on the same seconds: wait for five such fires.
      const slots = async () => {
        const r = await sql<{ n: number }>`
          SELECT count(DISTINCT right(key, 24))::int AS n FROM smsc_internal.cron_fires WHERE key LIKE 'stats:%'`.execute(database.warehouse.db);
        return r.rows[0]!.n;
      };
      // …and for the stats walk (8 days at 3 requests a minute) to reach its start everywhere.
      const statsDays = async () => {
        const r = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM smsc.daily_stats WHERE balance = 'main' AND account = 'shop-' || login`.execute(database.warehouse.db);
        return r.rows[0]!.n;
      };
      await until(async () => (await slots()) >= 5 && (await statsDays()) >= ACCOUNTS * 8, 90_000, 'five fires of every job and every stats day', 500);
    } catch (error) {
      for (const r of replicas) r.child.kill('SIGKILL');
      throw error;
    } finally {
      polling = false;
      await poll;
    }
    const t0 = performance.now();
    for (const r of replicas) r.child.kill('SIGTERM');
    const exits = await Promise.all(replicas.map((r) => r.exit));
    const stopMs = performance.now() - t0;
    sandbox.clock.setSpeed(0);
    expect(exits.map((e) => e.code), replicas.map((r) => r.output().slice(-2000)).join('\n---\n')).toEqual([0, 0, 0]);
    expect(stopMs).toBeLessThan(5000 + 3000);
    expect(unhealthy).toEqual([]);

    const db = database.warehouse.db;
    // Each fire of each job was claimed by one replica for every account (the key is unique),
    // every job fired at least five times, and every replica took a share of the fires. (Which
    // replica wins a given job's claims is a race: only the whole is asserted.)
    const fires = await sql<{ job: string; slots: number }>`
      SELECT split_part(key, ':', 1) AS job, count(DISTINCT right(key, 24))::int AS slots
      FROM smsc_internal.cron_fires WHERE key NOT LIKE 'resume:%' AND key NOT LIKE 'startup:%' GROUP BY 1 ORDER BY 1`.execute(db);
    expect(fires.rows.map((f) => f.job)).toEqual(['balance', 'inbound', 'operators', 'outbound', 'short_links', 'stats', 'tariffs']);
    for (const f of fires.rows) expect(f.slots, f.job).toBeGreaterThanOrEqual(5);
    const shares = await sql<{ replica: string; n: number }>`
      SELECT claimed_by AS replica, count(*)::int AS n FROM smsc_internal.cron_fires GROUP BY 1`.execute(db);
    expect(shares.rows.length, JSON.stringify(shares.rows)).toBe(3);
    // Nothing left running, nothing failed: every run ended, and the process that ran it is known.
    const outcomes = await sql<{ outcome: string; n: number }>`SELECT outcome, count(*)::int AS n FROM smsc.sync_runs GROUP BY 1 ORDER BY 1`.execute(db);
    expect(outcomes.rows.map((r) => r.outcome).filter((o) => o === 'running' || o === 'failed')).toEqual([]);
    expect(outcomes.rows.reduce((s, r) => s + r.n, 0)).toBeGreaterThanOrEqual(ACCOUNTS * 7 * 3);

    // Each account as its last reads saw the world (outbound: one page per channel holds all of
    // an account's messages, so every outbound run re-read them all).
    const since = moscowDayStart(T0 + HOUR - 7 * DAY);
    for (const s of specs) {
      const sent = sandbox.requests.filter((r) => r.login === s.login && r.outcome === 'ok');
      const lastOf = (endpoint: string) => Math.min(...[sent.filter((r) => r.endpoint === endpoint).at(-1)!.at]);
      await expectOutboundEqualsTruth(database, s.login, lastOf('get_messages'), since);
      await expectRepliesEqualTruth(database, s.login, lastOf('get_answers'));
      // Stats: every day from the first run's start to today, and the settled ones to the kopeck.
      const days = await db.selectFrom('smsc.daily_stats').select(['day', 'messages', 'credit']).where('account', '=', `shop-${s.login}`).where('login', '=', s.login).where('balance', '=', 'main').orderBy('day').execute();
      const expected: string[] = [];
      for (let d = since; d <= sandbox.clock.now(); d += DAY) expected.push(moscowDay(d));
      expect(days.map((d) => String(d.day)), s.login).toEqual(expected);
      for (const d of days.filter((d) => String(d.day) < moscowDay(T0 - 2 * DAY))) {
        const start = Date.parse(`${String(d.day)}T00:00:00Z`) - MOSCOW;
        const [truth] = sandbox.world.stats(s.login, start, start, sandbox.clock.now(), 'main');
        expect({ day: String(d.day), messages: d.messages, credit: d.credit }).toEqual({ day: String(d.day), messages: truth!.sms, credit: money(truth!.credit) });
      }
    }
    expect(sandbox.quotas.violations).toEqual([]);
    await database.drop();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
