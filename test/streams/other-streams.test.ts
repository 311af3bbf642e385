// Statistics, tariffs, operators and short links end to end, emulator + real PostgreSQL (or
// PGlite): the warehouse equals the truth, a re-run changes nothing, quotas hold.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupOperator } from '../../src/sandbox/numbering.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { addDaysText, moneyText, smscDay, zoneDay, zoneDayStart } from '../helpers/oracle.ts';
import { T0, testSandbox } from '../helpers/sandbox.ts';
import { sandboxConfig, syncOnce } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
const TZ = 'Europe/Moscow';

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('other_streams');
  sandbox = await testSandbox({ world: { historyDays: 70, futureDays: 3, messagesPerDay: 400 } });
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
  expect(sandbox.quotas.violations).toEqual([]);
});

const db = () => database.warehouse.db;
const dayStart = (day: string) => zoneDayStart(day, TZ);
/** At most `limit` of the times in any window of `span`. */
const maxInWindow = (times: number[], span: number) => Math.max(0, ...times.map((t) => times.filter((u) => u > t - span && u <= t).length));

/** The main balance alone (SMSC_STATS_ELECTRONIC=false): one get_stat request a day. */
const MAIN_ONLY = { statsElectronic: false } as const;

describe('stats', () => {
  it('backfills 60 days one request a day within 3 requests a minute, then equals the truth per login and day', async () => {
    const since = new Date(T0 - 60 * DAY);
    const outcomes: string[] = [];
    for (let run = 0; run < 100; run++) {
      const [s] = await syncOnce(sandbox, database.warehouse, { streams: ['stats'], since: run === 0 ? since : undefined, config: MAIN_ONLY });
      outcomes.push(s!.outcome);
      if (s!.outcome === 'succeeded') break;
      expect(s!.outcome).toBe('deferred');
      sandbox.clock.advance(20_000);
    }
    expect(outcomes.at(-1)).toBe('succeeded');
    expect(outcomes.filter((o) => o === 'deferred').length).toBeGreaterThan(15);
    const statTimes = sandbox.requests.filter((r) => r.endpoint === 'get_stat').map((r) => r.at);
    expect(maxInWindow(statTimes, MINUTE)).toBe(3);

    const now = sandbox.clock.now();
    const today = zoneDay(now, TZ);
    const first = zoneDay(since.getTime(), TZ);
    const rows = await db().selectFrom('smsc.daily_stats').selectAll().orderBy('day').orderBy('login').execute();
    const days = [...new Set(rows.map((r) => String(r.day)))];
    expect(days[0]).toBe(first);
    expect(days.at(-1)).toBe(today);
    // One request a day: every day from the first to today, each with the account and its two sub-clients.
    const expectedDays: string[] = [];
    for (let d = first; d <= today; d = addDaysText(d, 1)) expectedDays.push(d);
    expect(days).toEqual(expectedDays);
    expect(rows.length).toBe(expectedDays.length * 3);
    // One request a day, plus yesterday and today read again once the walk back is done.
    expect(statTimes.length).toBe(expectedDays.length + 2);
    // Days that can no longer change equal the truth to the kopeck.
    const byKey = new Map(rows.map((r) => [`${String(r.day)}|${r.login}`, r]));
    for (const day of expectedDays.slice(0, -3)) {
      for (const truth of sandbox.world.stats('demo', dayStart(day), dayStart(day), now, 'main')) {
        const row = byKey.get(`${day}|${truth.login}`)!;
        expect({ day, login: row.login, messages: row.messages, credit: row.credit, debit: row.debit, currency: row.currency }).toEqual({
          day,
          login: truth.login,
          messages: truth.sms,
          credit: moneyText(truth.credit),
          debit: moneyText(truth.debit),
          currency: 'RUB',
        });
      }
    }
    const state = await db().selectFrom('smsc_internal.sync_state').select('cursor').where('stream', '=', 'stats').executeTakeFirstOrThrow();
    expect(state.cursor).toMatchObject({ oldest: first, newest: today });
    expect((state.cursor as { target?: string }).target).toBeUndefined();
  });

  it('re-reads today and yesterday on the next run and changes nothing else', async () => {
    // Days read in the last 10 minutes are not asked again (a resumed run skips them).
    sandbox.clock.advance(11 * MINUTE);
    const statRequests = () => sandbox.requests.filter((r) => r.endpoint === 'get_stat');
    const now = sandbox.clock.now();
    const today = zoneDay(now, TZ);
    const yesterday = addDaysText(today, -1);
    // What changes: each (day, login) row of today and yesterday whose figures in the truth now
    // differ from the truth when that day was last read (messages sent and costs corrected
    // since; the sub-clients' partial day).
    const lastRead = (day: string) =>
      statRequests()
        .filter((r) => r.outcome === 'ok' && new URLSearchParams(r.fingerprint.split('?')[1]).get('start') === smscDay(day))
        .at(-1)!.at;
    const changed = [yesterday, today].flatMap((day) => {
      const then = sandbox.world.stats('demo', dayStart(day), dayStart(day), lastRead(day), 'main');
      return sandbox.world
        .stats('demo', dayStart(day), dayStart(day), now, 'main')
        .filter((r, i) => [r.login, r.sms, r.credit, r.debit].join() !== [then[i]!.login, then[i]!.sms, then[i]!.credit, then[i]!.debit].join())
        .map((r) => `${day}|${r.login}`);
    });
    expect(changed.length).toBeGreaterThan(0);
    const before = statRequests().length;
    const [s] = await syncOnce(sandbox, database.warehouse, { streams: ['stats'], config: MAIN_ONLY });
    expect(s!.outcome).toBe('succeeded');
    expect(statRequests().length - before).toBe(2);
    expect(s!.inserted).toBe(0);
    expect(s!.updated).toBe(changed.length);
  });
});

describe('stats of the electronic balance', () => {
  it('are kept beside the main balance on the defaults (SMSC_STATS_ELECTRONIC=auto)', async () => {
    sandbox.clock.advance(MINUTE);
    for (let run = 0; run < 5; run++) {
      const [s] = await syncOnce(sandbox, database.warehouse, { streams: ['stats'] });
      if (s!.outcome === 'succeeded') break;
      sandbox.clock.advance(30_000);
    }
    const now = sandbox.clock.now();
    const yesterday = addDaysText(zoneDay(now, TZ), -1);
    const rows = await db().selectFrom('smsc.daily_stats').selectAll().where('balance', '=', 'electronic').where('login', '=', 'demo').execute();
    const row = rows.find((r) => String(r.day) === yesterday)!;
    const truth = sandbox.world.stats('demo', dayStart(yesterday), dayStart(yesterday), now, 'electronic')[0]!;
    expect({ messages: row.messages, credit: row.credit }).toEqual({ messages: truth.sms, credit: moneyText(truth.credit) });
    expect(truth.sms).toBeGreaterThan(0);
  });
});

describe('tariffs', () => {
  const priceOn = async (zone: string, at: Date) =>
    (
      await sql<{ api: string }>`SELECT api::text FROM smsc.tariff_zones
        WHERE account = 'demo' AND zone = ${zone} AND valid_from <= ${at} AND (valid_to IS NULL OR valid_to > ${at})`.execute(db())
    ).rows.map((r) => r.api);

  it('keeps prices with history: a change closes one row and opens one, so the price on a day is one query', async () => {
    const [first] = await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'] });
    expect(first!.outcome).toBe('succeeded');
    const prices = sandbox.world.account('demo')!.pricesAt(sandbox.clock.now());
    const zones = await db().selectFrom('smsc.tariff_zones').selectAll().orderBy('zone').execute();
    expect(zones.map((z) => [z.zone, z.name, z.api, z.mass, z.valid_to])).toEqual(
      [...prices.zones].map(([zone, p]) => [String(zone), ['', 'Россия', 'Украина', 'Казахстан', 'Весь мир'][zone], moneyText(p.api), moneyText(p.mass), null]),
    );
    const codes = await db().selectFrom('smsc.tariff_operator_prices').select(['mccmnc', 'mnc', 'cost']).orderBy('mccmnc').execute();
    expect(codes).toEqual([...prices.codes].sort().map(([mccmnc, cost]) => ({ mccmnc, mnc: mccmnc.slice(3), cost: moneyText(cost) })));
    expect((await db().selectFrom('smsc.tariff_email_prices').select('price').execute()).map((r) => r.price)).toEqual([moneyText(prices.mail)]);

    sandbox.clock.advance(DAY);
    const [same] = await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'] });
    expect([same!.inserted, same!.updated]).toEqual([0, 0]);

    const before = new Date(sandbox.clock.now());
    sandbox.clock.advance(MINUTE);
    sandbox.world.setPrice('demo', sandbox.clock.now(), { zone: 2, field: 'api', value: 333 });
    sandbox.world.setPrice('demo', sandbox.clock.now(), { mccmnc: '25099', value: 157 });
    sandbox.clock.advance(DAY);
    const [changed] = await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'] });
    expect([changed!.inserted, changed!.updated]).toEqual([2, 2]);
    expect(await priceOn('2', before)).toEqual([moneyText(prices.zones.get(2)!.api)]);
    expect(await priceOn('2', new Date(sandbox.clock.now()))).toEqual(['3.33']);
    expect(await priceOn('1', before)).toEqual(await priceOn('1', new Date(sandbox.clock.now())));
    const history = await db().selectFrom('smsc.tariff_operator_prices').select(['cost', 'valid_to']).where('mccmnc', '=', '25099').orderBy('valid_from').execute();
    expect(history.map((h) => [h.cost, h.valid_to === null])).toEqual([
      ['1.55', false],
      ['1.57', true],
    ]);
  });
});

describe('tariffs named twice in one price list', () => {
  it('applies the same prices once and refuses different ones, keeping the price held; a repeat the next day is not new', async () => {
    const current = async () =>
      (await db().selectFrom('smsc.tariff_operator_prices').select(['mccmnc', 'cost']).where('valid_to', 'is', null).orderBy('mccmnc').execute()).map((r) => [r.mccmnc, r.cost]);
    const held = await current();
    // Zone 1 twice with its prices; code 25001 twice with two different costs.
    const rewrite = (answer: unknown) => {
      const a = answer as { zones: { zone: string }[]; codes: { mccmnc: string; cost: string }[] };
      return { ...a, zones: [...a.zones, { ...a.zones.find((z) => z.zone === '1')! }], codes: [...a.codes, { mccmnc: '25001', cost: '9.99' }] };
    };
    sandbox.faults.inject({ kind: 'rewrite', endpoint: 'get_price', rewrite, count: 2 });
    sandbox.clock.advance(DAY);
    const [first] = await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'] });
    expect(first!.outcome).toBe('succeeded');
    expect(first!.rejected).toBe(2);
    const prices = sandbox.world.account('demo')!.pricesAt(sandbox.clock.now());
    // 25001 keeps the cost held; every other code is as SMSC says; zone 1 has one current row.
    expect(await current()).toEqual([...prices.codes].sort().map(([mccmnc, cost]) => [mccmnc, mccmnc === '25001' ? held.find(([m]) => m === '25001')![1] : moneyText(cost)]));
    expect((await db().selectFrom('smsc.tariff_zones').select('api').where('zone', '=', '1').where('valid_to', 'is', null).execute()).map((r) => r.api)).toEqual([
      moneyText(prices.zones.get(1)!.api),
    ]);
    const reason = 'code 25001: given 2 times in one price list with different prices; the price held is kept';
    const rejected = () => db().selectFrom('smsc.rejected_rows').select(['reason', 'times_seen']).where('stream', '=', 'tariffs').orderBy('id').execute();
    expect(await rejected()).toEqual([
      { reason, times_seen: 1 },
      { reason, times_seen: 1 },
    ]);

    sandbox.clock.advance(DAY);
    const [second] = await syncOnce(sandbox, database.warehouse, { streams: ['tariffs'] });
    expect([second!.outcome, second!.rejected]).toEqual(['succeeded', 0]);
    expect(await rejected()).toEqual([
      { reason, times_seen: 2 },
      { reason, times_seen: 2 },
    ]);
  });
});

describe('operators', () => {
  it('looks up every reply sender and unknown recipient in batches, within 100 requests a minute, once per TTL', async () => {
    await syncOnce(sandbox, database.warehouse, { streams: ['outbound', 'inbound'], since: new Date(T0 - 5 * DAY) });
    const wanted = (
      await sql<{ phone: string }>`SELECT phone FROM smsc.inbound_messages UNION SELECT phone FROM smsc.outbound_messages WHERE channel = 'sms' AND operator IS NULL ORDER BY phone`.execute(db())
    ).rows.map((r) => r.phone);
    expect(wanted.length).toBeGreaterThan(100);
    const before = sandbox.requests.filter((r) => r.endpoint === 'get_operator').length;
    // One number a request, to press on the 100-a-minute rule.
    const outcomes: string[] = [];
    for (let run = 0; run < 10; run++) {
      const [s] = await syncOnce(sandbox, database.warehouse, { streams: ['operators'], streamOptions: { operatorBatch: 1 } });
      outcomes.push(s!.outcome);
      if (s!.outcome === 'succeeded') break;
      sandbox.clock.advance(30_000);
    }
    expect(outcomes).toContain('deferred');
    expect(outcomes.at(-1)).toBe('succeeded');
    const times = sandbox.requests.filter((r) => r.endpoint === 'get_operator').slice(before).map((r) => r.at);
    expect(times.length).toBe(wanted.length);
    expect(maxInWindow(times, MINUTE)).toBe(100);

    const rows = await db().selectFrom('smsc.phone_operators').selectAll().orderBy('phone').execute();
    expect(rows.map((r) => r.phone)).toEqual(wanted);
    for (const r of rows) {
      const op = lookupOperator(r.phone);
      expect({ phone: r.phone, found: r.found, operator: r.operator, mnc: r.mnc }).toEqual({ phone: r.phone, found: !!op, operator: op?.operator ?? null, mnc: op?.mnc ?? null });
    }
    expect(rows.some((r) => !r.found)).toBe(true);

    // Within the TTL nothing is asked again, not even the unknown numbers; past it, all are.
    const asked = sandbox.requests.length;
    await syncOnce(sandbox, database.warehouse, { streams: ['operators'] });
    expect(sandbox.requests.length).toBe(asked);
    sandbox.clock.advance(31 * DAY);
    const [again] = await syncOnce(sandbox, database.warehouse, { streams: ['operators'], config: { operatorTtlDays: 30 } });
    expect(again!.outcome).toBe('succeeded');
    expect(sandbox.requests.filter((r) => r.endpoint === 'get_operator').length - before).toBe(wanted.length + Math.ceil(wanted.length / 50));
  });
});

describe('operators echoing the number in another form', () => {
  it('stores each answer under the number asked, not as "not found"', async () => {
    // SMSC answers 79161234567 as +79161234567.
    sandbox.faults.inject({
      kind: 'rewrite',
      endpoint: 'get_operator',
      rewrite: (answer) => (Array.isArray(answer) ? answer.map((e: { phone: string }) => ({ ...e, phone: `+${e.phone}` })) : answer),
      count: Infinity,
    });
    sandbox.clock.advance(MINUTE);
    const before = await db().selectFrom('smsc.phone_operators').select(['phone', 'found', 'operator', 'mnc']).orderBy('phone').execute();
    expect(before.length).toBeGreaterThan(100);
    // Every lookup is stale at a TTL of a microsecond.
    const [s] = await syncOnce(sandbox, database.warehouse, { streams: ['operators'], config: { operatorTtlDays: 1e-11 } });
    sandbox.faults.clear();
    expect([s!.outcome, s!.rejected]).toEqual(['succeeded', 0]);
    const rows = await db().selectFrom('smsc.phone_operators').select(['phone', 'found', 'operator', 'mnc', 'looked_up_at', 'raw']).orderBy('phone').execute();
    expect(rows.map((r) => r.phone)).toEqual(before.map((r) => r.phone));
    for (const r of rows) {
      const op = lookupOperator(r.phone);
      expect({ phone: r.phone, found: r.found, operator: r.operator, mnc: r.mnc }).toEqual({ phone: r.phone, found: !!op, operator: op?.operator ?? null, mnc: op?.mnc ?? null });
      expect(new Date(r.looked_up_at).getTime()).toBe(sandbox.clock.now());
    }
    // The answer is kept as it came.
    expect(rows.filter((r) => (r.raw as { phone?: string }).phone === `+${r.phone}`).length).toBeGreaterThan(100);
  });
});

describe('short links', () => {
  it('snapshots each configured link once a day, updating the same day, warning about unknown links', async () => {
    const account = { ...sandboxConfig(sandbox).accounts[0]!, shortLinks: [{ id: 145142 }, { link: 'https://clinic.example/visit' }, { id: 999 }] };
    const run = () => syncOnce(sandbox, database.warehouse, { streams: ['short_links'], config: { accounts: [account] } });
    const [s] = await run();
    expect(s!.outcome).toBe('succeeded');
    expect(s!.warnings).toEqual(['short link id 999 is not known to SMSC (error 3): check SMSC_SHORT_LINKS']);
    const today = zoneDay(sandbox.clock.now(), TZ);
    const check = async () => {
      const rows = await db().selectFrom('smsc.short_link_clicks').selectAll().where('day', '=', today).orderBy('link_id').execute();
      const links = sandbox.world.account('demo')!.spec.shortLinks!;
      expect(rows.map((r) => [r.link_id, r.link, r.cnt, r.cnt_day, r.cnt_yes, r.cnt_mon, r.cnt_pmon])).toEqual(
        links.map((l) => {
          const c = sandbox.world.shortLinkCounters('demo', l, sandbox.clock.now());
          return [String(l.id), l.short, c.cnt, c.cntDay, c.cntYes, c.cntMon, c.cntPmon];
        }),
      );
    };
    await check();
    sandbox.clock.advance(2 * 3600_000);
    const [later] = await run();
    expect(later!.inserted).toBe(0);
    await check();
    const total = await db().selectFrom('smsc.short_link_clicks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(total.n)).toBe(2);
  });
});

describe('balance', () => {
  // A world and warehouse of its own: the clock of the file's is past its world's end by now.
  let balanceSandbox: Sandbox;
  let balanceDatabase: TestDatabase;
  beforeAll(async () => {
    balanceDatabase = await migratedDatabase('balance');
    balanceSandbox = await testSandbox({ world: { historyDays: 5, futureDays: 12, messagesPerDay: 200 } });
  });
  afterAll(async () => {
    await balanceSandbox.stop();
    await balanceDatabase.drop();
    expect(balanceSandbox.quotas.violations).toEqual([]);
  });

  it('samples balance.php into balance_history, equal to the emulator balance as messages and payments move it', async () => {
    const sandbox = balanceSandbox;
    const database = balanceDatabase;
    const db = () => database.warehouse.db;
    const account = sandbox.world.account('demo')!;
    const payment = account.payments.find((p) => p.at > sandbox.clock.now() + DAY && p.at < T0 + 12 * DAY);
    expect(payment).toBeDefined();
    // Samples six hours apart, and a second before and after a payment.
    const instants = [0, 6, 12].map((h) => sandbox.clock.now() + h * 60 * MINUTE);
    instants.push(payment!.at - 1000, payment!.at + 1000);
    const requests = () => sandbox.requests.filter((r) => r.endpoint === 'balance').length;
    const before = requests();
    for (const at of instants.sort((a, b) => a - b)) {
      sandbox.clock.set(at);
      const [run] = await syncOnce(sandbox, database.warehouse, { streams: ['balance'] });
      expect([run!.outcome, run!.inserted, run!.requests]).toEqual(['succeeded', 1, 1]);
    }
    // The same instant again changes nothing.
    const [again] = await syncOnce(sandbox, database.warehouse, { streams: ['balance'] });
    expect([again!.inserted, again!.updated]).toEqual([0, 0]);
    expect(requests() - before).toBe(instants.length + 1);
    const rows = await sql<{ sampled_at: Date; balance: string; currency: string }>`
      SELECT sampled_at, balance::text, currency FROM smsc.balance_history WHERE account = 'demo' ORDER BY sampled_at`.execute(db());
    expect(rows.rows).toEqual(instants.map((at) => ({ sampled_at: new Date(at), balance: moneyText(sandbox.world.balance('demo', at)), currency: 'RUB' })));
    expect(new Set(rows.rows.map((r) => r.balance)).size).toBe(instants.length);
    // The payment raised it (by the payment, less the messages of those two seconds).
    const [before1, after1] = rows.rows.slice(-2).map((r) => Math.round(Number(r.balance) * 100));
    const sentBetween = sandbox.world.truth('demo', payment!.at + 1000).filter((v) => v.message.sendTs > payment!.at - 1000 && v.message.balance === 'main');
    expect(after1! - before1!).toBe(payment!.amount - sentBetween.reduce((s, v) => s + v.cost, 0));
    const [acc] = (await sql<{ currency: string }>`SELECT currency FROM smsc.accounts WHERE account = 'demo'`.execute(db())).rows;
    expect(acc!.currency).toBe('RUB');
  });
});
