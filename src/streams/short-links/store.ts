// Writing short_link_clicks: one row per link and day; a re-read the same day updates it.
import type { Kysely } from 'kysely';
import type { Warehouse } from '../../warehouse/schema.ts';
import type { UpsertCounts } from '../store.ts';
import { countUpserts, insertedFlag } from '../upsert-counts.ts';
import type { ShortLinkRow } from './normalize.ts';

export async function upsertShortLinks(db: Kysely<Warehouse>, account: string, rows: readonly ShortLinkRow[], seenAt: Date): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const result = await db
    .insertInto('smsc.short_link_clicks')
    .values(rows.map((r) => ({ account, ...r, snapshot_at: seenAt })))
    .onConflict((oc) =>
      oc
        .columns(['account', 'link_id', 'day'])
        .doUpdateSet((eb) => ({
          link: eb.ref('excluded.link'),
          cnt: eb.ref('excluded.cnt'),
          cnt_day: eb.ref('excluded.cnt_day'),
          cnt_yes: eb.ref('excluded.cnt_yes'),
          cnt_mon: eb.ref('excluded.cnt_mon'),
          cnt_pmon: eb.ref('excluded.cnt_pmon'),
          raw: eb.ref('excluded.raw'),
          snapshot_at: eb.ref('excluded.snapshot_at'),
        }))
        .where((eb) =>
          eb.or(
            (['link', 'cnt', 'cnt_day', 'cnt_yes', 'cnt_mon', 'cnt_pmon'] as const).map((c) =>
              eb(`smsc.short_link_clicks.${c}`, 'is distinct from', eb.ref(`excluded.${c}`)),
            ),
          ),
        ),
    )
    .returning(insertedFlag)
    .execute();
  return countUpserts(result);
}
