// Bad input loses nothing: a malformed API row goes to rejected_rows with its reason and the
// row as it came, while the rest of its page loads.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { startOfLocalDay } from '../../src/time/zoned-time.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { syncOnce } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('rejected');
  sandbox = await testSandbox({ world: { historyDays: 10, futureDays: 1, messagesPerDay: 400 } });
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

describe('malformed API rows', () => {
  it('go to rejected_rows with a reason while the valid rows of the same page load', async () => {
    const patches = [
      { cost: 'n/a' },
      { int_id: '99999999999999999999' },
      { send_timestamp: undefined, send_date: '31.02.2026 10:00:00' },
      { message: 'до\u0000после' },
      { status: 'delivered' },
    ];
    for (const patch of patches) sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', patch, every: 97 });
    sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_answers', patch: { received: 'вчера' }, every: 5 });
    const since = new Date(startOfLocalDay(T0 - 8 * 86_400_000, 'Europe/Moscow'));
    const [outbound, inbound] = await syncOnce(sandbox, database.warehouse, { since });
    expect(outbound!.outcome).toBe('succeeded');
    expect(inbound!.outcome).toBe('succeeded');

    const rejected = await database.warehouse.db.selectFrom('smsc.rejected_rows').selectAll().orderBy('id').execute();
    const reasons = [...new Set(rejected.map((r) => r.reason.replace(/"[^"]*"/g, '…')))];
    expect(reasons).toEqual([
      'cost: expected an amount like …, got …',
      'int_id: 99999999999999999999 does not fit a 64-bit integer',
      'send_date: … is not a date DD.MM.YYYY hh:mm:ss',
      'contains a NUL byte, which PostgreSQL cannot store',
      'status: expected a whole number, got …',
      'received: … is not a date DD.MM.YYYY hh:mm:ss',
    ]);
    // Rows 0, 97, 194, … of five pages were corrupted.
    const outboundRejected = rejected.filter((r) => r.stream === 'outbound');
    expect(outboundRejected.length).toBe(outbound!.rejected);
    expect(outboundRejected.length).toBeGreaterThan(5);
    expect(JSON.parse(outboundRejected[0]!.raw).cost).toBe('n/a');
    expect(outboundRejected.every((r) => r.run_id === outbound!.runId)).toBe(true);

    const truth = sandbox.world.truth('demo', T0).filter((v) => v.message.sendTs >= since.getTime());
    const loaded = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_messages`.execute(database.warehouse.db)).rows[0]!.n;
    expect(loaded + outboundRejected.length).toBe(truth.length);
    expect(inbound!.rejected).toBeGreaterThan(0);
    expect(inbound!.inserted + inbound!.rejected).toBe(sandbox.world.repliesAt('demo', T0).length);
    const run = await database.warehouse.db.selectFrom('smsc.sync_runs').selectAll().where('run_id', '=', outbound!.runId).executeTakeFirstOrThrow();
    expect(run.rows_rejected).toBe(outboundRejected.length);
  });
});
