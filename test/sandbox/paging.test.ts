// Walking the history backwards with prev_id and the replies forwards with after_id, to the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { call, parseJson, T0, testSandbox } from '../helpers/sandbox.ts';

let sandbox: Sandbox;
beforeAll(async () => {
  // A smaller account so that a whole walk fits in the 30-per-hour history budget.
  sandbox = await testSandbox({ seed: 7, world: { historyDays: 60, messagesPerDay: 150, futureDays: 1 } });
});
afterAll(() => sandbox.stop());

describe('paging', () => {
  it('walks prev_id back page by page to error 3 and sees every SMS of the period exactly once', async () => {
    const seen: string[] = [];
    let prevId: string | undefined;
    let pages = 0;
    for (;;) {
      const params: Record<string, string | number> = { get_messages: 1, fmt: 3, cnt: 1000, start: '16.04.2026', end: '15.06.2026' };
      if (prevId) params.prev_id = prevId;
      const body = parseJson((await call(sandbox, 'get.php', params)).text);
      pages += 1;
      if (!Array.isArray(body)) {
        expect(body.error_code).toBe(3);
        break;
      }
      expect(body.length).toBeLessThanOrEqual(1000);
      for (const row of body) seen.push(row.int_id);
      prevId = body.at(-1).int_id;
    }
    const truth = sandbox.world
      .truth('demo', T0)
      .filter((v) => v.message.format !== 8 && v.message.sendTs >= Date.UTC(2026, 3, 15, 21))
      .map((v) => v.message.intId.toString())
      .reverse();
    expect(seen).toEqual(truth);
    expect(new Set(seen).size).toBe(seen.length);
    // Full pages, then the short last one, then error 3.
    expect(pages).toBe(Math.ceil(truth.length / 1000) + 1);
    expect(sandbox.quotas.violations).toEqual([]);
  });

  it('caps cnt at 1000 for history and 10000 for replies', async () => {
    const rows = parseJson((await call(sandbox, 'get.php', { get_messages: 1, fmt: 3, cnt: 5000 })).text);
    expect(rows).toHaveLength(1000);
  });

  it('walks after_id forwards to an empty page and sees every reply of the last 7 days once', async () => {
    const seen: number[] = [];
    let afterId = 0;
    for (;;) {
      const body = parseJson((await call(sandbox, 'get.php', { get_answers: 1, fmt: 3, cnt: 10, hour: 168, after_id: afterId })).text) as any[];
      if (body.length === 0) break;
      for (const r of body) seen.push(r.id);
      afterId = body.at(-1).id;
    }
    expect(seen).toEqual(sandbox.world.repliesAt('demo', T0).map((r) => r.id));
    expect(seen.length).toBeGreaterThan(30);
  });
});
