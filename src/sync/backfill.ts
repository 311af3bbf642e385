// `backfill --since`: walks history back to a day within the quotas. It repeats sync passes
// of the chosen streams; when the quota cuts one short it waits, holding no lock, until the
// next slot opens, and reports progress (rows, pages, requests left this hour, ETA). It is
// resumable: every page is committed with its cursor, so a stopped backfill goes on from
// there when started again.
import { type Kysely, sql } from 'kysely';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { type Clock, systemClock } from '../sandbox/clock.ts';
import { quotaKey } from '../smsc/credentials.ts';
import { QuotaLedger } from '../smsc/quota-ledger.ts';
import { type Since, sinceStart } from '../time/calendar.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import type { RunSummary } from './run-stream.ts';
import { runSync, type SyncOptions } from './sync.ts';

export interface BackfillProgress {
  readonly passes: number;
  /** Rows written so far by this backfill (inserted + updated). */
  readonly rows: number;
  readonly pages: number;
  /** History requests left this rolling hour (first account). */
  readonly requestsLeft: number;
  /** Share of the period from --since to now already held, 0 to 1. */
  readonly done: number;
  /** Estimated ms to go, from the pace so far; undefined before any progress. */
  readonly etaMs: number | undefined;
  /** When the next pass starts, if waiting for the quota. */
  readonly waitingUntil: Date | undefined;
}

export interface BackfillOptions extends Omit<SyncOptions, 'since'> {
  /** The first day to hold: a calendar day starts at each account's own midnight. */
  readonly since: Since;
  readonly onProgress?: (p: BackfillProgress) => void;
  /** Waits until an instant; the default sleeps in real time. Tests move a virtual clock. */
  readonly sleepUntil?: (at: number) => Promise<void>;
  /** Passes at most. (Default: unlimited) */
  readonly maxPasses?: number;
}

export async function runBackfill(options: BackfillOptions): Promise<RunSummary[]> {
  const clock = options.clock ?? systemClock;
  const sleepUntil = options.sleepUntil ?? ((at: number) => sleep(at - clock.now(), options.signal));
  const ledger = new QuotaLedger(options.warehouse.db, clock, options.quota);
  const started = clock.now();
  // The period starts at the earliest of the accounts' own starts of that day.
  const since = Math.min(...options.config.accounts.map((a) => sinceStart(options.since, a.timezone)));
  const startShare = await heldShare(options.warehouse.db, options.config, since, started);
  let rows = 0;
  let pages = 0;
  for (let pass = 1; ; pass++) {
    const summaries = await runSync({ ...options, since: options.since });
    rows += summaries.reduce((s, r) => s + r.inserted + r.updated, 0);
    pages += summaries.reduce((s, r) => s + r.pages, 0);
    const failed = summaries.filter((s) => s.outcome === 'failed');
    const deferred = summaries.filter((s) => s.outcome === 'deferred' && s.deferredUntil);
    const now = clock.now();
    const share = await heldShare(options.warehouse.db, options.config, since, now);
    const pace = (share - startShare) / Math.max(1, now - started);
    const waitingUntil = deferred.length ? new Date(Math.min(...deferred.map((s) => s.deferredUntil!.getTime()))) : undefined;
    const account = options.config.accounts[0];
    options.onProgress?.({
      passes: pass,
      rows,
      pages,
      requestsLeft: account ? (await ledger.historyBudget(quotaKey(account))).remaining : 0,
      // Finished means all of it, whatever second of the first day the first message went.
      done: !waitingUntil && failed.length === 0 ? 1 : share,
      etaMs: pace > 0 && waitingUntil ? Math.round((1 - share) / pace) : waitingUntil ? undefined : 0,
      waitingUntil,
    });
    if (failed.length > 0 || !waitingUntil || options.signal?.aborted || (options.maxPasses !== undefined && pass >= options.maxPasses)) return summaries;
    await sleepUntil(waitingUntil.getTime());
    if (options.signal?.aborted) return summaries;
  }
}

/**
 * How much of [since, now] the warehouse covers, by the oldest message held per account
 * (outbound) — the part a backfill fills in.
 */
async function heldShare(db: Kysely<Warehouse>, config: Config, since: number, now: number): Promise<number> {
  const r = await sql<{ oldest: Date | null }>`
    SELECT min(sent_at) AS oldest FROM smsc.outbound_messages WHERE account IN (${sql.join(config.accounts.map((a) => a.name))})`.execute(db);
  const oldest = r.rows[0]?.oldest ? new Date(r.rows[0].oldest).getTime() : now;
  return Math.min(1, Math.max(0, (now - oldest) / Math.max(1, now - since)));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** One progress line for a person or a log. */
export function formatProgress(p: BackfillProgress): string {
  const eta = p.etaMs === undefined ? 'unknown' : p.etaMs === 0 ? 'done' : formatDuration(p.etaMs);
  const wait = p.waitingUntil ? `, next pass ${p.waitingUntil.toISOString().slice(11, 19)}Z` : '';
  return `backfill: ${(p.done * 100).toFixed(1)}% of the period held, ${p.rows} rows, ${p.pages} pages, ${p.requestsLeft} history requests left this hour, ETA ${eta}${wait}`;
}

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 90 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

