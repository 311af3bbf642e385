// What every stream is given and returns, and the one way a page is committed: its rows,
// its rejected rows and the stream's new cursor in one transaction.
import { type Kysely, sql } from 'kysely';
import type { AccountConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../sandbox/clock.ts';
import type { SmscClient } from '../smsc/client.ts';
import type { CopyIn } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import type { Normalized } from './values.ts';
import { insertRejected, saveCursor, type UpsertCounts } from './store.ts';
import { exactJson } from './values.ts';

export interface StreamOptions {
  /** First run: history from this day on. (Default: 7 days back) */
  readonly since?: Date | undefined;
  /** Hours of history re-read for status changes. (Default: 72) */
  readonly statusWindowHours: number;
  /** Also read statistics of the electronic balance. (Default: false) */
  readonly statsElectronic?: boolean;
  /** Days after which a number's operator is looked up again. (Default: 30) */
  readonly operatorTtlDays?: number;
  /** Numbers per get_operator request. (Default: 50) */
  readonly operatorBatch?: number;
}

export interface StreamContext {
  readonly db: Kysely<Warehouse>;
  /** PostgreSQL: page transactions that can COPY (see Warehouse.copyTransaction). */
  readonly copyTransaction?: <T>(fn: (trx: Kysely<Warehouse>, copy: CopyIn) => Promise<T>) => Promise<T>;
  readonly api: SmscClient;
  readonly account: AccountConfig;
  readonly clock: Clock;
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

/**
 * Normalizes a page and commits its rows, its rejected rows and the stream's new cursor in
 * one transaction, adding the counts to the run's totals.
 */
export async function commitPage<Row>(
  ctx: StreamContext,
  stream: string,
  page: readonly unknown[],
  normalize: (raw: unknown) => Normalized<Row>,
  upsert: (db: Kysely<Warehouse>, account: string, rows: readonly Row[], seenAt: Date, copy?: CopyIn) => Promise<UpsertCounts>,
  cursor: unknown,
): Promise<UpsertCounts> {
  const totals = ctx.totals;
  const rows: Row[] = [];
  const rejected: { raw: string; reason: string }[] = [];
  for (const raw of page) {
    const n = normalize(raw);
    if ('row' in n) rows.push(n.row);
    else rejected.push({ raw: exactJson(raw) ?? String(raw), reason: n.rejected });
  }
  const seenAt = new Date(ctx.clock.now());
  const write = async (trx: Kysely<Warehouse>, copy?: CopyIn) => {
    // The page does not wait for its WAL to reach the disk: should the database server crash
    // right after, the page and its cursor are lost together and the next run reads it again.
    // (The quota ledger commits on its own, durably.)
    await sql`SET LOCAL synchronous_commit = off`.execute(trx);
    const c = await upsert(trx, ctx.account.name, rows, seenAt, copy);
    await insertRejected(trx, ctx.account.name, stream, ctx.runId, rejected, seenAt);
    await saveCursor(trx, ctx.account.name, stream, cursor, seenAt);
    return c;
  };
  const counts = ctx.copyTransaction ? await ctx.copyTransaction(write) : await ctx.db.transaction().execute((trx) => write(trx));
  totals.inserted += counts.inserted;
  totals.updated += counts.updated;
  totals.rejected += rejected.length;
  totals.pages += 1;
  if (rejected.length > 0) ctx.log.warn({ stream, rejected: rejected.length, firstReason: rejected[0]!.reason }, 'rows rejected');
  return counts;
}
