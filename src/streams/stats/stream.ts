// The stats stream: get_stat one day at a time (start = end), so the warehouse has a row per
// login and day. Each run reads forward from the newest day held (at least yesterday: late
// corrections) to today (partial), and walks back day by day to --since (a first run: 7
// days). SMSC allows 3 stats requests a minute: when the minute's budget is spent the cursor
// keeps what was read and the next run goes on, with no day skipped.
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { addDays, localDay, smscDate } from '../../time/calendar.ts';
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
}

export const statsStream: Stream = {
  name: 'stats',
  async run(ctx) {
    const tz = ctx.account.timezone;
    const now = ctx.clock.now();
    const today = localDay(now, tz);
    const yesterday = addDays(today, -1);
    const saved = (await loadCursor<StatsCursor>(ctx.db, ctx.account.name, 'stats')) ?? {};
    const wanted = ctx.options.since
      ? localDay(ctx.options.since.getTime(), tz)
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
      if (error instanceof QuotaDeferredError) return { deferredUntil: error.retryAt } satisfies StreamResult;
      throw error;
    }
    return {};
  },
};

/**
 * Reads one day (every balance asked for) and commits its rows; the day's last balance moves
 * the cursor as `advance` says. Undefined when the run was asked to stop.
 */
async function readDay(ctx: StreamContext, day: string, cursor: StatsCursor, advance: (c: StatsCursor) => StatsCursor): Promise<StatsCursor | undefined> {
  const balances = ctx.options.statsElectronic ? (['main', 'electronic'] as const) : (['main'] as const);
  let next = cursor;
  for (const balance of balances) {
    if (ctx.signal?.aborted) return undefined;
    const page = await ctx.api.getStat({ start: smscDate(day), end: smscDate(day), electronic: balance === 'electronic' }, ctx.runId);
    next = balance === balances[balances.length - 1] ? advance(cursor) : cursor;
    await commitPage(ctx, 'stats', page, (raw) => normalizeStat(raw, day, balance), upsertStats, next);
  }
  return next;
}
