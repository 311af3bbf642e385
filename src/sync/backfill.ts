// `backfill --since`: walks history back to a day within the quotas. Each (account, stream)
// runs until it has read back to the day; one the quota cuts short runs again at its own retry
// time, holding no lock meanwhile, and only it: a finished walk spends nothing more. Progress
// (share held per stream, rows, pages, requests left this hour, an ETA from the quotas'
// refill) after each pass. Resumable: every page is committed with its cursor, so a stopped
// backfill goes on from there when started again.
import { type Kysely, sql } from 'kysely';
import type { AccountConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { type Clock, systemClock } from '../sandbox/clock.ts';
import { quotaKey } from '../smsc/credentials.ts';
import { QuotaLedger } from '../smsc/quota-ledger.ts';
import { localDay, type Since, sinceStart } from '../time/calendar.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import type { RunSummary } from './run-stream.ts';
import { runSync, type SyncOptions } from './sync.ts';

export interface StreamProgress {
  readonly account: string;
  readonly stream: string;
  /** Share of the period from --since to now this stream holds, 0 to 1 (1 once it finished). */
  readonly done: number;
  readonly finished: boolean;
  /** When it runs next, while the quota holds it back. */
  readonly waitingUntil: Date | undefined;
}

export interface BackfillProgress {
  readonly passes: number;
  /** Rows written so far by this backfill (inserted + updated). */
  readonly rows: number;
  readonly pages: number;
  /** History requests left this rolling hour (the least of the accounts'). */
  readonly requestsLeft: number;
  /** Share of the period held over every (account, stream) of the backfill, 0 to 1. */
  readonly done: number;
  /**
   * Estimated ms to go: per stream, the requests its rest needs (from the pages it took per
   * share of the period so far) against its quota's refill (30 history requests an hour, 3
   * stats requests a minute); the longest of them. Undefined while unknown, 0 when finished.
   */
  readonly etaMs: number | undefined;
  /** When the next pass starts, if waiting for the quota. */
  readonly waitingUntil: Date | undefined;
  readonly streams: readonly StreamProgress[];
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

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * Runs each (account, stream) until it has read back to `since`: a stream the quota cut short
 * runs again at its own retry time, and only it (a finished outbound walk is not walked again
 * while stats waits for its minute); the process sleeps, holding no lock, in between. Returns
 * the last run of each (account, stream).
 */
export async function runBackfill(options: BackfillOptions): Promise<RunSummary[]> {
  const clock = options.clock ?? systemClock;
  const sleepUntil = options.sleepUntil ?? ((at: number) => sleep(at - clock.now(), options.signal));
  const ledger = new QuotaLedger(options.warehouse.db, clock, options.quota);
  const db = options.warehouse.db;
  const accounts = options.config.accounts;
  const key = (account: string, stream: string) => `${account}\n${stream}`;
  /** Not finished yet, with the instant each may run again. */
  const pending = new Map<string, number>(accounts.flatMap((a) => options.streams.map((s) => [key(a.name, s), 0] as const)));
  const last = new Map<string, RunSummary>();
  const startShares = new Map<string, number>();
  const pagesOf = new Map<string, number>();
  let rows = 0;
  let pages = 0;
  for (let pass = 1; ; pass++) {
    const now = clock.now();
    // Accounts grouped by the streams due for them now: one sync per group.
    const groups = new Map<string, { streams: string[]; accounts: typeof accounts[number][] }>();
    for (const account of accounts) {
      const due = options.streams.filter((s) => (pending.get(key(account.name, s)) ?? Infinity) <= now);
      if (due.length === 0) continue;
      const group = groups.get(due.join(',')) ?? { streams: due, accounts: [] };
      group.accounts.push(account);
      groups.set(due.join(','), group);
    }
    if (pass === 1) {
      for (const a of accounts) for (const s of options.streams) startShares.set(key(a.name, s), await coverage(db, a, s, options.since, now));
    }
    const results = (
      await Promise.all(
        [...groups.values()].map((g) => runSync({ ...options, config: { ...options.config, accounts: g.accounts }, streams: g.streams, since: options.since })),
      )
    ).flat();
    for (const r of results) {
      const k = key(r.account, r.stream);
      last.set(k, r);
      pagesOf.set(k, (pagesOf.get(k) ?? 0) + r.pages);
      rows += r.inserted + r.updated;
      pages += r.pages;
      if (r.outcome === 'deferred' && r.deferredUntil && !options.signal?.aborted) pending.set(k, r.deferredUntil.getTime());
      // Another process holds the stream (the scheduler's run of it): look again shortly.
      else if (r.outcome === 'skipped') pending.set(k, clock.now() + 30_000);
      else if (r.outcome !== 'deferred') pending.delete(k);
    }
    const failed = results.filter((r) => r.outcome === 'failed');
    const after = clock.now();
    const waitingUntil = pending.size > 0 ? new Date(Math.max(after, Math.min(...pending.values()))) : undefined;
    const progress = await measure({ db, ledger, accounts, streams: options.streams, since: options.since, now: after, pending, startShares, pagesOf, key });
    options.onProgress?.({ passes: pass, rows, pages, requestsLeft: progress.requestsLeft, done: progress.done, etaMs: progress.etaMs, waitingUntil, streams: progress.streams });
    const summaries = [...last.values()];
    if (failed.length > 0 || !waitingUntil || options.signal?.aborted || (options.maxPasses !== undefined && pass >= options.maxPasses)) return summaries;
    await sleepUntil(waitingUntil.getTime());
    if (options.signal?.aborted) return summaries;
  }
}

/** How much of [since, now] the warehouse holds for one account and stream, 0 to 1. */
async function coverage(db: Kysely<Warehouse>, account: AccountConfig, stream: string, since: Since, now: number): Promise<number> {
  const from = sinceStart(since, account.timezone);
  if (stream === 'outbound') {
    // By the oldest message held: the walk goes back in time.
    const r = await sql<{ oldest: Date | null }>`SELECT min(sent_at) AS oldest FROM smsc.outbound_messages WHERE account = ${account.name}`.execute(db);
    const oldest = r.rows[0]?.oldest ? new Date(r.rows[0].oldest).getTime() : now;
    return clamp((now - oldest) / Math.max(1, now - from));
  }
  if (stream === 'stats') {
    // By the days held of the account's own login, against the days from since to today.
    const first = localDay(from, account.timezone);
    const today = localDay(now, account.timezone);
    const r = await sql<{ n: number }>`
      SELECT count(DISTINCT day)::int AS n FROM smsc.daily_stats WHERE account = ${account.name} AND day >= ${first}::date AND day <= ${today}::date`.execute(db);
    const total = Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / DAY) + 1;
    return clamp((r.rows[0]?.n ?? 0) / Math.max(1, total));
  }
  return 0;
}

async function measure(input: {
  db: Kysely<Warehouse>;
  ledger: QuotaLedger;
  accounts: readonly AccountConfig[];
  streams: readonly string[];
  since: Since;
  now: number;
  pending: ReadonlyMap<string, number>;
  startShares: ReadonlyMap<string, number>;
  pagesOf: ReadonlyMap<string, number>;
  key: (account: string, stream: string) => string;
}): Promise<{ done: number; etaMs: number | undefined; requestsLeft: number; streams: StreamProgress[] }> {
  const streams: StreamProgress[] = [];
  let eta: number | undefined = 0;
  let requestsLeft = Infinity;
  for (const account of input.accounts) {
    const left = (await input.ledger.historyBudget(quotaKey(account))).remaining;
    requestsLeft = Math.min(requestsLeft, left);
    for (const stream of input.streams) {
      const k = input.key(account.name, stream);
      const finished = !input.pending.has(k);
      const share = finished ? 1 : await coverage(input.db, account, stream, input.since, input.now);
      const retryAt = input.pending.get(k);
      streams.push({ account: account.name, stream, done: share, finished, waitingUntil: retryAt && retryAt > input.now ? new Date(retryAt) : undefined });
      if (finished || eta === undefined) continue;
      // Requests still needed, from the requests (pages) this stream took per share so far.
      const gained = share - (input.startShares.get(k) ?? 0);
      const spent = input.pagesOf.get(k) ?? 0;
      if (gained <= 0 || spent === 0) {
        eta = undefined;
        continue;
      }
      const needed = Math.ceil(((1 - share) / gained) * spent);
      const ms =
        stream === 'outbound'
          ? // What the hour's budget leaves, then 30 more each hour as the window slides.
            (Math.max(0, needed - left) / 30) * HOUR
          : stream === 'stats'
            ? (needed / 3) * MINUTE
            : 0;
      eta = Math.max(eta, Math.round(ms), retryAt ? Math.max(0, retryAt - input.now) : 0);
    }
  }
  const done = streams.length ? streams.reduce((s, p) => s + p.done, 0) / streams.length : 1;
  return { done, etaMs: eta, requestsLeft: Number.isFinite(requestsLeft) ? requestsLeft : 0, streams };
}

function clamp(x: number): number {
  return Math.min(1, Math.max(0, x));
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
  const eta = p.etaMs === undefined ? 'unknown' : p.etaMs === 0 && !p.waitingUntil ? 'done' : formatDuration(p.etaMs);
  const wait = p.waitingUntil ? `, next pass ${p.waitingUntil.toISOString()}` : '';
  const byStream = p.streams
    .map((s) => `${p.streams.some((o) => o.account !== s.account) ? `${s.account}/` : ''}${s.stream} ${s.finished ? 'done' : `${(s.done * 100).toFixed(1)}%`}`)
    .join(', ');
  return `backfill: ${(p.done * 100).toFixed(1)}% of the period held (${byStream}), ${p.rows} rows, ${p.pages} pages, ${p.requestsLeft} history requests left this hour, ETA ${eta}${wait}`;
}

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 90 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

