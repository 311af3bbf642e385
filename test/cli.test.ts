// The installed command: `npx smsc-sync sandbox` serves the documented history, and --help works.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJson } from './helpers/sandbox.ts';
import { childEnv } from './helpers/child-env.ts';

const BIN = new URL('../bin/smsc-sync.js', import.meta.url).pathname;
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGTERM');
  child = undefined;
});

describe('smsc-sync CLI', () => {
  it('prints help for the program and for each command', () => {
    const top = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(top.status).toBe(0);
    expect(top.stdout).toContain('sandbox');
    const sandbox = spawnSync(process.execPath, [BIN, 'sandbox', '--help'], { encoding: 'utf8' });
    expect(sandbox.stdout).toMatch(/--port <n>/);
    const bad = spawnSync(process.execPath, [BIN, 'sandbox', '--port', 'x'], { encoding: 'utf8' });
    // A usage error exits 2, as bad configuration does (1 is a failed stream).
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('expected a whole number');
    const impossible = spawnSync(process.execPath, [BIN, 'sync', '--since', '31.02.2026'], { encoding: 'utf8' });
    expect([impossible.status, impossible.stderr.split('\n')[0]]).toEqual([2, "error: option '--since <date>' argument '31.02.2026' is invalid. 31.02.2026 is not a day of the calendar"]);
    const future = spawnSync(process.execPath, [BIN, 'backfill', '--since', '2999-01-01'], { encoding: 'utf8' });
    expect([future.status, future.stderr.split('\n')[0]]).toEqual([2, "error: option '--since <date>' argument '2999-01-01' is invalid. 2999-01-01 is in the future"]);
    // Replies, tariffs and the rest hold no history to walk back: a usage error, not a run that reports 100 %.
    const current = spawnSync(process.execPath, [BIN, 'backfill', '--since', '2026-01-01', '--streams', 'outbound,inbound'], { encoding: 'utf8' });
    expect([current.status, current.stderr.split('\n')[0]]).toEqual([2, "error: option '--streams <list>' argument 'outbound,inbound' is invalid. inbound cannot reach back to a day; backfill walks outbound, stats (sync brings the others)"]);
    expect(spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' }).status).toBe(0);
  });

  it('runs the demo on the embedded warehouse: exit 0 and non-empty figures read back with SQL', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'smsc-demo-'));
    try {
      const env = childEnv({ SMSC_DATA_DIR: dataDir });
      const demo = spawnSync(process.execPath, [BIN, 'demo'], { encoding: 'utf8', env, timeout: 60_000 });
      expect(demo.stderr).toBe('');
      expect(demo.status).toBe(0);
      expect(demo.stdout).toContain(`embedded PGlite in ${join(dataDir, 'demo')}`);
      expect(demo.stdout).toMatch(/outbound +succeeded \+[1-9]\d* new/);
      const delivered = /^ +(\d+) +delivered +(\d+\.\d{2}) RUB$/m.exec(demo.stdout);
      expect(Number(delivered?.[1])).toBeGreaterThan(100);
      expect(Number(delivered?.[2])).toBeGreaterThan(0);
      expect(demo.stdout).toMatch(/^Replies: [1-9]\d* from [1-9]\d* numbers/m);
      expect(demo.stdout).toMatch(/^ +demo +[1-9]\d* messages +\d+\.\d{2} RUB$/m);
      // The month's HTML report, beside the demo's warehouse, its path printed.
      const page = /^Report of this month \(charts and tables\): (.+)$/m.exec(demo.stdout)?.[1];
      expect(page).toMatch(new RegExp(`^${join(dataDir, 'demo', 'smsc-report-sandbox-demo-')}\\d{4}-\\d{2}\\.html$`));
      const html = readFileSync(page!, 'utf8');
      expect(html).toContain('<title>SMSC report: sandbox-demo,');
      expect(html.match(/<svg class="chart"/g)?.length).toBeGreaterThanOrEqual(5);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves the warehouse DATABASE_URL names alone unless --use-database-url asks for it', async () => {
    const { createTestDatabase } = await import('./helpers/database.ts');
    const { sql } = await import('kysely');
    const database = await createTestDatabase('demo_configured');
    const dataDir = mkdtempSync(join(tmpdir(), 'smsc-demo-'));
    try {
      const env = childEnv({ SMSC_DATA_DIR: dataDir, DATABASE_URL: database.url });
      const relations = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'smsc%'`.execute(database.warehouse.db)).rows[0]!.n;
      const demo = spawnSync(process.execPath, [BIN, 'demo'], { encoding: 'utf8', env, timeout: 60_000 });
      expect(demo.status, demo.stderr).toBe(0);
      expect(demo.stdout).toContain('DATABASE_URL is set but not used');
      expect(demo.stdout).toContain(`embedded PGlite in ${join(dataDir, 'demo')}`);
      expect(await relations()).toBe(0);
      const asked = spawnSync(process.execPath, [BIN, 'demo', '--use-database-url'], { encoding: 'utf8', env, timeout: 60_000 });
      expect(asked.status, asked.stderr).toBe(0);
      const accounts = await sql<{ account: string }>`SELECT DISTINCT account FROM smsc.outbound_messages`.execute(database.warehouse.db);
      expect(accounts.rows).toEqual([{ account: 'sandbox-demo' }]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await database.drop();
    }
  });

  it('start ends at once, exit 1, with a line naming SMSC_HTTP_PORT when the port is taken', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    const { port } = taken.address() as { port: number };
    const dataDir = mkdtempSync(join(tmpdir(), 'smsc-port-'));
    try {
      const env = childEnv({ SMSC_DATA_DIR: dataDir, SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_HTTP_PORT: String(port), LOG_FORMAT: 'json' });
      const start = spawnSync(process.execPath, [BIN, 'start'], { encoding: 'utf8', env, timeout: 60_000 });
      expect(start.status, start.stdout + start.stderr).toBe(1);
      const fatal = (start.stdout + start.stderr).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.level === 60);
      expect(fatal.map((l) => l.msg)).toEqual([`SMSC_HTTP_PORT: port ${port} is already in use by another process; choose another port or stop that process`]);
      // No job was scheduled: nothing ran.
      expect(start.stdout + start.stderr).not.toContain('scheduler started');
    } finally {
      taken.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('runs the sandbox, which answers five messages in the documented shape, and stops on SIGTERM', async () => {
    child = spawn(process.execPath, [BIN, 'sandbox', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child!.stdout!.on('data', (d: string) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.once('exit', () => reject(new Error(`sandbox exited: ${out}`)));
    });
    const res = await fetch(`${url}/sys/get.php`, {
      method: 'POST',
      body: 'get_messages=1&login=demo&psw=demo&fmt=3&cnt=5&charset=utf-8',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const rows = parseJson(await res.text());
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(Object.keys(row)).toEqual(expect.arrayContaining(['status', 'int_id', 'send_timestamp', 'cost', 'message', 'crc']));
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    child = undefined;
  });
});
