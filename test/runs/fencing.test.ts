// Fencing: the session holding a run's lock is killed (pg_terminate_backend, as a server
// restart or an idle_session_timeout would) in the middle of a long walk while a second
// replica keeps trying the same stream. The first run must commit nothing more once its lock
// is gone, the second takes over from the last committed page, and the warehouse ends equal
// to the truth. A trigger installed by the test records every row written to the messages or
// the cursors by a backend that does not hold that (account, stream) lock at that moment.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWithDefaults } from '../../src/config.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import type { RunSummary } from '../../src/sync/run-stream.ts';
import { runSync } from '../../src/sync/sync.ts';
import { openWarehouse, type Warehouse as Db } from '../../src/warehouse/database.ts';
import type { Warehouse } from '../../src/warehouse/schema.ts';
import { type TestDatabase, testServerUrl } from '../helpers/database.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { testLogger } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';
import { until } from './processes.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MOSCOW = 3 * HOUR;
const money = (kopecks: number) => `${Math.trunc(kopecks / 100)}.${String(kopecks % 100).padStart(2, '0')}`;

let database: TestDatabase;
let sandbox: Sandbox;
const replicas: Db<Warehouse>[] = [];

beforeAll(async () => {
  if (!testServerUrl()) return;
  database = await migratedDatabase('fencing');
  sandbox = await testSandbox({ seed: 41, world: { historyDays: 8, futureDays: 0, messagesPerDay: 5000 } });
  // The run lock's key, as documented: hashtext(account || newline || stream) in space 0x51c50002.
  await sql
    .raw(`
    CREATE TABLE public.fence_violations (seen_at timestamptz DEFAULT clock_timestamp(), pid int, tbl text, account text, stream text);
    CREATE FUNCTION public.check_fence() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE s text := coalesce(to_jsonb(NEW) ->> 'stream', TG_ARGV[0]);
    BEGIN
      IF NOT EXISTS (
        SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = ${0x51c5_0002}::int4::oid AND objid = hashtext(NEW.account || E'\\n' || s)::oid AND objsubid = 2
      ) THEN
        INSERT INTO public.fence_violations (pid, tbl, account, stream) VALUES (pg_backend_pid(), TG_TABLE_NAME, NEW.account, s);
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER fence AFTER INSERT OR UPDATE ON smsc.outbound_messages FOR EACH ROW EXECUTE FUNCTION public.check_fence('outbound');
    CREATE TRIGGER fence AFTER INSERT OR UPDATE ON smsc_internal.sync_state FOR EACH ROW EXECUTE FUNCTION public.check_fence('');
  `)
    .execute(database.warehouse.db);
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  await sandbox?.stop();
  await database?.drop();
});

/** A replica: its own pool, as another process would have. */
async function replica(): Promise<Db<Warehouse>> {
  const w = await openWarehouse<Warehouse>({ databaseUrl: database.url, maxConcurrentRuns: 2 });
  replicas.push(w);
  return w;
}

function sync(warehouse: Db<Warehouse>): Promise<RunSummary[]> {
  const account = { name: 'demo', login: 'demo', password: 'demo', baseUrl: sandbox.url, timezone: 'Europe/Moscow' };
  return runSync({ config: configWithDefaults([account]), warehouse, logger: testLogger, streams: ['outbound'], clock: sandbox.clock, client: { minBackoffMs: 5, maxBackoffMs: 20 } });
}

describe('a run whose lock session is killed', () => {
  it.skipIf(!testServerUrl())('commits nothing more; the waiting replica takes over and the warehouse ends equal to the truth', async () => {
    const db = database.warehouse.db;
    const held = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_messages`.execute(db)).rows[0]!.n;
    // Slow pages: the walk of ~35 pages takes long enough to be caught in the middle.
    sandbox.faults.inject({ kind: 'slow', endpoint: 'get_messages', delayMs: 200, rate: 1 });
    const first = sync(await replica());
    let ended: unknown;
    void first.then((r) => (ended = r));
    await until(async () => {
      if (ended) throw new Error(`the first replica ended early: ${JSON.stringify(ended)}`);
      return (await held()) >= 3000;
    }, 60_000, 'three pages committed by the first replica');

    // The second replica keeps trying meanwhile: skipped while the lock is taken.
    const second = await replica();
    const secondRuns: RunSummary[] = [];
    let trying = true;
    const tries = (async () => {
      while (trying) {
        const [s] = await sync(second);
        secondRuns.push(s!);
        if (s!.outcome !== 'skipped') return;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await until(() => secondRuns.length >= 2, 30_000, 'the second replica to find the stream locked');

    const holder = await sql<{ pid: number }>`
      SELECT pid FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid = ${0x51c5_0002}::int4::oid AND objid = hashtext(${'demo\noutbound'})::oid`.execute(db);
    expect(holder.rows).toHaveLength(1);
    const atKill = await held();
    await sql`SELECT pg_terminate_backend(${holder.rows[0]!.pid})`.execute(db);

    const [killed] = await first;
    expect(killed!.outcome).toBe('failed');
    expect(killed!.error).toMatch(/^the run lost its database connection \(/);
    await tries;
    trying = false;
    sandbox.faults.clear();
    expect(secondRuns.slice(0, -1).every((s) => s.outcome === 'skipped')).toBe(true);
    expect(secondRuns.at(-1)!.outcome).not.toBe('skipped');
    expect(await held()).toBeGreaterThanOrEqual(atKill);

    // The second replica finishes the walk, an emulated hour apart while the quota paces it.
    for (let pass = 0; ; pass++) {
      const [s] = await sync(second);
      if (s!.outcome === 'succeeded') break;
      expect(s!.outcome, s!.error).toBe('deferred');
      if (pass > 5) throw new Error('the walk did not finish in 5 emulated hours');
      sandbox.clock.advance(HOUR + 60_000);
    }

    expect((await sql<{ tbl: string }>`SELECT tbl FROM public.fence_violations`.execute(db)).rows).toEqual([]);
    const since = Math.floor((T0 + MOSCOW - 7 * DAY) / DAY) * DAY - MOSCOW;
    const now = sandbox.clock.now();
    const truth = sandbox.world.truth('demo', now).filter((v) => v.message.sendTs >= since);
    const rows = await db.selectFrom('smsc.outbound_messages').select(['int_id', 'status', 'cost', 'sent_at']).orderBy('int_id').execute();
    expect(rows.map((r) => r.int_id)).toEqual(truth.map((v) => v.message.intId.toString()));
    // Messages older than 2 days have their final status and cost whenever they were read.
    const settled = (sentAt: number) => sentAt < T0 - 2 * DAY;
    expect(rows.filter((r) => settled(new Date(r.sent_at).getTime())).map((r) => ({ int_id: r.int_id, status: r.status, cost: r.cost }))).toEqual(
      truth.filter((v) => settled(v.message.sendTs)).map((v) => ({ int_id: v.message.intId.toString(), status: v.status, cost: money(v.cost) })),
    );
    // No page went in twice as new: one first_seen per message.
    const firstSeen = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_status_changes WHERE reason = 'first_seen'`.execute(db);
    expect(firstSeen.rows[0]!.n).toBe(truth.length);
    expect(sandbox.quotas.violations).toEqual([]);
  });
});
