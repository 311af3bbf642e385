// The outbound stream: get_messages walks backwards in time (prev_id). Each run first reads
// from the newest page back to the newest message it holds (new messages; the newest page
// also refreshes the statuses of the latest ~1000 messages, where most changes happen). A
// walk the quota cuts short is saved, with its upper bound and next prev_id, and resumed by
// the next run: no gap can open between runs.
// Then the status refresh: below that, back to the oldest stored message that is not final
// and younger than the status window (statuses and costs still change there). It is paced by
// the hourly budget: it reads only while more than REFRESH_RESERVE history requests are left
// this hour, so that the next runs can still read the new messages, and goes on from where it
// stopped in the next run. A pass starts at most every REFRESH_EVERY_MS.
// SMS (format 0) and e-mail (format 8) are separate histories with separate walks.
// A backfill (--since older than the oldest message held) walks on below the oldest one,
// saved and resumed the same way.
import { EMAIL_FORMAT } from '../../smsc/codes.ts';
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { formatDate } from '../../time/zoned-time.ts';
import { loadCursor, saveCursor, upsertOutbound } from '../store.ts';
import { commitPage, type Stream, type StreamContext, type StreamResult } from '../stream.ts';
import { normalizeOutbound } from './normalize.ts';

const DAY = 86_400_000;
/** The longest period get_messages answers for. */
const HALF_YEAR_DAYS = 183;
/** Rows per page: the API's maximum, so a walk spends as few of the 30 hourly requests as it can. */
export const OUTBOUND_PAGE_SIZE = 1000;
/** A first run without --since reads this far back. */
const DEFAULT_FIRST_RUN_DAYS = 7;

/** History requests a refresh page leaves untouched this hour: the next runs' reads of new messages. */
export const REFRESH_RESERVE = 4;
/** A new refresh pass starts at most this often. */
export const REFRESH_EVERY_MS = 30 * 60_000;

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
  /** The status refresh in progress: pages below `next`, down to `stopAt` (read in `start`'s period). */
  readonly refresh?: { readonly start: string; readonly stopAt: string; readonly next: string } | undefined;
  /** When the last refresh pass began (ISO 8601). */
  readonly refreshedAt?: string | undefined;
}

export type OutboundCursor = Readonly<Record<Channel, ChannelCursor>>;

export const outboundStream: Stream = {
  name: 'outbound',
  async run(ctx) {
    let cursor: OutboundCursor = (await loadCursor<OutboundCursor>(ctx.db, ctx.account.name, 'outbound')) ?? { sms: {}, email: {} };
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
        ctx.log.info({ stream: 'outbound', rule: error.rule, retryAt: error.retryAt }, 'quota spent, walk saved to resume');
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
  return walkTop(ctx, channel, cursor);
}

/** From the newest page back to the newest message held (see the module comment). */
async function walkTop(ctx: StreamContext, channel: Channel, cursor: OutboundCursor): Promise<{ cursor: OutboundCursor; low?: string }> {
  let state = cursor[channel];
  // A resumed walk ends where an earlier run began reading; what arrived since is above it,
  // so a fresh walk from the newest page follows in the same run.
  let resumed = state.walk !== undefined;
  let walk = state.walk ?? (await planWalk(ctx, channel, state));
  const tz = ctx.account.timezone;
  for (;;) {
    if (ctx.signal?.aborted) return { cursor };
    const page = await ctx.api.getMessages(
      { cnt: OUTBOUND_PAGE_SIZE, start: walk.start, prevId: walk.next ?? undefined, format: channel === 'email' ? EMAIL_FORMAT : 0 },
      ctx.runId,
    );
    const ids = page.map(pageIntId).filter((id): id is bigint => id !== undefined);
    const min = ids.length ? ids.reduce((a, b) => (b < a ? b : a)) : undefined;
    const max = ids.length ? ids.reduce((a, b) => (b > a ? b : a)) : undefined;
    const upper = walk.upper ?? max?.toString() ?? null;
    const reachedStop = walk.stopAt !== null && min !== undefined && min <= BigInt(walk.stopAt);
    // The end of prev_id paging shows as a short page, an empty one, or error 3 (an empty one here).
    const done = page.length < OUTBOUND_PAGE_SIZE || min === undefined || reachedStop;
    const next: ChannelCursor = done
      ? { ...state, newest: maxId(state.newest, upper), walk: undefined }
      : { ...state, walk: { ...walk, upper, next: min.toString() } };
    cursor = { ...cursor, [channel]: next };
    await commitPage(ctx, 'outbound', page, (raw) => normalizeOutbound(raw, tz), upsertOutbound, cursor);
    ctx.log.debug({ stream: 'outbound', channel, rows: page.length, done, next: next.walk?.next }, 'page committed');
    if (done && resumed) {
      resumed = false;
      state = next;
      walk = await planWalk(ctx, channel, state);
      continue;
    }
    if (done) return { cursor, low: (min ?? (walk.next ? BigInt(walk.next) : undefined))?.toString() ?? state.newest };
    walk = next.walk!;
  }
}

/**
 * The status refresh of one channel: resumes the pass in progress, or starts one below `low`
 * (where this run's walk from the top stopped) when the last began REFRESH_EVERY_MS ago.
 */
async function refreshChannel(ctx: StreamContext, channel: Channel, cursor: OutboundCursor, low: string | undefined): Promise<OutboundCursor> {
  const tz = ctx.account.timezone;
  let state = cursor[channel];
  if (!state.refresh) {
    const now = ctx.clock.now();
    if (low === undefined || (state.refreshedAt && now - Date.parse(state.refreshedAt) < REFRESH_EVERY_MS)) return cursor;
    const floor = await refreshFloor(ctx, channel, low);
    state = { ...state, refreshedAt: new Date(now).toISOString(), refresh: floor ? { start: formatDate(floor.sentAt, tz), stopAt: floor.intId, next: low } : undefined };
    cursor = { ...cursor, [channel]: state };
    if (!floor) {
      await saveCursor(ctx.db, ctx.account.name, 'outbound', cursor, new Date(now));
      return cursor;
    }
  }
  for (;;) {
    const refresh = state.refresh!;
    if (ctx.signal?.aborted || (await ctx.api.historyRequestsLeft()) <= REFRESH_RESERVE) break;
    let page: unknown[];
    try {
      page = await ctx.api.getMessages({ cnt: OUTBOUND_PAGE_SIZE, start: refresh.start, prevId: refresh.next, format: channel === 'email' ? EMAIL_FORMAT : 0 }, ctx.runId);
    } catch (error) {
      // Another process took the last requests: the pass goes on next run.
      if (error instanceof QuotaDeferredError) break;
      throw error;
    }
    const ids = page.map(pageIntId).filter((id): id is bigint => id !== undefined);
    const min = ids.length ? ids.reduce((a, b) => (b < a ? b : a)) : undefined;
    const done = page.length < OUTBOUND_PAGE_SIZE || min === undefined || min <= BigInt(refresh.stopAt);
    state = { ...state, refresh: done ? undefined : { ...refresh, next: min.toString() } };
    cursor = { ...cursor, [channel]: state };
    await commitPage(ctx, 'outbound', page, (raw) => normalizeOutbound(raw, tz), upsertOutbound, cursor);
    ctx.log.debug({ stream: 'outbound', channel, rows: page.length, done, refresh: true }, 'page committed');
    if (done) break;
  }
  return cursor;
}

/** The oldest stored message below `below` that is not final and younger than the status window. */
async function refreshFloor(ctx: StreamContext, channel: Channel, below: string): Promise<{ intId: string; sentAt: number } | undefined> {
  const windowStart = new Date(ctx.clock.now() - ctx.options.statusWindowHours * 3_600_000);
  const row = await ctx.db
    .selectFrom('smsc.outbound_messages')
    .select(['int_id', 'sent_at'])
    .where('account', '=', ctx.account.name)
    .where('channel', '=', channel)
    .where('is_final', '=', false)
    .where('sent_at', '>=', windowStart)
    .where('int_id', '<', below)
    .orderBy('int_id')
    .limit(1)
    .executeTakeFirst();
  return row ? { intId: row.int_id, sentAt: new Date(row.sent_at).getTime() } : undefined;
}

/**
 * A backfill (--since older than the oldest message held) walks on below the oldest int_id
 * held, down to the start of that day; undefined when there is nothing below to read.
 */
async function planBackfill(ctx: StreamContext, channel: Channel, state: ChannelCursor): Promise<ChannelCursor['backfill']> {
  if (!ctx.options.since || state.newest === undefined) return undefined;
  const tz = ctx.account.timezone;
  const since = Math.max(ctx.options.since.getTime(), ctx.clock.now() - HALF_YEAR_DAYS * DAY);
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
  const tz = ctx.account.timezone;
  for (;;) {
    const backfill = cursor[channel].backfill!;
    if (ctx.signal?.aborted) return cursor;
    const page = await ctx.api.getMessages({ cnt: OUTBOUND_PAGE_SIZE, start: backfill.start, prevId: backfill.next, format: channel === 'email' ? EMAIL_FORMAT : 0 }, ctx.runId);
    const ids = page.map(pageIntId).filter((id): id is bigint => id !== undefined);
    const min = ids.length ? ids.reduce((a, b) => (b < a ? b : a)) : undefined;
    const done = page.length < OUTBOUND_PAGE_SIZE || min === undefined;
    cursor = { ...cursor, [channel]: { ...cursor[channel], backfill: done ? undefined : { ...backfill, next: min.toString() } } };
    await commitPage(ctx, 'outbound', page, (raw) => normalizeOutbound(raw, tz), upsertOutbound, cursor);
    if (done) return cursor;
  }
}

/** Where a new walk from the top must reach: the newest message held; on a first run, `since`. */
async function planWalk(ctx: StreamContext, channel: Channel, state: ChannelCursor): Promise<Walk> {
  const now = ctx.clock.now();
  const tz = ctx.account.timezone;
  const earliest = now - HALF_YEAR_DAYS * DAY;
  if (state.newest === undefined) {
    const since = ctx.options.since?.getTime() ?? now - DEFAULT_FIRST_RUN_DAYS * DAY;
    if (since < earliest) ctx.log.warn({ stream: 'outbound', since: new Date(since) }, 'SMSC answers at most half a year of history; starting there');
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

function pageIntId(raw: unknown): bigint | undefined {
  const v = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).int_id : undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^\d{1,19}$/.test(v)) return BigInt(v);
  return undefined;
}

function maxId(a: string | undefined, b: string | null): string | undefined {
  if (b === null) return a;
  if (a === undefined) return b;
  return BigInt(a) >= BigInt(b) ? a : b;
}
