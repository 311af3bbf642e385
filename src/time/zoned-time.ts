// Conversions between instants and SMSC's zone-local dates (`DD.MM.YYYY hh:mm:ss`,
// `dd.mm.yyyy`). The account's zone is Moscow unless configured otherwise.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
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

export function localFields(ms: number, timeZone: string): LocalFields {
  const d = new Date(Math.floor(ms / 1000) * 1000 + zoneOffsetMs(ms, timeZone));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** Wall-clock fields as Intl computes them: the truth, but slow (a few µs a call). */
function intlFields(ms: number, timeZone: string): LocalFields {
  const out: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') out[part.type] = Number(part.value);
  }
  return out as unknown as LocalFields;
}

function intlOffsetMs(ms: number, timeZone: string): number {
  const f = intlFields(ms, timeZone);
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - Math.floor(ms / 1000) * 1000;
}

/** Zone offsets by 15-minute slice of time, for slices with no offset change inside. */
const offsets = new Map<string, Map<number, number>>();
const SLICE_MS = 15 * 60_000;

/** Offset of the zone from UTC at an instant, in ms (Moscow: +3 h). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const slice = Math.floor(ms / SLICE_MS);
  let zone = offsets.get(timeZone);
  if (!zone) offsets.set(timeZone, (zone = new Map()));
  const cached = zone.get(slice);
  if (cached !== undefined) return cached;
  const offset = intlOffsetMs(ms, timeZone);
  // Cached only when the slice's first and last second agree (no transition inside).
  if (intlOffsetMs(slice * SLICE_MS, timeZone) === offset && intlOffsetMs((slice + 1) * SLICE_MS - 1000, timeZone) === offset) {
    if (zone.size >= 100_000) zone.clear();
    zone.set(slice, offset);
  }
  return offset;
}

/**
 * The instant at which the zone's wall clock shows the given fields. In a DST gap the
 * later offset is used; in an overlap the earlier instant wins.
 */
export function fromLocalFields(f: LocalFields, timeZone: string): number {
  const asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  const first = asUtc - zoneOffsetMs(asUtc, timeZone);
  const second = asUtc - zoneOffsetMs(first, timeZone);
  return Math.min(first, second);
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
 * text is not such a date or names an impossible one (31.02, 25:00).
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

/** Start of the zone's calendar day that contains the instant. */
export function startOfLocalDay(ms: number, timeZone: string): number {
  const f = localFields(ms, timeZone);
  return fromLocalFields({ ...f, hour: 0, minute: 0, second: 0 }, timeZone);
}

/** Start of the next local day (handles 23- and 25-hour days). */
export function startOfNextLocalDay(dayStart: number, timeZone: string): number {
  const f = localFields(dayStart + 36 * 3600_000, timeZone);
  return fromLocalFields({ ...f, hour: 0, minute: 0, second: 0 }, timeZone);
}
