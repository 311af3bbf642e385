// Crash suite: `smsc-sync sync` (the real CLI, all message streams) on a large emulator
// account, SIGKILLed at 20 seeded random moments and restarted each time. At the end the
// warehouse equals the emulator's truth: no row lost, none doubled, cursors at rest.
//
// The emulator's clock runs 240× faster than real time and each child's clock follows it
// (emulated-clock.ts), so the 30 history requests an hour allow a long walk within the test;
// the emulator counts its quotas on the same clock and reports any violation.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { Random } from '../../src/sandbox/random.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import { type TestDatabase, testServerUrl } from '../helpers/database.ts';
import { addDaysText, daysFromTo, isoDay, moneyText, smscDateText, zoneDay, zoneDayStart } from '../helpers/oracle.ts';
import { T0 } from '../helpers/sandbox.ts';
import { syncOnce, truthRow, warehouseRows } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';
import { childEnv } from '../helpers/child-env.ts';

const BIN = new URL('../../bin/smsc-sync.js', import.meta.url).pathname;
const CLOCK = new URL('./emulated-clock.ts', import.meta.url).pathname;
const TZ = 'Europe/Moscow';
const HOUR = 3_600_000;
const SEED = 20_261_123;
const KILLS = 20;
const SPEED = 240;

let database: TestDatabase;
let sandbox: Sandbox;
let worldStart: number;

beforeAll(async () => {
  if (!testServerUrl()) return;
  database = await migratedDatabase('crash');
  // A fixed start (12:00 in Moscow), not the real time: which days count as settled below
  // depends on the hour the world starts at (started between 00:00 and 01:00 Moscow time,
  // only two days were, and the test failed).
  const clock = new SandboxClock({ start: T0, speed: SPEED });
  worldStart = clock.now();
  sandbox = await startSandbox({
    clock,
    seed: 23,
    // ~50,000 messages from --since to the last one, sent until 18 h after the start.
    world: { historyDays: 3, futureDays: 0.75, messagesPerDay: 15_000 },
  });
});
afterAll(async () => {
  await sandbox?.stop();
  await database?.drop();
});

const db = () => database.warehouse.db;

function startSync(since: string): { child: ChildProcess; exit: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ['--import', CLOCK, BIN, 'sync', '--streams', 'outbound,inbound,stats', '--since', since], {
    env: childEnv({
      SMSC_LOGIN: 'demo',
      SMSC_PASSWORD: 'demo',
      SMSC_BASE_URL: sandbox.url,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'warn',
      EMULATED_CLOCK: `${sandbox.clock.now()},${Date.now()},${SPEED}`,
    }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d) => (output += String(d)));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exit, output: () => output };
}

const count = async (table: string, where = sql`true`) =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE ${where}`.execute(db())).rows[0]!.n;

describe('SIGKILL at 20 random moments', () => {
  it.skipIf(!testServerUrl())('loses and doubles nothing: after the restarts the warehouse equals the truth', async () => {
    const since = smscDateText(worldStart - 2 * 24 * HOUR, TZ);
    const sinceMs = zoneDayStart(worldStart - 2 * 24 * HOUR, TZ);
    const random = new Random(SEED);
    const kills: { afterMs: number; messagesHeld: number }[] = [];
    let ranToTheEnd = 0;
    // The kill comes at a random moment of the run's life: within 1.2 s at first, and within
    // the length of the last run that ended by itself once runs are shorter than that (once the
    // walk is done a run lasts a few requests, and on a fast machine a fixed 1.2 s outlived
    // most of them: 'only 16 kills in 80 runs').
    let killWithinMs = 1200;
    for (let spawned = 0; kills.length < KILLS; spawned++) {
      if (spawned >= 80) throw new Error(`only ${kills.length} kills in 80 runs`);
      const afterMs = random.int(0, killWithinMs);
      const run = startSync(since);
      // The random moment counts from the child's first recorded run, not from its spawn: on a
      // loaded machine Node's start-up alone can outlast the delay, and a process killed
      // before it began a run tests nothing.
      const started = async () => (await count('smsc.sync_runs', sql`process = ${`${hostname()}:${run.child.pid}`}`)) > 0;
      let exitedEarly = false;
      void run.exit.then(() => (exitedEarly = true));
      while (!exitedEarly && !(await started())) await new Promise((r) => setTimeout(r, 20));
      const runStarted = performance.now();
      const exited = await Promise.race([run.exit, new Promise<'alive'>((r) => setTimeout(() => r('alive'), afterMs))]);
      if (exited !== 'alive') {
        // A run may end by itself first (done, or deferred by the quota): exit 0, not a crash.
        expect(exited, run.output()).toBe(0);
        ranToTheEnd += 1;
        const ranMs = Math.round(performance.now() - runStarted);
        // Deferred by the hour's history requests: the next hour begins now rather than in
        // 15 s of real time, in which every run would defer at once and test nothing.
        const deferred = await count('smsc.sync_runs', sql`process = ${`${hostname()}:${run.child.pid}`} AND stream = 'outbound' AND outcome = 'deferred'`);
        if (deferred > 0) sandbox.clock.advance(HOUR);
        else killWithinMs = Math.max(50, Math.min(killWithinMs, ranMs));
        continue;
      }
      run.child.kill('SIGKILL');
      await run.exit;
      kills.push({ afterMs, messagesHeld: await count('smsc.outbound_messages') });
    }
    // The killed runs were recorded as interrupted by the runs after them.
    const interrupted = await count('smsc.sync_runs', sql`error = 'interrupted: the process ended during the run'`);
    expect(interrupted).toBeGreaterThan(0);

    // Freeze the world where nothing changes any more (the last message is >25 h old) and
    // let the sync finish, in this process, one emulated hour apart while the quota paces it:
    // until a refresh of the whole status window that began after the freeze has completed.
    const lastSent = sandbox.world.account('demo')!.messages.at(-1)!.sendTs;
    sandbox.clock.setSpeed(0);
    sandbox.clock.set(Math.max(sandbox.clock.now(), lastSent + 26 * HOUR));
    const frozenAt = sandbox.clock.now();
    // A window reaching back past the start re-reads what changed during the kills.
    const config = { statusWindowHours: 96 };
    for (let pass = 0; ; pass++) {
      if (pass > 30) throw new Error('the sync did not complete in 30 emulated hours');
      let summaries = await syncOnce(sandbox, database.warehouse, { streams: ['outbound', 'inbound', 'stats'], since: new Date(sinceMs), config });
      // A stats run the minute's 3 requests cut short (two balances of each day) resumes at its
      // retry time, as start's scheduler resumes it, not an hour later.
      for (let resume = 0; resume < 10 && summaries.find((s) => s.stream === 'stats')!.outcome === 'deferred'; resume++) {
        sandbox.clock.advance(61_000);
        const [stats] = await syncOnce(sandbox, database.warehouse, { streams: ['stats'], since: new Date(sinceMs), config });
        summaries = summaries.map((s) => (s.stream === 'stats' ? stats! : s));
      }
      expect(summaries.map((s) => s.outcome)).not.toContain('failed');
      const outbound = (await db().selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', 'outbound').executeTakeFirstOrThrow()).cursor as any;
      const refreshed = ['sms', 'email'].every((c) => !outbound[c].walk && !outbound[c].refresh && Date.parse(outbound[c].refreshedWindow) >= frozenAt);
      if (refreshed && summaries.every((s) => s.outcome === 'succeeded')) break;
      sandbox.clock.advance(HOUR + 60_000);
    }
    const now = sandbox.clock.now();

    // Outbound: every message since --since, once, with the status and cost of now.
    const truth = sandbox.world.truth('demo', now).filter((v) => v.message.sendTs >= sinceMs);
    expect(truth.length).toBeGreaterThan(40_000);
    const rows = await warehouseRows(database.warehouse);
    expect(rows.length).toBe(truth.length);
    expect(rows).toEqual(truth.map(truthRow).sort((a, b) => (BigInt(a.int_id as string) < BigInt(b.int_id as string) ? -1 : 1)));
    // Exactly one first_seen change per message: no page was applied twice as "new".
    expect(await count('smsc.outbound_status_changes', sql`reason = 'first_seen'`)).toBe(truth.length);
    const state = await db().selectFrom('smsc_internal.sync_state').select(['stream', 'cursor']).execute();
    const cursor = (stream: string) => state.find((s) => s.stream === stream)!.cursor as any;
    for (const channel of ['sms', 'email'] as const) {
      const newest = rows.filter((r) => r.channel === channel).at(-1)!.int_id;
      expect(cursor('outbound')[channel]).toMatchObject({ newest });
      expect(cursor('outbound')[channel].walk).toBeUndefined();
    }

    // Inbound: the replies the service keeps, each once.
    const replies = await db().selectFrom('smsc.inbound_messages').select(['id', 'message']).orderBy('id').execute();
    expect(replies).toEqual(sandbox.world.repliesAt('demo', now).map((r) => ({ id: String(r.id), message: r.text })));

    // Stats: one row per day, login and balance from --since to today; settled days to the kopeck.
    const today = zoneDay(now, TZ);
    const days = (balance: string) =>
      db().selectFrom('smsc.daily_stats').select('day').where('login', '=', 'demo').where('balance', '=', balance).orderBy('day').execute();
    const expected = daysFromTo(isoDay(since), today);
    expect((await days('main')).map((r) => String(r.day))).toEqual(expected);
    expect((await days('electronic')).map((r) => String(r.day))).toEqual(expected);
    expect(cursor('stats')).toMatchObject({ oldest: expected[0], newest: today });
    const stats = await db().selectFrom('smsc.daily_stats').selectAll().where('balance', '=', 'main').execute();
    const byKey = new Map(stats.map((r) => [`${String(r.day)}|${r.login}`, r]));
    // Days that were final before the first kill, and the two the last run re-read.
    const dayStart = (d: string) => zoneDayStart(d, TZ);
    // (A day's costs can change until 25 h after its end.)
    const settled = expected.filter((d) => dayStart(d) + 49 * HOUR <= worldStart || d >= addDaysText(today, -1));
    expect(settled.length).toBeGreaterThanOrEqual(3);
    for (const day of settled) {
      // As SMSC counted the day when it was last read (the emulator's log says when): a read
      // made before the world stood still saw a sub-login's day still filling.
      const smscDay = day.split('-').reverse().join('.');
      const lastRead = sandbox.requests.filter((r) => r.endpoint === 'get_stat' && r.outcome === 'ok' && r.fingerprint.includes(`start=${smscDay}`) && !r.fingerprint.includes('balance2=1')).at(-1)!.at;
      for (const t of sandbox.world.stats('demo', dayStart(day), dayStart(day), lastRead, 'main')) {
        const row = byKey.get(`${day}|${t.login}`)!;
        expect({ day, login: t.login, messages: row.messages, credit: row.credit, debit: row.debit }).toEqual({
          day,
          login: t.login,
          messages: t.sms,
          credit: moneyText(t.credit),
          debit: moneyText(t.debit),
        });
      }
    }

    // No run left 'running'; every failed run was a killed one; the quotas held throughout.
    expect(await count('smsc.sync_runs', sql`outcome = 'running' OR finished_at IS NULL`)).toBe(0);
    expect(await count('smsc.sync_runs', sql`outcome = 'failed' AND error <> 'interrupted: the process ended during the run'`)).toBe(0);
    expect(sandbox.quotas.violations).toEqual([]);
    console.log(
      `crash suite: ${kills.length} kills survived (seed ${SEED}), ${ranToTheEnd} runs ended by themselves, ${interrupted} interrupted runs recorded; ` +
        `messages held at the kills: ${kills.map((k) => k.messagesHeld).join(', ')}; final ${rows.length} messages = truth`,
    );
  });
});
