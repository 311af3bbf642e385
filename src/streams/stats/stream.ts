// The stats stream: get_stat one day at a time (start = end), so the warehouse has a row per
// login and day. Each run reads forward from the newest day held (at least yesterday: late
// corrections) to today (partial), and walks back day by day to --since (a first run: 7
// days). SMSC allows 3 stats requests a minute: when the minute's budget is spent the cursor
// keeps what was read and the next run goes on, with no day skipped.
import { sql } from 'kysely';
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { addDays, localDay, sinceDay, smscDate } from '../../time/calendar.ts';
import { loadCursor } from '../store.ts';
import { commitPage, type Stream, type StreamContext, type StreamResult } from '../stream.ts';
import { normalizeStat } from './normalize.ts';
import { upsertStats } from './store.ts';

const DEFAULT_FIRST_RUN_DAYS = 7;

/** Days are `YYYY-MM-DD` in the account's zone; every day from `oldest` to `newest` is held. */
export interface StatsCursor {
  readonly oldest?: string | undefined;
  readonly newest?: string | undefined;
  /** How far back the walk goes (the first run's or a backfill's --since), kept until reached. */
  readonly target?: string | undefined;
  /**
   * Balances of days read in the last RECENT_TTL_MS: a run resumed after the quota cut the
   * last one short skips them. Without it, reading two balances of two recent days (4
   * requests) against 3 a minute would restart every run and never reach the fourth.
   */
  readonly recent?: Readonly<Record<string, { readonly balances: readonly string[]; readonly at: string }>> | undefined;
}

const RECENT_TTL_MS = 10 * 60_000;

export const statsStream: Stream = {
  name: 'stats',
  async run(ctx) {
    const tz = ctx.account.timezone;
    const now = ctx.clock.now();
    const today = localDay(now, tz);
    const yesterday = addDays(today, -1);
    const saved = (await loadCursor<StatsCursor>(ctx.db, ctx.account.name, 'stats')) ?? {};
    const wanted = ctx.options.since
      ? sinceDay(ctx.options.since, tz)
      : (saved.target ?? (saved.oldest ? undefined : localDay(now - DEFAULT_FIRST_RUN_DAYS * 86_400_000, tz)));
    // A target already reached is no target.
    const target = wanted !== undefined && saved.oldest !== undefined && saved.oldest <= wanted ? undefined : wanted;
    let cursor: StatsCursor | undefined = { ...saved, target };
    const forward = async () => {
      // From the newest day held (at least yesterday: late corrections) up to today (partial).
      const from = cursor!.newest && cursor!.newest < yesterday ? cursor!.newest : yesterday;
      for (let day = from; cursor && day <= today; day = addDays(day, 1)) {
        cursor = await readDay(ctx, day, cursor, (c) => ({ ...c, newest: day, oldest: c.oldest === undefined || day < c.oldest ? day : c.oldest }));
      }
    };
    const backward = async () => {
      for (let day = addDays(cursor!.oldest!, -1); cursor && target !== undefined && day >= target; day = addDays(day, -1)) {
        cursor = await readDay(ctx, day, cursor, (c) => ({ ...c, oldest: day, target: day <= target ? undefined : target }));
      }
    };
    try {
      // A walk back in progress goes first, so that runs resumed within the minute's 3
      // requests spend them on days not read yet; the recent days are re-read after it.
      if (cursor.oldest !== undefined && target !== undefined) {
        await backward();
        if (cursor) await forward();
      } else {
        await forward();
        if (cursor) await backward();
      }
    } catch (error) {
      // The completeness check waits for a run that read to the end.
      if (error instanceof QuotaDeferredError) return { deferredUntil: error.retryAt } satisfies StreamResult;
      throw error;
    }
    return { warnings: await completenessWarnings(ctx) };
  },
};

/**
 * The completeness check, after every stats run: days (of the last 60) on which the history
 * held and SMSC's statistics disagree on the number of messages, said aloud, never silently.
 */
export async function completenessWarnings(ctx: Pick<StreamContext, 'db' | 'account' | 'clock' | 'log'>): Promise<string[]> {
  const since = localDay(ctx.clock.now() - 60 * 86_400_000, ctx.account.timezone);
  const gaps = await ctx.db
    .selectFrom('smsc.completeness_daily')
    .select(['day', 'messages_held', 'messages_reported', 'gap'])
    .where('account', '=', ctx.account.name)
    .where('gap', '!=', 0)
    .where(sql<boolean>`day >= ${since}::date`)
    .orderBy('day')
    .execute();
  if (gaps.length === 0) return [];
  // One line however many days: a three-week backfill with the electronic balance off would
  // otherwise print a warning per day. The view has them day by day.
  const first = String(gaps[0]!.day);
  const last = String(gaps.at(-1)!.day);
  const reported = gaps.reduce((s, g) => s + g.messages_reported, 0);
  const held = gaps.reduce((s, g) => s + g.messages_held, 0);
  const missing = gaps.reduce((s, g) => s + Math.max(0, g.gap), 0);
  const extra = gaps.reduce((s, g) => s + Math.max(0, -g.gap), 0);
  const what = [missing ? `${missing} missing` : '', extra ? `${extra} more` : ''].filter(Boolean).join(', ');
  const days = gaps.length === 1 ? `on ${first}` : `on ${gaps.length} days from ${first} to ${last}`;
  const message =
    `completeness gap ${days}: SMSC counts ${reported} messages, the warehouse holds ${held} (${what}); ` +
    `day by day: SELECT * FROM smsc.completeness_daily WHERE account = '${ctx.account.name.replace(/'/g, "''")}' AND gap <> 0`;
  ctx.log.warn({ days: gaps.length, first, last, held, reported, missing, extra }, message);
  return [message];
}

/**
 * Reads one day's balances not read in the last RECENT_TTL_MS and commits each page; the
 * day's last balance moves the cursor as `advance` says. Undefined when the run was asked to
 * stop.
 */
async function readDay(ctx: StreamContext, day: string, cursor: StatsCursor, advance: (c: StatsCursor) => StatsCursor): Promise<StatsCursor | undefined> {
  // `auto` (the default) reads both: the history does not say which balance paid a message, so
  // an account's own statistics must hold both for its messages' costs to add up.
  const balances = (ctx.options.statsElectronic ?? 'auto') !== false ? (['main', 'electronic'] as const) : (['main'] as const);
  const now = ctx.clock.now();
  const recent = Object.fromEntries(Object.entries(cursor.recent ?? {}).filter(([, r]) => now - Date.parse(r.at) < RECENT_TTL_MS));
  const read = new Set<string>(recent[day]?.balances ?? []);
  let next: StatsCursor = { ...cursor, recent };
  if (balances.every((b) => read.has(b))) return advance(next);
  for (const balance of balances) {
    if (read.has(balance)) continue;
    if (ctx.signal?.aborted) return undefined;
    const page = await ctx.api.getStat({ start: smscDate(day), end: smscDate(day), electronic: balance === 'electronic' }, ctx.runId);
    read.add(balance);
    const marked = { ...next, recent: { ...next.recent, [day]: { balances: [...read], at: new Date(ctx.clock.now()).toISOString() } } };
    next = balances.every((b) => read.has(b)) ? advance(marked) : marked;
    await commitPage(ctx, 'stats', page, (raw) => normalizeStat(raw, day, balance), upsertStats, next);
  }
  return next;
}
