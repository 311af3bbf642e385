// The inbound stream: get_answers walks forwards (after_id) from the newest reply held, with
// hour=168 because SMSC keeps replies 7 days only. A run whose predecessor succeeded more
// than 6 days ago says so loudly: replies are about to be lost. Every page is checked against
// its after_id before anything is stored (page-check.ts). Incoming calls come as replies whose
// message is `[CALL]`; they are stored as they come.
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { loadCursor, saveCursor, upsertInbound } from '../store.ts';
import { checkAboveAfterId, idBounds, PageCheckError, unreadablePageMessage } from '../page-check.ts';
import { commitRows, normalizePage, type Stream, type StreamContext, type StreamResult } from '../stream.ts';
import { int64Value } from '../values.ts';
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
    let cursor = await repairCursor(ctx, (await loadCursor<InboundCursor>(ctx.db, ctx.account.name, 'inbound')) ?? {});
    const warnings: string[] = [];
    const lastSuccess = cursor.lastSuccessAt ? Date.parse(cursor.lastSuccessAt) : undefined;
    if (lastSuccess !== undefined && ctx.clock.now() - lastSuccess > INBOUND_HORIZON_WARNING_MS) {
      const days = ((ctx.clock.now() - lastSuccess) / 86_400_000).toFixed(1);
      warnings.push(`last successful inbound sync was ${days} days ago; SMSC keeps replies 7 days, older ones are lost`);
      ctx.log.warn({ lastSuccessAt: cursor.lastSuccessAt }, warnings[0]!);
    }
    try {
      for (;;) {
        if (ctx.signal?.aborted) return { warnings };
        const raw = await ctx.api.getAnswers({ hour: 168, cnt: INBOUND_PAGE_SIZE, afterId: cursor.lastId }, ctx.runId);
        const page = normalizePage(raw, (r) => normalizeInbound(r, tz));
        // after_id comes from replies that normalized and committed only: a rejected reply's id
        // (one beyond 64 bits, say) would otherwise become after_id and hide every later reply.
        const ids = page.rows.map((r) => BigInt(r.id));
        const request = `get_answers${cursor.lastId !== undefined ? ` (after_id=${cursor.lastId})` : ''}`;
        checkAboveAfterId(ids, cursor.lastId, request);
        // A full page none of whose replies can be read gives no after_id for the next one: the
        // run fails rather than skip it. A short one is the end anyway: its bad replies are
        // recorded and read again next run, until a good reply after them moves the cursor on.
        if (raw.length >= INBOUND_PAGE_SIZE && ids.length === 0) {
          await commitRows(ctx, 'inbound', page, upsertInbound, cursor);
          throw new PageCheckError(unreadablePageMessage(request, raw.length, page.rejected[0]!.reason));
        }
        const { max } = idBounds(ids);
        if (max !== undefined) cursor = { ...cursor, lastId: max.toString() };
        if (raw.length > 0) await commitRows(ctx, 'inbound', page, upsertInbound, cursor);
        // A short page ends the run: the cursor is the newest reply held, so the next run goes
        // on from it and nothing in between is skipped, even should SMSC cap pages below cnt.
        if (raw.length < INBOUND_PAGE_SIZE) break;
      }
    } catch (error) {
      if (error instanceof QuotaDeferredError) return { warnings, deferredUntil: error.retryAt } satisfies StreamResult;
      throw error;
    }
    cursor = { ...cursor, lastSuccessAt: new Date(ctx.clock.now()).toISOString() };
    await ctx.transaction((trx) => saveCursor(trx, ctx.account.name, 'inbound', cursor, new Date(ctx.clock.now())));
    return { warnings };
  },
};

/**
 * after_id is the id of a committed reply. One written before that rule (a rejected reply's
 * id, 9999999999999999999 say, after which every run "succeeded" with no rows while replies
 * passed SMSC's 7 days) is repaired: an after_id the warehouse does not hold falls back to
 * the newest reply held.
 */
async function repairCursor(ctx: StreamContext, cursor: InboundCursor): Promise<InboundCursor> {
  const lastId = cursor.lastId;
  if (lastId === undefined) return cursor;
  let readable = true;
  try {
    int64Value(lastId, 'after_id');
  } catch {
    readable = false;
  }
  const account = ctx.account.name;
  if (readable && (await ctx.db.selectFrom('smsc.inbound_messages').select('id').where('account', '=', account).where('id', '=', lastId).executeTakeFirst())) return cursor;
  const newest = await ctx.db.selectFrom('smsc.inbound_messages').select('id').where('account', '=', account).orderBy('id', 'desc').limit(1).executeTakeFirst();
  ctx.log.warn({ afterId: lastId, repaired: newest?.id ?? null }, 'the cursor held the id of no stored reply; repaired');
  return { ...cursor, lastId: newest?.id };
}
