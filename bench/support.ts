// What the benchmarks share: the emulator in a child process, a throw-away database, and
// results printed and written to bench/results/ as JSON for comparison across commits.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

export function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

export interface Emulator {
  readonly url: string;
  readonly messages: number;
  control(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

export async function startEmulator(spec: Record<string, unknown>): Promise<Emulator> {
  const child = spawn(process.execPath, ['--max-old-space-size=6144', new URL('./emulator.ts', import.meta.url).pathname, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the emulator exited ${code}`)));
  });
  const { url, messages } = JSON.parse(first) as { url: string; messages: number };
  return {
    url,
    messages,
    async control(method, path, body) {
      const res = await fetch(`${url}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
      return res.json();
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export async function adminQuery(url: string, statement: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query(statement);
    return r.rows[0] ? String(Object.values(r.rows[0])[0]) : '';
  } finally {
    await client.end();
  }
}

/**
 * A database dropped after the benchmark. `asyncCommit` turns off synchronous_commit for all
 * of it: for benchmarks whose figures do not depend on the database's speed (the quota
 * simulation measures requests and emulated minutes), so that they take less real time.
 */
export async function temporaryDatabase(label: string, options: { asyncCommit?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `smsc_bench_${label}_${randomBytes(3).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${name}`);
  if (options.asyncCommit) await adminQuery(ADMIN_URL, `ALTER DATABASE ${name} SET synchronous_commit = off`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => {}) };
}

/** Writes bench/results/<name>-<time>.json with the commit, the machine and the figures. */
export function writeResult(name: string, figures: Record<string, unknown>): void {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {}
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify({ name, commit, at: new Date().toISOString(), node: process.version, ...figures }, null, 2)}\n`);
  line(`written to ${file.pathname}`);
}
