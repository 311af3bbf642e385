// `smsc-sync sync` and `status` as a user runs them: child processes on the embedded
// warehouse (a PGlite folder), exit codes, and what `status --json` reports.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { childEnv } from './helpers/child-env.ts';

const BIN = new URL('../bin/smsc-sync.js', import.meta.url).pathname;
let sandbox: Sandbox;
let dataDir: string;

beforeAll(async () => {
  sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 10, futureDays: 0, messagesPerDay: 200 } });
  dataDir = mkdtempSync(join(tmpdir(), 'smsc-cli-'));
});
afterAll(async () => {
  await sandbox.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: childEnv({ SMSC_DATA_DIR: dataDir, SMSC_BASE_URL: sandbox.url, LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  const [code] = await once(child, 'exit');
  return { code: code as number, stdout, stderr };
}

describe('smsc-sync sync and status', () => {
  it('syncs into the embedded warehouse, exits 0, and status reports the runs', async () => {
    const sync = await cli(['sync'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo' });
    expect(sync.code).toBe(0);
    const lines = sync.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // A first run of stats needs two requests (main and electronic balance) for each of its
    // days and SMSC allows 3 a minute: it is cut short, saved, and counts as success (the next
    // run goes on).
    expect(lines.filter((l) => l.msg === 'stream synced').map((l) => [l.stream, l.outcome])).toEqual([
      ['outbound', 'succeeded'],
      ['inbound', 'succeeded'],
      ['stats', 'deferred'],
      ['tariffs', 'succeeded'],
      ['operators', 'succeeded'],
      ['short_links', 'succeeded'],
      ['balance', 'succeeded'],
    ]);
    const status = await cli(['status', '--json'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo' });
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    const outboundRequests = report[0].streams[0].lastRun.requests;
    expect(outboundRequests).toBeGreaterThan(1);
    expect(report[0]).toMatchObject({ account: 'demo', stopped: null, historyRequestsThisHour: outboundRequests, historyRequestsLeft: 30 - outboundRequests });
    expect(sandbox.requests.filter((r) => r.endpoint === 'get_messages')).toHaveLength(outboundRequests);
    // status as the README runs it beside the emulator: without its SMSC_BASE_URL (so the
    // default host), it still reports the budget the sync's requests spent.
    const beside = JSON.parse((await cli(['status', '--json'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_BASE_URL: 'https://smsc.ru' })).stdout);
    expect(beside[0]).toMatchObject({ account: 'demo', historyRequestsThisHour: outboundRequests, historyRequestsLeft: 30 - outboundRequests });
    expect(report[0].streams.map((s: any) => [s.stream, s.lastRun.outcome, s.lastRun.inserted > 0])).toEqual([
      ['outbound', 'succeeded', true],
      ['inbound', 'succeeded', true],
      ['stats', 'deferred', true],
      ['tariffs', 'succeeded', true],
      ['operators', 'succeeded', true],
      ['short_links', 'succeeded', false],
      ['balance', 'succeeded', true],
    ]);
    // The deferred stats run says when it resumes: within the minute of SMSC's 3 get_stat a minute.
    const stats = report[0].streams[2].lastRun;
    const resumesIn = Date.parse(stats.deferredUntil) - Date.parse(stats.finishedAt);
    expect(resumesIn).toBeGreaterThan(0);
    expect(resumesIn).toBeLessThanOrEqual(62_000);
    expect(report[0].streams.filter((s: any) => s.lastRun.deferredUntil !== null).map((s: any) => s.stream)).toEqual(['stats']);
    const text = await cli(['status'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo' });
    expect(text.stdout).toMatch(/outbound +last run .* succeeded: \+\d+ new/);
    // The cursor of each stream that has one, as --json has it (compact, cut at 160 characters).
    const outboundCursor = JSON.stringify(report[0].streams[0].cursor);
    expect(text.stdout).toContain(`    cursor ${outboundCursor.length > 160 ? `${outboundCursor.slice(0, 157)}...` : outboundCursor}\n`);
    expect(text.stdout).toContain(`stats     last run ${stats.startedAt} deferred (quota spent; resumes ${stats.deferredUntil}): `);
  });

  it('sync --json: one JSON document on stdout with every run, the log lines on stderr', async () => {
    const seen = sandbox.requests.length;
    const run = await cli(['sync', '--json', '--streams', 'outbound,inbound', '--account', 'demo'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo' });
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const doc = JSON.parse(run.stdout);
    const sent = sandbox.requests.slice(seen);
    expect(doc).toEqual({
      ok: true,
      runs: [
        expect.objectContaining({ account: 'demo', stream: 'outbound', outcome: 'succeeded', rejected: 0, requests: sent.filter((r) => r.endpoint === 'get_messages').length, error: null, deferredUntil: null }),
        expect.objectContaining({ account: 'demo', stream: 'inbound', outcome: 'succeeded', rejected: 0, requests: sent.filter((r) => r.endpoint === 'get_answers').length, error: null, deferredUntil: null }),
      ],
    });
    expect(doc.runs.map((r: { requests: number }) => r.requests).every((n: number) => n >= 1)).toBe(true);
    const logs = run.stderr.trim().split('\n').map((l) => JSON.parse(l));
    expect(logs.filter((l) => l.msg === 'stream synced').map((l) => l.stream)).toEqual(['outbound', 'inbound']);
  });

  it('exits 1 on a wrong password, shows the stopped account, and never sends it again', async () => {
    const first = await cli(['sync'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'wrong-password' });
    expect(first.code).toBe(1);
    expect(first.stdout).not.toContain('wrong-password');
    const sent = sandbox.requests.length;
    const second = await cli(['sync'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'wrong-password' });
    expect(second.code).toBe(1);
    expect(sandbox.requests.length).toBe(sent);
    const status = JSON.parse((await cli(['status', '--json'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'wrong-password' })).stdout);
    expect(status[0].stopped).toMatchObject({ errorCode: 2, until: null });
    expect(status[0].streams[0].warnings[0]).toMatch(/error 2/);
    expect(sandbox.requests.filter((r) => r.outcome === 'error 2')).toHaveLength(1);
  });

  it('exits 2 naming each bad variable', async () => {
    const bad = await cli(['sync'], { SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_TIMEZONE: 'Mars/Olympus', SMSC_STATUS_WINDOW_HOURS: '-1' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("SMSC_TIMEZONE: 'Mars/Olympus' is not an IANA time zone");
    expect(bad.stderr).toContain("SMSC_STATUS_WINDOW_HOURS: expected a positive number, got '-1'");
  });
});
