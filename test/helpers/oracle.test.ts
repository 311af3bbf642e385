// The tests' oracle (helpers/oracle.ts) against values written by hand from the zones'
// published rules and SMSC's documented money format: if it were wrong, every test that
// takes an expected value from it would be wrong with it.
import { describe, expect, it } from 'vitest';
import {
  addDaysText,
  daysFromTo,
  isoDay,
  moneyText,
  smscDateText,
  smscDateTimeText,
  smscDay,
  zoneDay,
  zoneDayStart,
  zoneFields,
  zoneOffsetMinutes,
} from './oracle.ts';
import { MINUTE, offset2026, ZONES } from './switches-2026.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const at = (text: string) => Date.parse(text);

describe('the zone clock', () => {
  it('shows the fields and SMSC text of an instant', () => {
    expect(zoneFields(at('2026-06-15T09:00:00Z'), 'Europe/Moscow')).toEqual({ year: 2026, month: 6, day: 15, hour: 12, minute: 0, second: 0 });
    expect(zoneFields(at('2026-12-31T23:59:59.999Z'), 'Asia/Almaty')).toEqual({ year: 2027, month: 1, day: 1, hour: 4, minute: 59, second: 59 });
    expect(smscDateTimeText(at('2026-06-15T09:00:00Z'), 'Europe/Moscow')).toBe('15.06.2026 12:00:00');
    expect(smscDateTimeText(at('2026-01-05T04:03:02Z'), 'America/New_York')).toBe('04.01.2026 23:03:02');
    expect(smscDateText(at('2026-01-05T04:03:02Z'), 'America/New_York')).toBe('04.01.2026');
    expect(smscDateText(at('2026-06-14T21:00:00Z'), 'Europe/Moscow')).toBe('15.06.2026');
  });

  it('shows the repeated hour of an autumn switch twice, and skips the spring gap', () => {
    expect(smscDateTimeText(at('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe('25.10.2026 02:30:00');
    expect(smscDateTimeText(at('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('25.10.2026 02:30:00');
    expect(smscDateTimeText(at('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe('29.03.2026 01:59:59');
    expect(smscDateTimeText(at('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('29.03.2026 03:00:00');
    expect(smscDateTimeText(at('2026-11-01T05:30:00Z'), 'America/New_York')).toBe('01.11.2026 01:30:00');
    expect(smscDateTimeText(at('2026-11-01T06:30:00Z'), 'America/New_York')).toBe('01.11.2026 01:30:00');
  });

  it('gives offsets in minutes east of UTC', () => {
    expect(zoneOffsetMinutes(at('2026-06-15T09:00:00Z'), 'Europe/Moscow')).toBe(180);
    expect(zoneOffsetMinutes(at('2026-06-15T09:00:00Z'), 'America/New_York')).toBe(-240);
    expect(zoneOffsetMinutes(at('2026-01-15T09:00:00Z'), 'America/New_York')).toBe(-300);
    expect(zoneOffsetMinutes(at('2026-01-15T09:00:00Z'), 'Asia/Kolkata')).toBe(330);
  });

  it('gives the day of an instant on either side of midnight', () => {
    expect(zoneDay(at('2026-06-14T20:59:59Z'), 'Europe/Moscow')).toBe('2026-06-14');
    expect(zoneDay(at('2026-06-14T21:00:00Z'), 'Europe/Moscow')).toBe('2026-06-15');
    expect(zoneDay(at('2026-03-08T04:59:59Z'), 'America/New_York')).toBe('2026-03-07');
    expect(zoneDay(at('2026-03-08T05:00:00Z'), 'America/New_York')).toBe('2026-03-08');
  });
});

describe('the first instant of a day', () => {
  it('is midnight in a zone without switches', () => {
    expect(iso(zoneDayStart('2026-06-15', 'Europe/Moscow'))).toBe('2026-06-14T21:00:00.000Z');
    expect(iso(zoneDayStart(at('2026-06-15T20:59:59Z'), 'Europe/Moscow'))).toBe('2026-06-14T21:00:00.000Z');
    expect(iso(zoneDayStart(at('2026-06-15T21:00:00Z'), 'Europe/Moscow'))).toBe('2026-06-15T21:00:00.000Z');
    expect(iso(zoneDayStart('2026-06-10', 'Pacific/Auckland'))).toBe('2026-06-09T12:00:00.000Z');
  });

  it('makes the switch days of Berlin 23 and 25 hours long', () => {
    expect(iso(zoneDayStart('2026-03-29', 'Europe/Berlin'))).toBe('2026-03-28T23:00:00.000Z');
    expect(iso(zoneDayStart('2026-03-30', 'Europe/Berlin'))).toBe('2026-03-29T22:00:00.000Z');
    expect(iso(zoneDayStart('2026-10-25', 'Europe/Berlin'))).toBe('2026-10-24T22:00:00.000Z');
    expect(iso(zoneDayStart('2026-10-26', 'Europe/Berlin'))).toBe('2026-10-25T23:00:00.000Z');
    // The last second of the long day, after the switch.
    expect(iso(zoneDayStart(at('2026-10-25T22:59:59Z'), 'Europe/Berlin'))).toBe('2026-10-24T22:00:00.000Z');
  });

  it('makes the switch days of New York 23 and 25 hours long', () => {
    expect(iso(zoneDayStart('2026-03-08', 'America/New_York'))).toBe('2026-03-08T05:00:00.000Z');
    expect(iso(zoneDayStart('2026-03-09', 'America/New_York'))).toBe('2026-03-09T04:00:00.000Z');
    expect(iso(zoneDayStart('2026-11-01', 'America/New_York'))).toBe('2026-11-01T04:00:00.000Z');
    expect(iso(zoneDayStart('2026-11-02', 'America/New_York'))).toBe('2026-11-02T05:00:00.000Z');
  });

  it('is the switch where a switch skips midnight, the first midnight where one shows it twice', () => {
    // Chile: 6 September 2026 00:00 -> 01:00 (-4 -> -3); 5 April 2026 00:00 -> 23:00 the day before.
    expect(iso(zoneDayStart('2026-09-06', 'America/Santiago'))).toBe('2026-09-06T04:00:00.000Z');
    expect(iso(zoneDayStart('2026-04-05', 'America/Santiago'))).toBe('2026-04-05T04:00:00.000Z');
    // Brazil, 2018: 4 November 00:00 -> 01:00 (-3 -> -2); 18 February 00:00 -> 23:00 the day before.
    expect(iso(zoneDayStart('2018-11-04', 'America/Sao_Paulo'))).toBe('2018-11-04T03:00:00.000Z');
    expect(iso(zoneDayStart('2018-02-18', 'America/Sao_Paulo'))).toBe('2018-02-18T03:00:00.000Z');
    // Cuba: 1 November 2026 01:00 -> 00:00 (-4 -> -5), the clock shows midnight twice.
    expect(iso(zoneDayStart('2026-11-01', 'America/Havana'))).toBe('2026-11-01T04:00:00.000Z');
    // Samoa skipped 30 December 2011 (-10 -> +14): the 31st starts right after the 29th.
    expect(iso(zoneDayStart('2011-12-31', 'Pacific/Apia'))).toBe('2011-12-30T10:00:00.000Z');
    expect(() => zoneDayStart('2011-12-30', 'Pacific/Apia')).toThrow(/no start/);
  });

  it('agrees with the hand-written switch table on every day of 2026 in the six zones the sync tests use', () => {
    const wrong: string[] = [];
    for (const zone of ZONES) {
      for (const day of daysFromTo('2026-01-01', '2026-12-31')) {
        const [y, m, d] = day.split('-').map(Number) as [number, number, number];
        const midnight = Date.UTC(y, m - 1, d);
        // Midnight read with the offset in force at it (no switch of these zones is at midnight).
        const offsets = [...new Set([offset2026(zone, midnight - 14 * 60 * MINUTE), offset2026(zone, midnight + 14 * 60 * MINUTE)])];
        const expected = offsets.map((o) => midnight - o * MINUTE).filter((t) => offset2026(zone, t) === (midnight - t) / MINUTE);
        if (expected.length !== 1 || zoneDayStart(day, zone) !== expected[0]) wrong.push(`${zone} ${day}: ${iso(zoneDayStart(day, zone))}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('calendar days', () => {
  it('count on across months, years and leap days', () => {
    expect(addDaysText('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDaysText('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDaysText('2026-01-01', -1)).toBe('2025-12-31');
    expect(addDaysText('2026-06-15', -30)).toBe('2026-05-16');
    expect(daysFromTo('2026-12-30', '2027-01-02')).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
    expect(daysFromTo('2026-01-02', '2026-01-01')).toEqual([]);
  });

  it('are written the SMSC way and back', () => {
    expect(smscDay('2026-06-05')).toBe('05.06.2026');
    expect(isoDay('05.06.2026')).toBe('2026-06-05');
    expect(() => isoDay('2026-06-05')).toThrow();
  });
});

describe('money', () => {
  it('is whole units, a dot and two digits of kopecks, as SMSC writes it ("1.60")', () => {
    expect(moneyText(160)).toBe('1.60');
    expect(moneyText(100)).toBe('1.00');
    expect(moneyText(5)).toBe('0.05');
    expect(moneyText(50)).toBe('0.50');
    expect(moneyText(0)).toBe('0.00');
    expect(moneyText(187162)).toBe('1871.62');
    expect(moneyText(123456789)).toBe('1234567.89');
    expect(moneyText(-1250)).toBe('-12.50');
    expect(moneyText(-5)).toBe('-0.05');
  });

  it('takes whole kopecks only', () => {
    expect(() => moneyText(1.5)).toThrow();
    expect(() => moneyText(Number.NaN)).toThrow();
  });
});
