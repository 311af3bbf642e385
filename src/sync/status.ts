// `status`: per account and stream, the last run and its outcome, rows, cursor, how far
// behind the warehouse is, the history quota used this hour, and the warnings that need a
// person (account stopped by error 2 or 4, replies about to pass SMSC's 7-day horizon or never
// synced at all).
import { type Kysely, sql } from 'kysely';
import type { AccountConfig, Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { completenessWarnings } from '../streams/stats/stream.ts';
import type { Clock } from '../sandbox/clock.ts';
import { quotaKey } from '../smsc/credentials.ts';
import { QuotaLedger } from '../smsc/quota-ledger.ts';
import { runLockHeld, runLockKey } from '../warehouse/run-lock.ts';
import { INBOUND_HORIZON_WARNING_MS } from '../streams/inbound/stream.ts';
import { STREAM_NAMES } from '../streams/names.ts';
import type { Warehouse } from '../warehouse/schema.ts';

export interface StreamStatus {
  readonly stream: string;
  readonly lastRun: {
    readonly startedAt: string;
    readonly finishedAt: string | null;
    readonly outcome: string;
    readonly inserted: number;
    readonly updated: number;
    readonly rejected: number;
    readonly requests: number;
    readonly error: string | null;
    /** For a deferred run: when the quota allows it to resume (ISO 8601). */
    readonly deferredUntil: string | null;
  } | null;
  readonly lastSuccessAt: string | null;
  /** Seconds since the last run that read to the end. */
  readonly lagSeconds: number | null;
  readonly cursor: unknown;
  readonly warnings: readonly string[];
}

export interface AccountStatus {
  readonly account: string;
  readonly stopped: { readonly errorCode: number; readonly reason: string; readonly since: string; readonly until: string | null } | null;
  readonly historyRequestsThisHour: number;
  readonly historyRequestsLeft: number;
  readonly historyBudgetRefillsAt: string | null;
  readonly streams: readonly StreamStatus[];
  /**
   * Why the account is not healthy (`status` exits 1 when any account has one): held by SMSC,
   * a stream's last run failed, was interrupted or has run for over an hour, replies near
   * SMSC's 7-day horizon or never synced. Empty when healthy.
   */
  readonly problems: readonly string[];
}

/** A run still holding its lock after this long is reported as stuck. */
export const STUCK_AFTER_MS = 3_600_000;

const silentLog = createLogger({ level: 'silent' });

/**
 * The status of every configured account (and any other the warehouse has runs of). A run
 * recorded as `running` whose (account, stream) lock nobody holds was left by a process that
 * ended: it is shown as `interrupted` at once.
 */
export async function readStatus(
  db: Kysely<Warehouse>,
  config: Config,
  clock: Clock,
  options: { kind?: 'postgres' | 'pglite'; /** Only the configured accounts (--account). */ configuredOnly?: boolean } = {},
): Promise<AccountStatus[]> {
  const now = clock.now();
  const ledger = new QuotaLedger(db, clock);
  const known = options.configuredOnly ? [] : await db.selectFrom('smsc.sync_runs').select('account').distinct().execute();
  const accounts = [...new Set([...config.accounts.map((a) => a.name), ...known.map((k) => k.account)])];
  const out: AccountStatus[] = [];
  for (const account of accounts) {
    const hold = await db.selectFrom('smsc_internal.account_holds').selectAll().where('account', '=', account).executeTakeFirst();
    const holdActive = hold && (hold.error_code === 2 || (hold.held_until && new Date(hold.held_until).getTime() > now));
    // The budget of the (host, login) the account's requests went to this hour: status reads no
    // SMSC_BASE_URL of its own (`status` beside an emulator without it, or after a change of
    // host, would otherwise report another host's untouched budget); with none this hour, the
    // configured one, else the last one used.
    const configured = config.accounts.find((a) => a.name === account);
    const recent = (
      await db
        .selectFrom('smsc_internal.api_requests')
        .select('quota_key')
        .where('account', '=', account)
        .where('sent_at', '>', new Date(now - 3_600_000))
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst()
    )?.quota_key;
    const key =
      recent ??
      (configured
        ? quotaKey(configured)
        : ((await db.selectFrom('smsc_internal.api_requests').select('quota_key').where('account', '=', account).orderBy('id', 'desc').limit(1).executeTakeFirst())?.quota_key ?? account));
    const budget = await ledger.historyBudget(key);
    const first = await sql<{ at: Date | null }>`SELECT min(started_at) AS at FROM smsc.sync_runs WHERE account = ${account}`.execute(db);
    const firstRun = first.rows[0]?.at ? new Date(first.rows[0].at) : null;
    const streams: StreamStatus[] = [];
    const problems: string[] = [];
    for (const stream of STREAM_NAMES) {
      const last = await db
        .selectFrom('smsc.sync_runs')
        .selectAll()
        .where('account', '=', account)
        .where('stream', '=', stream)
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      const success = await sql<{ at: Date | null }>`
        SELECT max(finished_at) AS at FROM smsc.sync_runs WHERE account = ${account} AND stream = ${stream} AND outcome = 'succeeded'`.execute(db);
      const state = await db.selectFrom('smsc_internal.sync_state').select('cursor').where('account', '=', account).where('stream', '=', stream).executeTakeFirst();
      const lastSuccess = success.rows[0]?.at ? new Date(success.rows[0].at) : null;
      const warnings: string[] = [];
      if (stream === 'inbound' && lastSuccess && now - lastSuccess.getTime() > INBOUND_HORIZON_WARNING_MS) {
        warnings.push('replies are about to be lost: the last successful inbound sync is more than 6 days old and SMSC keeps replies 7 days');
        problems.push(`inbound: the last successful sync is more than 6 days old; SMSC keeps replies 7 days`);
      }
      if (stream === 'inbound' && !lastSuccess && firstRun) {
        // The account is being synced, its replies are not: each day one more day of them
        // passes SMSC's 7-day horizon, unseen unless said here.
        const days = ((now - firstRun.getTime()) / 86_400_000).toFixed(1);
        warnings.push(
          `replies have never been synced (no successful inbound run${last ? `; the last one ${last.outcome === 'failed' ? 'failed' : `is ${last.outcome}`}` : ''}) although the account has been synced for ${days} days: ` +
            'SMSC keeps replies 7 days and older ones are lost; run `smsc-sync sync --streams inbound` or check the inbound job',
        );
        problems.push(`inbound: replies never synced although the account has been synced for ${days} days`);
      }
      if (last?.outcome === 'failed') {
        warnings.push(`last run failed: ${last.error ?? 'unknown error'}`);
        problems.push(`${stream}: last run failed: ${last.error ?? 'unknown error'}`);
      }
      const interrupted = last?.outcome === 'running' && !(await runLockHeld(options.kind ?? 'postgres', db, runLockKey(account, stream)));
      if (interrupted) {
        warnings.push(`the run started ${new Date(last.started_at).toISOString()}${last.process ? ` by ${last.process}` : ''} was interrupted (its process ended); the next run goes on from the last committed page`);
        problems.push(`${stream}: the last run was interrupted (its process ended at some point after ${new Date(last.started_at).toISOString()})`);
      } else if (last?.outcome === 'running' && now - new Date(last.started_at).getTime() > STUCK_AFTER_MS) {
        const since = new Date(last.started_at).toISOString();
        warnings.push(`the run started ${since}${last.process ? ` by ${last.process}` : ''} is still running after more than an hour: stuck?`);
        problems.push(`${stream}: a run has been running since ${since}${last.process ? ` (${last.process})` : ''}`);
      }
      if (stream === 'stats') {
        const tz = config.accounts.find((a) => a.name === account)?.timezone ?? 'Europe/Moscow';
        warnings.push(...(await completenessWarnings({ db, account: { name: account, timezone: tz } as AccountConfig, clock, log: silentLog })));
      }
      streams.push({
        stream,
        lastRun: last
          ? {
              startedAt: new Date(last.started_at).toISOString(),
              finishedAt: last.finished_at ? new Date(last.finished_at).toISOString() : null,
              outcome: interrupted ? 'interrupted' : last.outcome,
              inserted: last.rows_inserted,
              updated: last.rows_updated,
              rejected: last.rows_rejected,
              requests: last.requests,
              error: last.error,
              deferredUntil: last.outcome === 'deferred' && last.deferred_until ? new Date(last.deferred_until).toISOString() : null,
            }
          : null,
        lastSuccessAt: lastSuccess?.toISOString() ?? null,
        lagSeconds: lastSuccess ? Math.round((now - lastSuccess.getTime()) / 1000) : null,
        cursor: state?.cursor ?? null,
        warnings,
      });
    }
    // A configured account nothing has run for is not synced: nothing to call healthy yet.
    if (configured && streams.every((st) => st.lastRun === null)) problems.push('no run recorded yet for any stream: nothing has synced this account');
    if (holdActive) {
      problems.unshift(
        `stopped by SMSC error ${hold.error_code} since ${new Date(hold.held_at).toISOString()}${hold.held_until ? ` until ${new Date(hold.held_until).toISOString()}` : ' until its credentials change'}`,
      );
    }
    out.push({
      account,
      stopped: holdActive
        ? { errorCode: hold.error_code, reason: hold.reason, since: new Date(hold.held_at).toISOString(), until: hold.held_until ? new Date(hold.held_until).toISOString() : null }
        : null,
      historyRequestsThisHour: ledger.policy.historyPerHour - budget.remaining,
      historyRequestsLeft: budget.remaining,
      historyBudgetRefillsAt: budget.refillsAt?.toISOString() ?? null,
      streams,
      problems,
    });
  }
  return out;
}

/** The report for a person at a terminal. */
export function formatStatus(report: readonly AccountStatus[]): string {
  const lines: string[] = [];
  for (const a of report) {
    lines.push(`account ${a.account}`);
    if (a.stopped) {
      lines.push(`  STOPPED by SMSC error ${a.stopped.errorCode} since ${a.stopped.since}${a.stopped.until ? ` until ${a.stopped.until}` : ' until its credentials change'}: ${a.stopped.reason}`);
    }
    lines.push(`  history quota: ${a.historyRequestsThisHour} of 30 requests used this hour${a.historyBudgetRefillsAt ? `, next refill ${a.historyBudgetRefillsAt}` : ''}`);
    for (const s of a.streams) {
      const r = s.lastRun;
      lines.push(
        r
          ? `  ${s.stream.padEnd(9)} last run ${r.startedAt} ${r.outcome}${r.deferredUntil ? ` (quota spent; resumes ${r.deferredUntil})` : ''}: +${r.inserted} new, ${r.updated} updated, ${r.rejected} rejected, ${r.requests} requests; ` +
              `last success ${s.lastSuccessAt ?? 'never'}${s.lagSeconds !== null ? ` (${formatAge(s.lagSeconds)} ago)` : ''}`
          : `  ${s.stream.padEnd(9)} never run`,
      );
      if (s.cursor !== null && s.cursor !== undefined) {
        // Where the next run goes on from, compact (the whole of it is in --json).
        const cursor = JSON.stringify(s.cursor);
        lines.push(`    cursor ${cursor.length > 160 ? `${cursor.slice(0, 157)}...` : cursor}`);
      }
      for (const w of s.warnings) lines.push(`    WARNING: ${w}`);
    }
  }
  const problems = report.flatMap((a) => a.problems.map((p) => `${a.account}: ${p}`));
  lines.push(problems.length ? `UNHEALTHY (${problems.length}):` : 'healthy');
  for (const p of problems) lines.push(`  ${p}`);
  return lines.join('\n');
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}
