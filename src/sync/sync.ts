// `sync`: one pass of the chosen streams for every configured account. Accounts run side by
// side and never stop each other (a bad password stops its own account only); the streams
// of one account run one after another on one client and one quota budget.
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { type Clock, systemClock } from '../sandbox/clock.ts';
import { SmscClient, type SmscClientOptions } from '../smsc/client.ts';
import { QuotaLedger, type QuotaPolicy } from '../smsc/quota-ledger.ts';
import { streamByName } from '../streams/index.ts';
import type { StreamOptions } from '../streams/stream.ts';
import type { Warehouse as Db } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import { type RunSummary, runStream } from './run-stream.ts';

export interface SyncOptions {
  readonly config: Config;
  readonly warehouse: Db<Warehouse>;
  readonly logger: Logger;
  /** Stream names. */
  readonly streams: readonly string[];
  /** First run: history from this day on. */
  readonly since?: Date | undefined;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
  /** Overrides for tests (timeouts, back-off). */
  readonly client?: Partial<Omit<SmscClientOptions, 'account' | 'ledger' | 'logger' | 'clock'>>;
  readonly quota?: Partial<QuotaPolicy>;
  /** Stream options beyond the configuration (tests). */
  readonly streamOptions?: Partial<StreamOptions>;
  readonly metrics?: Metrics;
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
  // The views count days in each account's zone and reconcile its own login: record both.
  for (const account of options.config.accounts) {
    const row = { account: account.name, login: account.login ?? null, timezone: account.timezone, updated_at: new Date(clock.now()) };
    await options.warehouse.db
      .insertInto('smsc.accounts')
      .values(row)
      .onConflict((oc) => oc.column('account').doUpdateSet({ login: row.login, timezone: row.timezone, updated_at: row.updated_at }))
      .execute();
  }
  const perAccount = await Promise.all(
    options.config.accounts.map(async (account) => {
      const metrics = options.metrics;
      const api = new SmscClient({
        ...options.client,
        account,
        ledger,
        logger: options.logger,
        clock,
        ...(metrics ? { onRequest: (endpoint: string, outcome: string) => metrics.recordRequest(account.name, endpoint, outcome) } : {}),
      });
      const summaries: RunSummary[] = [];
      try {
        for (const stream of streams) {
          if (options.signal?.aborted) break;
          const summary = await runStream({ warehouse: options.warehouse, api, account, clock, logger: options.logger }, stream, {
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

/** A pass succeeded when no run failed (a run the quota deferred resumes next time). */
export function syncSucceeded(summaries: readonly RunSummary[]): boolean {
  return summaries.every((s) => s.outcome !== 'failed');
}
