// Zone-local text <-> instants (src/time), checked against what is known apart from it:
// 2026 in the six zones the sync tests use (every minute within two days of a switch, every
// 7th minute elsewhere: 7 is prime to 60 and to 1440, so every minute of the hour and of the
// day is still met many times over), against the hand-written switch
// table (helpers/switches-2026.ts); random instants and local times in every zone Node
// knows, 1900-2100, against Intl (formatting) and Temporal (the library the conversion
// follows near switches; the module's own fast path is what is under test here).
import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import { describe, expect, it } from 'vitest';
import { dayStart, parseCalendarDay } from '../../src/time/calendar.ts';
import { formatDateTime, fromLocalFields, parseDateTime, startOfLocalDay, startOfNextLocalDay } from '../../src/time/zoned-time.ts';
import { MINUTE, offset2026, SWITCHES, wallText, ZONES } from '../helpers/switches-2026.ts';

const HOUR = 60 * MINUTE;
const YEAR_START = Date.UTC(2026, 0, 1);
const YEAR_END = Date.UTC(2027, 0, 1);
const NEAR = 2 * 24 * HOUR;

/** The minutes of 2026 a loop visits: each one near a switch of the zone, every 7th elsewhere. */
function* minutesOf2026(switchInstants: readonly number[]): Generator<number> {
  for (let t = YEAR_START; t < YEAR_END; ) {
    yield t;
    t += switchInstants.some((at) => Math.abs(t - at) < NEAR) ? MINUTE : 7 * MINUTE;
  }
}

describe.each(ZONES)('%s, 2026 minute by minute around its switches', (zone) => {
  const switches = SWITCHES.filter((s) => s.zone === zone).map((s) => ({ at: Date.parse(s.at), before: s.before * MINUTE, after: s.after * MINUTE }));
  // The documented exceptions, from the table: the hour the clock shows twice (autumn) and the
  // hour it skips (spring), as instants and as wall-clock times.
  const repeated = switches.filter((s) => s.before > s.after).map((s) => ({ from: s.at, to: s.at + (s.before - s.after) }));
  const skipped = switches.filter((s) => s.after > s.before).map((s) => ({ from: s.at + s.before, to: s.at + s.after, by: s.after - s.before, before: s.before }));
  const exceptions = zone === 'Europe/Moscow' || zone === 'Asia/Almaty' ? 0 : 60;
  const near = switches.map((s) => s.at);

  it('instant -> text -> instant: the same instant, except in the repeated hour, which reads as the first time the clock showed it', () => {
    const wrong: string[] = [];
    let moved = 0;
    for (const t of minutesOf2026(near)) {
      const text = formatDateTime(t, zone);
      if (text !== wallText(t + offset2026(zone, t) * MINUTE)) wrong.push(`${new Date(t).toISOString()} shown as ${text}`);
      const r = repeated.find((x) => t >= x.from && t < x.to);
      if (r) moved++;
      const back = parseDateTime(text, zone);
      if (back !== (r ? t - (r.to - r.from) : t)) wrong.push(`${new Date(t).toISOString()} -> ${text} -> ${back === undefined ? back : new Date(back).toISOString()}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(moved).toBe(exceptions);
  });

  it('text -> instant -> text: the same text, except a time the clock skips, which comes back moved on by the gap', () => {
    const wrong: string[] = [];
    let shifted = 0;
    const offsets = [...new Set(switches.flatMap((s) => [s.before, s.after]))];
    for (const wall of minutesOf2026(near)) {
      const text = wallText(wall);
      const t = parseDateTime(text, zone);
      // Instants at which the clock shows this text: the earlier one, or, in a gap, the text
      // read with the offset before it.
      const shown = offsets.map((o) => wall - o).filter((c) => offset2026(zone, c) * MINUTE === wall - c);
      const gap = skipped.find((g) => wall >= g.from && wall < g.to);
      const expected = shown.length > 0 ? Math.min(...shown) : gap ? wall - gap.before : NaN;
      if (t !== expected) wrong.push(`${text} -> ${t === undefined ? t : new Date(t).toISOString()}, expected ${new Date(expected).toISOString()}`);
      if (gap) shifted++;
      const back = t === undefined ? undefined : formatDateTime(t, zone);
      if (back !== (gap ? wallText(wall + gap.by) : text)) wrong.push(`${text} -> ${back}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(shifted).toBe(exceptions);
  });
});

describe('the documented rule, spelled out', () => {
  const at = (text: string, zone: string) => new Date(parseDateTime(text, zone)!).toISOString();
  it('reads an autumn-overlap time as the earlier instant', () => {
    expect(at('25.10.2026 02:30:00', 'Europe/Berlin')).toBe('2026-10-25T00:30:00.000Z');
    expect(at('25.10.2026 03:30:00', 'Europe/Kyiv')).toBe('2026-10-25T00:30:00.000Z');
    expect(at('01.11.2026 01:30:00', 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
    expect(at('05.04.2026 02:30:00', 'Australia/Sydney')).toBe('2026-04-04T15:30:00.000Z');
  });
  it('reads a spring-gap time with the offset before the gap: after it, moved on by its length', () => {
    expect(at('29.03.2026 02:00:00', 'Europe/Berlin')).toBe('2026-03-29T01:00:00.000Z');
    expect(at('29.03.2026 02:30:00', 'Europe/Berlin')).toBe('2026-03-29T01:30:00.000Z');
    expect(at('29.03.2026 03:30:00', 'Europe/Kyiv')).toBe('2026-03-29T01:30:00.000Z');
    expect(at('08.03.2026 02:30:00', 'America/New_York')).toBe('2026-03-08T07:30:00.000Z');
    expect(at('04.10.2026 02:30:00', 'Australia/Sydney')).toBe('2026-10-03T16:30:00.000Z');
  });
  it('reads the hour before a gap exactly (the bug of issue 13: Kyiv 02:30 was 23:30Z)', () => {
    expect(at('29.03.2026 02:30:00', 'Europe/Kyiv')).toBe('2026-03-29T00:30:00.000Z');
    expect(at('29.03.2026 01:30:00', 'Europe/Berlin')).toBe('2026-03-29T00:30:00.000Z');
  });
  it('refuses impossible dates', () => {
    for (const text of ['31.02.2026 10:00:00', '29.03.2026 24:00:00', '29.03.2026 02:60:00', '2026-03-29 02:30:00']) expect(parseDateTime(text, 'Europe/Berlin'), text).toBeUndefined();
  });
});

describe('calendar days', () => {
  it('start at the first instant the zone shows them, also where a switch skips midnight', () => {
    // Chile moves its clocks from 00:00 to 01:00 on 6 September 2026 (-4 -> -3): that day
    // starts at 01:00, 04:00Z; on 5 April it goes back from 00:00 to 23:00 the day before.
    expect(new Date(dayStart('2026-09-06', 'America/Santiago')).toISOString()).toBe('2026-09-06T04:00:00.000Z');
    expect(new Date(dayStart('2026-04-05', 'America/Santiago')).toISOString()).toBe('2026-04-05T04:00:00.000Z');
    expect(new Date(dayStart('2026-06-10', 'Pacific/Auckland')).toISOString()).toBe('2026-06-09T12:00:00.000Z');
    expect(new Date(startOfLocalDay(Date.parse('2026-10-25T22:59:59Z'), 'Europe/Berlin')).toISOString()).toBe('2026-10-24T22:00:00.000Z');
  });

  it('last 23 hours on the spring switch and 25 on the autumn one, 24 on every other day of 2026', () => {
    const lengths = new Map<number, number>();
    let day = startOfLocalDay(YEAR_START + 12 * HOUR, 'Europe/Berlin');
    for (let i = 0; i < 365; i++) {
      const next = startOfNextLocalDay(day, 'Europe/Berlin');
      lengths.set((next - day) / HOUR, (lengths.get((next - day) / HOUR) ?? 0) + 1);
      day = next;
    }
    expect(Object.fromEntries(lengths)).toEqual({ 23: 1, 24: 363, 25: 1 });
  });

  it('are typed as dd.mm.yyyy or yyyy-mm-dd, and must exist', () => {
    expect(parseCalendarDay('10.06.2026')).toBe('2026-06-10');
    expect(parseCalendarDay('2026-06-10')).toBe('2026-06-10');
    for (const bad of ['31.02.2026', '2026-02-30', '10.6.2026', '10.06.26', 'yesterday', '']) expect(parseCalendarDay(bad), bad).toBeUndefined();
  });
});

describe('any zone, any time 1900-2100 (fast-check)', () => {
  const zones = Intl.supportedValuesOf('timeZone');
  const formatters = new Map<string, Intl.DateTimeFormat>();
  /** Intl's wall clock, `DD.MM.YYYY hh:mm:ss`. */
  const intlText = (ms: number, timeZone: string) => {
    let f = formatters.get(timeZone);
    if (!f) {
      f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
      formatters.set(timeZone, f);
    }
    const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}:${p.second}`;
  };
  const zone = fc.constantFrom(...zones);
  const instant = fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) });
  /** Instants within 3 hours of one of the zone's offset changes (where conversions go wrong). */
  const nearSwitch = fc.tuple(zone, instant, fc.integer({ min: -3 * 3600, max: 3 * 3600 })).map(([z, ms, delta]) => {
    const next = Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(z).getTimeZoneTransition('next');
    return { zone: z, ms: (next ? next.epochMilliseconds : ms) + delta * 1000 };
  });

  it('formats an instant as Intl does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.record({ zone, ms: instant }), nearSwitch), ({ zone: z, ms }) => {
        expect(formatDateTime(ms, z)).toBe(intlText(ms, z));
      }),
      { numRuns: 2000 },
    );
  });

  it('converts a local time as Temporal does with the documented rule (disambiguation: compatible)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.record({ zone, ms: instant }), nearSwitch), ({ zone: z, ms }) => {
        // The wall clock around that instant, in whole seconds: gap and overlap times included.
        const before = Temporal.Instant.fromEpochMilliseconds(ms - 2 * 3600_000).toZonedDateTimeISO(z).offsetNanoseconds / 1e6;
        const d = new Date(Math.floor((ms + before) / 1000) * 1000);
        const f = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
        const expected = new Temporal.PlainDateTime(f.year, f.month, f.day, f.hour, f.minute, f.second).toZonedDateTime(z, { disambiguation: 'compatible' }).epochMilliseconds;
        expect(fromLocalFields(f, z)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads Intl\'s text of an instant back to that instant, or to the earlier one of a time shown twice', () => {
    /** The zone's offset at an instant, from Temporal. */
    const offsetAt = (ms: number, z: string) => Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(z).offsetNanoseconds;
    fc.assert(
      fc.property(fc.oneof(fc.record({ zone, ms: instant }), nearSwitch), ({ zone: z, ms }) => {
        const t = Math.floor(ms / 1000) * 1000;
        const text = intlText(t, z);
        const back = parseDateTime(text, z)!;
        expect(intlText(back, z)).toBe(text);
        expect(back).toBeLessThanOrEqual(t);
        // The same wall clock earlier: the clock was turned back in between, so the offset was larger.
        if (back !== t) expect(offsetAt(back, z)).toBeGreaterThan(offsetAt(t, z));
      }),
      { numRuns: 2000 },
    );
  });
});
