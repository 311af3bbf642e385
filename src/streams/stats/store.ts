// Writing daily_stats: idempotent upserts keyed by (account, login, day, balance).
import type { Kysely } from 'kysely';
import type { Warehouse } from '../../warehouse/schema.ts';
import type { UpsertCounts } from '../store.ts';
import { countUpserts, insertedFlag } from '../upsert-counts.ts';
import type { DailyStatsRow } from './normalize.ts';

export async function upsertStats(db: Kysely<Warehouse>, account: string, rows: readonly DailyStatsRow[], seenAt: Date): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const result = await db
    .insertInto('smsc.daily_stats')
    .values(rows.map((r) => ({ account, ...r, first_seen_at: seenAt, updated_at: seenAt })))
    .onConflict((oc) =>
      oc
        .columns(['account', 'login', 'day', 'balance'])
        .doUpdateSet((eb) => ({
          messages: eb.ref('excluded.messages'),
          credit: eb.ref('excluded.credit'),
          debit: eb.ref('excluded.debit'),
          currency: eb.ref('excluded.currency'),
          raw: eb.ref('excluded.raw'),
          updated_at: eb.ref('excluded.updated_at'),
        }))
        .where((eb) =>
          eb.or([
            eb('smsc.daily_stats.messages', 'is distinct from', eb.ref('excluded.messages')),
            eb('smsc.daily_stats.credit', 'is distinct from', eb.ref('excluded.credit')),
            eb('smsc.daily_stats.debit', 'is distinct from', eb.ref('excluded.debit')),
            eb('smsc.daily_stats.currency', 'is distinct from', eb.ref('excluded.currency')),
          ]),
        ),
    )
    .returning(insertedFlag)
    .execute();
  return countUpserts(result);
}
