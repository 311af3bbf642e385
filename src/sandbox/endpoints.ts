// The six data endpoints of smsc-api.md and the balance, as the emulator answers them. Where the documentation
// is silent, each assumption is written beside the code that makes it.
import { EMAIL_FORMAT } from '../smsc/codes.ts';
import type { Endpoint } from '../smsc/endpoints.ts';
import { formatDateTime, localFields, parseDateTime, startOfLocalDay, startOfNextLocalDay } from '../time/zoned-time.ts';
import { lookupOperator } from './numbering.ts';
import { type Rendered, renderError, renderRows, type Row, json, toJsonObject } from './render.ts';
import type { WorldAccount, World, WorldMessage } from './world.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** "The longest period that can be asked for is half a year." */
const HALF_YEAR_DAYS = 183;

/** An error reply with SMSC's code. */
export class ApiError extends Error {
  readonly code: number;
  constructor(code: number, description: string) {
    super(description);
    this.code = code;
  }
}

export interface EndpointContext {
  readonly world: World;
  readonly account: WorldAccount;
  readonly params: URLSearchParams;
  readonly now: number;
  readonly fmt: number;
}

/** Endpoint name, as used in quotas, faults and request logs. */
export type EndpointName = Endpoint;

/** Which endpoint a request to `/sys/<script>` asks for, or undefined when none. */
export function endpointOf(script: string, params: URLSearchParams): EndpointName | undefined {
  if (script === 'get.php') {
    for (const name of ['get_messages', 'get_answers', 'get_stat', 'get_price'] as const) {
      if (params.get(name) === '1') return name;
    }
  }
  if (script === 'info.php' && params.get('get_operator') === '1') return 'get_operator';
  if (script === 'tinyurls.php' && params.get('get') === '1') return 'tinyurls';
  if (script === 'balance.php') return 'balance';
  return undefined;
}

export function handle(endpoint: EndpointName, ctx: EndpointContext): Rendered {
  try {
    switch (endpoint) {
      case 'get_messages':
        return getMessages(ctx);
      case 'get_answers':
        return getAnswers(ctx);
      case 'get_stat':
        return getStat(ctx);
      case 'get_price':
        return getPrice(ctx);
      case 'get_operator':
        return getOperator(ctx);
      case 'tinyurls':
        return getShortLink(ctx);
      case 'balance':
        return getBalance(ctx);
    }
  } catch (error) {
    if (error instanceof ApiError) return renderError(error.code, error.message, ctx.fmt);
    throw error;
  }
}

const MESSAGE_SHAPE = {
  fmt0Keys: { status: 'Status', last_date: 'check_time', id: 'ID' },
  fmt0Omit: ['last_timestamp', 'send_timestamp', 'flag'],
  fmt1Columns: [
    'status', 'last_timestamp', 'err', 'send_timestamp', 'phone', 'mccmnc', 'country', 'operator', 'region', 'cost',
    'sender_id', 'status_name', 'message', 'type', 'id', 'int_id', 'sms_cnt', 'format', 'crc',
  ],
  xmlElement: 'sms',
} as const;

function getMessages({ world, account, params, now, fmt }: EndpointContext): Rendered {
  const tz = account.spec.timezone;
  // Assumption: without `cnt` the service answers up to 100 rows; above 1000 it caps at 1000.
  const cnt = Math.min(1000, positiveInt(params, 'cnt') ?? 100);
  const format = optionalInt(params, 'format') ?? 0;
  if (format !== 0 && format !== EMAIL_FORMAT) throw new ApiError(1, 'format must be 0 (SMS) or 8 (e-mail)');
  const start = optionalDate(params, 'start', tz);
  const end = optionalDate(params, 'end', tz);
  // Assumption: without `start` the period is the last half year.
  const from = start ?? startOfLocalDay(now - HALF_YEAR_DAYS * DAY, tz);
  // Local days, which a daylight-saving switch makes 23 or 25 hours long.
  const to = end !== undefined ? startOfNextLocalDay(end, tz) : now + 1;
  if (to <= from) throw new ApiError(1, 'end is before start');
  if (calendarDays(from, to - 1, tz) > HALF_YEAR_DAYS + 1) throw new ApiError(1, 'the period is longer than half a year');
  const prevId = optionalBigInt(params, 'prev_id');
  const targets = listParam(params, format === EMAIL_FORMAT ? 'email' : 'phone');

  const rows: Row[] = [];
  // fmt=3: rows as JSON text, reused while a message's view stays the same (clients re-read
  // the newest page every few minutes; rendering dates dominates the emulator's time).
  const jsonRows: string[] = [];
  let i = account.firstMessageAtOrAfter(Math.min(to, now + 1)) - 1;
  if (prevId !== undefined) i = Math.min(i, account.firstMessageWithIntIdAtLeast(prevId) - 1);
  for (; i >= 0 && rows.length + jsonRows.length < cnt; i--) {
    const m = account.messages[i]!;
    if (m.sendTs < from) break;
    if (prevId !== undefined && m.intId >= prevId) continue;
    if ((m.format === EMAIL_FORMAT) !== (format === EMAIL_FORMAT)) continue;
    if (targets && !targets.has(normalizeTarget(m.phone))) continue;
    const v = world.view(m, now)!;
    const cached = fmt === 3 ? renderedRows.get(m) : undefined;
    if (cached && cached.lastTs === v.lastTs && cached.status === v.status && cached.cost === v.cost) {
      jsonRows.push(cached.json);
      continue;
    }
    const op = m.operator;
    const unknownMccmnc = m.format === EMAIL_FORMAT ? '' : m.phone.startsWith('79400') ? '0' : '';
    rows.push([
      ['status', v.status],
      ['last_date', formatDateTime(v.lastTs, tz)],
      ['last_timestamp', Math.floor(v.lastTs / 1000)],
      ['err', v.err],
      ['send_date', formatDateTime(m.sendTs, tz)],
      ['send_timestamp', Math.floor(m.sendTs / 1000)],
      ['phone', m.phone],
      ['cost', money(v.cost)],
      ['sender_id', m.sender],
      ['status_name', v.statusName],
      ['message', m.text],
      ['mccmnc', op ? op.mcc + op.mnc : unknownMccmnc],
      ['country', op?.country ?? ''],
      ['operator', op?.operator ?? ''],
      ['region', op?.region ?? ''],
      ['type', m.type],
      ['id', m.id],
      ['int_id', m.intId.toString()],
      ['sms_cnt', m.parts],
      ['format', m.format],
      ['crc', m.crc],
      ['flag', 0],
    ]);
    if (fmt === 3) {
      const text = JSON.stringify(toJsonObject(rows.pop()!));
      jsonRows.push(text);
      if (now - m.sendTs < CACHE_AGE_MS) renderedRows.set(m, { status: v.status, lastTs: v.lastTs, cost: v.cost, json: text });
    }
  }
  // An empty history is error 3, not [] (observed in public client code).
  if (rows.length + jsonRows.length === 0) throw new ApiError(3, 'messages not found');
  if (fmt === 3) return { body: `[${jsonRows.join(',')}]`, contentType: 'application/json' };
  return renderRows(rows, fmt, MESSAGE_SHAPE);
}

/** Rendered fmt=3 rows of recent messages (older ones are read rarely), with the view they show. */
const renderedRows = new WeakMap<WorldMessage, { status: number; lastTs: number; cost: number; json: string }>();
const CACHE_AGE_MS = 4 * DAY;

function getAnswers({ account, params, now, fmt }: EndpointContext): Rendered {
  const tz = account.spec.timezone;
  // Assumption: without `cnt` up to 100 rows; `cnt` above 10000 and `hour` above 168 are capped.
  const cnt = Math.min(10_000, positiveInt(params, 'cnt') ?? 100);
  const hour = positiveInt(params, 'hour');
  const afterId = optionalInt(params, 'after_id');
  // Without `hour` the period is the current day ("first 10 inbound of the current day"),
  // except with `after_id`, where every reply the service still keeps (7 days) counts.
  const from =
    hour !== undefined ? now - Math.min(168, hour) * HOUR : afterId !== undefined ? now - 168 * HOUR : startOfLocalDay(now, tz);
  const toPhones = listParam(params, 'to_phone');
  const rows: Row[] = [];
  for (const r of account.replies) {
    if (rows.length >= cnt) break;
    if (r.receivedTs > now) break;
    if (r.receivedTs <= from || r.receivedTs <= now - 168 * HOUR) continue;
    if (afterId !== undefined && r.id <= afterId) continue;
    if (toPhones && !toPhones.has(normalizeTarget(r.toPhone))) continue;
    rows.push([
      ['id', r.id],
      ['received', formatDateTime(r.receivedTs, tz)],
      ['phone', r.phone],
      ['message', r.text],
      ['to_phone', r.toPhone],
      ['sent', formatDateTime(r.sentTs, tz)],
    ]);
  }
  // Replies with no rows are answered with [] (observed), not error 3.
  return renderRows(rows, fmt, { fmt1Columns: ['id', 'received', 'phone', 'to_phone', 'sent', 'message'], xmlElement: 'sms' });
}

function getStat({ world, account, params, now, fmt }: EndpointContext): Rendered {
  const tz = account.spec.timezone;
  // Assumption: `start` is required (the documentation gives no default period).
  const start = optionalDate(params, 'start', tz);
  if (start === undefined) throw new ApiError(1, 'start is required');
  const end = optionalDate(params, 'end', tz) ?? startOfLocalDay(now, tz);
  if (end < start) throw new ApiError(1, 'end is before start');
  // Assumption: amounts are kept in the account's currency, so `mycur` changes nothing here.
  const balance = params.get('balance2') === '1' ? 'electronic' : 'main';
  const rows = world.stats(account.login, start, end, now, balance).map(
    (r): Row => [
      ['login', r.login],
      ['sms', String(r.sms)],
      ['credit', money(r.credit)],
      ['debit', money(r.debit)],
      ['currency', r.currency],
    ],
  );
  return renderRows(rows, fmt, { xmlElement: 'stat' });
}

function getPrice({ account, now, fmt }: EndpointContext): Rendered {
  const prices = account.pricesAt(now);
  const zones = [...prices.zones].map(([zone, p]) => {
    const name = ['', 'Россия', 'Украина', 'Казахстан', 'Весь мир'][zone] ?? `Зона ${zone}`;
    return { zone: String(zone), name, api: money(p.api), mass: money(p.mass), mms: money(p.mms), hlr: money(p.hlr), call: money(p.call) };
  });
  const codes = [...prices.codes].map(([mccmnc, cost]) => ({ mccmnc, cost: money(cost) }));
  const mail = money(prices.mail);
  if (fmt === 3) return json({ zones, codes, mail });
  if (fmt === 2) {
    const z = zones.map((p) => `<zone name="${p.name}" api="${p.api}" mass="${p.mass}" mms="${p.mms}" hlr="${p.hlr}" call="${p.call}">${p.zone}</zone>`);
    const c = codes.map((p) => `<code mccmnc="${p.mccmnc}" cost="${p.cost}"/>`);
    return { body: `<?xml version="1.0" encoding="utf-8"?>\n<result>${z.join('')}${c.join('')}<mail>${mail}</mail></result>`, contentType: 'text/xml' };
  }
  const rows: Row[] = zones.map((p) => Object.entries(p) as [string, string][]);
  const rendered = renderRows(rows, fmt);
  const tail = codes.map((c) => (fmt === 1 ? `${c.mccmnc},${c.cost}` : `mccmnc = ${c.mccmnc}, cost = ${c.cost}`));
  tail.push(fmt === 1 ? mail : `mail = ${mail}`);
  return { ...rendered, body: [rendered.body, ...tail].join('\n') };
}

/** balance.php: the main balance as a decimal string, with `cur=1` its currency too. */
function getBalance({ world, account, params, now, fmt }: EndpointContext): Rendered {
  const balance = money(world.balance(account.login, now));
  const currency = params.get('cur') === '1' ? account.spec.currency : undefined;
  if (fmt === 3) return json(currency ? { balance, currency } : { balance });
  if (fmt === 2) return { body: `<?xml version="1.0" encoding="utf-8"?>\n<result><balance>${balance}</balance>${currency ? `<currency>${currency}</currency>` : ''}</result>`, contentType: 'text/xml' };
  if (fmt === 1) return { body: currency ? `${balance},${currency}` : balance, contentType: 'text/plain' };
  return { body: currency ? `${balance}, ${currency}` : balance, contentType: 'text/plain' };
}

function getOperator({ params, fmt }: EndpointContext): Rendered {
  const phones = (params.get('phone') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (phones.length === 0) throw new ApiError(1, 'phone is required');
  const rowOf = (phone: string, withPhone: boolean): Row | undefined => {
    const op = lookupOperator(phone);
    if (!op) return undefined;
    // mcc and mnc come as strings so that MNC 01 keeps its zero.
    const row: [string, string | number][] = [
      ['country', op.country],
      ['operator', op.operator],
      ['region', op.region],
      ['mcc', op.mcc],
      ['mnc', op.mnc],
      ['tz', op.tz],
    ];
    return withPhone ? [['phone', phone], ...row] : row;
  };
  if (phones.length === 1) {
    const row = rowOf(phones[0]!, false);
    if (!row) throw new ApiError(3, 'operator not found');
    return renderRows([row], fmt, { xmlElement: 'info' }, true);
  }
  // Assumption: in a list, a number whose operator is unknown gets its own error object.
  const rows = phones.map((p): Row => rowOf(p, true) ?? [['phone', p], ['error', 'operator not found'], ['error_code', 3]]);
  return renderRows(rows, fmt, { xmlElement: 'info' });
}

function getShortLink({ world, account, params, now, fmt }: EndpointContext): Rendered {
  const id = optionalInt(params, 'id');
  const url = params.get('link');
  if (id === undefined && !url) throw new ApiError(1, 'id or link is required');
  const link = (account.spec.shortLinks ?? []).find((l) => (id !== undefined ? l.id === id : l.url === url || l.short === url));
  if (!link) throw new ApiError(3, 'link not found');
  const c = world.shortLinkCounters(account.login, link, now);
  const row: Row = [
    ['id', link.id],
    ['cnt', c.cnt],
    ['cnt_mon', c.cntMon],
    ['cnt_day', c.cntDay],
    ['cnt_yes', c.cntYes],
    ['cnt_pmon', c.cntPmon],
    ['link', link.short],
  ];
  return renderRows([row], fmt, { xmlElement: 'link' }, true);
}

/** Kopecks to SMSC's money text: 160 → "1.60". */
export function money(kopecks: number): string {
  const sign = kopecks < 0 ? '-' : '';
  const abs = Math.abs(kopecks);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function optionalInt(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new ApiError(1, `${name} must be a whole number`);
  return Number(text);
}

function positiveInt(params: URLSearchParams, name: string): number | undefined {
  const n = optionalInt(params, name);
  if (n === 0) throw new ApiError(1, `${name} must be positive`);
  return n;
}

function optionalBigInt(params: URLSearchParams, name: string): bigint | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new ApiError(1, `${name} must be a whole number`);
  return BigInt(text);
}

/** Calendar days in the zone from the day of `first` to the day of `last`, both counted. */
function calendarDays(first: number, last: number, tz: string): number {
  const day = (ms: number) => {
    const f = localFields(ms, tz);
    return Date.UTC(f.year, f.month - 1, f.day);
  };
  return (day(last) - day(first)) / DAY + 1;
}

function optionalDate(params: URLSearchParams, name: string, tz: string): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const at = /^\d{2}\.\d{2}\.\d{4}$/.test(text) ? parseDateTime(text, tz) : undefined;
  if (at === undefined) throw new ApiError(1, `${name} must be a date dd.mm.yyyy`);
  return at;
}

function listParam(params: URLSearchParams, name: string): Set<string> | undefined {
  const text = params.get(name);
  if (!text) return undefined;
  return new Set(text.split(',').map(normalizeTarget).filter(Boolean));
}

function normalizeTarget(value: string): string {
  const v = value.trim().toLowerCase();
  return v.includes('@') ? v : v.replace(/\D/g, '');
}
