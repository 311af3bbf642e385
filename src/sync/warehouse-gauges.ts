// What /metrics reports from the warehouse rather than from the process's own memory: every
// replica's successes, the shared quota ledger, the holds SMSC put on accounts, and how new
// the newest data of each stream is. Read in one short read-only transaction
// with its own statement and lock timeouts, in the background (Metrics.refresh), never while
// a scrape waits.
import { type Kysely, sql } from 'kysely';
import type { AccountConfig } from '../config.ts';
import type { Clock } from '../sandbox/clock.ts';
import { quotaKey } from '../smsc/credentials.ts';
import { QuotaLedger } from '../smsc/quota-ledger.ts';
import { STREAM_NAMES } from '../streams/names.ts';
import { dayStart } from '../time/calendar.ts';
import type { Warehouse } from '../warehouse/schema.ts';

/** What the gauges need of a configured account. */
export type GaugeAccount = Pick<AccountConfig, 'name' | 'baseUrl' | 'login' | 'apikey' | 'timezone'>;

export interface WarehouseGauges {
  /** When each (account, stream) last finished a run successfully (ms); absent: never. */
  readonly lastSuccess: readonly { readonly account: string; readonly stream: string; readonly at: number }[];
  /** History (get_messages) requests left in the rolling hour, by account. */
  readonly historyRemaining: readonly { readonly account: string; readonly remaining: number }[];
  /**
   * Accounts SMSC stopped, as `status` counts them: error 2 (held until a request with changed
   * credentials lifts it) or error 4 before its `held_until`.
   */
  readonly holds: readonly { readonly account: string; readonly errorCode: number }[];
  /**
   * The instant of each stream's newest data, by account (absent: no rows): outbound, the
   * newest message's send time; inbound, the newest reply's receipt; stats, the start
   * (midnight in the account's zone) of the newest day; short_links, the newest snapshot.
   * Tariffs and operators have none: a tariff row is written only when a price changes (its
   * valid_from says nothing of how recently prices were read), and phone_operators is shared
   * by every account.
   */
  readonly newestRows: readonly { readonly account: string; readonly stream: string; readonly at: number }[];
}

/**
 * Reads the gauges of `accounts`; each statement, and each lock wait, gives up after
 * `timeoutMs` (the transaction then fails and the caller keeps what it had).
 */
export async function readWarehouseGauges(db: Kysely<Warehouse>, accounts: readonly GaugeAccount[], clock: Clock, timeoutMs: number): Promise<WarehouseGauges> {
  const names = accounts.map((a) => a.name);
  return db.transaction().execute(async (trx) => {
    await sql`SET TRANSACTION READ ONLY`.execute(trx);
    const ms = String(Math.max(1, Math.round(timeoutMs)));
    await sql`SELECT set_config('statement_timeout', ${ms}, true), set_config('lock_timeout', ${ms}, true)`.execute(trx);
    // max(finished_at) of the succeeded runs, read from the runs started within a day of the
    // newest succeeded one (two short index scans instead of every run ever recorded): a run's
    // finished_at is written just after it lets go of its lock, so an older run may finish a
    // moment after a newer one started, but not a day after.
    const success = await sql<{ account: string; stream: string; at: Date }>`
      SELECT a.account, s.stream, r.at
      FROM unnest(${names}::text[]) AS a(account)
      CROSS JOIN unnest(${STREAM_NAMES}::text[]) AS s(stream)
      CROSS JOIN LATERAL (
        SELECT max(r.finished_at) AS at FROM smsc.sync_runs r
        WHERE r.account = a.account AND r.stream = s.stream AND r.outcome = 'succeeded'
          AND r.started_at >= (
            SELECT n.started_at - interval '1 day' FROM smsc.sync_runs n
            WHERE n.account = a.account AND n.stream = s.stream AND n.outcome = 'succeeded'
            ORDER BY n.started_at DESC LIMIT 1)
      ) r
      WHERE r.at IS NOT NULL`.execute(trx);
    const ledger = new QuotaLedger(trx, clock);
    const historyRemaining: { account: string; remaining: number }[] = [];
    for (const account of accounts) historyRemaining.push({ account: account.name, remaining: (await ledger.historyBudget(quotaKey(account))).remaining });
    const holds = await sql<{ account: string; error_code: number }>`
      SELECT account, error_code FROM smsc_internal.account_holds
      WHERE account = ANY(${names}::text[]) AND (error_code = 2 OR held_until > ${new Date(clock.now())})`.execute(trx);
    // Outbound and inbound: one step of their (account, time) index; stats and short links: the
    // account's range of the primary key, a row per login (or link) and day, a few thousand.
    const newest = await sql<{ account: string; outbound: Date | null; inbound: Date | null; stats: string | null; short_links: Date | null }>`
      SELECT a.account,
        (SELECT max(o.sent_at) FROM smsc.outbound_messages o WHERE o.account = a.account) AS outbound,
        (SELECT max(i.received_at) FROM smsc.inbound_messages i WHERE i.account = a.account) AS inbound,
        (SELECT max(d.day) FROM smsc.daily_stats d WHERE d.account = a.account) AS stats,
        (SELECT max(c.snapshot_at) FROM smsc.short_link_clicks c WHERE c.account = a.account) AS short_links
      FROM unnest(${names}::text[]) AS a(account)`.execute(trx);
    const newestRows: { account: string; stream: string; at: number }[] = [];
    for (const row of newest.rows) {
      const timezone = accounts.find((a) => a.name === row.account)!.timezone;
      const at = { outbound: row.outbound, inbound: row.inbound, stats: row.stats === null ? null : dayStart(row.stats, timezone), short_links: row.short_links };
      for (const [stream, value] of Object.entries(at)) if (value !== null) newestRows.push({ account: row.account, stream, at: new Date(value).getTime() });
    }
    return {
      lastSuccess: success.rows.map((r) => ({ account: r.account, stream: r.stream, at: new Date(r.at).getTime() })),
      historyRemaining,
      holds: holds.rows.map((h) => ({ account: h.account, errorCode: h.error_code })),
      newestRows,
    };
  });
}
