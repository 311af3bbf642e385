// Prometheus metrics of `smsc-sync start` (served on /metrics): requests by endpoint and
// outcome, runs under way, rows written and run durations counted in memory; the last success
// per stream, the history quota left, SMSC's holds and the age of the newest data read from
// the warehouse in the background (startRefreshing), so that a scrape answers from memory at
// once whatever the database does.
import type { Kysely } from 'kysely';
import client from 'prom-client';
import type { Logger } from './logger.ts';
import { type Clock, systemClock } from './sandbox/clock.ts';
import { STREAM_NAMES } from './streams/names.ts';
import type { RunSummary } from './sync/run-stream.ts';
import { type GaugeAccount, readWarehouseGauges } from './sync/warehouse-gauges.ts';
import type { Warehouse } from './warehouse/schema.ts';

export interface MetricsOptions {
  /** The warehouse the last successes, the quota, the holds and the newest rows are read from; without it those gauges stay empty. */
  readonly db?: Kysely<Warehouse>;
  /** The configured accounts, whose gauges are read. (Default: none) */
  readonly accounts?: readonly GaugeAccount[];
  /** (Default: the system clock) */
  readonly clock?: Clock;
  /** Told when reading the warehouse starts failing, and when it works again. */
  readonly logger?: Logger;
  /** How often the warehouse's gauges are read while refreshing. (Default: 15000 ms) */
  readonly refreshIntervalMs?: number;
  /** statement_timeout and lock_timeout of one read of the warehouse's gauges. (Default: 5000 ms) */
  readonly refreshTimeoutMs?: number;
}

const DEFAULT_REFRESH_INTERVAL_MS = 15_000;
const DEFAULT_REFRESH_TIMEOUT_MS = 5_000;

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
  readonly runsInProgress = new client.Gauge({
    name: 'smsc_sync_runs_in_progress',
    help: 'Stream runs under way in this process (holding their lock), by account and stream.',
    labelNames: ['account', 'stream'] as const,
    registers: [this.registry],
  });
  readonly lastSuccess = new client.Gauge({
    name: 'smsc_sync_last_success_timestamp_seconds',
    help: 'When each stream last finished a run successfully, on any replica (Unix time).',
    labelNames: ['account', 'stream'] as const,
    registers: [this.registry],
  });
  readonly quotaRemaining = new client.Gauge({
    name: 'smsc_sync_history_requests_remaining',
    help: 'History (get_messages) requests left in the rolling hour, by account (as last read from the warehouse).',
    labelNames: ['account'] as const,
    registers: [this.registry],
  });
  readonly held = new client.Gauge({
    name: 'smsc_sync_account_held',
    help: 'Accounts SMSC stopped: 1 while a hold after error 2 (wrong credentials) or 4 (address blocked) lasts, by account and error code.',
    labelNames: ['account', 'error_code'] as const,
    registers: [this.registry],
  });
  readonly newestRowAge: client.Gauge<'account' | 'stream'>;
  readonly refreshedAt = new client.Gauge({
    name: 'smsc_sync_metrics_refresh_timestamp_seconds',
    help: 'When the gauges read from the warehouse were last read successfully (Unix time; 0: never).',
    registers: [this.registry],
  });
  readonly refreshFailures = new client.Counter({
    name: 'smsc_sync_metrics_refresh_failures_total',
    help: 'Reads of the warehouse for the gauges that failed or timed out (the gauges keep the values read last).',
    registers: [this.registry],
  });

  readonly #options: MetricsOptions;
  readonly #clock: Clock;
  /** Last success (ms) by `account\nstream`: the newer of this process's and the warehouse's. */
  readonly #successes = new Map<string, number>();
  /** Instant (ms) of each stream's newest data, by account, as last read. */
  #newestRows: readonly { readonly account: string; readonly stream: string; readonly at: number }[] = [];
  #refreshing: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #stopped = false;

  constructor(options: MetricsOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.newestRowAge = new client.Gauge({
      name: 'smsc_sync_newest_row_age_seconds',
      help: "Age of each stream's newest data in the warehouse, by account: outbound since the newest message's send time, inbound since the newest reply's receipt, stats since the start of the newest day, short_links since the newest snapshot.",
      labelNames: ['account', 'stream'] as const,
      registers: [this.registry],
      // The age at the moment of the scrape, from the instants read last (no database here).
      collect: () => {
        this.newestRowAge.reset();
        const now = this.#clock.now();
        for (const r of this.#newestRows) this.newestRowAge.set({ account: r.account, stream: r.stream }, (now - r.at) / 1000);
      },
    });
    // Under their standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …):
    // stock Node.js dashboards and alerts look for those.
    client.collectDefaultMetrics({ register: this.registry });
    // 0 rather than absent for the streams of every configured account: nothing under way.
    for (const account of options.accounts ?? []) for (const stream of STREAM_NAMES) this.runsInProgress.set({ account: account.name, stream }, 0);
  }

  /** `outcome`: 'ok', 'error_N' or 'failed', as the client reports it. */
  recordRequest(account: string, endpoint: string, outcome: string): void {
    // Error 3 ("nothing found") is SMSC's answer for an empty history or an unknown number:
    // an answer, not a failure, so an idle account does not look like a failing one.
    this.requests.inc({ account, endpoint, outcome: outcome === 'error_3' ? 'ok' : outcome });
  }

  /** A run of this process took its (account, stream) lock; call what it returns when the run ends. */
  runStarted(account: string, stream: string): () => void {
    this.runsInProgress.inc({ account, stream });
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.runsInProgress.dec({ account, stream });
    };
  }

  recordRun(s: RunSummary): void {
    this.rows.inc({ account: s.account, stream: s.stream, kind: 'inserted' }, s.inserted);
    this.rows.inc({ account: s.account, stream: s.stream, kind: 'updated' }, s.updated);
    this.rows.inc({ account: s.account, stream: s.stream, kind: 'rejected' }, s.rejected);
    this.runDuration.observe({ account: s.account, stream: s.stream, outcome: s.outcome }, s.ms / 1000);
    if (s.outcome === 'succeeded') this.#success(s.account, s.stream, this.#clock.now());
  }

  /**
   * Reads the warehouse's gauges now, then every `refreshIntervalMs` until stopRefreshing().
   * Resolves once the first read is done (or has failed, or outlasted its timeout), so that a
   * process that starts listening after it serves, say, the last success from its first scrape.
   */
  async startRefreshing(): Promise<void> {
    if (this.#timer) return;
    this.#stopped = false;
    const interval = this.#options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    this.#timer = setInterval(() => void this.refresh(), interval);
    this.#timer.unref();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.refresh(), new Promise((resolve) => (timeout = setTimeout(resolve, this.#timeoutMs)))]);
    clearTimeout(timeout);
  }

  stopRefreshing(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One read of the warehouse's gauges; while one is under way, that one (reads never pile up
   * on a slow database). True when it succeeded; a failure keeps the values read last.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  get #timeoutMs(): number {
    return this.#options.refreshTimeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS;
  }

  async #refresh(): Promise<boolean> {
    const { db, accounts = [], logger } = this.#options;
    if (!db) return false;
    try {
      const read = await readWarehouseGauges(db, accounts, this.#clock, this.#timeoutMs);
      for (const s of read.lastSuccess) this.#success(s.account, s.stream, s.at);
      for (const q of read.historyRemaining) this.quotaRemaining.set({ account: q.account }, q.remaining);
      this.held.reset();
      for (const h of read.holds) this.held.set({ account: h.account, error_code: String(h.errorCode) }, 1);
      this.#newestRows = read.newestRows;
      this.refreshedAt.set(this.#clock.now() / 1000);
      if (this.#failing) logger?.info('the warehouse answers again; /metrics serves fresh values');
      this.#failing = false;
      return true;
    } catch (error) {
      this.refreshFailures.inc();
      if (!this.#failing && !this.#stopped) logger?.warn({ err: error }, 'could not read the warehouse for /metrics; it serves the values read last until a read succeeds');
      this.#failing = true;
      return false;
    }
  }

  #success(account: string, stream: string, at: number): void {
    const key = `${account}\n${stream}`;
    const newest = Math.max(at, this.#successes.get(key) ?? -Infinity);
    this.#successes.set(key, newest);
    this.lastSuccess.set({ account, stream }, newest / 1000);
  }
}
