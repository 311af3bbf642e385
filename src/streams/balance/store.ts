// Writing balance_history: one row per sample (account, sampled_at); the account's currency
// is recorded in smsc.accounts, where the views that have no currency of their own take it.
import { type Kysely, sql } from 'kysely';
import type { Warehouse } from '../../warehouse/schema.ts';
import type { UpsertCounts } from '../store.ts';
import { countUpserts, insertedFlag } from '../upsert-counts.ts';
import type { BalanceRow } from './normalize.ts';

export async function upsertBalance(db: Kysely<Warehouse>, account: string, rows: readonly BalanceRow[]): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const result = await db
    .insertInto('smsc.balance_history')
    .values(rows.map((r) => ({ account, ...r })))
    .onConflict((oc) =>
      oc
        .columns(['account', 'sampled_at'])
        .doUpdateSet((eb) => ({ balance: eb.ref('excluded.balance'), currency: eb.ref('excluded.currency'), raw: eb.ref('excluded.raw') }))
        .where((eb) =>
          eb.or([
            eb('smsc.balance_history.balance', 'is distinct from', eb.ref('excluded.balance')),
            eb('smsc.balance_history.currency', 'is distinct from', eb.ref('excluded.currency')),
          ]),
        ),
    )
    .returning(insertedFlag)
    .execute();
  const currency = rows.findLast((r) => r.currency !== null)?.currency;
  if (currency) await sql`UPDATE smsc.accounts SET currency = ${currency} WHERE account = ${account} AND currency IS DISTINCT FROM ${currency}`.execute(db);
  return countUpserts(result);
}
