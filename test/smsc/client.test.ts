// The SMSC client against the emulator and real PostgreSQL: the quota ledger keeps several
// clients inside SMSC's limits, the error policy holds, failures are retried, secrets stay out.
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { SmscClient } from '../../src/smsc/client.ts';
import { AccountStoppedError, AnswerTooLargeError, QuotaDeferredError, SmscError, TransportError } from '../../src/smsc/errors.ts';
import { QuotaLedger } from '../../src/smsc/quota-ledger.ts';
import { openWarehouse, type Warehouse } from '../../src/warehouse/database.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const MINUTE = 60_000;
const PASSWORD = 'S3cret-pass!word-4417';
const APIKEY = 'AK-sandbox-99812-zz';
const ACCOUNTS = [{ login: 'acme', password: PASSWORD, apikey: APIKEY, subLogins: [] }];

const logLines: string[] = [];
const logger = createLogger({
  level: 'trace',
  destination: new Writable({
    write(chunk, _e, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
});

let database: TestDatabase;
let sandbox: Sandbox;
let clock: SandboxClock;
const clients: SmscClient[] = [];
const extraWarehouses: Warehouse<any>[] = [];

beforeAll(async () => {
  database = await migratedDatabase('smsc_client');
});
afterAll(async () => {
  // Whatever the tests did, no secret reached a log line.
  const all = logLines.join('');
  expect(all).not.toContain(PASSWORD);
  expect(all).not.toContain(APIKEY);
  await database.drop();
});
beforeEach(async () => {
  clock = new SandboxClock({ start: T0, speed: 0 });
  sandbox = await testSandbox({ clock, world: { accounts: ACCOUNTS, historyDays: 30, futureDays: 1, messagesPerDay: 100 } });
  await database.warehouse.db.deleteFrom('smsc_internal.api_requests').execute();
  await database.warehouse.db.deleteFrom('smsc_internal.account_holds').execute();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(extraWarehouses.splice(0).map((w) => w.close()));
  await sandbox.stop();
  // Nothing a client sent carried a credential in the URL.
  expect(sandbox.requests.filter((r) => r.credentialsInUrl)).toEqual([]);
});

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return { name: 'acme', login: 'acme', password: PASSWORD, apikey: undefined, baseUrl: sandbox.url, timezone: 'Europe/Moscow', ...overrides };
}

function client(options: { account?: AccountConfig; db?: Warehouse<any>; timeoutMs?: number; retries?: number; fallbackBaseUrls?: string[]; maxConcurrent?: number; maxAnswerBytes?: number } = {}) {
  const ledger = new QuotaLedger((options.db ?? database.warehouse).db, clock, { maxConcurrent: options.maxConcurrent ?? 4 });
  const c = new SmscClient({
    account: options.account ?? account(),
    ledger,
    logger,
    clock,
    timeoutMs: options.timeoutMs ?? 5000,
    retries: options.retries ?? 4,
    minBackoffMs: 5,
    maxBackoffMs: 20,
    ...(options.fallbackBaseUrls ? { fallbackBaseUrls: options.fallbackBaseUrls } : {}),
    ...(options.maxAnswerBytes ? { maxAnswerBytes: options.maxAnswerBytes } : {}),
  });
  clients.push(c);
  return c;
}

/** A second connection pool to the same database, as another process would have. */
async function secondPool(): Promise<Warehouse<any>> {
  if (!database.url) return database.warehouse;
  const w = await openWarehouse<any>({ databaseUrl: database.url });
  extraWarehouses.push(w);
  return w;
}

const ledgerRows = () => database.warehouse.db.selectFrom('smsc_internal.api_requests').selectAll().orderBy('id').execute();

describe('SmscClient', () => {
  it('reads every endpoint with fmt=3 over POST, 64-bit integers exact', async () => {
    const c = client();
    const messages = (await c.getMessages({ cnt: 50 })) as any[];
    expect(messages).toHaveLength(50);
    const truth = new Map(sandbox.world.truth('acme', T0).map((v) => [v.message.intId.toString(), v]));
    for (const m of messages) {
      expect(typeof m.int_id).toBe('string');
      expect(truth.get(m.int_id)!.message.crc).toBe(BigInt(m.crc));
    }
    expect(messages.some((m) => typeof m.crc === 'bigint')).toBe(true);
    expect(messages.some((m) => BigInt(m.int_id) > 2n ** 53n)).toBe(true);
    expect(((await c.getAnswers({ hour: 168, cnt: 10000 })) as any[]).length).toBe(sandbox.world.repliesAt('acme', T0).length);
    expect(((await c.getStat({ start: '10.06.2026', end: '10.06.2026' })) as any[])[0]).toMatchObject({ login: 'acme', currency: 'RUB' });
    expect(((await c.getPrice()) as any).zones).toHaveLength(4);
    expect(await c.getOperators(['79161234567'])).toEqual([{ phone: '79161234567', country: 'Россия', operator: 'МТС', region: 'Москва', mcc: '250', mnc: '01', tz: 3 }]);
    expect(await c.getOperators(['79991234567'])).toEqual([{ phone: '79991234567', error_code: 3 }]);
    expect(await c.getShortLink({ id: 999 })).toBeUndefined();
    // Error 3 on the history is an empty page, not a failure.
    expect(await c.getMessages({ phone: '79990000000' })).toEqual([]);
    const rows = await ledgerRows();
    expect(rows.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'error', 'error', 'error']);
    expect(rows.every((r) => !/psw|apikey|login/.test(r.fingerprint))).toBe(true);
    expect(sandbox.requests.every((r) => r.method === 'POST')).toBe(true);
  });

  it('authenticates with an API key alone', async () => {
    const c = client({ account: account({ login: undefined, password: undefined, apikey: APIKEY }) });
    expect(((await c.getPrice()) as any).mail).toBe('0.05');
  });

  it('keeps two clients on separate pools within 30 history requests an hour and 3 identical a minute', async () => {
    const a = client();
    const b = client({ db: await secondPool() });
    let counter = 0;
    let deferred = 0;
    for (let t = 0; t < 60 * MINUTE; t += 10_000) {
      clock.set(T0 + t);
      await Promise.all(
        [a, b].map(async (c) => {
          for (let i = 0; i < 3; i++) {
            try {
              // Every fourth call repeats the same parameters, to press on the identical rule too.
              await c.getMessages({ cnt: counter % 4 === 0 ? 7 : 100 + (counter % 200) });
            } catch (error) {
              if (!(error instanceof QuotaDeferredError)) throw error;
              expect(error.retryAt.getTime()).toBeGreaterThan(clock.now());
              deferred += 1;
            }
            counter += 1;
          }
        }),
      );
    }
    const history = sandbox.requests.filter((r) => r.endpoint === 'get_messages');
    expect(history).toHaveLength(30);
    expect(history.every((r) => r.outcome === 'ok')).toBe(true);
    expect(sandbox.quotas.violations).toEqual([]);
    expect(deferred).toBeGreaterThan(100);
    expect((await ledgerRows()).length).toBe(30);
  });

  it('keeps the identical-request and stats rules across clients', async () => {
    const a = client();
    const b = client({ db: await secondPool() });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).getPrice()));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof QuotaDeferredError)).toBe(true);
    const stats = await Promise.allSettled(['01', '02', '03', '04', '05'].map((d, i) => (i % 2 ? a : b).getStat({ start: `${d}.06.2026`, end: `${d}.06.2026` })));
    expect(stats.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    clock.advance(MINUTE + 2500);
    await expect(a.getPrice()).resolves.toBeDefined();
    expect(sandbox.quotas.violations).toEqual([]);
  });

  it('never has more requests in flight than the ledger allows, across clients', async () => {
    sandbox.faults.inject({ kind: 'slow', delayMs: 150, count: 100 });
    const a = client({ maxConcurrent: 3 });
    const b = client({ maxConcurrent: 3, db: await secondPool() });
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).getOperators([`7916${1000000 + i}`])));
    expect(sandbox.quotas.peakInFlight.get('acme')).toBeLessThanOrEqual(3);
    expect(sandbox.quotas.peakInFlight.get('acme')).toBeGreaterThanOrEqual(2);
    expect(sandbox.quotas.violations).toEqual([]);
  });

  it('tries a wrong password once and never again, in this process or another, until it changes', async () => {
    const wrong = account({ password: 'not-the-password' });
    await expect(client({ account: wrong }).getPrice()).rejects.toThrow(AccountStoppedError);
    await expect(client({ account: wrong }).getMessages({})).rejects.toThrow(/error 2.*not retrying/);
    await expect(client({ account: wrong, db: await secondPool() }).getAnswers({})).rejects.toMatchObject({ code: 2 });
    expect(sandbox.requests.filter((r) => r.outcome === 'error 2')).toHaveLength(1);
    expect(sandbox.requests).toHaveLength(1);
    // Fixed credentials lift the hold.
    await expect(client().getPrice()).resolves.toBeDefined();
  });

  it('silences the whole account after error 4 for the cool-off, then resumes', async () => {
    sandbox.faults.inject({ kind: 'error', code: 4 });
    const c = client();
    const error = await c.getPrice().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountStoppedError);
    expect((error as AccountStoppedError).until!.getTime()).toBe(T0 + 35 * MINUTE);
    clock.advance(20 * MINUTE);
    await expect(c.getMessages({})).rejects.toMatchObject({ code: 4 });
    await expect(client({ db: await secondPool() }).getStat({ start: '01.06.2026', end: '01.06.2026' })).rejects.toMatchObject({ code: 4 });
    expect(sandbox.requests).toHaveLength(1);
    clock.advance(16 * MINUTE);
    await expect(c.getPrice()).resolves.toBeDefined();
  });

  it('fails error 1 loudly with the request fingerprint, without retrying', async () => {
    const error = (await client().request('get_messages', { start: '31.02.2026' }).catch((e: unknown) => e)) as SmscError;
    expect(error).toBeInstanceOf(SmscError);
    expect(error.code).toBe(1);
    expect(error.message).toContain('get.php?charset=utf-8&fmt=3&get_messages=1&start=31.02.2026');
    expect(sandbox.requests).toHaveLength(1);
  });

  it('retries 5xx, truncated bodies, plain-text errors and timeouts, then succeeds', async () => {
    const c = client({ timeoutMs: 300 });
    sandbox.faults.inject({ kind: 'http500', endpoint: 'get_messages' });
    expect(await c.getMessages({ cnt: 10 })).toHaveLength(10);
    sandbox.faults.inject({ kind: 'truncate', endpoint: 'get_messages' });
    expect(await c.getMessages({ cnt: 11 })).toHaveLength(11);
    sandbox.faults.inject({ kind: 'plainError', code: 9, endpoint: 'get_messages' });
    expect(await c.getMessages({ cnt: 12 })).toHaveLength(12);
    sandbox.faults.inject({ kind: 'slow', delayMs: 1000, endpoint: 'get_messages' });
    expect(await c.getMessages({ cnt: 13 })).toHaveLength(13);
    sandbox.faults.inject({ kind: 'reset', endpoint: 'get_messages' });
    expect(await c.getMessages({ cnt: 14 })).toHaveLength(14);
    expect((await ledgerRows()).map((r) => `${r.outcome}${r.error_code ?? r.http_status ?? ''}`)).toEqual([
      'failed500', 'ok', 'failed', 'ok', 'error9', 'ok', 'failed', 'ok', 'failed', 'ok',
    ]);
    expect(logLines.join('')).toContain('SMSC request failed, backing off');
  });

  it('reads error objects with keys the documentation does not list, and a bare OK where no data can be missed', async () => {
    const c = client();
    // {"error":…,"error_code":9,"id":34}: error 9 all the same, retried.
    sandbox.faults.inject({ kind: 'error', code: 9, fields: { id: 34 }, endpoint: 'get_price' });
    expect(((await c.getPrice()) as any).zones).toHaveLength(4);
    // Error 3 with an id: an empty history page.
    sandbox.faults.inject({ kind: 'error', code: 3, fields: { id: 35 }, endpoint: 'get_messages' });
    expect(await c.getMessages({ cnt: 5 })).toEqual([]);
    // A bare OK to get_answers carries no reply: an empty page.
    sandbox.faults.inject({ kind: 'bareOk', endpoint: 'get_answers' });
    expect(await c.getAnswers({ hour: 1 })).toEqual([]);
    // Where a list or data is needed, it says what came instead of calling it empty.
    sandbox.faults.inject({ kind: 'bareOk', endpoint: 'get_messages' });
    await expect(c.getMessages({ cnt: 6 })).rejects.toThrow('SMSC answered get_messages with a bare "OK" where a list was expected');
    sandbox.faults.inject({ kind: 'bareOk', endpoint: 'tinyurls' });
    await expect(c.getShortLink({ id: 145142 })).rejects.toThrow('SMSC answered tinyurls with a bare "OK" where data was expected');
    expect((await ledgerRows()).map((r) => `${r.endpoint}:${r.outcome}${r.error_code ?? ''}`)).toEqual([
      'get_price:error9', 'get_price:ok', 'get_messages:error3', 'get_answers:ok', 'get_messages:ok', 'tinyurls:ok',
    ]);
  });

  it('cuts off an answer larger than SMSC_MAX_ANSWER_MB while it streams in, and does not ask again', async () => {
    const MB = 1_048_576;
    const c = client({ maxAnswerBytes: MB });
    sandbox.faults.inject({ kind: 'oversized', sizeMb: 70, endpoint: 'get_messages' });
    const error = await c.getMessages({ cnt: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnswerTooLargeError);
    expect((error as Error).message).toMatch(/^SMSC's answer to get\.php\?charset=utf-8&cnt=10&.* is larger than SMSC_MAX_ANSWER_MB \(1 MB\) and was cut off unread.*not retrying$/);
    expect(sandbox.requests.filter((r) => r.endpoint === 'get_messages')).toHaveLength(1);
    // The connection was dropped after the first megabyte: the emulator could not send the 70.
    expect(sandbox.faults.oversizedBytesSent).toBeLessThan(16 * MB);
    // So is one that declares its size (Content-Length) up front.
    sandbox.faults.inject({ kind: 'rewrite', endpoint: 'get_messages', rewrite: (rows) => [...(rows as unknown[]), { pad: 'x'.repeat(2 * MB) }] });
    await expect(c.getMessages({ cnt: 11 })).rejects.toThrow(AnswerTooLargeError);
    // A 1000-row page is far below the default limit.
    expect(await client().getMessages({ cnt: 1000 })).toHaveLength(1000);
  });

  it('survives an error-9 burst within the quota as time passes', async () => {
    clock.setSpeed(1200); // 20 virtual minutes per real second: back-offs span virtual minutes.
    sandbox.faults.inject({ kind: 'error', code: 9, count: 5, endpoint: 'get_messages' });
    const c = new SmscClient({ account: account(), ledger: new QuotaLedger(database.warehouse.db, clock), logger, clock, retries: 8, minBackoffMs: 60, maxBackoffMs: 200 });
    clients.push(c);
    expect(await c.getMessages({ cnt: 5 })).toHaveLength(5);
    const sent = sandbox.requests.filter((r) => r.endpoint === 'get_messages').map((r) => r.at);
    expect(sent).toHaveLength(6);
    for (let i = 3; i < sent.length; i++) expect(sent[i]! - sent[i - 3]!).toBeGreaterThan(MINUTE);
    expect(sandbox.quotas.violations).toEqual([]);
  });

  it('prunes ledger rows older than the retention, keeping the recent ones', async () => {
    const old = { account: 'acme', quota_key: 'acme', endpoint: 'get_price', fingerprint: 'get.php?old', outcome: 'ok', process: 'test' };
    await database.warehouse.db
      .insertInto('smsc_internal.api_requests')
      .values([
        { ...old, sent_at: new Date(T0 - 8 * 24 * 3_600_000) },
        { ...old, sent_at: new Date(T0 - 6 * 24 * 3_600_000) },
      ])
      .execute();
    await client().getPrice();
    expect((await ledgerRows()).map((r) => new Date(r.sent_at).getTime())).toEqual([T0 - 6 * 24 * 3_600_000, T0]);
  });

  it('reports an unreachable SMSC as a network failure, not as a spent quota', async () => {
    const c = client({ account: account({ baseUrl: 'http://127.0.0.1:9' }), retries: 6 });
    const error = await c.getPrice().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/cannot connect to SMSC.*ECONNREFUSED/);
    // It stopped at the identical-request budget: three attempts in the frozen minute.
    expect((await ledgerRows()).map((r) => r.outcome)).toEqual(['failed', 'failed', 'failed']);
  });

  it('falls over to a backup host when the main one cannot be connected to', async () => {
    const c = client({ account: account({ baseUrl: 'http://127.0.0.1:9' }), fallbackBaseUrls: [sandbox.url] });
    expect(((await c.getPrice()) as any).zones).toHaveLength(4);
  });
});
