// Fault injection: each fault does what a flaky network or an overloaded SMSC does, then stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { call, parseJson, T0, testSandbox } from '../helpers/sandbox.ts';

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

  it('sends error objects with keys the documentation does not list, and a bare OK', async () => {
    sandbox.faults.inject({ kind: 'error', code: 7, fields: { id: 34 }, endpoint: 'get_price' });
    expect(parseJson((await call(sandbox, 'get.php', { get_price: 1, fmt: 3, cnt: 4 })).text)).toEqual({ error: 'duplicate request, wait a minute', error_code: 7, id: 34 });
    sandbox.faults.inject({ kind: 'bareOk', endpoint: 'get_answers' });
    expect((await call(sandbox, 'get.php', { get_answers: 1, fmt: 3, cnt: 8 })).text).toBe('OK');
  });

  it('corrupts the same listed rows wherever they are in each page, counting each time one is sent', async () => {
    const newest = sandbox.world.truth('demo', T0).filter((v) => v.message.format !== 8).slice(-5).map((v) => v.message.intId.toString());
    const [a, b] = [newest[4]!, newest[1]!];
    sandbox.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', rows: [a, b], patch: { int_id: '9223372036854775808' }, count: 3 });
    const pages = [];
    for (const cnt of [5, 2, 30]) pages.push(parseJson((await call(sandbox, 'get.php', { get_messages: 1, fmt: 3, cnt })).text) as any[]);
    // Newest first: `a` heads every page; `b` is 4th, so the 2-row page does not hold it.
    expect(pages.map((p) => p.filter((r: any) => r.int_id === '9223372036854775808').length)).toEqual([2, 1, 2]);
    expect(pages.map((p) => p[0].int_id)).toEqual(['9223372036854775808', '9223372036854775808', '9223372036854775808']);
    expect(sandbox.faults.rowsCorrupted.get(a)).toEqual({ times: 3, first: T0, last: T0 });
    expect(sandbox.faults.rowsCorrupted.get(b)?.times).toBe(2);
  });

  it('ignores prev_id or after_id, and caps pages below cnt, as a misbehaving server would', async () => {
    const top = parseJson((await call(sandbox, 'get.php', { get_messages: 1, fmt: 3, cnt: 10 })).text) as any[];
    sandbox.faults.inject({ kind: 'ignoreParam', param: 'prev_id', endpoint: 'get_messages' });
    const again = parseJson((await call(sandbox, 'get.php', { get_messages: 1, fmt: 3, cnt: 10, prev_id: top[9].int_id })).text) as any[];
    expect(again.map((r) => r.int_id)).toEqual(top.map((r) => r.int_id));
    const replies = parseJson((await call(sandbox, 'get.php', { get_answers: 1, fmt: 3, hour: 168, cnt: 10 })).text) as any[];
    sandbox.faults.inject({ kind: 'ignoreParam', param: 'after_id', endpoint: 'get_answers' });
    const same = parseJson((await call(sandbox, 'get.php', { get_answers: 1, fmt: 3, hour: 168, cnt: 10, after_id: replies[9].id })).text) as any[];
    expect(same.map((r) => r.id)).toEqual(replies.map((r) => r.id));
    sandbox.faults.inject({ kind: 'capRows', maxRows: 7, endpoint: 'get_messages' });
    expect((parseJson((await call(sandbox, 'get.php', { get_messages: 1, fmt: 3, cnt: 11 })).text) as any[]).map((r) => r.int_id)).toEqual(top.slice(0, 7).map((r) => r.int_id));
  });

  it('streams an oversized answer without Content-Length, as valid JSON', async () => {
    sandbox.faults.inject({ kind: 'oversized', sizeMb: 3, endpoint: 'get_messages' });
    const res = await fetch(`${sandbox.url}/sys/get.php`, { method: 'POST', body: new URLSearchParams({ get_messages: '1', login: 'demo', psw: 'demo', fmt: '3', cnt: '3', charset: 'utf-8' }) });
    expect(res.headers.get('content-length')).toBeNull();
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(3 * 1_048_576);
    expect(JSON.parse(bytes.toString('utf8'))).toHaveLength(3);
    expect(sandbox.faults.oversizedBytesSent).toBe(3 * 1_048_576);
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
