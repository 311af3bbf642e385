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
    const counts = await ctx.db.transaction().execute(async (trx) => {
      const c = await applyPriceSnapshot(trx, ctx.account.name, snapshot, at);
      await insertRejected(trx, ctx.account.name, 'tariffs', ctx.runId, snapshot.rejected, at);
      await saveCursor(trx, ctx.account.name, 'tariffs', { lastSnapshotAt: at.toISOString() }, at);
      return c;
    });
    ctx.totals.inserted += counts.opened;
    ctx.totals.updated += counts.closed;
    ctx.totals.rejected += snapshot.rejected.length;
    ctx.totals.pages += 1;
    return {};
  },
};
