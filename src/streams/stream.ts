// What every stream is given and returns, and the one way a page is committed: its rows,
// its rejected rows and the stream's new cursor in one transaction.
import { type Kysely, sql } from 'kysely';
import type { AccountConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../sandbox/clock.ts';
import type { SmscClient } from '../smsc/client.ts';
import type { Since } from '../time/calendar.ts';
import type { CopyIn } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import type { Normalized } from './values.ts';
import { insertRejected, type Rejection, saveCursor, type UpsertCounts } from './store.ts';
import { exactJson } from './values.ts';

export interface StreamOptions {
  /**
   * First run or backfill: history from this day on — a calendar day read in the account's
   * own zone, or an instant. (Default: 7 days back)
   */
  readonly since?: Since | undefined;
  /** Hours of history re-read for status changes. (Default: 72) */
  readonly statusWindowHours: number;
  /** Statistics of the electronic balance too, unless false (SMSC_STATS_ELECTRONIC). (Default: 'auto') */
  readonly statsElectronic?: boolean | 'auto';
  /** Days after which a number's operator is looked up again. (Default: 30) */
  readonly operatorTtlDays?: number;
  /** Numbers per get_operator request. (Default: 50) */
  readonly operatorBatch?: number;
}

export interface StreamContext {
  /** The run's session: one connection, the one holding the run's lock. Reads go here. */
  readonly db: Kysely<Warehouse>;
  /**
   * A write transaction on the run's session that commits only while the run still holds its
   * lock (checked inside the transaction, before anything is written): every row, rejected
   * row and cursor a stream writes goes through it. `copy` is given on PostgreSQL.
   */
  readonly transaction: <T>(fn: (trx: Kysely<Warehouse>, copy?: CopyIn) => Promise<T>) => Promise<T>;
  readonly api: SmscClient;
  readonly account: AccountConfig;
  readonly clock: Clock;
  /** The run's logger, bound to `{ account, stream, runId }`: lines name their stream already. */
  readonly log: Logger;
  readonly runId: string;
  readonly options: StreamOptions;
  /** Aborted on SIGTERM/SIGINT: stop between pages (the page in flight commits or rolls back whole). */
  readonly signal?: AbortSignal | undefined;
  /** What the run has committed so far, kept by the runner so a failed run still reports it. */
  readonly totals: StreamTotals;
}

export interface StreamTotals {
  inserted: number;
  updated: number;
  rejected: number;
  pages: number;
}

export interface StreamResult {
  /** Set when the quota cut the run short: when the stream may go on. */
  readonly deferredUntil?: Date | undefined;
  /** Warnings for `status` and the logs (e.g. replies about to be lost). */
  readonly warnings?: readonly string[];
}

export interface Stream {
  readonly name: string;
  run(ctx: StreamContext): Promise<StreamResult>;
}

export function emptyTotals(): StreamTotals {
  return { inserted: 0, updated: 0, rejected: 0, pages: 0 };
}

/** A page as the normalizer left it: the rows to store, and the rows refused with their reasons. */
export interface NormalizedPage<Row> {
  readonly rows: readonly Row[];
  readonly rejected: readonly Rejection[];
}

/** Normalizes every row of a page (pure: no IO). */
export function normalizePage<Row>(page: readonly unknown[], normalize: (raw: unknown) => Normalized<Row>): NormalizedPage<Row> {
  const rows: Row[] = [];
  const rejected: Rejection[] = [];
  for (const raw of page) {
    const n = normalize(raw);
    if ('row' in n) rows.push(n.row);
    else rejected.push({ raw: exactJson(raw) ?? String(raw), reason: n.rejected });
  }
  return { rows, rejected };
}

/**
 * Normalizes a page and commits its rows, its rejected rows and the stream's new cursor in
 * one transaction, adding the counts to the run's totals.
 */
export function commitPage<Row>(
  ctx: StreamContext,
  stream: string,
  page: readonly unknown[],
  normalize: (raw: unknown) => Normalized<Row>,
  upsert: Upsert<Row>,
  cursor: unknown,
): Promise<UpsertCounts> {
  return commitRows(ctx, stream, normalizePage(page, normalize), upsert, cursor);
}

export type Upsert<Row> = (db: Kysely<Warehouse>, account: string, rows: readonly Row[], seenAt: Date, copy?: CopyIn) => Promise<UpsertCounts>;

/**
 * Commits a normalized page: its rows, its rejected rows and the stream's new cursor in one
 * transaction. The run's totals count the rows written and the rows rejected for the first
 * time (a bad row re-read with its page is only marked as seen again: see insertRejected).
 */
export async function commitRows<Row>(ctx: StreamContext, stream: string, page: NormalizedPage<Row>, upsert: Upsert<Row>, cursor: unknown): Promise<UpsertCounts> {
  const seenAt = new Date(ctx.clock.now());
  let newlyRejected = 0;
  const write = async (trx: Kysely<Warehouse>, copy?: CopyIn) => {
    // The page does not wait for its WAL to reach the disk: should the database server crash
    // right after, the page and its cursor are lost together and the next run reads it again.
    // (The quota ledger commits on its own, durably.)
    await sql`SET LOCAL synchronous_commit = off`.execute(trx);
    const c = page.rows.length > 0 ? await upsert(trx, ctx.account.name, page.rows, seenAt, copy) : { inserted: 0, updated: 0 };
    newlyRejected = await insertRejected(trx, ctx.account.name, stream, ctx.runId, page.rejected, seenAt);
    await saveCursor(trx, ctx.account.name, stream, cursor, seenAt);
    return c;
  };
  const counts = await ctx.transaction(write);
  const totals = ctx.totals;
  totals.inserted += counts.inserted;
  totals.updated += counts.updated;
  totals.rejected += newlyRejected;
  totals.pages += 1;
  if (newlyRejected > 0) ctx.log.warn({ rejected: newlyRejected, firstReason: page.rejected[0]!.reason }, 'rows rejected');
  else if (page.rejected.length > 0) ctx.log.debug({ seenAgain: page.rejected.length }, 'rejected rows seen again');
  return counts;
}
