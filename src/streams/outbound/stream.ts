// The outbound stream: get_messages walks backwards in time (prev_id), so each run reads the
// newest page and walks back until it reaches what the warehouse already holds, or further,
// to the oldest stored message that is not final yet and younger than the status window
// (statuses and costs still change there). A walk the quota cuts short is saved, with its
// upper bound and next prev_id, and resumed by the next run: no gap can open between runs.
// SMS (format 0) and e-mail (format 8) are separate histories with separate walks.
// A backfill (--since older than the oldest message held) walks on below the oldest one,
// saved and resumed the same way.
import { sql } from 'kysely';
import { EMAIL_FORMAT } from '../../smsc/codes.ts';
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { formatDate } from '../../time/zoned-time.ts';
import { loadCursor, upsertOutbound } from '../store.ts';
import { commitPage, type Stream, type StreamContext, type StreamResult } from '../stream.ts';
import { normalizeOutbound } from './normalize.ts';

const DAY = 86_400_000;
/** The longest period get_messages answers for. */
const HALF_YEAR_DAYS = 183;
/** Rows per page: the API's maximum, so a walk spends as few of the 30 hourly requests as it can. */
export const OUTBOUND_PAGE_SIZE = 1000;
/** A first run without --since reads this far back. */
const DEFAULT_FIRST_RUN_DAYS = 7;

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
}

export type OutboundCursor = Readonly<Record<Channel, ChannelCursor>>;

export const outboundStream: Stream = {
  name: 'outbound',
  async run(ctx) {
    let cursor: OutboundCursor = (await loadCursor<OutboundCursor>(ctx.db, ctx.account.name, 'outbound')) ?? { sms: {}, email: {} };
    try {
      for (const channel of CHANNELS) {
        cursor = await walkChannel(ctx, channel, cursor);
        if (ctx.signal?.aborted) break;
      }
    } catch (error) {
      if (error instanceof QuotaDeferredError) {
        ctx.log.info({ stream: 'outbound', rule: error.rule, retryAt: error.retryAt }, 'quota spent, walk saved to resume');
        return { deferredUntil: error.retryAt } satisfies StreamResult;
      }
      throw error;
    }
    return {};
  },
};

async function walkChannel(ctx: StreamContext, channel: Channel, cursor: OutboundCursor): Promise<OutboundCursor> {
  // A backfill walks first: on a busy account the walk from the top can take the whole
  // hourly budget every run, and would starve it. The top is read right after, or next run.
  const backfill = cursor[channel].backfill ?? (await planBackfill(ctx, channel, cursor[channel]));
  if (backfill) cursor = await walkBelow(ctx, channel, { ...cursor, [channel]: { ...cursor[channel], backfill } });
  if (ctx.signal?.aborted) return cursor;
  return walkTop(ctx, channel, cursor);
}

/** From the newest page back to what the warehouse holds (see the module comment). */
async function walkTop(ctx: StreamContext, channel: Channel, cursor: OutboundCursor): Promise<OutboundCursor> {
  const state = cursor[channel];
  let walk = state.walk ?? (await planWalk(ctx, channel, state));
  const tz = ctx.account.timezone;
  for (;;) {
    if (ctx.signal?.aborted) return cursor;
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
      ? { newest: maxId(state.newest, upper), backfill: state.backfill }
      : { newest: state.newest, walk: { ...walk, upper, next: min.toString() }, backfill: state.backfill };
    cursor = { ...cursor, [channel]: next };
    await commitPage(ctx, 'outbound', page, (raw) => normalizeOutbound(raw, tz), upsertOutbound, cursor);
    ctx.log.debug({ stream: 'outbound', channel, rows: page.length, done, next: next.walk?.next }, 'page committed');
    if (done) return cursor;
    walk = next.walk!;
  }
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

/**
 * Where a new walk must reach: the newest message held, or further back the oldest stored
 * message that is not final and younger than the status window; on a first run, `since`.
 */
async function planWalk(ctx: StreamContext, channel: Channel, state: ChannelCursor): Promise<Walk> {
  const now = ctx.clock.now();
  const tz = ctx.account.timezone;
  const earliest = now - HALF_YEAR_DAYS * DAY;
  if (state.newest === undefined) {
    const since = ctx.options.since?.getTime() ?? now - DEFAULT_FIRST_RUN_DAYS * DAY;
    if (since < earliest) ctx.log.warn({ stream: 'outbound', since: new Date(since) }, 'SMSC answers at most half a year of history; starting there');
    return { start: formatDate(Math.max(since, earliest), tz), stopAt: null, upper: null, next: null };
  }
  const windowStart = new Date(now - ctx.options.statusWindowHours * 3_600_000);
  const stop = await sql<{ int_id: string; sent_at: Date }>`
    SELECT int_id, sent_at FROM (
      (SELECT int_id, sent_at FROM smsc.outbound_messages
        WHERE account = ${ctx.account.name} AND channel = ${channel} AND NOT is_final AND sent_at >= ${windowStart}
        ORDER BY int_id LIMIT 1)
      UNION ALL
      (SELECT int_id, sent_at FROM smsc.outbound_messages
        WHERE account = ${ctx.account.name} AND int_id = ${state.newest})
    ) s ORDER BY int_id LIMIT 1`.execute(ctx.db);
  const row = stop.rows[0];
  const stopAt = row ? row.int_id : state.newest;
  const from = row ? new Date(row.sent_at).getTime() : windowStart.getTime();
  return { start: formatDate(Math.max(from, earliest), tz), stopAt, upper: null, next: null };
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
