// The tariffs stream: one get_price per run (the job runs daily), applied as a snapshot to
// the price history in one transaction with its rejected entries and cursor.
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { insertRejected, saveCursor } from '../store.ts';
import type { Stream } from '../stream.ts';
import { RowRejected } from '../values.ts';
import { normalizePrices } from './normalize.ts';
import { applyPriceSnapshot } from './store.ts';

export const tariffsStream: Stream = {
  name: 'tariffs',
  async run(ctx) {
    let answer: unknown;
    try {
      answer = await ctx.api.getPrice(ctx.runId);
    } catch (error) {
      if (error instanceof QuotaDeferredError) return { deferredUntil: error.retryAt };
      throw error;
    }
    if (answer === undefined) return { warnings: ['SMSC answered get_price with "not found": no price list'] };
    let snapshot;
    try {
      snapshot = normalizePrices(answer);
    } catch (error) {
      if (error instanceof RowRejected) throw new Error(`SMSC's price list cannot be read: ${error.message}`);
      throw error;
    }
    const at = new Date(ctx.clock.now());
    const { counts, newlyRejected } = await ctx.transaction(async (trx) => {
      const c = await applyPriceSnapshot(trx, ctx.account.name, snapshot, at);
      const rejected = await insertRejected(trx, ctx.account.name, 'tariffs', ctx.runId, snapshot.rejected, at);
      await saveCursor(trx, ctx.account.name, 'tariffs', { lastSnapshotAt: at.toISOString() }, at);
      return { counts: c, newlyRejected: rejected };
    });
    ctx.totals.inserted += counts.opened;
    ctx.totals.updated += counts.closed;
    // Entries refused before (the same bad entry every day) are only marked as seen again.
    ctx.totals.rejected += newlyRejected;
    if (newlyRejected > 0) ctx.log.warn({ rejected: newlyRejected, firstReason: snapshot.rejected[0]!.reason }, 'rows rejected');
    ctx.totals.pages += 1;
    return {};
  },
};
