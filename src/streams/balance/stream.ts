// The balance stream: one balance.php request (cur=1) per run, stored as a sample of the
// account's balance at that instant (smsc.balance_history). Sampled on a schedule (jobs/
// balance.ts: hourly), it gives finance the opening and closing balance of every month, to
// check against payments and spending (smsc.cost_reconciliation_monthly). SMSC allows 10
// balance requests a minute; the ledger counts them like every other request.
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { commitRows, normalizePage, type Stream, type StreamResult } from '../stream.ts';
import { normalizeBalance } from './normalize.ts';
import { upsertBalance } from './store.ts';

export const balanceStream: Stream = {
  name: 'balance',
  async run(ctx) {
    try {
      const answer = await ctx.api.getBalance(ctx.runId);
      // The instant the answer came: the balance SMSC showed then.
      const sampledAt = new Date(Math.floor(ctx.clock.now() / 1000) * 1000);
      const page = normalizePage([answer], (raw) => normalizeBalance(raw, sampledAt));
      await commitRows(ctx, 'balance', page, (db, account, rows) => upsertBalance(db, account, rows), { lastSampledAt: sampledAt.toISOString() });
    } catch (error) {
      if (error instanceof QuotaDeferredError) return { deferredUntil: error.retryAt } satisfies StreamResult;
      throw error;
    }
    return {};
  },
};
