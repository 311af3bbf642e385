// The server a test run starts for itself when it has neither TEST_DATABASE_URL nor Docker
// (test/helpers/postgres-server.ts): a real PostgreSQL, never run as root, and gone with its
// data however the run ends, here by SIGKILL of the process that started it.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

const FIXTURE = new URL('./fixtures/start-postgres-server.ts', import.meta.url).pathname;

async function query(url: string, text: string): Promise<Record<string, unknown>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows[0];
  } finally {
    await client.end();
  }
}

describe('the self-started test server', () => {
  let child: ChildProcess | undefined;
  // A test that failed before its SIGKILL must not leave the server behind.
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  it('is a real PostgreSQL run by a user other than root, and stops and removes its folder when its owner is SIGKILLed', async () => {
    child = spawn(process.execPath, [FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d)));
    const exited = once(child, 'exit');
    const [line] = (await Promise.race([once(createInterface({ input: child.stdout! }), 'line'), exited.then(() => [''])])) as [string];
    expect(line, stderr).not.toBe('');
    const { url, folder } = JSON.parse(line) as { url: string; folder: string };

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const row = (await client.query(`SELECT version() AS version, current_setting('data_directory') AS data, pg_backend_pid() AS pid`)).rows[0];
      expect(row.version).toMatch(/^PostgreSQL \d+/);
      expect(row.data).toBe(join(folder, 'data'));
      // This connection's backend runs as the server's OS user (PostgreSQL itself refuses root).
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${row.pid}/status`, 'utf8'))![1];
      expect(uid).not.toBe('0');
    } finally {
      await client.end();
    }
    expect(existsSync(folder)).toBe(true);

    child.kill('SIGKILL');
    await exited;
    // The watchdog notices the closed pipe, stops the server and removes the folder.
    for (let i = 0; i < 300 && existsSync(folder); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(folder)).toBe(false);
    await expect(query(url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
  });
});
