// The outbound stream: get_messages walks backwards in time (prev_id). Each run first reads
// from the newest page back to the newest message it holds (new messages; the newest page
// also refreshes the statuses of the latest ~1000 messages, where most changes happen). A
// walk the quota cuts short is saved, with its upper bound and next prev_id, and resumed by
// the next run: no gap can open between runs.
// Then the status refresh: below that, back to the oldest stored message that is not final
// or has no cost yet (statuses and costs still change there), in passes of three depths (REFRESH_TIERS): the
// last 6 hours every 30 minutes, the last day every 2 hours, the whole status window once a
// day. It is paced by the hourly budget: it reads only while more than REFRESH_RESERVE
// history requests are left this hour, so that the next runs can still read the new
// messages, and goes on from where it stopped in the next run. The quieter channel (fewer
// new messages in its last read) is read from the top at most every 10 minutes (QUIET_CHANNEL_EVERY_MS).
// SMS (format 0) and e-mail (format 8) are separate histories with separate walks.
// A backfill (--since older than the oldest message held) walks on below the oldest one,
// saved and resumed the same way.
// Every page is checked against its request before anything is stored (page-check.ts), and
// cursors are made of int_ids of rows that normalized and committed, never of rejected rows.
// A walk ends where it reaches its stop id, or at an empty page (error 3); a short page does
// not end it (SMSC may cap a page below cnt).
import { sql } from 'kysely';
import { EMAIL_FORMAT } from '../../smsc/codes.ts';
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { sinceStart } from '../../time/calendar.ts';
import { formatDate } from '../../time/zoned-time.ts';
import { loadCursor, saveCursor, type UpsertCounts, upsertOutbound } from '../store.ts';
import { checkBelowPrevId, idBounds, PageCheckError, unreadablePageMessage } from '../page-check.ts';
import { commitRows, type NormalizedPage, normalizePage, type Stream, type StreamContext, type StreamResult } from '../stream.ts';
import { int64Value } from '../values.ts';
import { normalizeOutbound, type OutboundRow } from './normalize.ts';

const DAY = 86_400_000;
/** The longest period get_messages answers for. */
const HALF_YEAR_DAYS = 183;
/** Rows per page: the API's maximum, so a walk spends as few of the 30 hourly requests as it can. */
export const OUTBOUND_PAGE_SIZE = 1000;
/** A first run without --since reads this far back. */
const DEFAULT_FIRST_RUN_DAYS = 7;

/** History requests a refresh page leaves untouched this hour: the next runs' reads of new messages. */
export const REFRESH_RESERVE = 4;
const HOUR = 3_600_000;
/**
 * Refresh passes by depth: every 30 minutes back over the last 6 hours (where most statuses
 * and costs change), every 2 hours back over the last day, once a day over the whole status
 * window. Each reaches only as far as its oldest message that is not final. (Measured by
 * bench/quota.ts: a daily sweep of the window finds little to change, but costs a page per
 * thousand messages, most of them final.)
 */
export const REFRESH_TIERS = [
  { everyMs: 24 * HOUR, depthMs: Infinity, key: 'refreshedWindow' },
  { everyMs: 2 * HOUR, depthMs: 24 * HOUR, key: 'refreshedDay' },
  { everyMs: 0.5 * HOUR, depthMs: 6 * HOUR, key: 'refreshedAt' },
] as const;
/** The channel with fewer new messages in its last read is read from the top at most this often. */
export const QUIET_CHANNEL_EVERY_MS = 10 * 60_000;

const CHANNELS = ['sms', 'email'] as const;
type Channel = (typeof CHANNELS)[number];

/** A walk back through the history, in progress. */
interface Walk {
  /** `start` of every request of the walk (dd.mm.yyyy). */
  readonly start: string;
  /** The walk ends once it has read this int_id (or older); null: to the start of the period. */
  readonly stopAt: string | null;
  /** Newest int_id the walk has seen (its first page); becomes `newest` when it ends. */
  readonly upper: string | null;
  /** prev_id of the next page; null before the first page. */
  readonly next: string | null;
}

interface ChannelCursor {
  /** Newest int_id held, with everything older (down to the first run's start) held too. */
  readonly newest?: string | undefined;
  readonly walk?: Walk | undefined;
  /** A walk below the oldest message held, down to a backfill's --since: `start` and next prev_id. */
  readonly backfill?: { readonly start: string; readonly next: string } | undefined;
  /** The day (dd.mm.yyyy) from which everything down to the oldest message held was read. */
  readonly floor?: string | undefined;
  /** The status refresh in progress: pages below `next`, down to `stopAt` (read in `start`'s period). */
  readonly refresh?: { readonly start: string; readonly stopAt: string; readonly next: string } | undefined;
  /** When the last refresh pass began (ISO 8601). */
  readonly refreshedAt?: string | undefined;
  /** When the last pass reaching back 24 h, and the whole window, began (ISO 8601). */
  readonly refreshedDay?: string | undefined;
  readonly refreshedWindow?: string | undefined;
  /** When the last walk from the top ended, and how many new messages it brought. */
  readonly toppedAt?: string | undefined;
  readonly lastNew?: number | undefined;
}

export type OutboundCursor = Readonly<Record<Channel, ChannelCursor>>;

export const outboundStream: Stream = {
  name: 'outbound',
  async run(ctx) {
    let cursor = await repairCursor(ctx, (await loadCursor<OutboundCursor>(ctx.db, ctx.account.name, 'outbound')) ?? { sms: {}, email: {} });
    // Lowest int_id each channel's walk from the top read this run: the refresh goes on below it.
    const lows: Partial<Record<Channel, string>> = {};
    try {
      for (const channel of CHANNELS) {
        const walked = await walkChannel(ctx, channel, cursor);
        cursor = walked.cursor;
        if (walked.low !== undefined) lows[channel] = walked.low;
        if (ctx.signal?.aborted) return {};
      }
    } catch (error) {
      if (error instanceof QuotaDeferredError) {
        ctx.log.info({ rule: error.rule, retryAt: error.retryAt.toISOString() }, 'quota spent, walk saved to resume');
        return { deferredUntil: error.retryAt } satisfies StreamResult;
      }
      throw error;
    }
    // Every new message is held; the refresh uses what the budget can spare, and is not a
    // reason to report the run as deferred.
    for (const channel of CHANNELS) {
      if (ctx.signal?.aborted) break;
      cursor = await refreshChannel(ctx, channel, cursor, lows[channel]);
    }
    return {};
  },
};

async function walkChannel(ctx: StreamContext, channel: Channel, cursor: OutboundCursor): Promise<{ cursor: OutboundCursor; low?: string }> {
  // A backfill walks first: it is what the user asked for, and the walk from the top goes
  // right after it, or next run.
  const backfill = cursor[channel].backfill ?? (await planBackfill(ctx, channel, cursor[channel]));
  if (backfill) cursor = await walkBelow(ctx, channel, { ...cursor, [channel]: { ...cursor[channel], backfill } });
  if (ctx.signal?.aborted) return { cursor };
  // The quieter channel (an account's few e-mails, or none) is read at most every 10 minutes:
  // one request a run for each channel would take 24 of the 30 an hour at 5-minute runs.
  const state = cursor[channel];
  const other = cursor[channel === 'sms' ? 'email' : 'sms'];
  const quieter = state.lastNew !== undefined && other.lastNew !== undefined && state.lastNew < other.lastNew;
  if (!state.walk && quieter && state.toppedAt && ctx.clock.now() - Date.parse(state.toppedAt) < QUIET_CHANNEL_EVERY_MS) return { cursor };
  return walkTop(ctx, channel, cursor);
}

/**
 * A cursor is made of int_ids of committed rows. One written before that rule (a rejected
 * row's int_id beyond 64 bits became `newest`, and every later run failed with "out of range
 * for type bigint") is repaired: a `newest` the warehouse does not hold falls back to the
 * newest message held in the channel, and a walk whose ids cannot be read is dropped (its
 * rows are held; the next walk reads from the top again).
 */
async function repairCursor(ctx: StreamContext, cursor: OutboundCursor): Promise<OutboundCursor> {
  for (const channel of CHANNELS) {
    let state = cursor[channel] ?? {};
    const dropped: string[] = [];
    if (state.newest !== undefined && !(readableId(state.newest) && (await held(ctx, state.newest)))) {
      const newest = await ctx.db
        .selectFrom('smsc.outbound_messages')
        .select('int_id')
        .where('account', '=', ctx.account.name)
        .where('channel', '=', channel)
        .orderBy('int_id', 'desc')
        .limit(1)
        .executeTakeFirst();
      dropped.push(`newest ${state.newest} -> ${newest?.int_id ?? 'none'}`);
      state = { ...state, newest: newest?.int_id };
    }
    if (state.walk && ![state.walk.upper, state.walk.next, state.walk.stopAt].every((id) => id === null || readableId(id))) {
      dropped.push('walk');
      state = { ...state, walk: undefined };
    }
    if (state.backfill && !readableId(state.backfill.next)) {
      dropped.push('backfill');
      state = { ...state, backfill: undefined };
    }
    if (state.refresh && !(readableId(state.refresh.next) && readableId(state.refresh.stopAt))) {
      dropped.push('refresh');
      state = { ...state, refresh: undefined };
    }
    if (dropped.length > 0) {
      ctx.log.warn({ channel, repaired: dropped }, 'the cursor held an id of no stored message; repaired');
      cursor = { ...cursor, [channel]: state };
    }
  }
  return cursor;
}

function readableId(id: string): boolean {
  try {
    int64Value(id, 'cursor');
    return true;
  } catch {
    return false;
  }
}

async function held(ctx: StreamContext, intId: string): Promise<boolean> {
  const row = await ctx.db.selectFrom('smsc.outbound_messages').select('int_id').where('account', '=', ctx.account.name).where('int_id', '=', intId).executeTakeFirst();
  return row !== undefined;
}

/** From the newest page back to the newest message held (see the module comment). */
async function walkTop(ctx: StreamContext, channel: Channel, cursor: OutboundCursor): Promise<{ cursor: OutboundCursor; low?: string }> {
  let state = cursor[channel];
  // A resumed walk ends where an earlier run began reading; what arrived since is above it,
  // so a fresh walk from the newest page follows in the same run.
  let resumed = state.walk !== undefined;
  let walk = state.walk ?? (await planWalk(ctx, channel, state));
  const fetch = (w: Walk) =>
    ctx.api.getMessages({ cnt: OUTBOUND_PAGE_SIZE, start: w.start, prevId: w.next ?? undefined, format: channel === 'email' ? EMAIL_FORMAT : 0 }, ctx.runId);
  const ahead = new ReadAhead();
  let inserted = 0;
  try {
    for (;;) {
      if (ctx.signal?.aborted) return { cursor };
      const { normalized, min, max } = await readHistoryPage(ctx, channel, await ahead.take(() => fetch(walk)), walk.next, cursor);
      const upper = walk.upper ?? max?.toString() ?? null;
      const reachedStop = walk.stopAt !== null && min !== undefined && min <= BigInt(walk.stopAt);
      // The end of prev_id paging is an empty page (or error 3, an empty one here). A short page
      // is not: SMSC may cap a page below cnt, and ending there would leave a gap down to stopAt.
      const done = min === undefined || reachedStop;
      const next: ChannelCursor = done
        ? { ...state, newest: maxId(state.newest, upper), walk: undefined, floor: walk.stopAt === null ? earlierDay(state.floor, walk.start) : state.floor }
        : { ...state, walk: { ...walk, upper, next: min.toString() } };
      cursor = { ...cursor, [channel]: next };
      // The next page is fetched while this one commits; its prev_id is known already.
      if (!done && !ctx.signal?.aborted) ahead.start(() => fetch(next.walk!));
      // Only the page that reaches what is held has held rows in it.
      const counts = await commitOutbound(ctx, normalized, cursor, reachedStop);
      inserted += counts.inserted;
      const written = counts.inserted + counts.updated;
      ctx.log.debug({ channel, walk: 'top', first: walk.next === null, rows: normalized.rows.length, written, done, next: next.walk?.next }, 'page committed');
      if (done && resumed) {
        resumed = false;
        state = next;
        walk = await planWalk(ctx, channel, state);
        continue;
      }
      if (done) {
        cursor = { ...cursor, [channel]: { ...cursor[channel], toppedAt: new Date(ctx.clock.now()).toISOString(), lastNew: inserted } };
        await ctx.transaction((trx) => saveCursor(trx, ctx.account.name, 'outbound', cursor, new Date(ctx.clock.now())));
        return { cursor, low: (min ?? (walk.next ? BigInt(walk.next) : undefined))?.toString() ?? state.newest };
      }
      walk = next.walk!;
    }
  } finally {
    await ahead.settle();
  }
}

/**
 * One request sent ahead of its turn. Its failure surfaces when it is taken (a quota deferral
 * then ends the run after the page before it committed, as without read-ahead); one not taken
 * (the run stopped or failed) is waited for and dropped, so that no request outlives the run.
 */
class ReadAhead {
  #pending: Promise<unknown[]> | undefined;

  start(fetch: () => Promise<unknown[]>): void {
    this.#pending = fetch();
    this.#pending.catch(() => {});
  }

  take(fetch: () => Promise<unknown[]>): Promise<unknown[]> {
    const pending = this.#pending;
    this.#pending = undefined;
    return pending ?? fetch();
  }

  async settle(): Promise<void> {
    await this.#pending?.catch(() => {});
    this.#pending = undefined;
  }
}

/**
 * The status refresh of one channel: resumes the pass in progress, or starts the deepest one
 * that is due (REFRESH_TIERS) below `low`, where this run's walk from the top stopped.
 */
async function refreshChannel(ctx: StreamContext, channel: Channel, cursor: OutboundCursor, low: string | undefined): Promise<OutboundCursor> {
  const tz = ctx.account.timezone;
  let state = cursor[channel];
  if (!state.refresh) {
    const now = ctx.clock.now();
    const since = (key: (typeof REFRESH_TIERS)[number]['key']) => (state[key] ? now - Date.parse(state[key]) : Infinity);
    // The deepest pass that is due; it counts as the shallower ones too.
    const tier = REFRESH_TIERS.findIndex((t) => since(t.key) >= t.everyMs);
    if (low === undefined || tier < 0) return cursor;
    const floor = await refreshFloor(ctx, channel, low, REFRESH_TIERS[tier]!.depthMs);
    const stamp = new Date(now).toISOString();
    state = { ...state, refresh: floor ? { start: formatDate(floor.sentAt, tz), stopAt: floor.intId, next: low } : undefined };
    for (const t of REFRESH_TIERS.slice(tier)) state = { ...state, [t.key]: stamp };
    cursor = { ...cursor, [channel]: state };
    if (!floor) {
      await ctx.transaction((trx) => saveCursor(trx, ctx.account.name, 'outbound', cursor, new Date(now)));
      return cursor;
    }
  }
  for (;;) {
    const refresh = state.refresh!;
    if (ctx.signal?.aborted) break;
    let page: unknown[];
    try {
      // The ledger sends it only while more than REFRESH_RESERVE of the hour's history
      // requests stay left, deciding under the same lock that reserves it: no other run or
      // process can take the requests in between.
      page = await ctx.api.getMessages(
        { cnt: OUTBOUND_PAGE_SIZE, start: refresh.start, prevId: refresh.next, format: channel === 'email' ? EMAIL_FORMAT : 0, keepHistory: REFRESH_RESERVE },
        ctx.runId,
      );
    } catch (error) {
      // Too few requests left (or another process took them): the pass goes on next run.
      if (error instanceof QuotaDeferredError) break;
      throw error;
    }
    const { normalized, min } = await readHistoryPage(ctx, channel, page, refresh.next, cursor);
    // As in the walk from the top, only an empty page ends the history before stopAt.
    const done = min === undefined || min <= BigInt(refresh.stopAt);
    state = { ...state, refresh: done ? undefined : { ...refresh, next: min.toString() } };
    cursor = { ...cursor, [channel]: state };
    const counts = await commitOutbound(ctx, normalized, cursor, true);
    ctx.log.debug({ channel, walk: 'refresh', rows: normalized.rows.length, written: counts.inserted + counts.updated, done }, 'page committed');
    if (done) break;
  }
  return cursor;
}

/**
 * The oldest stored message below `below` that can still change — not final, or without a
 * cost yet (SMSC left it out: a later read fills it in) — and younger than `depthMs` (at most
 * the status window).
 */
async function refreshFloor(ctx: StreamContext, channel: Channel, below: string, depthMs: number): Promise<{ intId: string; sentAt: number } | undefined> {
  const windowStart = new Date(ctx.clock.now() - Math.min(depthMs, ctx.options.statusWindowHours * HOUR));
  // Two queries, each on its partial index (not final; cost unknown), rather than one OR.
  const oldest = (changing: 'not_final' | 'cost_unknown') =>
    ctx.db
      .selectFrom('smsc.outbound_messages')
      .select(['int_id', 'sent_at'])
      .where('account', '=', ctx.account.name)
      .where('channel', '=', channel)
      .where((eb) => (changing === 'not_final' ? eb('is_final', '=', false) : eb('cost', 'is', null)))
      .where('sent_at', '>=', windowStart)
      .where('int_id', '<', below)
      .orderBy('int_id')
      .limit(1)
      .executeTakeFirst();
  const rows = [await oldest('not_final'), await oldest('cost_unknown')].filter((r) => r !== undefined);
  const row = rows.sort((a, b) => (BigInt(a.int_id) < BigInt(b.int_id) ? -1 : 1))[0];
  return row ? { intId: row.int_id, sentAt: new Date(row.sent_at).getTime() } : undefined;
}

/**
 * A backfill (--since older than the oldest message held) walks on below the oldest int_id
 * held, down to the start of that day; undefined when there is nothing below to read.
 */
async function planBackfill(ctx: StreamContext, channel: Channel, state: ChannelCursor): Promise<ChannelCursor['backfill']> {
  if (!ctx.options.since || state.newest === undefined) return undefined;
  const tz = ctx.account.timezone;
  const since = Math.max(sinceStart(ctx.options.since, tz), ctx.clock.now() - HALF_YEAR_DAYS * DAY);
  // Already read down to that day (or further): nothing below the oldest message to fetch.
  if (state.floor && earlierDay(state.floor, formatDate(since, tz)) === state.floor) return undefined;
  const oldest = await ctx.db
    .selectFrom('smsc.outbound_messages')
    .select(['int_id', 'sent_at'])
    .where('account', '=', ctx.account.name)
    .where('channel', '=', channel)
    .orderBy('int_id')
    .limit(1)
    .executeTakeFirst();
  if (!oldest || new Date(oldest.sent_at).getTime() < since) return undefined;
  return { start: formatDate(since, tz), next: oldest.int_id };
}

/** Pages below the oldest message held, back to the backfill's start; saved page by page. */
async function walkBelow(ctx: StreamContext, channel: Channel, cursor: OutboundCursor): Promise<OutboundCursor> {
  const fetch = (b: { start: string; next: string }) =>
    ctx.api.getMessages({ cnt: OUTBOUND_PAGE_SIZE, start: b.start, prevId: b.next, format: channel === 'email' ? EMAIL_FORMAT : 0 }, ctx.runId);
  const ahead = new ReadAhead();
  try {
    for (;;) {
      const backfill = cursor[channel].backfill!;
      if (ctx.signal?.aborted) return cursor;
      const { normalized, min } = await readHistoryPage(ctx, channel, await ahead.take(() => fetch(backfill)), backfill.next, cursor);
      // Down to the start of the period: only an empty page (error 3) is its end.
      const done = min === undefined;
      const next = done ? undefined : { ...backfill, next: min.toString() };
      cursor = { ...cursor, [channel]: { ...cursor[channel], backfill: next, floor: next ? cursor[channel].floor : earlierDay(cursor[channel].floor, backfill.start) } };
      if (next && !ctx.signal?.aborted) ahead.start(() => fetch(next));
      await commitOutbound(ctx, normalized, cursor, false);
      if (done) return cursor;
    }
  } finally {
    await ahead.settle();
  }
}

/** Where a new walk from the top must reach: the newest message held; on a first run, `since`. */
async function planWalk(ctx: StreamContext, channel: Channel, state: ChannelCursor): Promise<Walk> {
  const now = ctx.clock.now();
  const tz = ctx.account.timezone;
  const earliest = now - HALF_YEAR_DAYS * DAY;
  if (state.newest === undefined) {
    const since = ctx.options.since ? sinceStart(ctx.options.since, tz) : now - DEFAULT_FIRST_RUN_DAYS * DAY;
    if (since < earliest) ctx.log.warn({ since: new Date(since).toISOString() }, 'SMSC answers at most half a year of history; starting there');
    return { start: formatDate(Math.max(since, earliest), tz), stopAt: null, upper: null, next: null };
  }
  const newest = await ctx.db
    .selectFrom('smsc.outbound_messages')
    .select('sent_at')
    .where('account', '=', ctx.account.name)
    .where('channel', '=', channel)
    .where('int_id', '=', state.newest)
    .executeTakeFirst();
  // The period reaches back over the status window too (it costs nothing: pages are the
  // newest 1000 either way), so that a short page also means "no older message to refresh".
  const windowStart = now - ctx.options.statusWindowHours * 3_600_000;
  const from = Math.min(newest ? new Date(newest.sent_at).getTime() : windowStart, windowStart);
  return { start: formatDate(Math.max(from, earliest), tz), stopAt: state.newest, upper: null, next: null };
}

interface HistoryPage {
  readonly normalized: NormalizedPage<OutboundRow>;
  /** Lowest and highest int_id of the rows that normalized; undefined for an empty page. */
  readonly min: bigint | undefined;
  readonly max: bigint | undefined;
}

/**
 * Normalizes a get_messages page and checks it against its request (page-check.ts): with a
 * prev_id, every int_id below it. Its bounds come from the rows that normalized only, so a
 * rejected row can never become a cursor. A page none of whose rows normalized cannot say
 * where the walk stands: its rows go to rejected_rows (with the cursor as it was) and the
 * run fails, to ask for the same page next run.
 */
async function readHistoryPage(ctx: StreamContext, channel: Channel, page: readonly unknown[], prevId: string | null, cursor: OutboundCursor): Promise<HistoryPage> {
  const tz = ctx.account.timezone;
  const normalized = normalizePage(page, (raw) => normalizeOutbound(raw, tz));
  const ids = normalized.rows.map((r) => BigInt(r.int_id));
  const request = `get_messages (${channel}${prevId !== null ? `, prev_id=${prevId}` : ', newest page'})`;
  checkBelowPrevId(ids, prevId, request);
  if (page.length > 0 && ids.length === 0) {
    await commitRows(ctx, 'outbound', normalized, upsertOutbound, cursor);
    throw new PageCheckError(unreadablePageMessage(request, page.length, normalized.rejected[0]!.reason));
  }
  return { normalized, ...idBounds(ids) };
}

/**
 * Commits a page of history rows. Where the page re-reads rows (`held`: the last page of a
 * walk from the top, refresh pages), rows the warehouse holds exactly as they are (same
 * raw_sha1) are left out: the newest page is re-read every run and is mostly unchanged.
 */
async function commitOutbound(ctx: StreamContext, page: NormalizedPage<OutboundRow>, cursor: OutboundCursor, held: boolean): Promise<UpsertCounts> {
  let fresh = page;
  if (held && page.rows.length > 0) {
    const digests = new Map(page.rows.map((r) => [r.int_id, r.raw_sha1]));
    // A primary-key probe per id (OFFSET 0 keeps it one): `int_id = ANY(…)` was planned as a
    // scan of the account's rows.
    const stored = await sql<{ int_id: string; raw_sha1: string | null }>`
      SELECT i.id::text AS int_id, o.raw_sha1 FROM unnest(${[...digests.keys()]}::bigint[]) AS i(id)
      CROSS JOIN LATERAL (SELECT raw_sha1 FROM smsc.outbound_messages o WHERE o.account = ${ctx.account.name} AND o.int_id = i.id OFFSET 0) o`.execute(ctx.db);
    const same = new Set(stored.rows.filter((r) => r.raw_sha1 !== null && r.raw_sha1 === digests.get(r.int_id)).map((r) => r.int_id));
    if (same.size > 0) fresh = { ...page, rows: page.rows.filter((r) => !same.has(r.int_id)) };
  }
  return commitRows(ctx, 'outbound', fresh, upsertOutbound, cursor);
}

/** The earlier of two days written dd.mm.yyyy (either may be missing). */
function earlierDay(a: string | undefined, b: string): string {
  const key = (d: string) => d.split('.').reverse().join('');
  return a !== undefined && key(a) <= key(b) ? a : b;
}

function maxId(a: string | undefined, b: string | null): string | undefined {
  if (b === null) return a;
  if (a === undefined) return b;
  return BigInt(a) >= BigInt(b) ? a : b;
}
