// /metrics as a Prometheus user reads it: the process metrics under their standard names, an
// empty history counted as an answer, and the warehouse's gauges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.ts';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { startHttp } from '../src/scheduler/http.ts';
import type { TestDatabase } from './helpers/database.ts';
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
