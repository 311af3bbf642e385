// `sync`: one pass of the chosen streams for every configured account. Accounts run side by
// side, as many runs at once as the process's run slots allow (SMSC_MAX_CONCURRENT_RUNS), and
// never stop each other (a bad password stops its own account only); the streams of one
// account run one after another on one client and one quota budget.
import type { Kysely } from 'kysely';
import type { AccountConfig, Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { type Clock, systemClock } from '../sandbox/clock.ts';
import { SmscClient, type SmscClientOptions } from '../smsc/client.ts';
import { secretKey } from '../smsc/credentials.ts';
import { QuotaLedger, type QuotaPolicy } from '../smsc/quota-ledger.ts';
import { streamByName } from '../streams/index.ts';
import type { StreamOptions } from '../streams/stream.ts';
import type { Since } from '../time/calendar.ts';
import type { Warehouse as Db } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import { type RunSummary, runStream } from './run-stream.ts';

export interface SyncOptions {
  readonly config: Config;
  readonly warehouse: Db<Warehouse>;
  readonly logger: Logger;
  /** Stream names. */
  readonly streams: readonly string[];
  /** First run: history from this day on; a calendar day starts at each account's own midnight. */
  readonly since?: Since | undefined;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
  /** Overrides for tests (timeouts, back-off). */
  readonly client?: Partial<Omit<SmscClientOptions, 'account' | 'ledger' | 'logger' | 'clock'>>;
  readonly quota?: Partial<QuotaPolicy>;
  /** Stream options beyond the configuration (tests). */
  readonly streamOptions?: Partial<StreamOptions>;
  readonly metrics?: Metrics;
}

/**
 * The SMSC client of one account, with the configuration's deadline and answer cap, through the
 * shared ledger; `overrides` (retries, back-off, tests' timeouts, a metrics hook) win.
 */
export function accountClient(
  base: { config: Config; logger: Logger; clock: Clock; ledger: QuotaLedger; credentialsKey: Buffer; account: AccountConfig },
  overrides: Partial<Omit<SmscClientOptions, 'account' | 'ledger' | 'logger' | 'clock'>> = {},
): SmscClient {
  return new SmscClient({
    timeoutMs: base.config.requestTimeoutMs,
    maxAnswerBytes: base.config.maxAnswerBytes,
    credentialsKey: base.credentialsKey,
    ...overrides,
    account: base.account,
    ledger: base.ledger,
    logger: base.logger,
    clock: base.clock,
  });
}

/** Runs the streams for every account; one summary per (account, stream). */
export async function runSync(options: SyncOptions): Promise<RunSummary[]> {
  const clock = options.clock ?? systemClock;
  const streams = options.streams.map((name) => {
    const stream = streamByName(name);
    if (!stream) throw new Error(`unknown stream '${name}'`);
    return stream;
  });
  const ledger = new QuotaLedger(options.warehouse.db, clock, options.quota);
  const credentialsKey = secretKey(options.config, (message) => options.logger.warn(message));
  const refused = await recordAccounts(options.warehouse.db, options.config.accounts, clock);
  const perAccount = await Promise.all(
    options.config.accounts.map(async (account) => {
      const conflict = refused.get(account.name);
      if (conflict) {
        options.logger.error({ account: account.name }, conflict);
        return streams.map((s): RunSummary => ({ runId: '', account: account.name, stream: s.name, outcome: 'failed', inserted: 0, updated: 0, rejected: 0, pages: 0, requests: 0, ms: 0, error: conflict, warnings: [] }));
      }
      const metrics = options.metrics;
      const api = accountClient({ config: options.config, logger: options.logger, clock, ledger, credentialsKey, account }, {
        ...options.client,
        ...(metrics ? { onRequest: (endpoint: string, outcome: string) => metrics.recordRequest(account.name, endpoint, outcome) } : {}),
      });
      const summaries: RunSummary[] = [];
      try {
        for (const stream of streams) {
          if (options.signal?.aborted) break;
          const summary = await runStream({ warehouse: options.warehouse, api, account, clock, logger: options.logger, metrics }, stream, {
              since: options.since,
              statusWindowHours: options.config.statusWindowHours,
              statsElectronic: options.config.statsElectronic,
              operatorTtlDays: options.config.operatorTtlDays,
              ...options.streamOptions,
            }, options.signal);
          options.metrics?.recordRun(summary);
          summaries.push(summary);
        }
      } finally {
        await api.close();
      }
      return summaries;
    }),
  );
  return perAccount.flat();
}

/**
 * Records each account's host, login and zone (the views count days in the account's zone
 * and reconcile its own login). An account name the warehouse already holds for another
 * login is refused: its rows would be merged with a different account's.
 */
async function recordAccounts(db: Kysely<Warehouse>, accounts: readonly AccountConfig[], clock: Clock): Promise<Map<string, string>> {
  const refused = new Map<string, string>();
  for (const account of accounts) {
    const host = new URL(account.baseUrl).host;
    const held = await db.selectFrom('smsc.accounts').select(['login', 'host']).where('account', '=', account.name).executeTakeFirst();
    // (A changed host alone is allowed: www.smsc.ru and smsc.ru are one service.)
    if (held?.login != null && account.login !== undefined && held.login !== account.login) {
      refused.set(
        account.name,
        `account name '${account.name}' already holds the data of login '${held.login}' in this warehouse; ` +
          `this configuration gives it login '${account.login}': give that one a name of its own (SMSC_ACCOUNT_NAME or "name" in SMSC_ACCOUNTS) so that the two are not merged`,
      );
      continue;
    }
    const row = { account: account.name, login: account.login ?? held?.login ?? null, host, timezone: account.timezone, updated_at: new Date(clock.now()) };
    await db
      .insertInto('smsc.accounts')
      .values(row)
      .onConflict((oc) => oc.column('account').doUpdateSet({ login: row.login, host: row.host, timezone: row.timezone, updated_at: row.updated_at }))
      .execute();
  }
  return refused;
}

/** A pass succeeded when no run failed (a run the quota deferred resumes next time). */
export function syncSucceeded(summaries: readonly RunSummary[]): boolean {
  return summaries.every((s) => s.outcome !== 'failed');
}
