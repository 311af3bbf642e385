// SMSC's limits as the emulator enforces them: each is reached, refused with error 9 and
// counted as a violation; five bad logins block the address with error 4 for 30 minutes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { call, parseJson, testSandbox } from '../helpers/sandbox.ts';

const MINUTE = 60_000;
let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await testSandbox({ world: { historyDays: 10, futureDays: 1, messagesPerDay: 50 } });
});
afterEach(() => sandbox.stop());

const code = async (script: string, params: Record<string, string | number>) => parseJson((await call(sandbox, script, params)).text)?.error_code;

describe('quotas', () => {
  it('refuses the 4th identical request within a minute, and serves it again a minute later', async () => {
    const same = { get_price: 1, fmt: 3 };
    for (let i = 0; i < 3; i++) expect(await code('get.php', same)).toBeUndefined();
    expect(await code('get.php', same)).toBe(9);
    expect(await code('get.php', { ...same, fmt: 3, charset: 'utf-8', cnt: 1 })).toBeUndefined();
    sandbox.clock.advance(MINUTE);
    expect(await code('get.php', same)).toBeUndefined();
    expect(sandbox.quotas.violations).toEqual([expect.objectContaining({ login: 'demo', endpoint: 'get_price', rule: 'identical' })]);
  });

  it('refuses the 31st history request within a rolling hour', async () => {
    for (let i = 0; i < 30; i++) {
      expect(await code('get.php', { get_messages: 1, fmt: 3, cnt: i + 1 })).toBeUndefined();
      sandbox.clock.advance(MINUTE);
    }
    expect(await code('get.php', { get_messages: 1, fmt: 3, cnt: 99 })).toBe(9);
    expect(sandbox.quotas.violations.map((v) => v.rule)).toEqual(['history_hour']);
    // The first request of the hour ages out 60 minutes after it was made.
    sandbox.clock.advance(30 * MINUTE);
    expect(await code('get.php', { get_messages: 1, fmt: 3, cnt: 98 })).toBeUndefined();
  });

  it('refuses the 4th stats request within a minute, whatever its parameters', async () => {
    for (const day of ['10', '11', '12']) expect(await code('get.php', { get_stat: 1, fmt: 3, start: `${day}.06.2026` })).toBeUndefined();
    expect(await code('get.php', { get_stat: 1, fmt: 3, start: '13.06.2026' })).toBe(9);
    expect(sandbox.quotas.violations.map((v) => v.rule)).toEqual(['stats_minute']);
  });

  it('refuses the 101st operator lookup within a minute', async () => {
    for (let i = 0; i < 100; i++) expect(await code('info.php', { get_operator: 1, fmt: 3, phone: `7916${String(1000000 + i)}` })).toBeUndefined();
    expect(await code('info.php', { get_operator: 1, fmt: 3, phone: '79162000000' })).toBe(9);
    expect(sandbox.quotas.violations.map((v) => v.rule)).toEqual(['operator_minute']);
  });

  it('refuses a 15th concurrent connection under one login', async () => {
    sandbox.faults.inject({ kind: 'slow', delayMs: 1500, count: 14 });
    const slow = Array.from({ length: 14 }, (_, i) => call(sandbox, 'get.php', { get_messages: 1, fmt: 3, cnt: i + 1 }));
    await new Promise((r) => setTimeout(r, 400));
    expect(await code('get.php', { get_price: 1, fmt: 3 })).toBe(9);
    const answers = await Promise.all(slow);
    // The first 14 were admitted (the 14th is refused only if 15 were open: 13 slow + itself ok).
    expect(answers.filter((a) => Array.isArray(parseJson(a.text))).length).toBe(14);
    expect(sandbox.quotas.violations.map((v) => v.rule)).toEqual(['concurrency']);
    expect(await code('get.php', { get_price: 1, fmt: 3 })).toBeUndefined();
  });

  it('blocks the address for 30 minutes after five failed logins, even for good credentials', async () => {
    for (let i = 0; i < 5; i++) expect(await code('get.php', { get_price: 1, fmt: 3, psw: 'wrong' })).toBe(2);
    expect(await code('get.php', { get_price: 1, fmt: 3 })).toBe(4);
    sandbox.clock.advance(29 * MINUTE);
    expect(await code('get.php', { get_price: 1, fmt: 3, cnt: 2 })).toBe(4);
    sandbox.clock.advance(2 * MINUTE);
    expect(await code('get.php', { get_price: 1, fmt: 3, cnt: 3 })).toBeUndefined();
  });
});
