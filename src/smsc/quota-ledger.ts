// The shared quota ledger (smsc.api_requests). Before each request a process takes the
// account's advisory lock, counts what every process sent in SMSC's windows, and either
// records the request as pending or answers when the next slot opens. It never sleeps
// holding the lock: the caller decides whether to wait or to yield.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../sandbox/clock.ts';
import { AccountStoppedError } from './errors.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** SMSC's limits (smsc-api.md) and the client's own caution. */
export interface QuotaPolicy {
  /** Identical requests per 60 s. (Default: 3) */
  readonly identicalPerMinute: number;
  /** get_messages requests per rolling hour. (Default: 30) */
  readonly historyPerHour: number;
  /** get_stat requests per minute. (Default: 3) */
  readonly statsPerMinute: number;
  /** get_operator requests per minute. (Default: 100) */
  readonly operatorPerMinute: number;
  /**
   * Requests in flight at once for the account across all processes. SMSC refuses 15 under
   * one login, and the customer's own sending shares that login. (Default: 4)
   */
  readonly maxConcurrent: number;
  /**
   * Added to every window: SMSC counts when a request arrives, the ledger when it leaves,
   * and the two differ by network delay and clock skew. (Default: 2000 ms)
   */
  readonly marginMs: number;
  /** A pending request older than this is taken as dead (its process crashed). (Default: 120 s) */
  readonly staleAfterMs: number;
  /** Cool-off after error 4. SMSC's IP block lasts 30 minutes. (Default: 35 min) */
  readonly blockCoolOffMs: number;
  /** Ledger rows older than this are pruned. (Default: 7 days) */
  readonly retentionMs: number;
}

export const DEFAULT_QUOTA_POLICY: QuotaPolicy = {
  identicalPerMinute: 3,
  historyPerHour: 30,
  statsPerMinute: 3,
  operatorPerMinute: 100,
  maxConcurrent: 4,
  marginMs: 2 * SECOND,
  staleAfterMs: 2 * MINUTE,
  blockCoolOffMs: 35 * MINUTE,
  retentionMs: 7 * 24 * HOUR,
};

export type QuotaRule = 'identical' | 'history_hour' | 'stats_minute' | 'operator_minute' | 'concurrency';

export type Reservation = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly rule: QuotaRule; readonly retryAt: number };

/** How a request ended, for the ledger. */
export interface RequestOutcome {
  readonly outcome: 'ok' | 'error' | 'failed';
  readonly errorCode?: number | undefined;
  readonly httpStatus?: number | undefined;
}

/** The identity of an account's credentials, so a hold after error 2 lifts when they change. */
export function credentialsHash(parts: { login?: string | undefined; password?: string | undefined; apikey?: string | undefined }): string {
  return createHash('sha256')
    .update(`smsc-sync:${parts.login ?? ''}\n${parts.password ?? ''}\n${parts.apikey ?? ''}`)
    .digest('hex')
    .slice(0, 24);
}

/** Key space of the ledger's advisory locks (the second key is the account's hash). */
const LEDGER_LOCK_SPACE = 0x51c5_0001;
const PRUNE_EVERY_MS = 10 * MINUTE;

export class QuotaLedger {
  readonly policy: QuotaPolicy;
  readonly #db: Kysely<any>;
  readonly #clock: Clock;
  readonly #process = `${hostname()}:${process.pid}`;
  #lastPrune = -Infinity;

  constructor(db: Kysely<any>, clock: Clock, policy: Partial<QuotaPolicy> = {}) {
    this.#db = db;
    this.#clock = clock;
    this.policy = { ...DEFAULT_QUOTA_POLICY, ...policy };
  }

  /**
   * Reserves a slot for one request, or says which rule is spent and when it refills.
   * @throws AccountStoppedError when the account is held after error 2 or 4.
   */
  async reserve(
    account: { name: string; login?: string | undefined; credentials: string },
    endpoint: string,
    fingerprint: string,
    attempt = 1,
    runId?: string,
  ): Promise<Reservation> {
    const p = this.policy;
    const result = await this.#db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, hashtext(${account.name}))`.execute(trx);
      const now = this.#clock.now();
      const hold = await trx
        .selectFrom('smsc.account_holds')
        .select(['error_code', 'held_until', 'credentials_hash'])
        .where('account', '=', account.name)
        .executeTakeFirst();
      if (hold) {
        const until = hold.held_until ? new Date(hold.held_until).getTime() : undefined;
        const stillHeld = hold.error_code === 2 ? hold.credentials_hash === account.credentials : until !== undefined && until > now;
        if (stillHeld) return { stopped: { code: hold.error_code as 2 | 4, until }, reservation: undefined };
        await trx.deleteFrom('smsc.account_holds').where('account', '=', account.name).execute();
      }

      const since = (span: number) => new Date(now - span - p.marginMs);
      const windows = await sql<{ identical: string[]; endpoint_times: string[]; in_flight: number }>`
        SELECT
          array(SELECT (extract(epoch FROM sent_at) * 1000)::bigint::text FROM smsc.api_requests
                WHERE account = ${account.name} AND fingerprint = ${fingerprint} AND sent_at > ${since(MINUTE)}
                ORDER BY sent_at) AS identical,
          array(SELECT (extract(epoch FROM sent_at) * 1000)::bigint::text FROM smsc.api_requests
                WHERE account = ${account.name} AND endpoint = ${endpoint} AND sent_at > ${since(endpoint === 'get_messages' ? HOUR : MINUTE)}
                ORDER BY sent_at) AS endpoint_times,
          (SELECT count(*)::int FROM smsc.api_requests
                WHERE account = ${account.name} AND outcome = 'pending' AND sent_at > ${new Date(now - p.staleAfterMs)}) AS in_flight
      `.execute(trx);
      const w = windows.rows[0]!;
      const limited = (times: readonly string[], limit: number, span: number): number | undefined =>
        times.length >= limit ? Number(times[times.length - limit]) + span + p.marginMs : undefined;

      const checks: [QuotaRule, number | undefined][] = [
        ['identical', limited(w.identical, p.identicalPerMinute, MINUTE)],
        ['history_hour', endpoint === 'get_messages' ? limited(w.endpoint_times, p.historyPerHour, HOUR) : undefined],
        ['stats_minute', endpoint === 'get_stat' ? limited(w.endpoint_times, p.statsPerMinute, MINUTE) : undefined],
        ['operator_minute', endpoint === 'get_operator' ? limited(w.endpoint_times, p.operatorPerMinute, MINUTE) : undefined],
        // Nobody knows when a request in flight ends: look again shortly.
        ['concurrency', w.in_flight >= p.maxConcurrent ? now + 200 : undefined],
      ];
      const spent = checks.filter((c): c is [QuotaRule, number] => c[1] !== undefined);
      if (spent.length > 0) {
        const [rule, retryAt] = spent.reduce((a, b) => (b[1] > a[1] ? b : a));
        return { stopped: undefined, reservation: { ok: false, rule, retryAt } as Reservation };
      }
      const row = await trx
        .insertInto('smsc.api_requests')
        .values({ account: account.name, endpoint, fingerprint, sent_at: new Date(now), attempt, process: this.#process, ...(runId ? { run_id: runId } : {}) })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { stopped: undefined, reservation: { ok: true, id: String(row.id) } as Reservation };
    });
    if (result.stopped) {
      const { code, until } = result.stopped;
      throw new AccountStoppedError(account.name, code, until === undefined ? undefined : new Date(until), account.login);
    }
    await this.#maybePrune();
    return result.reservation!;
  }

  /** Records how a reserved request ended. */
  async finish(id: string, outcome: RequestOutcome): Promise<void> {
    await this.#db
      .updateTable('smsc.api_requests')
      .set({
        outcome: outcome.outcome,
        error_code: outcome.errorCode ?? null,
        http_status: outcome.httpStatus ?? null,
        finished_at: new Date(this.#clock.now()),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Stops the account: after error 2 until its credentials change, after error 4 for the cool-off. */
  async hold(account: { name: string; credentials: string }, code: 2 | 4, reason: string): Promise<Date | undefined> {
    const now = this.#clock.now();
    const until = code === 4 ? new Date(now + this.policy.blockCoolOffMs) : undefined;
    await this.#db
      .insertInto('smsc.account_holds')
      .values({ account: account.name, error_code: code, reason, held_at: new Date(now), held_until: until ?? null, credentials_hash: account.credentials })
      .onConflict((oc) =>
        oc.column('account').doUpdateSet((eb) => ({
          error_code: eb.ref('excluded.error_code'),
          reason: eb.ref('excluded.reason'),
          held_at: eb.ref('excluded.held_at'),
          held_until: eb.ref('excluded.held_until'),
          credentials_hash: eb.ref('excluded.credentials_hash'),
        })),
      )
      .execute();
    return until;
  }

  /** Requests the account may still send this rolling hour to get_messages, and when the oldest ages out. */
  async historyBudget(account: string): Promise<{ remaining: number; refillsAt: Date | undefined }> {
    const now = this.#clock.now();
    const rows = await this.#db
      .selectFrom('smsc.api_requests')
      .select('sent_at')
      .where('account', '=', account)
      .where('endpoint', '=', 'get_messages')
      .where('sent_at', '>', new Date(now - HOUR - this.policy.marginMs))
      .orderBy('sent_at')
      .execute();
    const oldest = rows[0] ? new Date(new Date(rows[0].sent_at).getTime() + HOUR + this.policy.marginMs) : undefined;
    return { remaining: Math.max(0, this.policy.historyPerHour - rows.length), refillsAt: oldest };
  }

  async #maybePrune(): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    await this.#db.deleteFrom('smsc.api_requests').where('sent_at', '<', new Date(now - this.policy.retentionMs)).execute();
  }
}
