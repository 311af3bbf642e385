// Fault suite: what a flaky network, an overloaded SMSC and a dropped database connection do
// to a sync. Each fault strikes a run that has new messages to read; the sync is run again
// until it succeeds, and then: every message up to the newest held is held once (no gap, no
// duplicate), no quota rule was broken, and after a clean run the warehouse equals the truth.
import { createServer } from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultSpec } from '../../src/sandbox/faults.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import type { RunSummary } from '../../src/sync/run-stream.ts';
import { type TestDatabase } from '../helpers/database.ts';
import { itNeedsServer } from '../helpers/needs-server.ts';
import { zoneDayStart } from '../helpers/oracle.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { expectNoGapPerChannel, syncOnce, truthRow, warehouseRows } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const TZ = 'Europe/Moscow';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const since = new Date(zoneDayStart(T0 - 4 * 86_400_000, TZ));

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('faults');
  sandbox = await testSandbox({ seed: 8, world: { historyDays: 6, futureDays: 14, messagesPerDay: 1500 } });
  const first = await syncOnce(sandbox, database.warehouse, { since });
  expect(first.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

const db = () => database.warehouse.db;

/** Runs the sync until both streams succeed, 10 emulated minutes apart; returns every run. */
async function syncUntilDone(options: { client?: { timeoutMs?: number } } = {}): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  for (let attempt = 0; attempt < 12; attempt++) {
    const summaries = await syncOnce(sandbox, database.warehouse, { since, ...options });
    runs.push(...summaries);
    if (summaries.every((s) => s.outcome === 'succeeded')) return runs;
    sandbox.clock.advance(10 * MINUTE);
  }
  throw new Error(`no clean run in 12 attempts: ${runs.map((r) => `${r.stream} ${r.outcome} ${r.error ?? ''}`).join('; ')}`);
}

/** Every message up to the newest held is held, once; the replies likewise. */
async function expectNoGapNoDuplicate(): Promise<void> {
  const now = sandbox.clock.now();
  await expectNoGapPerChannel(sandbox, database.warehouse, since.getTime());
  const replies = (await db().selectFrom('smsc.inbound_messages').select('id').orderBy('id').execute()).map((r) => r.id);
  expect(replies).toEqual(
    sandbox.world
      .repliesAt('demo', now, true)
      .map((r) => String(r.id))
      .filter((id) => BigInt(id) >= BigInt(replies[0]!) && BigInt(id) <= BigInt(replies.at(-1)!)),
  );
}

/** After a clean run (a refresh of the whole window due), the warehouse equals the truth row for row. */
async function expectTruth(): Promise<void> {
  sandbox.faults.clear();
  sandbox.clock.advance(24 * HOUR + MINUTE);
  const clean = await syncOnce(sandbox, database.warehouse, { since });
  expect(clean.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
  const truth = sandbox.world.truth('demo', sandbox.clock.now()).filter((v) => v.message.sendTs >= since.getTime());
  expect(await warehouseRows(database.warehouse)).toEqual(truth.map(truthRow).sort((a, b) => (BigInt(a.int_id as string) < BigInt(b.int_id as string) ? -1 : 1)));
  const replies = await db().selectFrom('smsc.inbound_messages').select(['id', 'message']).orderBy('id').execute();
  // Replies older than the 7 days SMSC keeps stay in the warehouse.
  const first = BigInt(replies[0]!.id);
  expect(replies).toEqual(
    sandbox.world
      .repliesAt('demo', sandbox.clock.now(), true)
      .filter((r) => BigInt(r.id) >= first)
      .map((r) => ({ id: String(r.id), message: r.text })),
  );
  expect(sandbox.quotas.violations).toEqual([]);
}

const applied = (kind: FaultSpec['kind']) => sandbox.faults.applied.get(kind) ?? 0;

describe('SMSC out of reach', () => {
  it('fails the run with a message that names SMSC and SMSC_BASE_URL, not the warehouse', async () => {
    // A port nothing listens on: every attempt is refused at connect.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const [run] = await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'], config: { accounts: [{ name: 'demo', login: 'demo', password: 'demo', apikey: undefined, baseUrl: `http://127.0.0.1:${port}`, timezone: TZ }] } });
    expect(run!.outcome).toBe('failed');
    expect(run!.error).toMatch(new RegExp(`^could not get an answer from SMSC at http://127\\.0\\.0\\.1:${port} \\(SMSC_BASE_URL\\) after the retries: .*ECONNREFUSED`));
    expect(run!.error).not.toMatch(/database/);
  });
});

describe('faults on the SMSC side', () => {
  const cases: { name: string; faults: FaultSpec[]; client?: { timeoutMs: number } }[] = [
    { name: 'HTTP 500 on three history pages', faults: [{ kind: 'http500', endpoint: 'get_messages', count: 3 }] },
    { name: 'HTTP 503 on a third of all requests', faults: [{ kind: 'http503', rate: 0.33 }] },
    { name: 'timeouts (answers later than the client waits)', faults: [{ kind: 'slow', delayMs: 1500, count: 3 }], client: { timeoutMs: 400 } },
    { name: 'bodies cut in the middle', faults: [{ kind: 'truncate', count: 4 }] },
    { name: 'plain-text ERROR = 9 although fmt=3 was asked', faults: [{ kind: 'plainError', code: 9, count: 3 }] },
    { name: 'connections reset without an answer', faults: [{ kind: 'reset', count: 3 }] },
    { name: 'an error-9 burst longer than the retries', faults: [{ kind: 'error', code: 9, endpoint: 'get_messages', count: 8 }] },
  ];
  for (const c of cases) {
    it(`${c.name}: nothing lost or doubled, no quota broken`, async () => {
      sandbox.clock.advance(2 * HOUR);
      for (const f of c.faults) sandbox.faults.inject(f);
      const before = c.faults.map((f) => applied(f.kind));
      const runs = await syncUntilDone(c.client ? { client: c.client } : {});
      c.faults.forEach((f, i) => expect(applied(f.kind), f.kind).toBeGreaterThan(before[i]!));
      expect(runs.some((r) => r.inserted > 0)).toBe(true);
      expect(sandbox.quotas.violations).toEqual([]);
      await expectNoGapNoDuplicate();
      await expectTruth();
    });
  }

  it('error 4 (IP blocked): one request gets it, nothing is sent for 35 minutes, then the sync resumes', async () => {
    sandbox.clock.advance(2 * HOUR);
    sandbox.faults.inject({ kind: 'error', code: 4, endpoint: 'get_messages', count: 1 });
    const faultsBefore = sandbox.requests.filter((r) => r.outcome === 'fault error').length;
    const [blocked] = await syncOnce(sandbox, database.warehouse, { since, streams: ['outbound'] });
    expect(blocked!.outcome).toBe('failed');
    expect(blocked!.error).toMatch(/error 4/);
    const sent = sandbox.requests.length;
    // Every stream of the account stays silent through the cool-off.
    for (const minutes of [1, 10, 20]) {
      sandbox.clock.advance(minutes * MINUTE);
      const runs = await syncOnce(sandbox, database.warehouse, { since });
      expect(runs.map((r) => r.outcome)).toEqual(['failed', 'failed']);
    }
    expect(sandbox.requests.length).toBe(sent);
    sandbox.clock.advance(5 * MINUTE);
    await syncUntilDone();
    expect(sandbox.requests.filter((r) => r.outcome === 'fault error').length).toBe(faultsBefore + 1);
    await expectNoGapNoDuplicate();
    await expectTruth();
  });
});

describe('faults on the database side', () => {
  // Embedded PGlite has no second backend to terminate.
  itNeedsServer('pg_terminate_backend needs a second backend; PGlite is one backend inside the test process')('a connection terminated in the middle of a page (pg_terminate_backend) rolls the page back whole; the next run goes on', async () => {
    sandbox.clock.advance(2 * HOUR);
    // Each page's statement takes 0.3 s longer, so that it is caught in flight.
    await sql`CREATE FUNCTION smsc.test_slow_page() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$`.execute(db());
    await sql`CREATE TRIGGER test_slow_page AFTER INSERT OR UPDATE ON smsc.outbound_messages FOR EACH STATEMENT EXECUTE FUNCTION smsc.test_slow_page()`.execute(db());
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    let killed = 0;
    let stop = false;
    const killer = (async () => {
      while (!stop && killed === 0) {
        const r = await admin.query(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%INSERT INTO smsc.outbound_messages%'`,
        );
        killed += r.rows.filter((x: { ok: boolean }) => x.ok).length;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const [cut] = await syncOnce(sandbox, database.warehouse, { since, streams: ['outbound'] });
    stop = true;
    await killer;
    await sql`DROP TRIGGER test_slow_page ON smsc.outbound_messages`.execute(db());
    await sql`DROP FUNCTION smsc.test_slow_page()`.execute(db());
    await admin.end();
    expect(killed).toBe(1);
    expect(cut!.outcome).toBe('failed');
    // The server's 'terminating connection', a reset socket, or a client no longer queryable: one message.
    expect(cut!.error).toMatch(/^the run lost its database connection \(/);

    await syncUntilDone();
    await expectNoGapNoDuplicate();
    // No page half applied: each message held has exactly one first_seen change.
    const n = async (q: ReturnType<typeof sql<{ n: number }>>) => (await q.execute(db())).rows[0]!.n;
    expect(await n(sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_status_changes WHERE reason = 'first_seen'`)).toBe(
      await n(sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_messages`),
    );
    await expectTruth();
  });
});
