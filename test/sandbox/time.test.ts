// Time that moves: new messages appear, statuses settle, costs are corrected, replies arrive,
// tariffs change; and the same seed always builds the same world. (Zone-local dates and
// instants: test/time/zoned-time.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { World } from '../../src/sandbox/world.ts';
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
