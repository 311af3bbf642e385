// `smsc-sync status` as monitoring runs it (a cron check, a Kubernetes probe, Nagios): exit 0
// when healthy, 1 with the reasons when an account is held by SMSC, the last run of a stream
// failed, a run was interrupted or is stuck, or replies near SMSC's 7-day horizon. The states
// are made as users meet them where that is cheap (a real sync, a real wrong password) and
// written into sync_runs (its documented columns) where it is not (days of time passing); a
// stuck run holds its lock in another session, with the key the README documents.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import type { TestDatabase } from './helpers/database.ts';
import { T0 } from './helpers/sandbox.ts';
import { migratedDatabase } from './helpers/warehouse.ts';
import { cli } from './runs/processes.ts';

let sandbox: Sandbox;
let database: TestDatabase;
beforeAll(async () => {
  // The emulator's clock is today's, as the warehouse's timestamps below are.
  sandbox = await startSandbox({ clock: new SandboxClock({ start: Date.now(), speed: 1 }), seed: 9, world: { historyDays: 2, futureDays: 1, messagesPerDay: 30 } });
  database = await migratedDatabase('status_exit');
});
afterAll(async () => {
  await sandbox?.stop();
  await database?.drop();
});

const accounts = (password = 'demo') => JSON.stringify([{ name: 'main', login: 'demo', password, baseUrl: sandbox.url }]);

async function status(args: string[] = [], password = 'demo') {
  const run = cli(['status', ...args], { SMSC_ACCOUNTS: accounts(password), DATABASE_URL: database.url });
  const { code } = await run.exit;
  return { code, output: run.output() };
}

async function problems(): Promise<{ code: number | null; problems: string[] }> {
  const { code, output } = await status(['--json']);
  return { code, problems: (JSON.parse(output) as { problems: string[] }[]).flatMap((a) => a.problems) };
}

const db = () => database.warehouse.db;
const run = (_label: string, stream: string, outcome: string, startedAgoMs: number, extra: { finishedAgoMs?: number; error?: string } = {}) =>
  sql`INSERT INTO smsc.sync_runs (run_id, account, stream, started_at, finished_at, outcome, error, process)
      VALUES (gen_random_uuid(), 'main', ${stream}, now() - ${`${startedAgoMs} milliseconds`}::interval,
              ${extra.finishedAgoMs === undefined ? null : sql`now() - ${`${extra.finishedAgoMs} milliseconds`}::interval`}, ${outcome}, ${extra.error ?? null}, 'elsewhere:1')`.execute(db());

describe('status exit codes for monitoring', () => {
  it('0 after a good sync; 1 naming each problem; 0 again once they are resolved', async () => {
    // Configured, never synced: nothing is healthy yet.
    expect(await problems()).toEqual({ code: 1, problems: ['no run recorded yet for any stream: nothing has synced this account'] });
    const synced = cli(['sync'], { SMSC_ACCOUNTS: accounts(), DATABASE_URL: database.url });
    expect((await synced.exit).code, synced.output().slice(-2000)).toBe(0);
    const healthy = await status();
    expect(healthy.code, healthy.output).toBe(0);
    expect(healthy.output.trim().split('\n').at(-1)).toBe('healthy');
    expect(await problems()).toEqual({ code: 0, problems: [] });

    // The last tariffs run failed.
    await run('t-failed', 'tariffs', 'failed', 0, { finishedAgoMs: 0, error: 'HTTP 500 from SMSC after 4 retries' });
    expect(await problems()).toEqual({ code: 1, problems: ['tariffs: last run failed: HTTP 500 from SMSC after 4 retries'] });

    // An operators run left `running` by a process that died (nobody holds its lock).
    await run('o-dead', 'operators', 'running', 0);
    const interrupted = await problems();
    expect(interrupted.code).toBe(1);
    expect(interrupted.problems).toHaveLength(2);
    expect(interrupted.problems[1]).toMatch(/^operators: the last run was interrupted \(its process ended at some point after \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);

    // A short_links run two hours old whose lock another session still holds: stuck.
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(x'51c50002'::int, hashtext('main' || E'\\n' || 'short_links'))`);
      // (The sync's own short_links run, moved back before it.)
      await sql`UPDATE smsc.sync_runs SET started_at = started_at - interval '3 hours', finished_at = finished_at - interval '3 hours' WHERE stream = 'short_links'`.execute(db());
      await run('s-stuck', 'short_links', 'running', 2 * 3_600_000);
      const stuck = await problems();
      expect(stuck.problems[2]).toMatch(/^short_links: a run has been running since \d{4}-\d\d-\d\dT[\d:.]+Z \(elsewhere:1\)$/);
      const text = await status();
      expect(text.code).toBe(1);
      expect(text.output.trim().split('\n').slice(-4)).toEqual(['UNHEALTHY (3):', `  main: ${stuck.problems[0]}`, `  main: ${stuck.problems[1]}`, `  main: ${stuck.problems[2]}`]);
    } finally {
      await holder.end();
    }

    // Later runs of the three streams succeed: healthy again.
    for (const stream of ['tariffs', 'operators', 'short_links']) await run(`${stream}-ok`, stream, 'succeeded', 0, { finishedAgoMs: 0 });
    expect(await problems()).toEqual({ code: 0, problems: [] });

    // Replies: the last successful inbound run is six and a half days old.
    await sql`UPDATE smsc.sync_runs SET started_at = now() - interval '6 days 13 hours', finished_at = now() - interval '6 days 12 hours' WHERE account = 'main' AND stream = 'inbound'`.execute(db());
    expect(await problems()).toEqual({ code: 1, problems: ['inbound: the last successful sync is more than 6 days old; SMSC keeps replies 7 days'] });
    await sql`UPDATE smsc.sync_runs SET started_at = now() - interval '2 minutes', finished_at = now() - interval '1 minute' WHERE account = 'main' AND stream = 'inbound'`.execute(db());

    // A wrong password: the account is held by SMSC's error 2.
    const wrong = cli(['sync', '--streams', 'tariffs'], { SMSC_ACCOUNTS: accounts('wrong-password'), DATABASE_URL: database.url });
    expect((await wrong.exit).code).toBe(1);
    const { code, output } = await status(['--json'], 'wrong-password');
    expect(code).toBe(1);
    const held = (JSON.parse(output) as { problems: string[] }[])[0]!.problems;
    expect(held[0]).toMatch(/^stopped by SMSC error 2 since \d{4}-\d\d-\d\dT[\d:.]+Z until its credentials change$/);
    expect(held[1]).toMatch(/^tariffs: last run failed: SMSC rejected login 'demo'/);
  });
});
