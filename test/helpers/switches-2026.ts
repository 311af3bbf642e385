// 2026's daylight-saving switches of the zones the tests sync, written by hand from the zones'
// published rules, and the arithmetic a test needs to read and write local text with them:
// a second, much simpler implementation than src/time, valid in 2026 for these zones only.

export const MINUTE = 60_000;

export interface Switch {
  readonly zone: string;
  readonly kind: 'spring' | 'autumn';
  /** The instant of the switch. */
  readonly at: string;
  /** Minutes east of UTC before and after it. */
  readonly before: number;
  readonly after: number;
}

/**
 * EU: last Sunday of March and of October at 01:00 UTC. US: second Sunday of March at 02:00
 * and first Sunday of November at 02:00 local. New South Wales: first Sunday of April at
 * 03:00 and first Sunday of October at 02:00 local. Moscow (+3) and Almaty (+5 since
 * 1 March 2024) keep one offset all year: their rows mark the same days as Europe's, where
 * nothing may move.
 */
export const SWITCHES: readonly Switch[] = [
  { zone: 'Europe/Kyiv', kind: 'spring', at: '2026-03-29T01:00:00Z', before: 120, after: 180 },
  { zone: 'Europe/Kyiv', kind: 'autumn', at: '2026-10-25T01:00:00Z', before: 180, after: 120 },
  { zone: 'Europe/Berlin', kind: 'spring', at: '2026-03-29T01:00:00Z', before: 60, after: 120 },
  { zone: 'Europe/Berlin', kind: 'autumn', at: '2026-10-25T01:00:00Z', before: 120, after: 60 },
  { zone: 'America/New_York', kind: 'spring', at: '2026-03-08T07:00:00Z', before: -300, after: -240 },
  { zone: 'America/New_York', kind: 'autumn', at: '2026-11-01T06:00:00Z', before: -240, after: -300 },
  { zone: 'Australia/Sydney', kind: 'autumn', at: '2026-04-04T16:00:00Z', before: 660, after: 600 },
  { zone: 'Australia/Sydney', kind: 'spring', at: '2026-10-03T16:00:00Z', before: 600, after: 660 },
  { zone: 'Europe/Moscow', kind: 'spring', at: '2026-03-29T01:00:00Z', before: 180, after: 180 },
  { zone: 'Europe/Moscow', kind: 'autumn', at: '2026-10-25T01:00:00Z', before: 180, after: 180 },
  { zone: 'Asia/Almaty', kind: 'spring', at: '2026-03-29T01:00:00Z', before: 300, after: 300 },
  { zone: 'Asia/Almaty', kind: 'autumn', at: '2026-10-25T01:00:00Z', before: 300, after: 300 },
];

export const ZONES = [...new Set(SWITCHES.map((s) => s.zone))];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `DD.MM.YYYY hh:mm:ss` of a wall clock given as ms (its fields read as UTC). */
export function wallText(wall: number): string {
  const d = new Date(wall);
  return `${pad(d.getUTCDate())}.${pad(d.getUTCMonth() + 1)}.${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** The wall clock of a `DD.MM.YYYY hh:mm:ss` text, as ms (its fields read as UTC). */
export function wallOf(text: string): number {
  const m = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw new Error(`not a date: ${text}`);
  return Date.UTC(Number(m[3]), Number(m[2]) - 1, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** What the zone's clock shows at an instant near the switch. */
export function localText(sw: Switch, ms: number): string {
  return wallText(ms + (ms < Date.parse(sw.at) ? sw.before : sw.after) * MINUTE);
}

/**
 * The instant a local text near the switch stands for, by the documented rule: of the
 * instants at which the clock showed it, the earlier (autumn overlap); if none (spring gap),
 * the text read with the offset before the switch, which lands after the gap.
 */
export function instantOf(sw: Switch, text: string): number {
  const wall = wallOf(text);
  const at = Date.parse(sw.at);
  const shown = [wall - sw.before * MINUTE, wall - sw.after * MINUTE].filter((ms, i) => (i === 0 ? ms < at : ms >= at));
  return shown.length > 0 ? Math.min(...shown) : wall - sw.before * MINUTE;
}

const byZone = new Map(ZONES.map((zone) => [zone, SWITCHES.filter((s) => s.zone === zone).map((s) => ({ at: Date.parse(s.at), before: s.before, after: s.after })).sort((a, b) => a.at - b.at)]));

/** Minutes east of UTC of a zone at an instant of 2026 (from the table). */
export function offset2026(zone: string, ms: number): number {
  const switches = byZone.get(zone)!;
  let offset = switches[0]!.before;
  for (const s of switches) if (s.at <= ms) offset = s.after;
  return offset;
}
