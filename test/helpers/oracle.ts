// The tests' own answers to "what does the zone's clock show" and "how does SMSC write this
// amount": a second implementation, deliberately plain, so that an expected value is never
// computed by the code it checks (src/time, and the emulator's formatter in
// src/sandbox/endpoints.ts, which uses src/time itself). It uses only the platform: Intl's
// wall clock for a zone (IANA data of its own, not Temporal's), Date.UTC for calendar
// arithmetic, and integers for money. Slow on purpose where slowness buys plainness: a day's
// start is found by trying each offset the zone shows around it, then by bisection.
// Its own checks, against hand-written values: oracle.test.ts.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** What a zone's clock shows: whole fields, month 1-12. */
export interface ZoneFields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const clocks = new Map<string, Intl.DateTimeFormat>();

function clock(zone: string): Intl.DateTimeFormat {
  let f = clocks.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    clocks.set(zone, f);
  }
  return f;
}

/** The zone's wall clock at an instant, as Intl reads it (milliseconds dropped). */
export function zoneFields(ms: number, zone: string): ZoneFields {
  // Remembered per zone and second: the comparisons ask about the same instants again and again
  // (140,000 calls for 9,242 instants in one file, measured 2026-12-05).
  const key = `${zone} ${Math.floor(ms / 1000)}`;
  const known = seen.get(key);
  if (known) return known;
  const parts: Record<string, number> = {};
  for (const p of clock(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const fields = Object.freeze({ year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! });
  if (seen.size >= 200_000) seen.clear();
  seen.set(key, fields);
  return fields;
}
const seen = new Map<string, ZoneFields>();

/** Minutes east of UTC that the zone's clock is at an instant (Moscow: 180). */
export function zoneOffsetMinutes(ms: number, zone: string): number {
  const f = zoneFields(ms, zone);
  const wall = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  return (wall - Math.floor(ms / 1000) * 1000) / MINUTE;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The zone's calendar day at an instant, `YYYY-MM-DD`. */
export function zoneDay(ms: number, zone: string): string {
  const f = zoneFields(ms, zone);
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}`;
}

const DAY_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;

function dayParts(day: string): [number, number, number] {
  const m = DAY_TEXT.exec(day);
  if (!m) throw new Error(`not a YYYY-MM-DD day: ${day}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** `n` days after (before, when negative) a `YYYY-MM-DD` day. */
export function addDaysText(day: string, n: number): string {
  const [y, m, d] = dayParts(day);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** Every day from `first` to `last`, both included, `YYYY-MM-DD`. */
export function daysFromTo(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = first; d <= last; d = addDaysText(d, 1)) out.push(d);
  return out;
}

const starts = new Map<string, number>();

/**
 * The first instant at which the zone's clock shows the day: a `YYYY-MM-DD` day, or the day
 * an instant falls on. Tried first: midnight read with each offset the zone shows within a
 * day of it, keeping those at which the clock does show that midnight, the earliest one
 * (a midnight shown twice). None: a switch skipped midnight, and the day starts at the
 * switch, found by bisection to the second between an instant still on the day before and
 * one already on the day.
 */
export function zoneDayStart(dayOrMs: string | number, zone: string): number {
  const day = typeof dayOrMs === 'number' ? zoneDay(dayOrMs, zone) : dayOrMs;
  const key = `${zone} ${day}`;
  const known = starts.get(key);
  if (known !== undefined) return known;
  const [y, m, d] = dayParts(day);
  const midnight = Date.UTC(y, m - 1, d);
  const offsets = new Set<number>();
  for (let t = midnight - DAY; t <= midnight + DAY; t += HOUR) offsets.add(zoneOffsetMinutes(t, zone));
  const candidates = [...offsets].map((o) => midnight - o * MINUTE).sort((a, b) => a - b);
  const shown = candidates.filter((t) => {
    const f = zoneFields(t, zone);
    return f.year === y && f.month === m && f.day === d && f.hour === 0 && f.minute === 0 && f.second === 0;
  });
  let start: number;
  if (shown.length > 0) {
    start = shown[0]!;
  } else {
    // Midnight read with the offset after the switch is an instant before it (the clock still
    // shows the day before); read with the offset before the switch, one after it (the clock
    // shows the day, past the gap). The switch lies between.
    let before = Math.max(...candidates.filter((t) => zoneDay(t, zone) < day));
    let after = Math.min(...candidates.filter((t) => zoneDay(t, zone) === day));
    if (!(Number.isFinite(before) && Number.isFinite(after) && before < after)) throw new Error(`zoneDayStart: no start found for ${day} in ${zone}`);
    while (after - before > 1000) {
      const mid = before + Math.floor((after - before) / 2000) * 1000;
      if (zoneDay(mid, zone) >= day) after = mid;
      else before = mid;
    }
    start = after;
  }
  starts.set(key, start);
  return start;
}

/** `YYYY-MM-DD` as SMSC writes a day: `dd.mm.yyyy`. */
export function smscDay(day: string): string {
  const [y, m, d] = dayParts(day);
  return `${pad(d)}.${pad(m)}.${pad(y, 4)}`;
}

/** SMSC's `dd.mm.yyyy` as `YYYY-MM-DD`. */
export function isoDay(smsc: string): string {
  const m = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(smsc);
  if (!m) throw new Error(`not a dd.mm.yyyy day: ${smsc}`);
  return `${m[3]}-${m[2]}-${m[1]}`;
}

/** The zone's day at an instant as SMSC writes it, `dd.mm.yyyy`. */
export function smscDateText(ms: number, zone: string): string {
  return smscDay(zoneDay(ms, zone));
}

/** The zone's wall clock at an instant as SMSC writes it, `dd.mm.yyyy hh:mm:ss`. */
export function smscDateTimeText(ms: number, zone: string): string {
  const f = zoneFields(ms, zone);
  return `${pad(f.day)}.${pad(f.month)}.${pad(f.year, 4)} ${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
}

/**
 * An amount in kopecks (hundredths) as SMSC writes money: whole units, a dot, two digits of
 * kopecks, a minus sign before a negative amount (160 -> "1.60", 5 -> "0.05", -1250 ->
 * "-12.50"). Written from the digits of the integer, never through a float.
 */
export function moneyText(kopecks: number): string {
  if (!Number.isSafeInteger(kopecks)) throw new Error(`moneyText: not a whole number of kopecks: ${kopecks}`);
  const digits = String(Math.abs(kopecks)).padStart(3, '0');
  return `${kopecks < 0 ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}
