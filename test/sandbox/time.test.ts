// Time that moves: new messages appear, statuses settle, costs are corrected, replies arrive,
// tariffs change; and the same seed always builds the same world.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { World } from '../../src/sandbox/world.ts';
import { localFields } from '../../src/time/zoned-time.ts';
import { call, parseJson, T0, testSandbox } from '../helpers/sandbox.ts';

const HOUR = 3_600_000;
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await testSandbox({ world: { historyDays: 20, futureDays: 5 } });
});
afterAll(() => sandbox.stop());

describe('a world that moves with the clock', () => {
  it('reveals new messages and settles statuses and costs as time passes', async () => {
    const before = new Map(sandbox.world.truth('demo', T0).map((v) => [v.message.intId, v]));
    // Sent in the last hour and not yet final: most settle within hours.
    const pending = [...before.values()].filter((v) => (v.status === -1 || v.status === 0) && v.message.sendTs > T0 - HOUR);
    const unpriced = [...before.values()].filter((v) => v.cost === 0 && v.message.costs.some((c) => c.cost > 0));
    expect(pending.length).toBeGreaterThan(0);
    expect(unpriced.length).toBeGreaterThan(0);
    sandbox.clock.advance(6 * HOUR);
    const after = new Map(sandbox.world.truth('demo', sandbox.clock.now()).map((v) => [v.message.intId, v]));
    expect(after.size).toBeGreaterThan(before.size);
    // Exactly those whose final status falls within the 6 hours have settled.
    const due = pending.filter((v) => v.message.timeline.at(-1)!.status > 0 && v.message.timeline.at(-1)!.at <= T0 + 6 * HOUR);
    const settled = pending.filter((v) => ![-1, 0].includes(after.get(v.message.intId)!.status));
    expect(due.length).toBeGreaterThan(0);
    expect(settled.map((v) => v.message.intId)).toEqual(due.map((v) => v.message.intId));
    // Some messages never get a final status.
    expect([...after.values()].some((v) => v.status === 0 && v.message.sendTs < T0 - 3 * 24 * HOUR)).toBe(true);
    expect(unpriced.filter((v) => after.get(v.message.intId)!.cost > 0).length).toBe(unpriced.length);
    // And the endpoint reports the new state.
    const newest = parseJson((await call(sandbox, 'get.php', { get_messages: 1, fmt: 3, cnt: 1 })).text)[0];
    expect(BigInt(newest.int_id)).toBe([...after.keys()].at(-1));
  });

  it('lets replies arrive over time', () => {
    const now = sandbox.clock.now();
    expect(sandbox.world.repliesAt('demo', now + 24 * HOUR, true).length).toBeGreaterThan(sandbox.world.repliesAt('demo', now, true).length);
  });

  it('changes a tariff from a moment on, and prices later messages by it', async () => {
    const before = parseJson((await call(sandbox, 'get.php', { get_price: 1, fmt: 3 })).text);
    sandbox.world.setPrice('demo', sandbox.clock.now(), { zone: 2, field: 'api', value: 333 });
    const after = parseJson((await call(sandbox, 'get.php', { get_price: 1, fmt: 3, cnt: 1 })).text);
    expect(after.zones[1].api).toBe('3.33');
    expect(after.zones[0]).toEqual(before.zones[0]);
  });

  it('builds the same world from the same seed, and another from another', () => {
    const a = new World({ start: T0, seed: 3, historyDays: 5, futureDays: 0 });
    const b = new World({ start: T0, seed: 3, historyDays: 5, futureDays: 0 });
    const c = new World({ start: T0, seed: 4, historyDays: 5, futureDays: 0 });
    const sig = (w: World) => w.truth('demo', T0).map((v) => `${v.message.intId}:${v.message.phone}:${v.status}:${v.cost}`).join('|');
    expect(sig(a)).toBe(sig(b));
    expect(sig(a)).not.toBe(sig(c));
  });
});

describe('zone-local fields', () => {
  it('equal what Intl says at every minute around DST changes and in odd zones', () => {
    const intl = (ms: number, timeZone: string) => {
      const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(ms));
      const f = Object.fromEntries(parts.filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
      return { year: f.year, month: f.month, day: f.day, hour: f.hour, minute: f.minute, second: f.second };
    };
    const cases: [string, number][] = [
      ['Europe/Berlin', Date.UTC(2026, 2, 29, 0, 0)],
      ['Europe/Berlin', Date.UTC(2026, 9, 25, 0, 0)],
      ['America/New_York', Date.UTC(2026, 2, 8, 5, 0)],
      ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 14, 0)],
      ['Asia/Kathmandu', Date.UTC(2026, 0, 1, 0, 0)],
      ['Europe/Moscow', Date.UTC(2011, 2, 26, 22, 0)],
    ];
    for (const [zone, around] of cases) {
      // Every 37 s over 4 hours, so that each slice is entered at a different second.
      for (let ms = around - 2 * 3_600_000; ms < around + 2 * 3_600_000; ms += 37_000) {
        expect(localFields(ms + 123, zone), `${zone} ${new Date(ms).toISOString()}`).toEqual(intl(ms, zone));
      }
    }
  });
});
