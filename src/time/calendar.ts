// Calendar days (`YYYY-MM-DD`) in an account's zone, and SMSC's `dd.mm.yyyy` for them.
import { localFields, startOfDate } from './zoned-time.ts';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A calendar day, `YYYY-MM-DD`: no instant until a zone is named. */
export type CalendarDay = `${number}-${number}-${number}`;

/**
 * Where a history starts (`--since`): a calendar day, which each account reads in its own
 * zone (the day starts at that zone's midnight), or an instant, the same for every account.
 */
export type Since = CalendarDay | Date;

/** The zone's calendar day of an instant, as `YYYY-MM-DD`. */
export function localDay(ms: number, timeZone: string): string {
  const f = localFields(ms, timeZone);
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}`;
}

/** The first instant of a `YYYY-MM-DD` day in the zone. */
export function dayStart(day: string, timeZone: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return startOfDate(y!, m!, d!, timeZone);
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

/**
 * A day as a user types it, `dd.mm.yyyy` (SMSC's way) or `yyyy-mm-dd`; undefined when it is
 * neither or names no real day (31.02.2026).
 */
export function parseCalendarDay(text: string): CalendarDay | undefined {
  const m = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(text.trim()) ?? /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day] = m[1]!.length === 4 ? [m[1]!, m[2]!, m[3]!] : [m[3]!, m[2]!, m[1]!];
  const iso = `${year}-${month}-${day}`;
  const check = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(check.getTime()) || check.toISOString().slice(0, 10) !== iso ? undefined : (iso as CalendarDay);
}

/** The first instant `since` covers for an account in `timeZone`. */
export function sinceStart(since: Since, timeZone: string): number {
  return since instanceof Date ? since.getTime() : dayStart(since, timeZone);
}

/** The account's calendar day on which `since` falls. */
export function sinceDay(since: Since, timeZone: string): string {
  return since instanceof Date ? localDay(since.getTime(), timeZone) : since;
}
