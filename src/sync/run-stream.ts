// One run of one stream for one account: under the (account, stream) lock, recorded in
// sync_runs from start to outcome, with the requests it sent counted from the ledger.
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { AccountConfig } from '../config.ts';
import { type Logger, scrubText } from '../logger.ts';
import type { Clock } from '../sandbox/clock.ts';
import type { SmscClient } from '../smsc/client.ts';
import { emptyTotals, type Stream, type StreamOptions } from '../streams/stream.ts';
import type { Warehouse as Db } from '../warehouse/database.ts';
import { withRunLock } from '../warehouse/run-lock.ts';
import type { RunOutcome, Warehouse } from '../warehouse/schema.ts';

export interface RunSummary {
  readonly runId: string;
  readonly account: string;
  readonly stream: string;
  readonly outcome: Exclude<RunOutcome, 'running'>;
  readonly inserted: number;
  readonly updated: number;
  readonly rejected: number;
  readonly pages: number;
  readonly requests: number;
  readonly ms: number;
  readonly error?: string | undefined;
  readonly deferredUntil?: Date | undefined;
  readonly warnings: readonly string[];
}

export interface RunStreamDeps {
  readonly warehouse: Db<Warehouse>;
  readonly api: SmscClient;
  readonly account: AccountConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Runs left 'running' by a process that died: whoever holds the lock knows no other run of
 * the stream is alive, so they are marked failed (their committed pages stay committed).
 */
async function closeInterruptedRuns(db: Kysely<Warehouse>, account: string, stream: string, runId: string, clock: Clock): Promise<void> {
  await db
    .updateTable('smsc.sync_runs')
    .set({ outcome: 'failed', error: 'interrupted: the process ended during the run', finished_at: new Date(clock.now()) })
    .where('account', '=', account)
    .where('stream', '=', stream)
    .where('outcome', '=', 'running')
    .where('run_id', '!=', runId)
    .execute();
}

export async function runStream(deps: RunStreamDeps, stream: Stream, options: StreamOptions, signal?: AbortSignal): Promise<RunSummary> {
  const { db } = deps.warehouse;
  const runId = randomUUID();
  const started = deps.clock.now();
  const t0 = performance.now();
  const log = deps.logger.child({ account: deps.account.name, stream: stream.name, runId });
  await db
    .insertInto('smsc.sync_runs')
    .values({ run_id: runId, account: deps.account.name, stream: stream.name, started_at: new Date(started), outcome: 'running' })
    .execute();

  const totals = emptyTotals();
  const base = { runId, account: deps.account.name, stream: stream.name };
  let summary: Omit<RunSummary, 'requests' | 'ms'>;
  try {
    const locked = await withRunLock(deps.warehouse, `${deps.account.name}\n${stream.name}`, async () => {
      await closeInterruptedRuns(db, deps.account.name, stream.name, runId, deps.clock);
      return stream.run({ db, copyTransaction: deps.warehouse.copyTransaction, api: deps.api, account: deps.account, clock: deps.clock, log, runId, options, signal, totals });
    });
    if (!locked.acquired) log.info('another process is running this stream; skipped');
    const result = locked.acquired ? locked.value : {};
    // A run stopped by SIGTERM/SIGINT committed whole pages only and resumes next time.
    const stopped = locked.acquired && signal?.aborted === true;
    const outcome = !locked.acquired ? 'skipped' : result.deferredUntil || stopped ? 'deferred' : 'succeeded';
    const warnings = [...(result.warnings ?? []), ...(stopped ? ['stopped by a signal after the page in flight; resumes next run'] : [])];
    summary = { ...base, ...totals, outcome, deferredUntil: result.deferredUntil, warnings };
  } catch (error) {
    const message = scrubText(error instanceof Error ? error.message : String(error));
    log.error({ err: error, pages: totals.pages }, 'stream failed');
    summary = { ...base, ...totals, outcome: 'failed', error: message, warnings: [] };
  }
  const counted = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.api_requests WHERE run_id = ${runId}`.execute(db);
  const requests = counted.rows[0]?.n ?? 0;
  const ms = Math.round(performance.now() - t0);
  await db
    .updateTable('smsc.sync_runs')
    .set({
      finished_at: new Date(deps.clock.now()),
      outcome: summary.outcome,
      rows_inserted: summary.inserted,
      rows_updated: summary.updated,
      rows_rejected: summary.rejected,
      pages: summary.pages,
      requests,
      error: summary.error ?? null,
    })
    .where('run_id', '=', runId)
    .execute();
  const result = { ...summary, requests, ms };
  if (result.outcome !== 'failed') {
    log.info(
      { outcome: result.outcome, pages: result.pages, inserted: result.inserted, updated: result.updated, rejected: result.rejected, requests, ms, deferredUntil: result.deferredUntil },
      'stream synced',
    );
  }
  return result;
}
