// The status refresh's reserve at the hour's edge. The README's rule: the refresh "reads only
// while more than 4 of the hour's 30 history requests are left", so that the next runs can
// still read new messages; new-message reads may use all 30. The expected instants below are
// that rule's arithmetic, written here: SMSC's hour is a rolling 60 minutes, and the ledger
// keeps a 2-second margin for network delay (smsc-api.md, README "How it talks to SMSC").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type LedgerAccount, QuotaLedger } from '../../src/smsc/quota-ledger.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { T0 } from '../helpers/sandbox.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const HOUR = 3_600_000;
const MARGIN = 2_000;
const LIMIT = 30;
const KEEP = 4;

let database: TestDatabase;
beforeAll(async () => {
  database = await migratedDatabase('history_reserve');
});
afterAll(async () => {
  await database.drop();
});

describe("the refresh's reserve of history requests", () => {
  it('stops the refresh at 4 left, lets new-message reads use them, and reopens when the oldest leaves the hour', async () => {
    const clock = new SandboxClock({ start: T0, speed: 0 });
    const ledger = new QuotaLedger(database.warehouse.db, clock);
    const account: LedgerAccount = { name: 'edge', login: 'edge', quotaKey: 'smsc.test/edge', credentialsMac: 'mac-edge' };
    let n = 0;
    const reserve = (keep?: number) => ledger.reserve(account, 'get_messages', `get.php?get_messages=1&n=${n++}`, keep === undefined ? {} : { keepHistory: keep });
    const spend = async (keep?: number) => {
      const r = await reserve(keep);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) await ledger.finish({ id: r.id, unverified: r.unverified, account }, { outcome: 'ok' });
    };

    // 26 refresh reads, one a minute from T0: 4 of the 30 are left, and the refresh stops.
    const first = clock.now();
    for (let i = 0; i < LIMIT - KEEP; i++) {
      await spend(KEEP);
      clock.advance(60_000);
    }
    const refused = await reserve(KEEP);
    expect(refused).toEqual({ ok: false, rule: 'history_reserve', retryAt: first + HOUR + MARGIN });

    // New messages may still be read with the 4 left: requests 27 to 30, then nothing at all.
    for (let i = 0; i < KEEP; i++) await spend();
    const full = await reserve();
    expect(full).toEqual({ ok: false, rule: 'history_hour', retryAt: first + HOUR + MARGIN });

    // The hour's edge: a millisecond before the first request leaves the window, still refused;
    // at that instant one place opens, but 29 of 30 are used, so the refresh still waits
    // (it needs more than 4 left) until 26 have left: the 5th oldest, sent at first + 4 min.
    clock.set(first + HOUR + MARGIN - 1);
    expect((await reserve()).ok).toBe(false);
    clock.set(first + HOUR + MARGIN);
    expect(await reserve(KEEP)).toEqual({ ok: false, rule: 'history_reserve', retryAt: first + 4 * 60_000 + HOUR + MARGIN });
    await spend(); // a new-message read takes the one open place: 30 used again
    // When the one the refresh waited for has left, the new read has taken its place: 26 used,
    // still 4 left, and the refresh waits for the next oldest (sent at first + 5 min).
    clock.set(first + 4 * 60_000 + HOUR + MARGIN);
    expect(await reserve(KEEP)).toEqual({ ok: false, rule: 'history_reserve', retryAt: first + 5 * 60_000 + HOUR + MARGIN });
    clock.set(first + 5 * 60_000 + HOUR + MARGIN);
    await spend(KEEP); // 25 used, 5 left: the refresh reads
  });
});
