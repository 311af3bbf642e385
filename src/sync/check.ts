// `check`: proves an installation can work, as Meltano's `config test` and Airbyte's `check`
// do: the configuration is read (bad variables are named before this runs), the warehouse is
// reached and migrated, and each account sends one cheap request (balance.php: no history or
// stats budget spent) through the quota ledger, so a wrong password costs one failed login
// at most and the installation's failed-login budget (2 in 30 minutes, across every account
// and replica) holds. A held account (error 2 with the same credentials, or error 4 still
// cooling off) is reported without sending anything.
import { randomUUID } from 'node:crypto';
import type { AccountConfig, Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { type Clock, systemClock } from '../sandbox/clock.ts';
import type { SmscClient, SmscClientOptions } from '../smsc/client.ts';
import { secretKey } from '../smsc/credentials.ts';
import { AccountStoppedError, QuotaDeferredError, SmscError, TransportError } from '../smsc/errors.ts';
import { QuotaLedger, type QuotaPolicy } from '../smsc/quota-ledger.ts';
import type { Warehouse as Db } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import { accountClient } from './sync.ts';

export interface AccountCheck {
  readonly account: string;
  /** host/login (host/apikey/name for an API key). */
  readonly quotaKey: string;
  readonly ok: boolean;
  /** `ok`, `failed` (the request failed or SMSC refused it) or `not_checked` (nothing was sent). */
  readonly result: 'ok' | 'failed' | 'not_checked';
  readonly balance?: string | undefined;
  readonly currency?: string | undefined;
  /** What went wrong, or what was found, in words. */
  readonly detail: string;
  readonly ms: number;
}

export interface CheckOptions {
  readonly config: Config;
  readonly warehouse: Db<Warehouse>;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Client overrides (tests). */
  readonly client?: Partial<Omit<SmscClientOptions, 'account' | 'ledger' | 'logger' | 'clock'>>;
  readonly quota?: Partial<QuotaPolicy>;
}

/** A quota wait this short is waited out (another check's request in flight); a longer one is reported. */
const MAX_WAIT_MS = 5_000;

/** One balance request per account, side by side; never throws for an account's failure. */
export async function checkAccounts(options: CheckOptions): Promise<AccountCheck[]> {
  const clock = options.clock ?? systemClock;
  const ledger = new QuotaLedger(options.warehouse.db, clock, options.quota);
  const credentialsKey = secretKey(options.config, (message) => options.logger.warn(message));
  return Promise.all(
    options.config.accounts.map(async (account) => {
      // One request, no retry: a check reports what SMSC answered, within seconds, and a
      // retry of SMSC's error 9 would only spend the identical-request budget again.
      const api = accountClient({ config: options.config, logger: options.logger, clock, ledger, credentialsKey, account }, { retries: 0, ...options.client });
      const t0 = performance.now();
      try {
        return { ...(await checkOne(api, account, clock, options.warehouse)), ms: Math.round(performance.now() - t0) };
      } finally {
        await api.close();
      }
    }),
  );
}

async function checkOne(api: SmscClient, account: AccountConfig, clock: Clock, warehouse: Db<Warehouse>): Promise<Omit<AccountCheck, 'ms'>> {
  const base = { account: account.name, quotaKey: api.quotaKey };
  // The ledger records the check's request under this id: whether one was sent is known.
  const runId = randomUUID();
  for (;;) {
    try {
      const answer = (await api.request('balance', { cur: 1 }, runId)) as { balance?: unknown; currency?: unknown } | undefined;
      const balance = typeof answer?.balance === 'string' || typeof answer?.balance === 'number' ? String(answer.balance) : undefined;
      const currency = typeof answer?.currency === 'string' ? answer.currency : undefined;
      if (balance === undefined) return { ...base, ok: false, result: 'failed', detail: `SMSC answered balance.php without a balance: ${JSON.stringify(answer).slice(0, 200)}` };
      return { ...base, ok: true, result: 'ok', balance, currency, detail: `credentials accepted; balance ${balance}${currency ? ` ${currency}` : ''}` };
    } catch (error) {
      if (error instanceof QuotaDeferredError) {
        const wait = error.retryAt.getTime() - clock.now();
        if (error.rule !== 'failed_logins' && wait <= MAX_WAIT_MS) {
          await new Promise((resolve) => setTimeout(resolve, Math.max(50, wait)));
          continue;
        }
        const why =
          error.rule === 'failed_logins'
            ? 'the installation has had its 2 failed logins of the last 30 minutes (SMSC blocks the address at 5): not sent'
            : `SMSC's ${error.rule} quota for this login is spent (requests from this installation in the last minutes): not sent`;
        return { ...base, ok: false, result: 'not_checked', detail: `${why}; try again after ${error.retryAt.toISOString()}` };
      }
      // Refused now, or held from an earlier refusal with the same credentials (nothing sent).
      if (error instanceof AccountStoppedError) {
        const sent = await warehouse.db.selectFrom('smsc_internal.api_requests').select('id').where('run_id', '=', runId).executeTakeFirst();
        return { ...base, ok: false, result: 'failed', detail: sent ? error.message : `not sent: the account is held from an earlier refusal — ${error.message}` };
      }
      // Error 9 is SMSC's quota (this login asked the same within the minute, here or elsewhere):
      // nothing is wrong with the setup.
      if (error instanceof SmscError && error.code === 9) {
        return { ...base, ok: false, result: 'not_checked', detail: `SMSC answered error 9 (too many requests; the same one within the minute, from this or another process): try again in a minute` };
      }
      if (error instanceof SmscError) return { ...base, ok: false, result: 'failed', detail: error.message };
      if (error instanceof TransportError) {
        return { ...base, ok: false, result: 'failed', detail: `could not get an answer from ${account.baseUrl} (SMSC_BASE_URL): ${error.message}` };
      }
      return { ...base, ok: false, result: 'failed', detail: error instanceof Error ? error.message : String(error) };
    }
  }
}

/** One line per account, for a person. */
export function formatChecks(checks: readonly AccountCheck[]): string {
  const width = Math.max(...checks.map((c) => c.account.length), 7);
  return checks
    .map((c) => `${(c.result === 'ok' ? 'ok' : c.result === 'failed' ? 'FAILED' : 'SKIPPED').padEnd(8)}account ${c.account.padEnd(width)}  ${c.quotaKey}: ${c.detail} (${c.ms} ms)`)
    .join('\n');
}
