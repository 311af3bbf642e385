// Counting what an upsert did: PostgreSQL's xmax is 0 on a freshly inserted row version.
import { sql } from 'kysely';
import type { UpsertCounts } from './store.ts';

/** Add `.returning(insertedFlag)` to an upsert, then `countUpserts` its rows. */
export const insertedFlag = sql<boolean>`(xmax = 0)`.as('inserted');

export function countUpserts(rows: readonly { inserted: boolean }[]): UpsertCounts {
  const inserted = rows.filter((r) => r.inserted).length;
  return { inserted, updated: rows.length - inserted };
}
