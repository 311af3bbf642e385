// Who claims a cron fire when replicas differ in how busy they are: a replica claims a fire only
// once it holds one of its job permits (one per run slot). A busy replica waits, the idle one
// claims the fire, and the busy one then finds it taken; a replica that is stopping claims
// nothing more. Two coordinators on one warehouse stand for two replicas (the claim is one
// INSERT … ON CONFLICT DO NOTHING; the processes test of start.test.ts runs real replicas).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/sandbox/clock.ts';
import { Permits, PgRunCoordinator } from '../../src/scheduler/pg-run-coordinator.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await migratedDatabase('run_coordinator');
});
afterAll(async () => {
  await database.drop();
});

const claims = async () =>
  (await database.warehouse.db.selectFrom('smsc_internal.cron_fires').select(['key', 'claimed_by', 'finished_at']).orderBy('key').execute()).map((r) => ({
    key: r.key,
    by: r.claimed_by,
    finished: r.finished_at !== null,
  }));

/** Lets pending promise callbacks and the database round trips they start settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

describe('claiming cron fires', () => {
  it('a busy replica leaves the fire to an idle one, and releases its permit when its own run completes', async () => {
    const busyPermits = new Permits(1);
    const busy = new PgRunCoordinator(database.warehouse.db, systemClock, { replica: 'busy', permits: busyPermits });
    const idle = new PgRunCoordinator(database.warehouse.db, systemClock, { replica: 'idle', permits: new Permits(1) });

    // The busy replica is running one job (its only permit is held by the claim it won).
    expect(await busy.shouldRun('outbound:a:2026-06-15T00:00:00.000Z')).toBe(true);
    // The next fire: the busy replica waits for a permit, the idle one claims it meanwhile.
    const busyClaim = busy.shouldRun('inbound:a:2026-06-15T00:00:00.000Z');
    await settle();
    expect(busy.pending).toBe(1);
    expect(busyPermits.waiting).toBe(1);
    expect(await idle.shouldRun('inbound:a:2026-06-15T00:00:00.000Z')).toBe(true);
    // The busy replica's run ends: its permit goes to the waiting claim, which finds the fire taken.
    await busy.onComplete('outbound:a:2026-06-15T00:00:00.000Z');
    expect(await busyClaim).toBe(false);
    expect(busy.pending).toBe(0);
    // …and gave the permit back: the busy replica can claim the next fire at once.
    expect(await busy.shouldRun('outbound:a:2026-06-15T00:05:00.000Z')).toBe(true);
    await busy.onComplete('outbound:a:2026-06-15T00:05:00.000Z');
    await idle.onComplete('inbound:a:2026-06-15T00:00:00.000Z');

    expect(await claims()).toEqual([
      { key: 'inbound:a:2026-06-15T00:00:00.000Z', by: 'idle', finished: true },
      { key: 'outbound:a:2026-06-15T00:00:00.000Z', by: 'busy', finished: true },
      { key: 'outbound:a:2026-06-15T00:05:00.000Z', by: 'busy', finished: true },
    ]);
  });

  it('a stopping replica claims nothing more: fires waiting for a permit are left unclaimed', async () => {
    const stop = new AbortController();
    const permits = new Permits(1);
    const replica = new PgRunCoordinator(database.warehouse.db, systemClock, { replica: 'stopping', permits, signal: stop.signal });
    expect(await replica.shouldRun('stats:b:2026-06-15T01:00:00.000Z')).toBe(true);
    const waiting = [replica.shouldRun('tariffs:b:2026-06-15T01:00:00.000Z'), replica.shouldRun('operators:b:2026-06-15T01:00:00.000Z')];
    await settle();
    expect(permits.waiting).toBe(2);
    stop.abort();
    await replica.onComplete('stats:b:2026-06-15T01:00:00.000Z');
    expect(await Promise.all(waiting)).toEqual([false, false]);
    expect((await claims()).filter((c) => c.key.endsWith(':b:2026-06-15T01:00:00.000Z'))).toEqual([{ key: 'stats:b:2026-06-15T01:00:00.000Z', by: 'stopping', finished: true }]);
    // The permit came back: it can be had at once.
    expect(await Promise.race([permits.acquire().then(() => 'free'), settle().then(() => 'held')])).toBe('free');
  });
});
