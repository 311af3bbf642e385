// `--month` as a user types it (a module without imports: the CLI checks its options before
// it loads what a command needs).
import type { Month } from './read-report.ts';

/** `YYYY-MM` as a user types it; undefined when it names no month. */
export function parseMonth(text: string): Month | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(text.trim());
  return m && Number(m[2]) >= 1 && Number(m[2]) <= 12 ? (`${m[1]}-${m[2]}` as Month) : undefined;
}
