// One process at a time per (account, stream). On PostgreSQL: a session advisory lock, taken
// with pg_try_advisory_lock (never waited for: a run that finds it taken is skipped) on the
// run's own session, the very connection that commits its pages. If that connection dies
// (server restart, pg_terminate_backend, idle_session_timeout) the server releases the lock,
// and the run can commit nothing more, because it has no other connection to commit on.
// Each page transaction also checks that the lock is still held by its connection before it
// commits (`assertHeld`), so a connection swapped underneath (a transaction-mode pooler)
// cannot commit either: fencing.
// The embedded PGlite warehouse belongs to one process, so an in-process lock is enough there.
import { type Kysely, sql } from 'kysely';

/** Key space of the run locks (the second key is hashtext(account || E'\n' || stream)). */
export const RUN_LOCK_SPACE = 0x51c5_0002;
const heldInProcess = new Set<string>();

/** The lock's key text: what hashtext() hashes to the lock's second key. */
export function runLockKey(account: string, stream: string): string {
  return `${account}\n${stream}`;
}

/** The run no longer holds its lock: another process may be running the stream; nothing more may be committed. */
export class LockLostError extends Error {
  constructor(key: string) {
    super(
      `lost the run lock of ${key.replace('\n', ' / ')} (its database session ended or was replaced); ` +
        'the run stops without committing, and whoever holds the lock now goes on from the last committed page',
    );
    this.name = 'LockLostError';
  }
}

export interface RunLock {
  /** Inside a transaction on the session: throws LockLostError unless the lock is still held by it. */
  assertHeld(trx: Kysely<any>): Promise<void>;
  release(): Promise<void>;
}

/**
 * Tries the lock on `db` (a session: one connection); undefined when another run holds it.
 * Never waits for it.
 */
export async function tryRunLock(kind: 'postgres' | 'pglite', db: Kysely<any>, key: string): Promise<RunLock | undefined> {
  if (kind === 'pglite') {
    if (heldInProcess.has(key)) return undefined;
    heldInProcess.add(key);
    return {
      assertHeld: async () => {
        if (!heldInProcess.has(key)) throw new LockLostError(key);
      },
      release: async () => {
        heldInProcess.delete(key);
      },
    };
  }
  const got = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${RUN_LOCK_SPACE}, hashtext(${key})) AS ok`.execute(db);
  if (!got.rows[0]?.ok) return undefined;
  return {
    async assertHeld(trx) {
      const held = await sql<{ held: boolean }>`
        SELECT EXISTS (
          SELECT 1 FROM pg_locks
          WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND classid = ${RUN_LOCK_SPACE}::int4::oid AND objid = hashtext(${key})::oid AND objsubid = 2
        ) AS held`.execute(trx);
      if (!held.rows[0]?.held) throw new LockLostError(key);
    },
    async release() {
      // If the connection died, the server has released the lock already.
      await sql`SELECT pg_advisory_unlock(${RUN_LOCK_SPACE}, hashtext(${key}))`.execute(db).catch(() => {});
    },
  };
}

/**
 * Whether some session holds the run lock of (account, stream) right now: a run recorded as
 * `running` whose lock is free was left by a process that died.
 */
export async function runLockHeld(kind: 'postgres' | 'pglite', db: Kysely<any>, key: string): Promise<boolean> {
  if (kind === 'pglite') return heldInProcess.has(key);
  const r = await sql<{ held: boolean }>`
    SELECT EXISTS (
      SELECT 1 FROM pg_locks
      -- Advisory locks are per database; pg_locks shows the whole server's.
      WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid = ${RUN_LOCK_SPACE}::int4::oid AND objid = hashtext(${key})::oid AND objsubid = 2
    ) AS held`.execute(db);
  return r.rows[0]?.held === true;
}
