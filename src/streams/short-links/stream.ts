// The short-links stream: the counters of each configured link (SMSC_SHORT_LINKS: ids and/or
// original links), snapshotted into one row per link and day of the account's zone.
import { QuotaDeferredError } from '../../smsc/errors.ts';
import { localDay } from '../../time/calendar.ts';
import { commitPage, type Stream, type StreamResult } from '../stream.ts';
import { normalizeShortLink } from './normalize.ts';
import { upsertShortLinks } from './store.ts';

export const shortLinksStream: Stream = {
  name: 'short_links',
  async run(ctx) {
    const warnings: string[] = [];
    const day = localDay(ctx.clock.now(), ctx.account.timezone);
    try {
      for (const ref of ctx.account.shortLinks ?? []) {
        if (ctx.signal?.aborted) break;
        const answer = await ctx.api.getShortLink(ref, ctx.runId);
        const name = 'id' in ref ? `id ${ref.id}` : `link ${ref.link}`;
        if (answer === undefined) {
          warnings.push(`short link ${name} is not known to SMSC (error 3): check SMSC_SHORT_LINKS`);
          ctx.log.warn({ link: name }, warnings.at(-1)!);
          continue;
        }
        await commitPage(ctx, 'short_links', [answer], (raw) => normalizeShortLink(raw, day), upsertShortLinks, { lastSnapshotDay: day });
      }
    } catch (error) {
      if (error instanceof QuotaDeferredError) return { warnings, deferredUntil: error.retryAt } satisfies StreamResult;
      throw error;
    }
    return { warnings };
  },
};
