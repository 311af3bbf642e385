// Prometheus metrics of `smsc-sync start` (served on /metrics): requests by endpoint and
// outcome, history quota left, rows written, run durations, last success per stream.
import client from 'prom-client';
import type { AccountConfig } from './config.ts';
import { quotaKey } from './smsc/credentials.ts';
import type { QuotaLedger } from './smsc/quota-ledger.ts';
import type { RunSummary } from './sync/run-stream.ts';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({
    name: 'smsc_sync_requests_total',
    help: 'Requests sent to SMSC, by account, endpoint and outcome (ok, also for error 3 "nothing found"; error_N; failed).',
    labelNames: ['account', 'endpoint', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly rows = new client.Counter({
    name: 'smsc_sync_rows_total',
    help: 'Rows written by the streams, by kind (inserted, updated, rejected).',
    labelNames: ['account', 'stream', 'kind'] as const,
    registers: [this.registry],
  });
  readonly runDuration = new client.Histogram({
    name: 'smsc_sync_run_duration_seconds',
    help: 'Duration of stream runs, by outcome.',
    labelNames: ['account', 'stream', 'outcome'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900],
    registers: [this.registry],
  });
  readonly lastSuccess = new client.Gauge({
    name: 'smsc_sync_last_success_timestamp_seconds',
    help: 'When each stream last finished a run successfully (Unix time).',
    labelNames: ['account', 'stream'] as const,
    registers: [this.registry],
  });
  readonly quotaRemaining: client.Gauge<'account'>;

  /** `ledger` and `accounts` feed the quota gauge, read at each scrape (within a second; a slow database leaves it as it was). */
  constructor(ledger?: QuotaLedger, accounts: readonly Pick<AccountConfig, 'name' | 'baseUrl' | 'login' | 'apikey'>[] = []) {
    this.quotaRemaining = new client.Gauge({
      name: 'smsc_sync_history_requests_remaining',
      help: 'History (get_messages) requests left in the rolling hour, by account.',
      labelNames: ['account'] as const,
      registers: [this.registry],
      async collect() {
        if (!ledger) return;
        const read = Promise.all(accounts.map(async (a) => this.set({ account: a.name }, (await ledger.historyBudget(quotaKey(a))).remaining)));
        await Promise.race([read.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      },
    });
    // Under their standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …):
    // stock Node.js dashboards and alerts look for those.
    client.collectDefaultMetrics({ register: this.registry });
  }

  /** `outcome`: 'ok', 'error_N' or 'failed', as the client reports it. */
  recordRequest(account: string, endpoint: string, outcome: string): void {
    // Error 3 ("nothing found") is SMSC's answer for an empty history or an unknown number:
    // an answer, not a failure, so an idle account does not look like a failing one.
    this.requests.inc({ account, endpoint, outcome: outcome === 'error_3' ? 'ok' : outcome });
  }

  recordRun(s: RunSummary): void {
    this.rows.inc({ account: s.account, stream: s.stream, kind: 'inserted' }, s.inserted);
    this.rows.inc({ account: s.account, stream: s.stream, kind: 'updated' }, s.updated);
    this.rows.inc({ account: s.account, stream: s.stream, kind: 'rejected' }, s.rejected);
    this.runDuration.observe({ account: s.account, stream: s.stream, outcome: s.outcome }, s.ms / 1000);
    if (s.outcome === 'succeeded') this.lastSuccess.set({ account: s.account, stream: s.stream }, Date.now() / 1000);
  }
}
