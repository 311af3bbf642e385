// What the people who run it read: the real commands (sync, start, backfill) as child
// processes against the emulator, with LOG_FORMAT=json, every line of their output checked:
// JSON, no key twice, every time in ISO 8601, the account name shown as it is although the
// emulator's password equals it; Node's own warnings among them. And the three start-up
// failures whose messages must name the real cause: a database nothing answers at, a
// DATABASE_URL that is not a URL, and a warehouse migrated by a newer version.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { migrateToLatest, NewerWarehouseError } from '../src/warehouse/migrate.ts';
import { childEnv } from './helpers/child-env.ts';
import { createTestDatabase } from './helpers/database.ts';
import { duplicateKeys, ISO_8601, nonIsoTimes } from './helpers/json-lines.ts';

const BIN = new URL('../bin/smsc-sync.js', import.meta.url).pathname;
let sandbox: Sandbox;
let dataDir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 10, futureDays: 0, messagesPerDay: 200 } });
  dataDir = mkdtempSync(join(tmpdir(), 'smsc-logging-'));
});
afterAll(async () => {
  await sandbox.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  readonly exit: Promise<number | null>;
}

function cli(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: childEnv({ SMSC_DATA_DIR: dataDir, SMSC_BASE_URL: sandbox.url, LOG_FORMAT: 'json', LOG_LEVEL: 'debug', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  return { child, output: () => output, exit: once(child, 'exit').then(([code]) => code as number | null) };
}

/** Runs until `done(output)` holds (or `ms` pass), then stops it with SIGTERM. */
async function runUntil(run: Run, done: (output: string) => boolean, ms: number): Promise<number | null> {
  const deadline = Date.now() + ms;
  while (!done(run.output()) && Date.now() < deadline && run.child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  run.child.kill('SIGTERM');
  return run.exit;
}

const DEMO = { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo' };
const linesOf = (output: string) => output.split('\n').filter((l) => l !== '');
const parsed = (output: string) => linesOf(output).map((l) => JSON.parse(l) as Record<string, any>);

/** A port on this machine that nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('log lines of sync, start and backfill (LOG_FORMAT=json)', () => {
  it('are JSON objects, one a line, with no key twice, every time in ISO 8601, and the account name as it is', async () => {
    const outputs: Record<string, string> = {};

    // A first sync: stats is cut short by SMSC's 3 get_stat a minute (deferred, with the time it resumes).
    const sync = cli(['sync'], DEMO);
    expect(await sync.exit, sync.output()).toBe(0);
    outputs.sync = sync.output();
    const synced = parsed(outputs.sync).filter((l) => l.msg === 'stream synced');
    expect(synced.find((l) => l.stream === 'stats')).toMatchObject({ outcome: 'deferred', deferredUntil: expect.stringMatching(ISO_8601) });
    // The stream's pages at debug level: `stream` comes from the run's child logger, once.
    expect(parsed(outputs.sync).filter((l) => l.msg === 'page committed').length).toBeGreaterThan(0);

    // start, every job each second: runs overlap, and outbound's identical top pages spend
    // SMSC's 3 identical requests a minute, so a walk is saved to resume at its retry time.
    // Slow replies keep an inbound run going when SIGTERM comes.
    sandbox.faults.inject({ kind: 'slow', endpoint: 'get_answers', delayMs: 1500, rate: 1 });
    const start = cli(['start'], { ...DEMO, SMSC_SCHEDULE_OUTBOUND: '* * * * * *', SMSC_SCHEDULE_INBOUND: '* * * * * *', SMSC_SCHEDULE_STATS: '* * * * * *' });
    try {
      expect(await runUntil(start, (o) => o.includes('"retryAt"'), 60_000), start.output()).toBe(0);
    } finally {
      sandbox.faults.clear();
    }
    outputs.start = start.output();
    const started = parsed(outputs.start);
    expect(started.find((l) => l.msg === 'scheduler started')).toMatchObject({ accounts: ['demo'] });
    expect(started.find((l) => l.msg === 'quota spent, walk saved to resume')).toMatchObject({ stream: 'outbound', retryAt: expect.stringMatching(ISO_8601) });
    expect(started.at(-1)).toMatchObject({ msg: 'stopped' });
    // Stopping waits for what the scheduler had under way: no error on the way out.
    expect(started.filter((l) => l.level >= 50)).toEqual([]);

    // backfill, which waits for the quota and says until when.
    const since = new Date(Date.now() - 9 * 86_400_000).toISOString().slice(0, 10);
    const backfill = cli(['backfill', '--since', since], DEMO);
    expect(await runUntil(backfill, (o) => o.includes('"waitingUntil"'), 60_000), backfill.output()).toBe(143);
    outputs.backfill = backfill.output();
    expect(parsed(outputs.backfill).find((l) => typeof l.msg === 'string' && l.msg.startsWith('backfill:'))).toMatchObject({ waitingUntil: expect.stringMatching(ISO_8601) });

    for (const [command, output] of Object.entries(outputs)) {
      const lines = linesOf(output);
      expect(lines.length, command).toBeGreaterThan(3);
      for (const line of lines) {
        // Parses, as an object: no plain-text line among them.
        const value = JSON.parse(line) as unknown;
        expect(typeof value === 'object' && value !== null && !Array.isArray(value), line).toBe(true);
        expect(duplicateKeys(line), line).toEqual([]);
        expect(nonIsoTimes(value), line).toEqual([]);
        expect((value as { time: unknown }).time, line).toMatch(ISO_8601);
        if ('account' in (value as object)) expect((value as { account: unknown }).account, line).toBe('demo');
      }
      expect(output, command).not.toMatch(/GMT|Coordinated Universal Time/);
      // The password is 'demo' too, and is never logged here: the name is not taken for it.
      expect(output, command).not.toContain('[REDACTED]');
    }
  });
});

describe("Node's own warnings", () => {
  it("are log lines too (pg's notice on sslmode=require), not plain text on stderr", async () => {
    const port = await freePort();
    const run = cli(['migrate'], { DATABASE_URL: `postgres://smsc@127.0.0.1:${port}/smsc?sslmode=require` });
    expect(await run.exit, run.output()).toBe(1);
    const lines = parsed(run.output());
    expect(lines.map((l) => [l.level, l.warning ?? null])).toEqual([
      [40, 'Warning'],
      [60, null],
    ]);
    expect(lines[0]!.msg).toMatch(/^SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca'/);
  });
});

describe('start-up failures name their cause', () => {
  it('a database nothing answers at: could not be reached, where, why, and DATABASE_URL', async () => {
    const port = await freePort();
    const run = cli(['migrate'], { DATABASE_URL: `postgres://smsc:Pw-4471-secret@127.0.0.1:${port}/smsc` });
    expect(await run.exit, run.output()).toBe(1);
    const [line, ...more] = parsed(run.output());
    expect(more).toEqual([]);
    expect(line!.msg).toBe(
      `the database could not be reached at 127.0.0.1:${port} (DATABASE_URL): connect ECONNREFUSED 127.0.0.1:${port}; ` +
        'check that PostgreSQL runs there and accepts connections from this host, or correct DATABASE_URL',
    );
    expect(run.output()).not.toContain('migration');
    expect(run.output()).not.toContain('Pw-4471-secret');
  });

  it('a DATABASE_URL that is not a URL: named, without its password', async () => {
    for (const url of ['postgres://smsc:Pw#4471/secret@db.example:5432/smsc', 'postgres://smsc:Pw-4471-secret@db.example:99999/smsc']) {
      const run = cli(['migrate'], { DATABASE_URL: url });
      expect(await run.exit, run.output()).toBe(2);
      expect(run.output()).toContain('DATABASE_URL: not a valid URL (the value is not shown: it holds the password); expected postgres://user:password@host:5432/database');
      expect(run.output()).not.toContain('Invalid URL');
      expect(run.output()).not.toContain('4471');
    }
  });

  it('a warehouse migrated by a newer version: says so, names the migrations it does not know, and changes nothing', async () => {
    const database = await createTestDatabase('newer', { migrated: true });
    try {
      const db = database.warehouse.db;
      const future = ['2099-01-01-01-from-a-newer-version', '2099-01-02-01-and-another'];
      for (const name of future) await sql`INSERT INTO smsc_internal.kysely_migration (name, timestamp) VALUES (${name}, ${new Date().toISOString()})`.execute(db);
      const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc_internal.kysely_migration`.execute(db);
      await expect(migrateToLatest(db)).rejects.toBeInstanceOf(NewerWarehouseError);

      const run = cli(['migrate'], { DATABASE_URL: database.url! });
      expect(await run.exit, run.output()).toBe(1);
      const [line] = parsed(run.output());
      expect(line!.msg).toMatch(
        /^the warehouse was migrated by a newer smsc-sync version: it holds migrations 2099-01-01-01-from-a-newer-version, 2099-01-02-01-and-another, which this version does not know \(its latest is \d{4}-\d{2}-\d{2}-\d{2}-[\w-]+\); upgrade smsc-sync /,
      );
      expect(run.output()).not.toContain('corrupted');
      const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc_internal.kysely_migration`.execute(db);
      expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    } finally {
      await database.drop();
    }
  });
});
