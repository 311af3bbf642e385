// Fault injection: each fault does what a flaky network or an overloaded SMSC does, then stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { call, parseJson, testSandbox } from '../helpers/sandbox.ts';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await testSandbox({ world: { historyDays: 10, futureDays: 1, messagesPerDay: 50 } });
});
afterAll(() => sandbox.stop());

describe('fault injection', () => {
  it('answers HTTP 500 and 503 the given number of times, then recovers', async () => {
    sandbox.faults.inject({ kind: 'http500', count: 2 });
    expect((await call(sandbox, 'get.php', { get_price: 1, fmt: 3 })).status).toBe(500);
    expect((await call(sandbox, 'get.php', { get_price: 1, fmt: 3 })).status).toBe(500);
    sandbox.faults.inject({ kind: 'http503' });
    expect((await call(sandbox, 'get.php', { get_price: 1, fmt: 3 })).status).toBe(503);
    const ok = await call(sandbox, 'get.php', { get_price: 1, fmt: 3, cnt: 1 });
    expect(ok.status).toBe(200);
    expect(parseJson(ok.text).zones).toHaveLength(4);
  });

  it('cuts a body in the middle of the JSON', async () => {
    sandbox.faults.inject({ kind: 'truncate', endpoint: 'get_messages' });
    const cut = await call(sandbox, 'get.php', { get_messages: 1, fmt: 3, cnt: 20 });
    expect(cut.status).toBe(200);
    expect(cut.text.startsWith('[{"status":')).toBe(true);
    expect(() => JSON.parse(cut.text)).toThrow();
  });

  it('sends plain-text ERROR = N with fmt=3, and error-9 bursts that are not quota violations', async () => {
    sandbox.faults.inject({ kind: 'plainError', code: 9 });
    expect((await call(sandbox, 'get.php', { get_price: 1, fmt: 3, cnt: 2 })).text).toMatch(/^ERROR = 9 \(.+\)$/);
    sandbox.faults.inject({ kind: 'error', code: 9, count: 3 });
    for (let i = 0; i < 3; i++) expect(parseJson((await call(sandbox, 'get.php', { get_answers: 1, fmt: 3, cnt: i + 1 })).text).error_code).toBe(9);
    expect(Array.isArray(parseJson((await call(sandbox, 'get.php', { get_answers: 1, fmt: 3, cnt: 9 })).text))).toBe(true);
    expect(sandbox.quotas.violations).toEqual([]);
    expect(sandbox.faults.applied.get('error')).toBe(3);
  });

  it('answers late past a client timeout, and drops connections', async () => {
    sandbox.faults.inject({ kind: 'slow', delayMs: 2000 });
    await expect(fetch(`${sandbox.url}/sys/get.php`, { method: 'POST', body: new URLSearchParams({ get_price: '1', login: 'demo', psw: 'demo', fmt: '3' }), signal: AbortSignal.timeout(300) })).rejects.toThrow();
    sandbox.faults.inject({ kind: 'reset' });
    await expect(call(sandbox, 'get.php', { get_price: 1, fmt: 3, cnt: 3 })).rejects.toThrow();
  });

  it('hits a share of requests with a seeded rate', async () => {
    sandbox.faults.clear();
    sandbox.faults.inject({ kind: 'http503', rate: 0.5, endpoint: 'get_operator' });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await call(sandbox, 'info.php', { get_operator: 1, fmt: 3, phone: `7916${1000000 + i}` })).status);
    const failed = statuses.filter((s) => s === 503).length;
    expect(failed).toBeGreaterThan(8);
    expect(failed).toBeLessThan(32);
    sandbox.faults.clear();
  });
});
