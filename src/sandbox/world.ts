// The emulator's data: a seeded world of accounts, messages, replies, payments, tariffs and
// short links laid out over time. What an endpoint answers is the world seen at the clock's
// `now`: messages appear when sent, statuses settle and costs are corrected as time moves.
import { EMAIL_FORMAT, statusCode } from '../smsc/codes.ts';
import {
  fromLocalFields,
  localFields,
  startOfLocalDay,
  startOfNextLocalDay,
} from '../time/zoned-time.ts';
import { lookupOperator, OPERATORS, type Operator, UNKNOWN_PREFIXES, ZONES } from './numbering.ts';
import { mixSeed, Random } from './random.ts';
import { EMAIL_TEXTS, REPLY_TEXTS, SENDERS, SMS_TEXTS, smsParts } from './texts.ts';

/** The `message` of an incoming call among the replies. */
export const CALL_TEXT = '[CALL]';
/** Share of reply rows that are incoming calls. */
const CALL_SHARE = 0.05;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface SandboxShortLink {
  /** Id assigned on creation (the `id` parameter). */
  readonly id: number;
  /** The original full link (the `link` parameter). */
  readonly url: string;
  /** The short link returned in the `link` field. */
  readonly short: string;
}

export interface SandboxAccountSpec {
  readonly login: string;
  readonly password: string;
  /** An API key usable instead of login + password. */
  readonly apikey?: string;
  /** (Default: Europe/Moscow) */
  readonly timezone?: string;
  /** (Default: RUB) */
  readonly currency?: string;
  /** Reseller sub-clients: each gets its own `get_stat` row. (Default: none) */
  readonly subLogins?: readonly string[];
  /** The account's own numbers that receive replies. (Default: one number) */
  readonly toPhones?: readonly string[];
  readonly shortLinks?: readonly SandboxShortLink[];
  /** Average messages sent per day; 0: none but those a test adds. (Default: the world's `messagesPerDay`) */
  readonly messagesPerDay?: number;
}

/** A message a test places at an exact instant (`World.addMessage`). */
export interface PlacedMessage {
  readonly sendTs: number;
  /** When it is delivered (status 1). (Default: 30 s after sending) */
  readonly deliveredTs?: number;
  /** (Default: 79031234567) */
  readonly phone?: string;
  /** (Default: 'Test') */
  readonly text?: string;
}

/** A reply a test places at an exact instant (`World.addReply`). */
export interface PlacedReply {
  readonly receivedTs: number;
  /** When the subscriber's phone sent it. (Default: 5 s before it was received) */
  readonly sentTs?: number;
  /** (Default: 79031234567) */
  readonly phone?: string;
  /** (Default: the account's first own number) */
  readonly toPhone?: string;
  /** (Default: 'Да') */
  readonly text?: string;
}

export interface WorldOptions {
  /** (Default: 1) */
  readonly seed?: number;
  /** The instant the world is built around (the clock's start). */
  readonly start: number;
  /** Days of history before `start`. (Default: 200) */
  readonly historyDays?: number;
  /** Days of traffic scheduled after `start`, revealed as the clock moves. (Default: 30) */
  readonly futureDays?: number;
  /** (Default: 250) */
  readonly messagesPerDay?: number;
  /** Share of delivered SMS that get a reply. (Default: 0.06) */
  readonly replyRate?: number;
  /**
   * First global message id. (Default: chosen so that the ids cross 2^53 in the middle of
   * the history, whatever its size: a client that rounds ids through a JavaScript number
   * fails at once, and both sides of the boundary are exercised)
   */
  readonly intIdBase?: bigint;
  /** (Default: one account demo/demo with API key `demo-apikey` and two sub-clients) */
  readonly accounts?: readonly SandboxAccountSpec[];
}

export const DEFAULT_ACCOUNTS: readonly SandboxAccountSpec[] = [
  {
    login: 'demo',
    password: 'demo',
    apikey: 'demo-apikey',
    subLogins: ['demo-shop', 'demo-clinic'],
    toPhones: ['79037700001', '79037700002'],
    shortLinks: [
      { id: 145142, url: 'https://romashka.example/sale?utm=sms', short: 'https://smsc.ru/l/aB3dE' },
      { id: 145143, url: 'https://clinic.example/visit', short: 'https://smsc.ru/l/Qx7Rt' },
    ],
  },
];

export interface StatusStep {
  readonly at: number;
  readonly status: number;
  readonly err: number;
}

export interface CostStep {
  readonly at: number;
  /** Kopecks (hundredths of the currency). */
  readonly cost: number;
}

export interface WorldMessage {
  readonly login: string;
  readonly intId: bigint;
  /** Message id the client gave when sending (shared by the recipients of one send). */
  readonly id: number;
  readonly sendTs: number;
  readonly phone: string;
  readonly format: number;
  readonly type: number;
  readonly sender: string;
  readonly text: string;
  readonly parts: number;
  readonly operator: Operator | undefined;
  readonly balance: 'main' | 'electronic';
  readonly crc: bigint;
  readonly timeline: readonly StatusStep[];
  readonly costs: readonly CostStep[];
}

/** A message as the service would report it at some instant. */
export interface MessageView {
  readonly message: WorldMessage;
  readonly status: number;
  readonly statusName: string;
  readonly err: number;
  readonly lastTs: number;
  /** Kopecks. */
  readonly cost: number;
}

export interface WorldReply {
  readonly login: string;
  readonly id: number;
  readonly receivedTs: number;
  readonly sentTs: number;
  readonly phone: string;
  readonly toPhone: string;
  readonly text: string;
}

export interface Prices {
  readonly zones: ReadonlyMap<number, { api: number; mass: number; mms: number; hlr: number; call: number }>;
  readonly codes: ReadonlyMap<string, number>;
  readonly mail: number;
}

interface PriceEpoch {
  readonly from: number;
  readonly prices: Prices;
}

export interface StatRow {
  readonly login: string;
  readonly sms: number;
  /** Kopecks spent. */
  readonly credit: number;
  /** Kopecks paid in. */
  readonly debit: number;
  readonly currency: string;
}

export interface ShortLinkCounters {
  readonly link: SandboxShortLink;
  readonly cnt: number;
  readonly cntDay: number;
  readonly cntYes: number;
  readonly cntMon: number;
  readonly cntPmon: number;
}

/** One account of the world with everything generated for it. */
export class WorldAccount {
  readonly spec: Required<Pick<SandboxAccountSpec, 'login' | 'password' | 'timezone' | 'currency'>> & SandboxAccountSpec;
  /** Sorted by send time and int_id. */
  readonly messages: WorldMessage[] = [];
  /** Sorted by id (and so by arrival). */
  readonly replies: WorldReply[] = [];
  readonly payments: { at: number; amount: number }[] = [];
  readonly priceEpochs: PriceEpoch[] = [];
  readonly linkCreatedAt: number;
  readonly seed: number;
  /** Kopecks on the main balance before the first generated message: 20,000.00 to 99,999.00. */
  readonly openingBalance: number;

  constructor(spec: SandboxAccountSpec, seed: number, linkCreatedAt: number) {
    this.spec = { timezone: 'Europe/Moscow', currency: 'RUB', ...spec };
    this.seed = seed;
    this.linkCreatedAt = linkCreatedAt;
    this.openingBalance = new Random(mixSeed(seed, 97)).int(20_000, 99_999) * 100;
  }

  get login(): string {
    return this.spec.login;
  }

  /** The price list in force at an instant. */
  pricesAt(at: number): Prices {
    let current = this.priceEpochs[0]!.prices;
    for (const epoch of this.priceEpochs) {
      if (epoch.from <= at) current = epoch.prices;
      else break;
    }
    return current;
  }

  /** Index of the first message whose int_id is at least `intId` (ids grow with time). */
  firstMessageWithIntIdAtLeast(intId: bigint): number {
    let lo = 0;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.messages[mid]!.intId < intId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first message sent at or after `ts` (binary search). */
  firstMessageAtOrAfter(ts: number): number {
    let lo = 0;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.messages[mid]!.sendTs < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** What the world looks like: the generated data and the views the endpoints serve. */
export class World {
  readonly accounts = new Map<string, WorldAccount>();
  readonly options: Required<Omit<WorldOptions, 'accounts' | 'intIdBase'>> & Pick<WorldOptions, 'intIdBase'>;

  constructor(options: WorldOptions) {
    this.options = {
      seed: 1,
      historyDays: 200,
      futureDays: 30,
      messagesPerDay: 250,
      replyRate: 0.06,
      ...options,
      // SMSC's times have whole seconds; so do the world's.
      start: Math.floor(options.start / 1000) * 1000,
    };
    const from = this.options.start - this.options.historyDays * DAY;
    const to = this.options.start + this.options.futureDays * DAY;
    const specs = options.accounts ?? DEFAULT_ACCOUNTS;
    specs.forEach((spec, i) => {
      const account = new WorldAccount(spec, mixSeed(this.options.seed, i + 1), from + 3 * DAY);
      this.accounts.set(spec.login, account);
      generatePrices(account, from, to);
      generatePayments(account, from, to);
    });
    this.#generateMessages(from, to);
    this.#generateReplies();
  }

  account(login: string): WorldAccount | undefined {
    return this.accounts.get(login);
  }

  /** Finds the account an API key or login + password belongs to. */
  authenticate(params: { login?: string; psw?: string; apikey?: string }): WorldAccount | undefined {
    if (params.apikey) {
      for (const account of this.accounts.values()) if (account.spec.apikey === params.apikey) return account;
      return undefined;
    }
    const account = params.login ? this.accounts.get(params.login) : undefined;
    return account && params.psw === account.spec.password ? account : undefined;
  }

  /** The message as reported at `at`; undefined when not yet sent. */
  view(message: WorldMessage, at: number): MessageView | undefined {
    if (message.sendTs > at) return undefined;
    let step = message.timeline[0]!;
    for (const s of message.timeline) if (s.at <= at) step = s;
    let cost = message.costs[0]!.cost;
    for (const c of message.costs) if (c.at <= at) cost = c.cost;
    // Assumption: `last_timestamp` moves with status changes only, not with cost corrections
    // (nothing in SMSC's documentation says otherwise), so clients cannot rely on it to see them.
    return {
      message,
      status: step.status,
      statusName: statusCode(step.status)?.nameRu ?? String(step.status),
      err: step.err,
      lastTs: step.at,
      cost,
    };
  }

  /**
   * The ground truth: every message of the account sent by `at`, with the status and cost
   * the service reports at that instant, oldest first.
   */
  truth(login: string, at: number): MessageView[] {
    const account = this.#mustAccount(login);
    const out: MessageView[] = [];
    for (const m of account.messages) {
      if (m.sendTs > at) break;
      out.push(this.view(m, at)!);
    }
    return out;
  }

  /** Replies received by `at`, within the 7 days the service keeps them unless `all`. */
  repliesAt(login: string, at: number, all = false): WorldReply[] {
    return this.#mustAccount(login).replies.filter((r) => r.receivedTs <= at && (all || r.receivedTs > at - 7 * DAY));
  }

  /**
   * The account's main balance at `at`, in kopecks (balance.php): its opening balance, plus
   * every payment made by then, minus the cost (as known at `at`) of every message sent by
   * then from the main balance. It moves as messages are sent, costed, refunded and paid for.
   */
  balance(login: string, at: number): number {
    const account = this.#mustAccount(login);
    let kopecks = account.openingBalance;
    for (const m of account.messages) {
      if (m.sendTs > at) break;
      if (m.balance === 'main') kopecks -= this.view(m, at)!.cost;
    }
    for (const p of account.payments) if (p.at <= at) kopecks += p.amount;
    return kopecks;
  }

  /**
   * `get_stat` rows for local days [fromDay, toDay] (instants of the days' starts) as seen at
   * `at`: one row per login (the account and its sub-clients).
   */
  stats(login: string, fromDayStart: number, toDayStart: number, at: number, balance: 'main' | 'electronic'): StatRow[] {
    const account = this.#mustAccount(login);
    const tz = account.spec.timezone;
    const end = Math.min(startOfNextLocalDay(toDayStart, tz), at + 1);
    let sms = 0;
    let credit = 0;
    for (let i = account.firstMessageAtOrAfter(fromDayStart); i < account.messages.length; i++) {
      const m = account.messages[i]!;
      if (m.sendTs >= end) break;
      if (m.balance !== balance) continue;
      sms += 1;
      credit += this.view(m, at)!.cost;
    }
    const debit =
      balance === 'main'
        ? account.payments.filter((p) => p.at >= fromDayStart && p.at < end).reduce((s, p) => s + p.amount, 0)
        : 0;
    const rows: StatRow[] = [{ login, sms, credit, debit, currency: account.spec.currency }];
    for (const sub of account.spec.subLogins ?? []) {
      const row = { login: sub, sms: 0, credit: 0, debit: 0, currency: account.spec.currency };
      for (let day = fromDayStart; day < end; day = startOfNextLocalDay(day, tz)) {
        if (balance === 'electronic') continue;
        const r = new Random(mixSeed(account.seed, hashString(sub), Math.floor(day / DAY)));
        const n = r.int(0, 300);
        // A partial day counts only what was sent by `at`.
        const share = Math.min(1, Math.max(0, (at - day) / DAY));
        const sent = Math.floor(n * share);
        row.sms += sent;
        row.credit += sent * r.int(150, 190);
        if (r.chance(0.1)) row.debit += r.int(10, 200) * 10000;
      }
      rows.push(row);
    }
    return rows;
  }

  /** Clicks of a short link as counted at `at`. */
  shortLinkCounters(login: string, link: SandboxShortLink, at: number): ShortLinkCounters {
    const account = this.#mustAccount(login);
    const tz = account.spec.timezone;
    const today = startOfLocalDay(at, tz);
    const yesterday = startOfLocalDay(today - HOUR, tz);
    const f = localFields(at, tz);
    const month = fromLocalFields({ ...f, day: 1, hour: 0, minute: 0, second: 0 }, tz);
    const prevMonth = fromLocalFields(
      f.month === 1
        ? { ...f, year: f.year - 1, month: 12, day: 1, hour: 0, minute: 0, second: 0 }
        : { ...f, month: f.month - 1, day: 1, hour: 0, minute: 0, second: 0 },
      tz,
    );
    const c = { cnt: 0, cntDay: 0, cntYes: 0, cntMon: 0, cntPmon: 0 };
    for (let h = account.linkCreatedAt; h <= at; h += HOUR) {
      const clicks = new Random(mixSeed(link.id, Math.floor(h / HOUR))).weighted([
        [0, 6],
        [1, 3],
        [2, 1],
        [5, 0.2],
      ]);
      c.cnt += clicks;
      if (h >= today) c.cntDay += clicks;
      else if (h >= yesterday) c.cntYes += clicks;
      if (h >= month) c.cntMon += clicks;
      else if (h >= prevMonth) c.cntPmon += clicks;
    }
    return { link, ...c };
  }

  /**
   * Changes a price from `at` on (a new price epoch), as the tariff changes on the service.
   * `zone` + field, an operator code (`mccmnc`), or the e-mail price (`mail`); values in kopecks.
   */
  setPrice(
    login: string,
    at: number,
    change:
      | { zone: number; field: 'api' | 'mass' | 'mms' | 'hlr' | 'call'; value: number }
      | { mccmnc: string; value: number }
      | { mail: number },
  ): void {
    const account = this.#mustAccount(login);
    const current = account.pricesAt(at);
    const zones = new Map([...current.zones].map(([k, v]) => [k, { ...v }]));
    const codes = new Map(current.codes);
    let mail = current.mail;
    if ('zone' in change) {
      const z = zones.get(change.zone);
      if (!z) throw new Error(`no zone ${change.zone}`);
      z[change.field] = change.value;
    } else if ('mccmnc' in change) {
      codes.set(change.mccmnc, change.value);
    } else {
      mail = change.mail;
    }
    const epochs = account.priceEpochs.filter((e) => e.from < at);
    epochs.push({ from: at, prices: { zones, codes, mail } });
    // Later scheduled changes are dropped: a manual change rewrites the future.
    account.priceEpochs.splice(0, account.priceEpochs.length, ...epochs);
  }

  /**
   * Adds a message sent at an exact instant, for tests of what happens at that instant
   * (around a daylight-saving switch). It is sent after every message of the world so far
   * and takes the next int_id; it is delivered, priced at the zone-1 API price.
   */
  addMessage(login: string, placed: PlacedMessage): WorldMessage {
    const account = this.#mustAccount(login);
    const sendTs = Math.floor(placed.sendTs / 1000) * 1000;
    const newest = [...this.accounts.values()].flatMap((a) => a.messages.at(-1) ?? []);
    if (newest.some((m) => m.sendTs > sendTs)) throw new Error('addMessage: messages are added in the order they are sent, after the world\'s newest');
    const phone = placed.phone ?? '79031234567';
    const text = placed.text ?? 'Test';
    const parts = smsParts(text);
    const cost = account.pricesAt(sendTs).zones.get(1)!.api * parts;
    const delivered = Math.floor((placed.deliveredTs ?? sendTs + 30_000) / 1000) * 1000;
    const message: WorldMessage = {
      login,
      intId: newest.reduce((max, m) => (m.intId > max ? m.intId : max), this.options.intIdBase ?? 2n ** 53n) + 1n,
      id: 1 + account.messages.length,
      sendTs,
      phone,
      format: 0,
      type: 0,
      sender: SENDERS[0]!,
      text,
      parts,
      operator: lookupOperator(phone),
      balance: 'main',
      crc: 0n,
      timeline: [
        { at: sendTs, status: -1, err: 0 },
        { at: delivered, status: 1, err: 0 },
      ],
      costs: [{ at: sendTs, cost }],
    };
    account.messages.push(message);
    return message;
  }

  /** Adds a reply received at an exact instant, after every reply so far, with the next id. */
  addReply(login: string, placed: PlacedReply): WorldReply {
    const account = this.#mustAccount(login);
    const receivedTs = Math.floor(placed.receivedTs / 1000) * 1000;
    const newest = [...this.accounts.values()].flatMap((a) => a.replies.at(-1) ?? []);
    if (newest.some((r) => r.receivedTs > receivedTs)) throw new Error('addReply: replies are added in the order they arrive, after the world\'s newest');
    const reply: WorldReply = {
      login,
      id: newest.reduce((max, r) => Math.max(max, r.id), 3_000_000) + 1,
      receivedTs,
      sentTs: Math.floor((placed.sentTs ?? receivedTs - 5000) / 1000) * 1000,
      phone: placed.phone ?? '79031234567',
      toPhone: placed.toPhone ?? account.spec.toPhones?.[0] ?? '79037700001',
      text: placed.text ?? 'Да',
    };
    account.replies.push(reply);
    return reply;
  }

  #mustAccount(login: string): WorldAccount {
    const account = this.accounts.get(login);
    if (!account) throw new Error(`sandbox has no account '${login}'`);
    return account;
  }

  #generateMessages(from: number, to: number): void {
    const all: WorldMessage[] = [];
    for (const account of this.accounts.values()) {
      const rng = new Random(mixSeed(account.seed, 11));
      const perDay = account.spec.messagesPerDay ?? this.options.messagesPerDay;
      if (!(perDay > 0)) continue;
      const subscribers = makeSubscribers(rng, Math.max(50, Math.round(perDay * 4)));
      const emails = Array.from({ length: 40 }, (_, i) => `client${i + 1}@mail.example`);
      let clientId = 1000;
      let t = from;
      for (;;) {
        t += Math.max(1000, Math.round((-Math.log(1 - rng.next()) * DAY) / perDay / 1000) * 1000);
        if (t > to) break;
        clientId += 1;
        const batch = rng.weighted([
          [1, 8],
          [2, 1],
          [5, 0.5],
        ]);
        const isEmail = rng.chance(0.07);
        const format = isEmail ? EMAIL_FORMAT : rng.weighted([[0, 90], [1, 2], [10, 5], [11, 3]] as const);
        const text = isEmail ? rng.pick(EMAIL_TEXTS) : rng.pick(SMS_TEXTS);
        const sender = rng.pick(SENDERS);
        for (let b = 0; b < batch; b++) {
          const phone = isEmail ? rng.pick(emails) : rng.pick(subscribers);
          all.push(makeMessage(account, rng, { sendTs: t, id: clientId, phone, format, text, sender }));
        }
      }
    }
    all.sort((a, b) => a.sendTs - b.sendTs);
    // Steps average 5: half the ids lie below 2^53, half above.
    let intId = this.options.intIdBase ?? 2n ** 53n - BigInt(Math.round(all.length * 2.5));
    const rng = new Random(mixSeed(this.options.seed, 99));
    for (const m of all) {
      intId += BigInt(rng.int(1, 9));
      const withId = { ...m, intId };
      this.accounts.get(m.login)!.messages.push(withId);
    }
  }

  #generateReplies(): void {
    const all: Omit<WorldReply, 'id'>[] = [];
    for (const account of this.accounts.values()) {
      const rng = new Random(mixSeed(account.seed, 23));
      const toPhones = account.spec.toPhones ?? ['79037700001'];
      for (const m of account.messages) {
        if (m.format === EMAIL_FORMAT || !rng.chance(this.options.replyRate)) continue;
        const delivered = m.timeline.find((s) => s.status === 1);
        if (!delivered) continue;
        const receivedTs = Math.round((delivered.at + rng.logUniform(20_000, 2 * DAY)) / 1000) * 1000;
        all.push(reply(account.login, rng, m.phone, rng.pick(toPhones), receivedTs));
        // Now and then someone writes in without having been sent anything.
        if (rng.chance(0.1)) {
          const stranger = makeSubscribers(rng, 1)[0]!;
          all.push(reply(account.login, rng, stranger, rng.pick(toPhones), receivedTs + rng.int(1, 3600) * 1000));
        }
      }
    }
    all.sort((a, b) => a.receivedTs - b.receivedTs);
    const rng = new Random(mixSeed(this.options.seed, 77));
    // Incoming calls to the account's numbers come among the replies as rows whose message is
    // [CALL] (observed in get_answers): a share of them, drawn apart so the rest stays as it was.
    const calls = new Random(mixSeed(this.options.seed, 79));
    let id = 3_000_000;
    for (const r of all) {
      id += rng.int(1, 4);
      this.accounts.get(r.login)!.replies.push({ ...r, id, ...(calls.chance(CALL_SHARE) ? { text: CALL_TEXT } : {}) });
    }
  }
}

function reply(login: string, rng: Random, phone: string, toPhone: string, receivedTs: number): Omit<WorldReply, 'id'> {
  return { login, phone, toPhone, receivedTs, sentTs: receivedTs - rng.int(1, 8) * 1000, text: rng.pick(REPLY_TEXTS) };
}

function makeSubscribers(rng: Random, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const unknown = rng.chance(0.03);
    const prefix = unknown ? rng.pick(UNKNOWN_PREFIXES) : rng.pick(OPERATORS).prefix;
    const length = prefix.startsWith('380') ? 12 : 11;
    let phone = prefix;
    while (phone.length < length) phone += String(rng.int(0, 9));
    out.push(phone);
  }
  return out;
}

function makeMessage(
  account: WorldAccount,
  rng: Random,
  base: { sendTs: number; id: number; phone: string; format: number; text: string; sender: string },
): WorldMessage {
  const isEmail = base.format === EMAIL_FORMAT;
  const operator = isEmail ? undefined : lookupOperator(base.phone);
  const parts = isEmail ? 1 : smsParts(base.text);
  const timeline = makeTimeline(rng, base.sendTs, base.format, base.text);
  const prices = account.pricesAt(base.sendTs);
  const unit = isEmail
    ? prices.mail
    : operator
      ? (prices.codes.get(operator.mcc + operator.mnc) ?? prices.zones.get(operator.zone)!.api)
      : prices.zones.get(4)!.api;
  const last = timeline[timeline.length - 1]!;
  const full = last.status === 24 ? 0 : unit * parts;
  const r = rng.next();
  const costs: CostStep[] =
    r < 0.08
      ? // Price filled in minutes after sending.
        [{ at: base.sendTs, cost: 0 }, { at: base.sendTs + rng.int(2, 90) * MINUTE, cost: full }]
      : r < 0.1
        ? // Corrected (a partial refund) hours later.
          [{ at: base.sendTs, cost: full }, { at: base.sendTs + rng.int(1, 24) * HOUR, cost: Math.round(full / 2) }]
        : [{ at: base.sendTs, cost: full }];
  return {
    login: account.login,
    intId: 0n,
    ...base,
    type: 0,
    parts,
    operator,
    balance: rng.chance(0.05) ? 'electronic' : 'main',
    crc: rng.bigint63(),
    timeline,
    costs,
  };
}

function makeTimeline(rng: Random, sendTs: number, format: number, text: string): StatusStep[] {
  const steps: StatusStep[] = [{ at: sendTs, status: -1, err: 0 }];
  const passed = sendTs + rng.int(1, 20) * 1000;
  steps.push({ at: passed, status: 0, err: 0 });
  const settle = (delayMs: number) => passed + Math.max(1000, Math.round(delayMs / 1000) * 1000);
  const outcome = rng.weighted([
    ['delivered', 85],
    ['failed', 6],
    ['expired', 2],
    ['prohibited', 1],
    ['funds', 0.5],
    ['never', 3.5],
  ] as const);
  switch (outcome) {
    case 'delivered': {
      // "Read" (viber) and "link clicked" are final like "delivered" (smsc-api.md), so a
      // message reaches them straight from "passed to the operator": it never leaves a
      // final status, which is what lets clients stop re-reading final messages.
      const at = settle(rng.logUniform(2000, 4 * HOUR));
      const status = format === 10 && rng.chance(0.6) ? 2 : text.includes('https://') && rng.chance(0.3) ? 4 : 1;
      steps.push({ at, status, err: 0 });
      break;
    }
    case 'failed': {
      const [status, err] = rng.pick([
        [20, 1],
        [20, 6],
        [20, 11],
        [22, 249],
        [25, 13],
        [20, 240],
        [20, 255],
      ] as const);
      steps.push({ at: settle(rng.logUniform(5000, 2 * HOUR)), status, err });
      break;
    }
    case 'expired':
      steps.push({ at: sendTs + DAY + rng.int(0, 3600) * 1000, status: 3, err: 245 });
      break;
    case 'prohibited':
      steps.push({ at: settle(1000), status: 23, err: 253 });
      break;
    case 'funds':
      steps.push({ at: settle(1000), status: 24, err: 0 });
      break;
    case 'never':
      // Stays "passed to the operator" for good: no final status ever arrives.
      break;
  }
  return steps;
}

function generatePrices(account: WorldAccount, from: number, to: number): void {
  const rng = new Random(mixSeed(account.seed, 31));
  const zones = new Map<number, { api: number; mass: number; mms: number; hlr: number; call: number }>();
  for (const { zone } of ZONES) {
    const api = [0, 160, 290, 240, 450][zone]!;
    zones.set(zone, { api, mass: api + 20, mms: 900, hlr: 10, call: 120 });
  }
  let prices: Prices = { zones, codes: new Map([['25001', 145], ['25099', 155], ['40102', 230]]), mail: 5 };
  account.priceEpochs.push({ from: -Infinity, prices });
  // A price change roughly every seven weeks.
  for (let t = from + 50 * DAY; t < to; t += rng.int(40, 60) * DAY) {
    const next = { zones: new Map([...prices.zones].map(([k, v]) => [k, { ...v }])), codes: new Map(prices.codes), mail: prices.mail };
    const zone = next.zones.get(rng.int(1, 3))!;
    zone.api += rng.int(1, 3) * 5;
    zone.mass = zone.api + 20;
    if (rng.chance(0.5)) next.codes.set('25001', next.codes.get('25001')! + 5);
    prices = next;
    account.priceEpochs.push({ from: t, prices });
  }
}

function generatePayments(account: WorldAccount, from: number, to: number): void {
  const rng = new Random(mixSeed(account.seed, 41));
  for (let t = from + rng.int(1, 5) * DAY; t < to; t += rng.int(3, 10) * DAY + rng.int(0, 86_399) * 1000) {
    account.payments.push({ at: t, amount: rng.int(10, 200) * 10_000 });
  }
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
