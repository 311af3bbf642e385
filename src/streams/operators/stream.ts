// The operators stream: numbers seen in replies (and in history rows that lack an operator)
// are looked up in comma-separated batches, within SMSC's 100 lookups a minute; a lookup is
// repeated after SMSC_OPERATOR_TTL_DAYS (numbers get ported), a "not found" too.
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { commitPage, type Stream, type StreamResult } from '../stream.ts';
import { normalizeOperator } from './normalize.ts';
import { phonesToLookUp, upsertOperators } from './store.ts';

/** Numbers per request (a long comma list stays well inside a POST body). */
export const OPERATOR_BATCH = 50;

export const operatorsStream: Stream = {
  name: 'operators',
  async run(ctx) {
    const ttlMs = (ctx.options.operatorTtlDays ?? 30) * 86_400_000;
    const staleBefore = new Date(ctx.clock.now() - ttlMs);
    let after = '';
    try {
      for (;;) {
        if (ctx.signal?.aborted) return {};
        const phones = await phonesToLookUp(ctx.db, ctx.account.name, staleBefore, after, ctx.options.operatorBatch ?? OPERATOR_BATCH);
        if (phones.length === 0) return {};
        const answer = await ctx.api.getOperators(phones, ctx.runId);
        // SMSC may echo a number in another form (+7 916 …): an entry is matched to the number
        // asked by its digits, and stored under the number as asked.
        const asked = new Map(phones.map((p) => [digitsOf(p), p]));
        const askedFor = new Map<unknown, string>();
        for (const a of answer) {
          const phone = a && typeof a === 'object' ? asked.get(digitsOf(String((a as { phone?: unknown }).phone ?? ''))) : undefined;
          if (phone !== undefined) askedFor.set(a, phone);
        }
        const answered = new Set(askedFor.values());
        // A number the answer leaves out is taken as unknown, so it is not asked again before the TTL.
        const page = [...answer, ...phones.filter((p) => !answered.has(p)).map((phone) => ({ phone, error_code: 3, missing_from_answer: true }))];
        await commitPage(ctx, 'operators', page, (raw) => normalizeOperator(raw, askedFor.get(raw)), upsertOperators, { lastPhone: phones.at(-1) });
        after = phones.at(-1)!;
      }
    } catch (error) {
      if (error instanceof QuotaDeferredError) return { deferredUntil: error.retryAt } satisfies StreamResult;
      throw error;
    }
  },
};

function digitsOf(phone: string): string {
  return phone.replace(/\D/g, '');
}
