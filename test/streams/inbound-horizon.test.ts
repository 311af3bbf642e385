// SMSC keeps replies 7 days: a warehouse whose last successful inbound sync is more than 6
// days old says so in the run's warnings, the logs and `status`, until a sync succeeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { readStatus } from '../../src/sync/status.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { logLines, sandboxConfig, syncOnce } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('horizon');
  sandbox = await testSandbox({ world: { historyDays: 10, futureDays: 8, messagesPerDay: 200 } });
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

const inboundWarnings = async () =>
  (await readStatus(database.warehouse.db, sandboxConfig(sandbox), sandbox.clock))[0]!.streams.find((s) => s.stream === 'inbound')!.warnings;

describe('the 7-day horizon of replies', () => {
  it('is warned about when replies have never been synced while the account is', async () => {
    // Nothing synced yet: nothing to warn about.
    expect(await inboundWarnings()).toEqual([]);
    const [outbound] = await syncOnce(sandbox, database.warehouse, { streams: ['outbound'] });
    expect(outbound!.outcome).toBe('succeeded');
    sandbox.clock.advance(2 * 86_400_000);
    expect(await inboundWarnings()).toEqual([
      'replies have never been synced (no successful inbound run) although the account has been synced for 2.0 days: SMSC keeps replies 7 days and older ones are lost; run `smsc-sync sync --streams inbound` or check the inbound job',
    ]);
    // A failed inbound run is no success either.
    sandbox.faults.inject({ kind: 'error', code: 1, endpoint: 'get_answers' });
    const [failed] = await syncOnce(sandbox, database.warehouse, { streams: ['inbound'] });
    expect(failed!.outcome).toBe('failed');
    expect((await inboundWarnings())[0]).toMatch(/^replies have never been synced \(no successful inbound run; the last one failed\) although the account has been synced for 2\.0 days/);
  });

  it('is warned about when the last successful inbound sync is more than 6 days old', async () => {
    const [first] = await syncOnce(sandbox, database.warehouse, { streams: ['inbound'] });
    expect(first!.warnings).toEqual([]);
    sandbox.clock.advance(5.9 * 86_400_000);
    expect(await inboundWarnings()).toEqual([]);
    sandbox.clock.advance(0.2 * 86_400_000);
    expect((await inboundWarnings())[0]).toMatch(/replies are about to be lost/);

    const [late] = await syncOnce(sandbox, database.warehouse, { streams: ['inbound'] });
    expect(late!.outcome).toBe('succeeded');
    expect(late!.warnings[0]).toMatch(/last successful inbound sync was 6\.1 days ago; SMSC keeps replies 7 days/);
    expect(logLines.some((l) => l.includes('"level":40') && l.includes('SMSC keeps replies 7 days'))).toBe(true);
    // The late run read to the end: the warning is gone, and every reply still kept is held.
    expect(await inboundWarnings()).toEqual([]);
    const held = await database.warehouse.db.selectFrom('smsc.inbound_messages').select('id').execute();
    const kept = sandbox.world.repliesAt('demo', sandbox.clock.now()).map((r) => String(r.id));
    expect(held.map((r) => r.id)).toEqual(expect.arrayContaining(kept));
  });
});
