// A page is checked against the request that asked for it before anything of it is stored:
// get_messages with prev_id P answers messages *before* P (every int_id below P), get_answers
// with after_id A answers replies *after* A (every id above A). A page that says otherwise (a
// server or proxy that ignored the parameter, or repeats a page) fails the run here: it would
// otherwise become a cursor, re-read the same page every run, or skip history. Ids come from
// rows that normalized only (the one 64-bit reader, values.ts), never from rejected rows.

/** A page that contradicts its request, or that cannot say where the walk stands. */
export class PageCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageCheckError';
  }
}

/** The lowest and highest of the ids (undefined for none). */
export function idBounds(ids: readonly bigint[]): { min: bigint | undefined; max: bigint | undefined } {
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const id of ids) {
    if (min === undefined || id < min) min = id;
    if (max === undefined || id > max) max = id;
  }
  return { min, max };
}

/**
 * Every int_id of a get_messages page asked with `prev_id` must be below it (a later page of
 * a walk therefore never repeats an earlier one, nor its prev_id).
 * @throws PageCheckError naming the request and what came back.
 */
export function checkBelowPrevId(ids: readonly bigint[], prevId: string | null | undefined, request: string): void {
  if (prevId === null || prevId === undefined) return;
  const bound = BigInt(prevId);
  const offending = ids.filter((id) => id >= bound);
  if (offending.length === 0) return;
  const { max } = idBounds(offending);
  throw new PageCheckError(
    `SMSC answered ${request} with prev_id=${prevId} by a page holding ${offending.length} of ${ids.length} messages whose int_id is not below it ` +
      `(up to ${max}): the server ignored prev_id or repeated a page. Nothing of the page was stored and the cursor did not move; ` +
      'the run stops rather than re-read the same page. If it persists, check SMSC_BASE_URL (a proxy or cache in between?)',
  );
}

/**
 * Every id of a get_answers page asked with `after_id` must be above it.
 * @throws PageCheckError naming the request and what came back.
 */
export function checkAboveAfterId(ids: readonly bigint[], afterId: string | null | undefined, request: string): void {
  if (afterId === null || afterId === undefined) return;
  const bound = BigInt(afterId);
  const offending = ids.filter((id) => id <= bound);
  if (offending.length === 0) return;
  const { min } = idBounds(offending);
  throw new PageCheckError(
    `SMSC answered ${request} with after_id=${afterId} by a page holding ${offending.length} of ${ids.length} replies whose id is not above it ` +
      `(down to ${min}): the server ignored after_id or repeated a page. Nothing of the page was stored and the cursor did not move; ` +
      'the run stops rather than re-read the same page. If it persists, check SMSC_BASE_URL (a proxy or cache in between?)',
  );
}

/**
 * The message for a page none of whose rows normalized: without an id it cannot say where
 * the walk stands (a cursor from a rejected row is what this module exists to prevent). Its
 * rows are recorded in rejected_rows before the run fails, and the next run asks again.
 */
export function unreadablePageMessage(request: string, rows: number, firstReason: string): string {
  return (
    `SMSC answered ${request} with ${rows} rows of which none could be read (first reason: ${firstReason}; all are in smsc.rejected_rows): ` +
    'without one readable id the walk cannot tell where it stands, so the run stops here rather than skip or re-read history. ' +
    'The cursor did not move; the next run asks for the same page again'
  );
}
