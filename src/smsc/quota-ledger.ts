// The shared quota ledger (smsc_internal.api_requests). Before each request a process takes the
// login's advisory lock, counts what every process sent in SMSC's windows, and either
// records the request as pending or answers when the next slot opens. It never sleeps
// holding the lock: the caller decides whether to wait or to yield. SMSC counts per login on
// each host, so the ledger counts per quota key (host/login), whatever the account's name.
// Failed logins get the IP blocked (and with it the customer's production sending): until
// a login's current credentials have succeeded once, its requests go one at a time, and the
// whole installation never has more than `maxFailedLogins` failed logins in 30 minutes.
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
  /** balance.php requests per minute. (Default: 10) */
  readonly balancePerMinute: number;
  /**
   * Requests in flight at once for the login across all processes. SMSC refuses 15 under
   * one login, and the customer's own sending shares that login. (Default: 4)
   */
  readonly maxConcurrent: number;
  /**
   * Failed logins (error 2) the whole installation may have in any 30 minutes; SMSC blocks
   * the IP at 5. Counts requests in flight with credentials not yet proven too. (Default: 2)
   */
  readonly maxFailedLogins: number;
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
  balancePerMinute: 10,
  maxConcurrent: 4,
  maxFailedLogins: 2,
  marginMs: 2 * SECOND,
  staleAfterMs: 2 * MINUTE,
  blockCoolOffMs: 35 * MINUTE,
  retentionMs: 7 * 24 * HOUR,
};

/** SMSC blocks an address after 5 failed logins within this window. */
const FAILED_LOGIN_WINDOW_MS = 30 * MINUTE;

export type QuotaRule =
  | 'identical'
  | 'history_hour'
  /** The history requests left this hour are kept for the next runs' new messages. */
  | 'history_reserve'
  | 'stats_minute'
  | 'operator_minute'
  | 'balance_minute'
  | 'concurrency'
  /** Requests with unproven credentials are in flight (this login's, or as many as the failed-login budget allows): the next waits for their answers. */
  | 'login_check'
  /** The installation has had its failed logins for the last 30 minutes. */
  | 'failed_logins'
  /** SMSC answered HTTP 429 with a Retry-After not yet reached. */
  | 'retry_after';

/** Rules that clear by themselves within moments: a caller may wait briefly rather than yield. */
export const TRANSIENT_RULES: ReadonlySet<QuotaRule> = new Set(['concurrency', 'login_check']);

/** Who is asking: the account (for attribution) and what SMSC counts against. */
export interface LedgerAccount {
  readonly name: string;
  readonly login?: string | undefined;
  /** host/login (see credentials.ts quotaKey). */
  readonly quotaKey: string;
  /** HMAC of the credentials (see credentials.ts credentialsMac). */
  readonly credentialsMac: string;
}

export interface ReserveOptions {
  readonly attempt?: number;
  readonly runId?: string | undefined;
  /** get_messages: refuse unless more than this many history requests stay left this hour. (Default: 0) */
  readonly keepHistory?: number;
}

export type Reservation =
  | { readonly ok: true; readonly id: string; readonly unverified: boolean }
  | { readonly ok: false; readonly rule: QuotaRule; readonly retryAt: number };

/** A reserved slot, handed back to finish(). */
export interface Slot {
  readonly id: string;
  readonly unverified: boolean;
  readonly account: LedgerAccount;
}

/** How a request ended, for the ledger. */
export interface RequestOutcome {
  readonly outcome: 'ok' | 'error' | 'failed';
  readonly errorCode?: number | undefined;
  readonly httpStatus?: number | undefined;
  /** HTTP 429: no request of the login before this instant (ms). */
  readonly retryAt?: number | undefined;
}

/** Key space of the ledger's advisory locks (the second key is the quota key's hash). */
const LEDGER_LOCK_SPACE = 0x51c5_0001;
/** Second key of the installation-wide lock taken around the failed-login budget. */
const FAILED_LOGINS_LOCK = 0;
const PRUNE_EVERY_MS = 10 * MINUTE;

/** The ledger's lock could not be had within lock_timeout (PostgreSQL's lock_not_available). */
const LOCK_NOT_AVAILABLE = '55P03';

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
  async reserve(account: LedgerAccount, endpoint: string, fingerprint: string, options: ReserveOptions = {}): Promise<Reservation> {
    const p = this.policy;
    const key = account.quotaKey;
    let result: { stopped?: { code: 2 | 4; until: number | undefined }; reservation?: Reservation };
    try {
      result = await this.#db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, hashtext(${key}))`.execute(trx);
        const now = this.#clock.now();
        const hold = await trx
          .selectFrom('smsc_internal.account_holds')
          .select(['error_code', 'held_until', 'credentials_mac'])
          .where('account', '=', account.name)
          .executeTakeFirst();
        if (hold) {
          const until = hold.held_until ? new Date(hold.held_until).getTime() : undefined;
          const stillHeld = hold.error_code === 2 ? hold.credentials_mac === account.credentialsMac : until !== undefined && until > now;
          if (stillHeld) return { stopped: { code: hold.error_code as 2 | 4, until } };
          await trx.deleteFrom('smsc_internal.account_holds').where('account', '=', account.name).execute();
        }

        const since = (span: number) => new Date(now - span - p.marginMs);
        const alive = new Date(now - p.staleAfterMs);
        const w = (
          await sql<{ identical: string[]; endpoint_times: string[]; in_flight: number; unverified_in_flight: number; retry_at: string | null; verified: boolean }>`
            SELECT
              array(SELECT (extract(epoch FROM sent_at) * 1000)::bigint::text FROM smsc_internal.api_requests
                    WHERE quota_key = ${key} AND fingerprint = ${fingerprint} AND sent_at > ${since(MINUTE)}
                    ORDER BY sent_at) AS identical,
              array(SELECT (extract(epoch FROM sent_at) * 1000)::bigint::text FROM smsc_internal.api_requests
                    WHERE quota_key = ${key} AND endpoint = ${endpoint} AND sent_at > ${since(endpoint === 'get_messages' ? HOUR : MINUTE)}
                    ORDER BY sent_at) AS endpoint_times,
              (SELECT count(*)::int FROM smsc_internal.api_requests
                    WHERE quota_key = ${key} AND outcome = 'pending' AND sent_at > ${alive}) AS in_flight,
              (SELECT count(*)::int FROM smsc_internal.api_requests
                    WHERE quota_key = ${key} AND outcome = 'pending' AND unverified AND sent_at > ${alive}) AS unverified_in_flight,
              (SELECT (extract(epoch FROM max(retry_at)) * 1000)::bigint::text FROM smsc_internal.api_requests
                    WHERE quota_key = ${key} AND retry_at > ${new Date(now)}) AS retry_at,
              EXISTS (SELECT 1 FROM smsc_internal.login_checks WHERE quota_key = ${key} AND credentials_mac = ${account.credentialsMac}) AS verified
          `.execute(trx)
        ).rows[0]!;
        const limited = (times: readonly string[], limit: number, span: number): number | undefined =>
          times.length >= Math.max(1, limit) ? Number(times[times.length - Math.max(1, limit)]) + span + p.marginMs : undefined;

        const checks: [QuotaRule, number | undefined][] = [
          ['retry_after', w.retry_at === null ? undefined : Number(w.retry_at)],
          ['identical', limited(w.identical, p.identicalPerMinute, MINUTE)],
          ['history_hour', endpoint === 'get_messages' ? limited(w.endpoint_times, p.historyPerHour, HOUR) : undefined],
          ['stats_minute', endpoint === 'get_stat' ? limited(w.endpoint_times, p.statsPerMinute, MINUTE) : undefined],
          ['operator_minute', endpoint === 'get_operator' ? limited(w.endpoint_times, p.operatorPerMinute, MINUTE) : undefined],
          ['balance_minute', endpoint === 'balance' ? limited(w.endpoint_times, p.balancePerMinute, MINUTE) : undefined],
          // Nobody knows when a request in flight ends: look again shortly.
          ['concurrency', w.in_flight >= p.maxConcurrent ? now + 200 : undefined],
          ['login_check', !w.verified && w.unverified_in_flight > 0 ? now + 200 : undefined],
        ];
        const keep = options.keepHistory ?? 0;
        if (endpoint === 'get_messages' && keep > 0 && checks[2]![1] === undefined) {
          checks.push(['history_reserve', limited(w.endpoint_times, p.historyPerHour - keep, HOUR)]);
        }
        if (!w.verified && !checks.some((c) => c[1] !== undefined)) checks.push(...(await this.#failedLoginsFull(trx, now)));
        const spent = checks.filter((c): c is [QuotaRule, number] => c[1] !== undefined);
        if (spent.length > 0) {
          const [rule, retryAt] = spent.reduce((a, b) => (b[1] > a[1] ? b : a));
          return { reservation: { ok: false, rule, retryAt } };
        }
        const row = await trx
          .insertInto('smsc_internal.api_requests')
          .values({
            account: account.name,
            quota_key: key,
            endpoint,
            fingerprint,
            sent_at: new Date(now),
            attempt: options.attempt ?? 1,
            process: this.#process,
            unverified: !w.verified,
            ...(options.runId ? { run_id: options.runId } : {}),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        return { reservation: { ok: true, id: String(row.id), unverified: !w.verified } };
      });
    } catch (error) {
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) {
        throw new Error(
          `the quota ledger's lock for ${key} was not free within lock_timeout (SMSC_DB_TIMEOUT_SECONDS): ` +
            'another session holds it (look for advisory locks in pg_locks); no request was sent',
          { cause: error },
        );
      }
      throw error;
    }
    if (result.stopped) {
      const { code, until } = result.stopped;
      throw new AccountStoppedError(account.name, code, until === undefined ? undefined : new Date(until), account.login);
    }
    await this.#maybePrune();
    return result.reservation!;
  }

  /**
   * Nothing when one more request with unproven credentials fits the installation's
   * failed-login budget; else the rule in the way and when to look again: `login_check`
   * while other unproven requests are in flight (they decide within moments), or
   * `failed_logins` until the oldest failure leaves SMSC's 30-minute window. Decided under
   * an installation-wide lock, so two logins cannot both take the last place.
   */
  async #failedLoginsFull(trx: Kysely<any>, now: number): Promise<[QuotaRule, number][]> {
    const p = this.policy;
    await sql`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, ${FAILED_LOGINS_LOCK})`.execute(trx);
    const r = (
      await sql<{ failed: string[]; unproven: number }>`
        SELECT
          array(SELECT (extract(epoch FROM sent_at) * 1000)::bigint::text FROM smsc_internal.api_requests
                WHERE error_code = 2 AND sent_at > ${new Date(now - FAILED_LOGIN_WINDOW_MS - p.marginMs)} ORDER BY sent_at) AS failed,
          (SELECT count(*)::int FROM smsc_internal.api_requests
                WHERE outcome = 'pending' AND unverified AND sent_at > ${new Date(now - p.staleAfterMs)}) AS unproven
      `.execute(trx)
    ).rows[0]!;
    if (r.failed.length + r.unproven < p.maxFailedLogins) return [];
    // A failed login ages out of SMSC's window; a request in flight decides soon.
    if (r.failed.length >= p.maxFailedLogins) return [['failed_logins', Number(r.failed[r.failed.length - p.maxFailedLogins]) + FAILED_LOGIN_WINDOW_MS + p.marginMs]];
    return [['login_check', now + 200]];
  }

  /**
   * Records how a reserved request ended; an answer proves unproven credentials. Error 2 or 4
   * holds the account in the same transaction, under the login's ledger lock: no other run
   * of the login can reserve between the refusal and the hold (and send the wrong password
   * again, towards SMSC's IP block).
   */
  async finish(slot: Slot, outcome: RequestOutcome): Promise<void> {
    const now = this.#clock.now();
    const refused = outcome.outcome === 'error' && (outcome.errorCode === 2 || outcome.errorCode === 4) ? (outcome.errorCode as 2 | 4) : undefined;
    const record = async (db: Kysely<any>) =>
      db
        .updateTable('smsc_internal.api_requests')
        .set({
          outcome: outcome.outcome,
          error_code: outcome.errorCode ?? null,
          http_status: outcome.httpStatus ?? null,
          finished_at: new Date(now),
          retry_at: outcome.retryAt === undefined ? null : new Date(outcome.retryAt),
        })
        .where('id', '=', slot.id)
        .execute();
    if (refused !== undefined) {
      await this.#db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${LEDGER_LOCK_SPACE}, hashtext(${slot.account.quotaKey}))`.execute(trx);
        await record(trx);
        await this.#hold(trx, slot.account, refused, `SMSC error ${refused}`, now);
      });
      return;
    }
    await record(this.#db);
    // Any answer but error 2 (refused) or 4 (blocked before the login was looked at) shows
    // that SMSC accepted the credentials.
    const proven = outcome.outcome === 'ok' || outcome.outcome === 'error';
    if (proven && slot.unverified) {
      const row = { quota_key: slot.account.quotaKey, credentials_mac: slot.account.credentialsMac, verified_at: new Date(now) };
      await this.#db
        .insertInto('smsc_internal.login_checks')
        .values(row)
        .onConflict((oc) => oc.column('quota_key').doUpdateSet({ credentials_mac: row.credentials_mac, verified_at: row.verified_at }))
        .execute();
    }
  }

  /** Stops the account: after error 2 until its credentials change, after error 4 for the cool-off. */
  async hold(account: LedgerAccount, code: 2 | 4, reason: string): Promise<Date | undefined> {
    return this.#hold(this.#db, account, code, reason, this.#clock.now());
  }

  async #hold(db: Kysely<any>, account: LedgerAccount, code: 2 | 4, reason: string, now: number): Promise<Date | undefined> {
    const until = code === 4 ? new Date(now + this.policy.blockCoolOffMs) : undefined;
    await db
      .insertInto('smsc_internal.account_holds')
      .values({ account: account.name, error_code: code, reason, held_at: new Date(now), held_until: until ?? null, credentials_mac: account.credentialsMac })
      .onConflict((oc) =>
        oc.column('account').doUpdateSet((eb) => ({
          error_code: eb.ref('excluded.error_code'),
          reason: eb.ref('excluded.reason'),
          held_at: eb.ref('excluded.held_at'),
          held_until: eb.ref('excluded.held_until'),
          credentials_mac: eb.ref('excluded.credentials_mac'),
        })),
      )
      .execute();
    if (code === 2) await db.deleteFrom('smsc_internal.login_checks').where('quota_key', '=', account.quotaKey).execute();
    return until;
  }

  /** Requests the login may still send this rolling hour to get_messages, and when the oldest ages out. */
  async historyBudget(quotaKey: string): Promise<{ remaining: number; refillsAt: Date | undefined }> {
    const now = this.#clock.now();
    const rows = await this.#db
      .selectFrom('smsc_internal.api_requests')
      .select('sent_at')
      .where('quota_key', '=', quotaKey)
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
    await this.#db.deleteFrom('smsc_internal.api_requests').where('sent_at', '<', new Date(now - this.policy.retentionMs)).execute();
  }
}
