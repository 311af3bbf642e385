// One run of one stream for one account: it waits for one of the process's run slots, takes
// one database connection of its own (its session), tries the (account, stream) lock on it
// (never waits for it: taken means skipped), and runs the stream on that session, recorded in
// sync_runs from start to outcome, with the requests it sent counted from the ledger.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Kysely, sql } from 'kysely';
import type { AccountConfig } from '../config.ts';
import { type Logger, scrubText } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Clock } from '../sandbox/clock.ts';
import type { SmscClient } from '../smsc/client.ts';
import { TransportError } from '../smsc/errors.ts';
import { emptyTotals, type Stream, type StreamOptions, type StreamTotals } from '../streams/stream.ts';
import type { Warehouse as Db } from '../warehouse/database.ts';
import { runLockHeld, runLockKey, tryRunLock } from '../warehouse/run-lock.ts';
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
  /** Told when the run takes its lock and when it ends (smsc_sync_runs_in_progress). */
  readonly metrics?: Pick<Metrics, 'runStarted'> | undefined;
}

/** Written into sync_runs.error for runs left `running` by a process that ended. */
export const INTERRUPTED = 'interrupted: the process ended during the run';
const PROCESS = `${hostname()}:${process.pid}`;

/**
 * Runs of the account left 'running' by a process that died (their lock is free; a live run
 * holds its lock for its whole life): marked failed, their committed pages staying
 * committed, and the requests they left pending in the ledger closed, so that those count
 * neither as in flight nor as an unproven login any more.
 */
async function closeInterruptedRuns(kind: 'postgres' | 'pglite', db: Kysely<Warehouse>, account: string, stream: string, runId: string, clock: Clock): Promise<void> {
  const running = await db.selectFrom('smsc.sync_runs').select(['run_id', 'stream']).where('account', '=', account).where('outcome', '=', 'running').where('run_id', '!=', runId).execute();
  for (const run of running) {
    // This run holds its own stream's lock: any other run of it recorded as running is dead.
    if (run.stream !== stream && (await runLockHeld(kind, db, runLockKey(account, run.stream)))) continue;
    const at = new Date(clock.now());
    await db.updateTable('smsc.sync_runs').set({ outcome: 'failed', error: INTERRUPTED, finished_at: at }).where('run_id', '=', run.run_id).where('outcome', '=', 'running').execute();
    await db.updateTable('smsc_internal.api_requests').set({ outcome: 'failed', finished_at: at }).where('run_id', '=', run.run_id).where('outcome', '=', 'pending').execute();
  }
}

/** Runs the stream in one of the process's run slots (see Warehouse.runSlots). */
export function runStream(deps: RunStreamDeps, stream: Stream, options: StreamOptions, signal?: AbortSignal): Promise<RunSummary> {
  return deps.warehouse.runSlots(() => runStreamNow(deps, stream, options, signal));
}

async function runStreamNow(deps: RunStreamDeps, stream: Stream, options: StreamOptions, signal?: AbortSignal): Promise<RunSummary> {
  const runId = randomUUID();
  const t0 = performance.now();
  const account = deps.account.name;
  const log = deps.logger.child({ account, stream: stream.name, runId });
  const base = { runId, account, stream: stream.name };
  const totals = emptyTotals();
  if (signal?.aborted) {
    // Stopping: a run still waiting for its slot does not start.
    return { ...base, ...totals, outcome: 'skipped', requests: 0, ms: 0, warnings: ['not started: the process is stopping'] };
  }
  let summary: Omit<RunSummary, 'requests' | 'ms'>;
  let recorded = false;
  try {
    summary = await deps.warehouse.session(async (session) => {
      const key = runLockKey(account, stream.name);
      const lock = await tryRunLock(deps.warehouse.kind, session.db, key);
      const now = new Date(deps.clock.now());
      if (!lock) {
        log.info('another process is running this stream; skipped');
        await session.db
          .insertInto('smsc.sync_runs')
          .values({ run_id: runId, account, stream: stream.name, started_at: now, finished_at: now, outcome: 'skipped', process: PROCESS })
          .execute();
        return { ...base, ...totals, outcome: 'skipped', warnings: ['another process is running this stream'] } as const;
      }
      const ended = deps.metrics?.runStarted(account, stream.name);
      try {
        await session.db
          .insertInto('smsc.sync_runs')
          .values({ run_id: runId, account, stream: stream.name, started_at: now, outcome: 'running', process: PROCESS })
          .execute();
        recorded = true;
        await closeInterruptedRuns(deps.warehouse.kind, session.db, account, stream.name, runId, deps.clock);
        const transaction = <T>(fn: (trx: Kysely<Warehouse>, copy?: typeof session.copy) => Promise<T>): Promise<T> =>
          session.db.transaction().execute(async (trx) => {
            await lock.assertHeld(trx);
            return fn(trx, session.copy);
          });
        const result = await stream.run({ db: session.db, transaction, api: deps.api, account: deps.account, clock: deps.clock, log, runId, options, signal, totals });
        // A run stopped by SIGTERM/SIGINT committed whole pages only and resumes next time.
        const stopped = signal?.aborted === true;
        const warnings = [...(result.warnings ?? []), ...(stopped ? ['stopped by a signal after the page in flight; resumes next run'] : [])];
        return { ...base, ...totals, outcome: result.deferredUntil || stopped ? 'deferred' : 'succeeded', deferredUntil: result.deferredUntil, warnings } as const;
      } finally {
        ended?.();
        await lock.release();
      }
    });
  } catch (error) {
    summary = failedSummary(base, totals, error, log, deps.account.baseUrl);
  }
  // Counted and recorded through the pool: the session may be the thing that failed.
  let requests = 0;
  try {
    const counted = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc_internal.api_requests WHERE run_id = ${runId}`.execute(deps.warehouse.db);
    requests = counted.rows[0]?.n ?? 0;
    if (recorded) {
      await deps.warehouse.db
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
          deferred_until: summary.deferredUntil ?? null,
        })
        .where('run_id', '=', runId)
        .execute();
    }
  } catch (error) {
    log.error({ err: error }, 'could not record the run in sync_runs; status shows it as interrupted');
  }
  const result = { ...summary, requests, ms: Math.round(performance.now() - t0) };
  if (result.outcome !== 'failed') {
    log.info(
      { outcome: result.outcome, pages: result.pages, inserted: result.inserted, updated: result.updated, rejected: result.rejected, requests, ms: result.ms, deferredUntil: result.deferredUntil?.toISOString() },
      'stream synced',
    );
  }
  return result;
}

function failedSummary(base: { runId: string; account: string; stream: string }, totals: StreamTotals, error: unknown, log: Logger, baseUrl: string): Omit<RunSummary, 'requests' | 'ms'> {
  const text = scrubText(error instanceof Error ? error.message : String(error));
  const code = (error as { code?: unknown } | undefined)?.code;
  // SMSC's side first: a refused connection to SMSC is not the warehouse's.
  const message = error instanceof TransportError
    ? `could not get an answer from SMSC at ${baseUrl} (SMSC_BASE_URL) after the retries: ${text}; the pages committed before stand and the next run resumes from the cursor`
    : lostConnection(error)
    ? `the run lost its database connection (${text}); the pages committed before stand, the page in flight rolled back, and the next run resumes from the cursor`
    : code === '55P03'
      ? `a statement of the run waited longer than lock_timeout (SMSC_DB_TIMEOUT_SECONDS) for a lock another session holds in the warehouse (${text}); look in pg_locks for who holds it; the page in flight rolled back and the next run resumes from the cursor`
      : code === '57014'
        ? `a statement of the run ran longer than statement_timeout (SMSC_STATEMENT_TIMEOUT_SECONDS) and was cancelled (${text}); the page in flight rolled back and the next run resumes from the cursor`
        : text;
  log.error({ err: error, error: message, pages: totals.pages }, 'stream failed');
  return { ...base, ...totals, outcome: 'failed', error: message, warnings: [] };
}

/**
 * A database session that ended under the run (server restart, pg_terminate_backend, a network
 * cut): node-postgres reports it as a socket error, "Connection terminated", or SQLSTATE
 * class 08 (connection exception) / 57P01-57P03 (admin or crash shutdown).
 */
function lostConnection(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof TransportError) return false;
    const code = typeof e.code === 'string' ? e.code : '';
    if (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', '57P01', '57P02', '57P03'].includes(code) || code.startsWith('08')) return true;
    if (typeof e.message === 'string' && /Connection terminated|terminating connection|connection error and is not queryable/i.test(e.message)) return true;
  }
  return false;
}
