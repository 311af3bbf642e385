// What the people who run it read when it cannot start: the real CLI as a child process, with
// LOG_FORMAT=json. Node's own warnings are log lines too; and the three start-up failures
// whose messages must name the real cause: a database nothing answers at, a DATABASE_URL that
// is not a URL, and a warehouse migrated by a newer version.
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
