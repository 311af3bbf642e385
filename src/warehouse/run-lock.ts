// One process at a time per (account, stream). On PostgreSQL: a session advisory lock held
// on one pooled connection for the run (released by the server if the process dies). The
// embedded PGlite warehouse belongs to one process, so an in-process lock is enough there.
import { sql } from 'kysely';
import type { Warehouse } from './database.ts';

/** Key space of the run locks (the second key is the hash of account + stream). */
const RUN_LOCK_SPACE = 0x51c5_0002;
const heldInProcess = new Set<string>();

export type LockResult<T> = { readonly acquired: true; readonly value: T } | { readonly acquired: false };

/** Runs `fn` holding the lock named `key`, or returns at once when another run holds it. */
export async function withRunLock<T>(warehouse: Warehouse<any>, key: string, fn: () => Promise<T>): Promise<LockResult<T>> {
  if (warehouse.kind === 'pglite') {
    if (heldInProcess.has(key)) return { acquired: false };
    heldInProcess.add(key);
    try {
      return { acquired: true, value: await fn() };
    } finally {
      heldInProcess.delete(key);
    }
  }
  return warehouse.db.connection().execute(async (conn) => {
    const got = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${RUN_LOCK_SPACE}, hashtext(${key})) AS ok`.execute(conn);
    if (!got.rows[0]?.ok) return { acquired: false } as const;
    try {
      return { acquired: true, value: await fn() } as const;
    } finally {
      // If the connection died, the server has released the lock already.
      await sql`SELECT pg_advisory_unlock(${RUN_LOCK_SPACE}, hashtext(${key}))`.execute(conn).catch(() => {});
    }
  });
}
