// Calendar days (`YYYY-MM-DD`) in an account's zone, and SMSC's `dd.mm.yyyy` for them.
import { localFields } from './zoned-time.ts';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The zone's calendar day of an instant, as `YYYY-MM-DD`. */
export function localDay(ms: number, timeZone: string): string {
  const f = localFields(ms, timeZone);
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}`;
}

/** The day before (or `n` days from) a `YYYY-MM-DD` day. */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** `YYYY-MM-DD` as SMSC's `dd.mm.yyyy`. */
export function smscDate(day: string): string {
  const [y, m, d] = day.split('-');
  return `${d}.${m}.${y}`;
}
