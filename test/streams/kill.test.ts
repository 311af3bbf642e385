// Crash safety: the sync process is killed (SIGKILL) in the middle of a walk and started
// again; nothing is lost, nothing is doubled, and the cursor is consistent.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import { type TestDatabase, testServerUrl } from '../helpers/database.ts';
import { isoDay, smscDateText, zoneDayStart } from '../helpers/oracle.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';
import { childEnv } from '../helpers/child-env.ts';

const BIN = new URL('../../bin/smsc-sync.js', import.meta.url).pathname;
const TZ = 'Europe/Moscow';
let database: TestDatabase;
let sandbox: Sandbox;

beforeAll(async () => {
  database = await migratedDatabase('kill');
  // Real time on both sides: the child process keeps its ledger on the system clock.
  // (8,000 sends a day, some 10,400 messages: at any hour the walk since yesterday, the empty
  // page that ends it and the e-mail walk fit the hour's 30 history requests, and more than
  // the 8,000 rows of the kill threshold are there to read.)
  sandbox = await startSandbox({ clock: new SandboxClock(), seed: 11, world: { historyDays: 2, futureDays: 1, messagesPerDay: 8_000 } });
  // Slow pages, so that the walk is long enough to be killed in the middle.
  sandbox.faults.inject({ kind: 'slow', endpoint: 'get_messages', delayMs: 120, rate: 1 });
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

// (Stats of the main balance alone: one request a day, so that a day held is a day read whole.)
function startSync(since: string, stream = 'outbound'): ChildProcess {
  return spawn(process.execPath, [BIN, 'sync', '--streams', stream, '--since', since], {
    env: childEnv({ SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_BASE_URL: sandbox.url, DATABASE_URL: database.url, LOG_LEVEL: 'warn', SMSC_STATS_ELECTRONIC: 'false' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const db = () => database.warehouse.db;
const held = async () => Number((await db().selectFrom('smsc.outbound_messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe('SIGKILL in the middle of a walk', () => {
  // The child process needs a server to reach: embedded PGlite lives inside one process.
  it.skipIf(!testServerUrl())('loses and doubles nothing, and the restarted sync completes the walk', async () => {
    const since = smscDateText(Date.now() - 86_400_000, TZ);
    const child = startSync(since);
    let output = '';
    child.stderr!.on('data', (d) => (output += String(d)));
    // Kill once some pages are committed and more are to come.
    const threshold = 4000 + Math.floor(Math.random() * 4000);
    while ((await held()) < threshold) {
      if (child.exitCode !== null) throw new Error(`sync ended before the kill: ${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    const atKill = await held();
    const state = await db().selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', 'outbound').executeTakeFirstOrThrow();
    expect((state.cursor as any).sms.walk.next).toMatch(/^\d+$/);

    const again = startSync(since);
    const [code] = await once(again, 'exit');
    expect(code).toBe(0);
    expect(await held()).toBeGreaterThan(atKill);

    // The day given as --since, not the real time again: midnight may have passed meanwhile.
    const sinceMs = zoneDayStart(isoDay(since), TZ);
    for (const channel of ['sms', 'email'] as const) {
      const ids = (await db().selectFrom('smsc.outbound_messages').select('int_id').where('channel', '=', channel).orderBy('int_id').execute()).map((r) => r.int_id);
      const newest = BigInt(ids.at(-1)!);
      const truth = sandbox.world
        .truth('demo', sandbox.clock.now())
        .filter((v) => (v.message.format === 8) === (channel === 'email') && v.message.sendTs >= sinceMs && v.message.intId <= newest)
        .map((v) => v.message.intId.toString());
      expect(ids).toEqual(truth);
      const cursor = (await db().selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', 'outbound').executeTakeFirstOrThrow()).cursor as any;
      expect(cursor[channel]).toMatchObject({ newest: ids.at(-1) });
      expect(cursor[channel].walk).toBeUndefined();
    }
    const runs = await db().selectFrom('smsc.sync_runs').select(['outcome', 'error']).orderBy('started_at').execute();
    expect(runs).toEqual([
      { outcome: 'failed', error: 'interrupted: the process ended during the run' },
      { outcome: 'succeeded', error: null },
    ]);
    expect(sandbox.quotas.violations).toEqual([]);
  });

  it.skipIf(!testServerUrl())('a stats backfill killed after its first day resumes where it was, with no day skipped', async () => {
    sandbox.faults.clear();
    sandbox.faults.inject({ kind: 'slow', endpoint: 'get_stat', delayMs: 300, rate: 1 });
    const since = smscDateText(Date.now() - 10 * 86_400_000, TZ);
    const statDays = async () =>
      (await db().selectFrom('smsc.daily_stats').select('day').where('login', '=', 'demo').orderBy('day').execute()).map((r) =>
        String(r.day),
      );
    const child = startSync(since, 'stats');
    while ((await statDays()).length < 1) {
      if (child.exitCode !== null) throw new Error('stats sync ended before the kill');
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    const before = await statDays();
    const asked = sandbox.requests.filter((r) => r.endpoint === 'get_stat').length;

    const again = startSync(since, 'stats');
    const [code] = await once(again, 'exit');
    expect(code).toBe(0);
    const after = await statDays();
    // The cursor says exactly which days are held, and they are contiguous.
    const cursor = (await db().selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', 'stats').executeTakeFirstOrThrow()).cursor as any;
    expect(after[0]).toBe(cursor.oldest);
    expect(after.at(-1)).toBe(cursor.newest);
    for (let i = 1; i < after.length; i++) expect(Date.parse(after[i]!) - Date.parse(after[i - 1]!)).toBe(86_400_000);
    // The killed run used at most 2 of the minute's 3 stats requests: the restart reads on.
    expect(after.length).toBeGreaterThan(before.length);
    // The restart asked only for days it did not hold (the walk back resumes first).
    const restartDays = sandbox.requests
      .filter((r) => r.endpoint === 'get_stat')
      .slice(asked)
      .map((r) => new URLSearchParams(r.fingerprint.split('?')[1]).get('start')!)
      .map((d) => d.split('.').reverse().join('-'));
    expect(restartDays.length).toBeGreaterThan(0);
    for (const d of restartDays) expect(before).not.toContain(d);
    expect(sandbox.quotas.violations).toEqual([]);
  });
});
