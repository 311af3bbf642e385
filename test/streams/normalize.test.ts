// The normalizers on fixtures shaped like SMSC's answers: pure functions, no IO.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseExactJson } from '../../src/smsc/json.ts';
import { normalizeInbound } from '../../src/streams/inbound/normalize.ts';
import { normalizeOutbound, type OutboundRow } from '../../src/streams/outbound/normalize.ts';

const fixtures = parseExactJson(readFileSync(new URL('../fixtures/get_messages.json', import.meta.url), 'utf8')) as unknown[];
const TZ = 'Europe/Moscow';
const row = (i: number): OutboundRow => {
  const n = normalizeOutbound(fixtures[i], TZ);
  if (!('row' in n)) throw new Error(n.rejected);
  return n.row;
};

describe('normalizeOutbound', () => {
  it('reads a typical SMS row: timestamps win, ids exact, mccmnc split, text untouched', () => {
    const r = row(0);
    expect(r).toMatchObject({
      int_id: '9007199254740993',
      message_id: '1201',
      channel: 'sms',
      phone: '79161234567',
      status: 1,
      is_final: true,
      err: 0,
      sent_at: new Date(1781514005 * 1000),
      status_changed_at: new Date(1781514040 * 1000),
      mccmnc: '25001',
      mcc: '250',
      mnc: '01',
      cost: '1.60',
      message: 'Код: 5512, "никому"\nне сообщайте 🎉',
      crc: '9223372036854775807',
      format: 0,
      sms_cnt: 1,
    });
    // raw keeps the object as it came, 64-bit numbers as bare numbers.
    expect(r.raw).toContain('"crc":9223372036854775807');
    expect(r.raw).toContain('"flag":0');
  });

  it('accepts numeric strings, a comma decimal, and reads dates in the account zone', () => {
    const r = row(1);
    expect(r).toMatchObject({ status: 0, is_final: false, err: 0, message_id: '1202', int_id: '9007199254740995', cost: '2.35', sms_cnt: 2, type: 0, crc: '12345', mnc: '03', region: null });
    // 12:00:55 in Moscow (UTC+3) is 09:00:55 UTC.
    expect(r.sent_at.toISOString()).toBe('2026-06-15T09:00:55.000Z');
    expect(normalizeOutbound(fixtures[1], 'Asia/Almaty')).toMatchObject({ row: { sent_at: new Date('2026-06-15T07:00:55.000Z') } });
  });

  it('makes format 8 an e-mail, an empty or 0 mccmnc nulls, and keeps three-digit MNCs', () => {
    expect(row(2)).toMatchObject({ channel: 'email', phone: 'client1@mail.example', cost: '0.05', mccmnc: null, mcc: null, mnc: null, country: null, operator: null });
    expect(row(3)).toMatchObject({ mccmnc: null, mcc: null, mnc: null, status: 22, is_final: true, err: 249, cost: '0', status_changed_at: null });
    expect(row(4)).toMatchObject({ mcc: '401', mnc: '077' });
  });

  it('refuses what cannot be stored faithfully, naming the field', () => {
    const base = fixtures[0] as Record<string, unknown>;
    const reason = (patch: Record<string, unknown>) => {
      const n = normalizeOutbound({ ...base, ...patch }, TZ);
      return 'rejected' in n ? n.rejected : 'accepted';
    };
    expect(reason({ int_id: '9223372036854775808' })).toBe('int_id: 9223372036854775808 does not fit a 64-bit integer');
    expect(reason({ int_id: 1.5 })).toBe('int_id: expected a whole number, got 1.5');
    expect(reason({ int_id: undefined })).toBe('int_id: expected a whole number, got undefined');
    expect(reason({ cost: 'free' })).toBe('cost: expected an amount like "1.60", got "free"');
    expect(reason({ send_timestamp: null, send_date: '30.02.2026 10:00:00' })).toBe('send_date: "30.02.2026 10:00:00" is not a date DD.MM.YYYY hh:mm:ss');
    expect(reason({ send_timestamp: 0 })).toBe('send_date: 0 is outside 2000–2100');
    expect(reason({ status: 'ok' })).toBe('status: expected a whole number, got "ok"');
    expect(reason({ mccmnc: '25O01' })).toBe('mccmnc: expected 5 or 6 digits, got "25O01"');
    expect(reason({ phone: '' })).toBe('phone: missing');
    expect(reason({ message: 'a\u0000b' })).toBe('message: contains a NUL byte, which PostgreSQL text cannot hold');
    expect(reason({ message: 'я'.repeat(70_000) })).toBe('message: 70000 characters, more than the 65536 accepted');
    expect(reason({ message: 'bad \uD800 surrogate' })).toBe('message: invalid UTF-16 (a lone surrogate)');
    expect(normalizeOutbound([1, 2], TZ)).toEqual({ rejected: 'expected an object, got a list' });
    expect(reason({ sms_cnt: -1 })).toBe('sms_cnt: -1 is negative; expected a count');
    expect(reason({ int_id: 0 })).toBe('int_id: 0 is not a valid id (ids are above 0)');
    expect(reason({ int_id: '-5' })).toBe('int_id: -5 is not a valid id (ids are above 0)');
  });

  it('stores a missing cost as unknown (null), never as a free message', () => {
    const base = fixtures[0] as Record<string, unknown>;
    for (const cost of [undefined, null, '']) expect(normalizeOutbound({ ...base, cost }, TZ)).toMatchObject({ row: { cost: null } });
    expect(normalizeOutbound({ ...base, cost: '0' }, TZ)).toMatchObject({ row: { cost: '0' } });
    expect(normalizeOutbound({ ...base, sms_cnt: 0 }, TZ)).toMatchObject({ row: { sms_cnt: 0 } });
  });

  it('keeps fields the documentation does not list in raw and reads the row all the same', () => {
    const n = normalizeOutbound({ ...(fixtures[0] as object), flag: 3, новое: { a: [1, 2n ** 63n - 1n] } }, TZ);
    expect(n).toMatchObject({ row: { int_id: '9007199254740993' } });
    expect((n as { row: OutboundRow }).row.raw).toContain('"новое":{"a":[1,9223372036854775807]}');
  });

  it('keeps SQL-looking text verbatim', () => {
    expect(normalizeOutbound({ ...(fixtures[0] as object), message: "'); DROP TABLE smsc.outbound_messages; --" }, TZ)).toMatchObject({
      row: { message: "'); DROP TABLE smsc.outbound_messages; --" },
    });
  });
});

describe('normalizeInbound', () => {
  it('reads dates as zone-local strings or as Unix timestamps', () => {
    const a = normalizeInbound({ id: 3000001, received: '15.06.2026 12:00:00', phone: '79161234567', message: 'Да', to_phone: '79037700001', sent: '15.06.2026 11:59:58' }, TZ);
    expect(a).toMatchObject({ row: { id: '3000001', received_at: new Date('2026-06-15T09:00:00Z'), sent_at: new Date('2026-06-15T08:59:58Z'), message: 'Да' } });
    const b = normalizeInbound({ id: '3000002', received: 1781514000, phone: '79161234567', message: '', to_phone: null, sent: '1781513998' }, TZ);
    expect(b).toMatchObject({ row: { id: '3000002', received_at: new Date(1781514000 * 1000), sent_at: new Date(1781513998 * 1000), to_phone: null } });
    expect(normalizeInbound({ id: 1, received: 'вчера', phone: '7916' }, TZ)).toEqual({ rejected: 'received: "вчера" is not a date DD.MM.YYYY hh:mm:ss' });
  });

  it('refuses an id beyond 64 bits and keeps an incoming call ([CALL]) as it comes', () => {
    const reply = { id: 3000001, received: '15.06.2026 12:00:00', phone: '79161234567', message: 'Да', to_phone: '79037700001', sent: '15.06.2026 11:59:58' };
    expect(normalizeInbound({ ...reply, id: 9_999_999_999_999_999_999n }, TZ)).toEqual({ rejected: 'id: 9999999999999999999 does not fit a 64-bit integer' });
    expect(normalizeInbound({ ...reply, id: '9999999999999999999' }, TZ)).toEqual({ rejected: 'id: 9999999999999999999 does not fit a 64-bit integer' });
    expect(normalizeInbound({ ...reply, message: '[CALL]' }, TZ)).toMatchObject({ row: { id: '3000001', message: '[CALL]' } });
  });
});
