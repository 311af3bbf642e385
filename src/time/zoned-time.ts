// Conversions between instants and SMSC's zone-local dates (`DD.MM.YYYY hh:mm:ss`,
// `dd.mm.yyyy`). The account's zone is Moscow unless configured otherwise.
//
// Local times that a daylight-saving switch makes ambiguous are read by one rule:
//  - autumn overlap (the clock shows an hour twice, Berlin 25.10.2026 02:00–02:59): the
//    earlier instant, the first time the clock showed it (02:30 → 00:30Z, still CEST);
//  - spring gap (times the clock skips, Berlin 29.03.2026 02:00–02:59): the text is read
//    with the offset in force before the gap, which puts it after the gap, moved on by the
//    gap's length (02:30 → 01:30Z, which the clock shows as 03:30 CEST; 02:00 → 03:00).
// That is Temporal's `disambiguation: 'compatible'`. For the gap it is also what
// PostgreSQL's `timestamp AT TIME ZONE` does, so SQL over the warehouse reads such a text
// the same way; for the overlap PostgreSQL takes the later instant, and we keep the earlier
// (the product's contract, design.md §3; a reply is then never dated later than it came). SMSC
// itself never writes a gap time (it formats real instants), so a gap text is a bad row
// that is still read in order: 02:10 and 02:50 stay 40 minutes apart.
//
// Temporal (temporal-polyfill) is the implementation. History pages are normalized at
// thousands of rows a second, so per zone the offset transitions Temporal reports are kept
// by slices of time, and a local time farther than a day from any transition is plain
// arithmetic; within a day of one, the conversion is Temporal's own.
import { Temporal } from 'temporal-polyfill';

const DAY = 86_400_000;
/** Slices of time whose offset transitions are fetched together: about a year. */
const SLICE_MS = 366 * DAY;

/** Offsets of one slice: the offset at its start, then each transition inside it. */
interface Slice {
  readonly start: number;
  readonly end: number;
  readonly firstOffset: number;
  /** Instants (ms) at which the offset changes, ascending, all in (start, end). */
  readonly at: readonly number[];
  /** The offset from `at[i]` on. */
  readonly offsets: readonly number[];
}

/** A zone's offsets, fetched from Temporal slice by slice as instants ask for them. */
class ZoneOffsets {
  readonly #timeZone: string;
  readonly #slices = new Map<number, Slice>();
  /** The slice asked for last: rows come in time order, so it is nearly always the next one's too. */
  #last: Slice = { start: 0, end: 0, firstOffset: 0, at: [], offsets: [] };

  constructor(timeZone: string) {
    this.#timeZone = timeZone;
  }

  /** Offset from UTC at an instant, in ms. */
  offsetAt(ms: number): number {
    let s = this.#last;
    if (!(ms >= s.start && ms < s.end)) s = this.#last = this.#slice(Math.floor(ms / SLICE_MS));
    let offset = s.firstOffset;
    for (let i = 0; i < s.at.length && s.at[i]! <= ms; i++) offset = s.offsets[i]!;
    return offset;
  }

  /** Whether the offset changes anywhere in (from, to]. */
  changesWithin(from: number, to: number): boolean {
    for (let k = Math.floor(from / SLICE_MS); k * SLICE_MS <= to; k++) {
      const s = this.#slice(k);
      if (s.at.some((t) => t > from && t <= to)) return true;
      // A transition exactly at a slice's start shows as a different first offset.
      if (s.start > from && s.start <= to && this.#slice(k - 1).lastOffset !== s.firstOffset) return true;
    }
    return false;
  }

  #slice(k: number): Slice & { readonly lastOffset: number } {
    const cached = this.#slices.get(k) as (Slice & { lastOffset: number }) | undefined;
    if (cached) return cached;
    const start = k * SLICE_MS;
    const end = start + SLICE_MS;
    let zdt = Temporal.Instant.fromEpochMilliseconds(start).toZonedDateTimeISO(this.#timeZone);
    const firstOffset = zdt.offsetNanoseconds / 1e6;
    const at: number[] = [];
    const offsets: number[] = [];
    for (;;) {
      const next = zdt.getTimeZoneTransition('next');
      if (!next || next.epochMilliseconds >= end) break;
      at.push(next.epochMilliseconds);
      offsets.push(next.offsetNanoseconds / 1e6);
      zdt = next;
    }
    const slice = { start, end, firstOffset, at, offsets, lastOffset: offsets.at(-1) ?? firstOffset };
    this.#slices.set(k, slice);
    return slice;
  }
}

const zones = new Map<string, ZoneOffsets>();

function zone(timeZone: string): ZoneOffsets {
  let z = zones.get(timeZone);
  if (!z) zones.set(timeZone, (z = new ZoneOffsets(timeZone)));
  return z;
}

/** Wall-clock fields of an instant in a zone. */
export interface LocalFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Offset of the zone from UTC at an instant, in ms (Moscow: +3 h). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  return zone(timeZone).offsetAt(ms);
}

/** The wall clock of the zone at an instant (whole seconds; milliseconds are dropped). */
export function localFields(ms: number, timeZone: string): LocalFields {
  return utcFields(Math.floor(ms / 1000) * 1000 + zoneOffsetMs(ms, timeZone));
}

/** Calendar fields of an instant read as UTC, by arithmetic (no Date: this is the hot path). */
function utcFields(ms: number): LocalFields {
  const days = Math.floor(ms / DAY);
  const secondOfDay = (ms - days * DAY) / 1000;
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm), proleptic Gregorian.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return {
    year: yoe + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: doy - Math.floor((153 * mp + 2) / 5) + 1,
    hour: Math.floor(secondOfDay / 3600),
    minute: Math.floor(secondOfDay / 60) % 60,
    second: Math.floor(secondOfDay) % 60,
  };
}

/**
 * The instant at which the zone's wall clock shows the given fields. In an autumn overlap
 * the earlier instant; in a spring gap the text is read with the offset before the gap, so
 * it lands after the gap, moved on by the gap's length (see the module's comment).
 * Out-of-range fields roll over as in `Date.UTC` (day 32 is the next month's first).
 */
export function fromLocalFields(f: LocalFields, timeZone: string): number {
  const wall = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  const z = zone(timeZone);
  // Every offset is less than a day: without a transition within a day of the wall time,
  // the one offset of that stretch is the answer, and the only one.
  if (!z.changesWithin(wall - DAY, wall + DAY)) return wall - z.offsetAt(wall);
  const d = utcFields(wall);
  return new Temporal.PlainDateTime(d.year, d.month, d.day, d.hour, d.minute, d.second)
    .toZonedDateTime(timeZone, { disambiguation: 'compatible' })
    .epochMilliseconds;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `DD.MM.YYYY hh:mm:ss` in the zone. */
export function formatDateTime(ms: number, timeZone: string): string {
  const f = localFields(ms, timeZone);
  return `${pad(f.day)}.${pad(f.month)}.${pad(f.year, 4)} ${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
}

/** `dd.mm.yyyy` in the zone. */
export function formatDate(ms: number, timeZone: string): string {
  return formatDateTime(ms, timeZone).slice(0, 10);
}

const DATE_TIME = /^(\d{2})\.(\d{2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * Parses `DD.MM.YYYY hh:mm:ss` (or `DD.MM.YYYY`, midnight) in the zone; undefined when the
 * text is not such a date or names an impossible one (31.02, 25:00). A time in a spring gap
 * or an autumn overlap is read by the rule of `fromLocalFields`.
 */
export function parseDateTime(text: string, timeZone: string): number | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const f: LocalFields = {
    day: Number(m[1]),
    month: Number(m[2]),
    year: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
  };
  const check = new Date(Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second));
  if (
    check.getUTCFullYear() !== f.year ||
    check.getUTCMonth() !== f.month - 1 ||
    check.getUTCDate() !== f.day ||
    check.getUTCHours() !== f.hour ||
    check.getUTCMinutes() !== f.minute ||
    check.getUTCSeconds() !== f.second
  ) {
    return undefined;
  }
  return fromLocalFields(f, timeZone);
}

/**
 * The first instant of a calendar day in the zone: its midnight, or where a switch skips
 * midnight (America/Santiago, Asia/Beirut), the first time the clock shows that day.
 */
export function startOfDate(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  const z = zone(timeZone);
  if (!z.changesWithin(wall - DAY, wall + DAY)) return wall - z.offsetAt(wall);
  const d = utcFields(wall);
  return new Temporal.PlainDate(d.year, d.month, d.day).toZonedDateTime({ timeZone }).epochMilliseconds;
}

/** Start of the zone's calendar day that contains the instant. */
export function startOfLocalDay(ms: number, timeZone: string): number {
  const f = localFields(ms, timeZone);
  return startOfDate(f.year, f.month, f.day, timeZone);
}

/** Start of the next local day (handles 23- and 25-hour days). */
export function startOfNextLocalDay(dayStart: number, timeZone: string): number {
  const f = localFields(dayStart + 36 * 3600_000, timeZone);
  return startOfDate(f.year, f.month, f.day, timeZone);
}
