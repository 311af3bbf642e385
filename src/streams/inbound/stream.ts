// The inbound stream: get_answers walks forwards (after_id) from the newest reply held, with
// hour=168 because SMSC keeps replies 7 days only. A run whose predecessor succeeded more
// than 6 days ago says so loudly: replies are about to be lost.
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { loadCursor, saveCursor, upsertInbound } from '../store.ts';
import { commitPage, type Stream, type StreamResult } from '../stream.ts';
import { normalizeInbound } from './normalize.ts';

/** Replies per page (the API allows 10000; smaller pages keep transactions short). */
export const INBOUND_PAGE_SIZE = 1000;
/** SMSC forgets replies after 7 days; warn a day before. */
export const INBOUND_HORIZON_WARNING_MS = 6 * 86_400_000;

export interface InboundCursor {
  /** Newest reply id held. */
  readonly lastId?: string | undefined;
  /** When a run last read to the end (ISO). */
  readonly lastSuccessAt?: string | undefined;
}

export const inboundStream: Stream = {
  name: 'inbound',
  async run(ctx) {
    const tz = ctx.account.timezone;
    let cursor: InboundCursor = (await loadCursor<InboundCursor>(ctx.db, ctx.account.name, 'inbound')) ?? {};
    const warnings: string[] = [];
    const lastSuccess = cursor.lastSuccessAt ? Date.parse(cursor.lastSuccessAt) : undefined;
    if (lastSuccess !== undefined && ctx.clock.now() - lastSuccess > INBOUND_HORIZON_WARNING_MS) {
      const days = ((ctx.clock.now() - lastSuccess) / 86_400_000).toFixed(1);
      warnings.push(`last successful inbound sync was ${days} days ago; SMSC keeps replies 7 days, older ones are lost`);
      ctx.log.warn({ stream: 'inbound', lastSuccessAt: cursor.lastSuccessAt }, warnings[0]!);
    }
    try {
      for (;;) {
        if (ctx.signal?.aborted) return { warnings };
        const page = await ctx.api.getAnswers({ hour: 168, cnt: INBOUND_PAGE_SIZE, afterId: cursor.lastId }, ctx.runId);
        const ids = page.map((r) => (r && typeof r === 'object' ? (r as { id?: unknown }).id : undefined)).flatMap((id) => (/^\d{1,19}$/.test(String(id)) ? [BigInt(String(id))] : []));
        const last = ids.reduce((a, b) => (b > a ? b : a), cursor.lastId ? BigInt(cursor.lastId) : -1n);
        cursor = { ...cursor, lastId: last >= 0n ? last.toString() : undefined };
        if (page.length > 0) await commitPage(ctx, 'inbound', page, (raw) => normalizeInbound(raw, tz), upsertInbound, cursor);
        if (page.length < INBOUND_PAGE_SIZE) break;
      }
    } catch (error) {
      if (error instanceof QuotaDeferredError) return { warnings, deferredUntil: error.retryAt } satisfies StreamResult;
      throw error;
    }
    cursor = { ...cursor, lastSuccessAt: new Date(ctx.clock.now()).toISOString() };
    await saveCursor(ctx.db, ctx.account.name, 'inbound', cursor, new Date(ctx.clock.now()));
    return { warnings };
  },
};
