// Writing phone_operators: one row per number, replaced by each lookup (looked_up_at moves).
import { type Kysely, sql } from 'kysely';
import type { Warehouse } from '../../warehouse/schema.ts';
import type { UpsertCounts } from '../store.ts';
import { countUpserts, insertedFlag } from '../upsert-counts.ts';
import type { PhoneOperatorRow } from './normalize.ts';

export async function upsertOperators(db: Kysely<Warehouse>, _account: string, rows: readonly PhoneOperatorRow[], seenAt: Date): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  // One statement cannot update a row twice: a number answered twice keeps its last entry.
  const batch = [...new Map(rows.map((r) => [r.phone, r])).values()];
  const result = await db
    .insertInto('smsc.phone_operators')
    .values(batch.map((r) => ({ ...r, looked_up_at: seenAt })))
    .onConflict((oc) =>
      oc.column('phone').doUpdateSet((eb) => ({
        found: eb.ref('excluded.found'),
        country: eb.ref('excluded.country'),
        operator: eb.ref('excluded.operator'),
        region: eb.ref('excluded.region'),
        mcc: eb.ref('excluded.mcc'),
        mnc: eb.ref('excluded.mnc'),
        tz: eb.ref('excluded.tz'),
        raw: eb.ref('excluded.raw'),
        looked_up_at: eb.ref('excluded.looked_up_at'),
      })),
    )
    .returning(insertedFlag)
    .execute();
  return countUpserts(result);
}

/**
 * Numbers of the account without a lookup younger than the TTL: senders of replies, and
 * recipients of SMS whose history row came without an operator. Keyset-paged by phone.
 */
export async function phonesToLookUp(db: Kysely<Warehouse>, account: string, staleBefore: Date, after: string, limit: number): Promise<string[]> {
  const rows = await sql<{ phone: string }>`
    SELECT phone FROM (
      SELECT phone FROM smsc.inbound_messages WHERE account = ${account}
      UNION
      SELECT phone FROM smsc.outbound_messages WHERE account = ${account} AND channel = 'sms' AND operator IS NULL
    ) p
    WHERE phone ~ '^[0-9]{7,15}$' AND phone > ${after}
      AND NOT EXISTS (SELECT 1 FROM smsc.phone_operators o WHERE o.phone = p.phone AND o.looked_up_at > ${staleBefore})
    ORDER BY phone
    LIMIT ${limit}`.execute(db);
  return rows.rows.map((r) => r.phone);
}
