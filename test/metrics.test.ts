// /metrics as a Prometheus user reads it: the process metrics under their standard names, an
// empty history counted as an answer, and the warehouse's gauges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.ts';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { startHttp } from '../src/scheduler/http.ts';
import { runSync } from '../src/sync/sync.ts';
import type { TestDatabase } from './helpers/database.ts';
import { sandboxConfig, testLogger } from './helpers/sync.ts';
import { migratedDatabase } from './helpers/warehouse.ts';

/** One sample of the exposition text: its metric name, labels and value. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples of `name` whose labels include `labels`. */
function find(text: string, name: string, labels: Record<string, string> = {}): Sample[] {
  return samples(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

async function scrape(port: number): Promise<string> {
  // A scrape that hangs fails here, not at the test's timeout.
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return res.text();
}

describe('requests and the process', () => {
  let database: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    database = await migratedDatabase('metrics_requests');
    sandbox = await startSandbox({
      clock: new SandboxClock({ speed: 0 }),
      world: { historyDays: 3, futureDays: 0, messagesPerDay: 50, accounts: [{ login: 'quiet', password: 'quiet-pass', messagesPerDay: 0 }] },
    });
  });
  afterAll(async () => {
    await sandbox.stop();
    await database.drop();
  });

  it('an empty history (SMSC error 3) counts as ok', async () => {
    const base = sandboxConfig(sandbox).accounts[0]!;
    const config = sandboxConfig(sandbox, { accounts: [{ ...base, name: 'quiet', login: 'quiet', password: 'quiet-pass' }] });
    const metrics = new Metrics();
    const summaries = await runSync({ config, warehouse: database.warehouse, logger: testLogger, streams: ['outbound', 'inbound'], clock: sandbox.clock, metrics });
    expect(summaries.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
    const http = await startHttp({ port: 0, host: '127.0.0.1', metrics, health: async () => undefined });
    try {
      const text = await scrape(http.port);
      // The emulator's record of what it answered: an account with no messages gets error 3 to
      // every history request (SMS and e-mail), and [] to the replies.
      const served = sandbox.requests.filter((r) => r.login === 'quiet');
      expect(served.filter((r) => r.endpoint === 'get_messages').map((r) => r.outcome)).toEqual(['error 3', 'error 3']);
      expect(served.filter((r) => r.endpoint === 'get_answers').map((r) => r.outcome)).toEqual(['ok']);
      expect(find(text, 'smsc_sync_requests_total', { account: 'quiet' }).map((s) => [s.labels.endpoint, s.labels.outcome, s.value]).sort()).toEqual([
        ['get_answers', 'ok', 1],
        ['get_messages', 'ok', 2],
      ]);
      expect(text).not.toContain('error_3');
    } finally {
      await http.close();
    }
  });

  it('the process metrics carry their standard names', async () => {
    const http = await startHttp({ port: 0, host: '127.0.0.1', metrics: new Metrics(), health: async () => undefined });
    try {
      const text = await scrape(http.port);
      // Stock Node.js dashboards and alerts look for these names.
      for (const name of ['process_cpu_seconds_total', 'process_start_time_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_version_info']) {
        expect(text).toContain(`\n# TYPE ${name} `);
        expect(find(text, name).length).toBeGreaterThan(0);
      }
      expect(text).not.toMatch(/smsc_sync_(process|nodejs)_/);
    } finally {
      await http.close();
    }
  });
});
