import { describe, expect, it } from 'vitest';
import { backupHosts } from '../../src/smsc/client.ts';
import { requestFingerprint } from '../../src/smsc/endpoints.ts';
import { parseExactJson } from '../../src/smsc/json.ts';

describe('parseExactJson', () => {
  it('keeps integers beyond 2^53 exact as BigInt and leaves the rest alone', () => {
    expect(parseExactJson('{"int_id": 9007199254740993, "crc": 18446744073709551615, "id": 42, "cost": "1.60", "x": 1.5, "n": -9007199254740993}')).toEqual({
      int_id: 9007199254740993n,
      crc: 18446744073709551615n,
      id: 42,
      cost: '1.60',
      x: 1.5,
      n: -9007199254740993n,
    });
    expect(parseExactJson('[9007199254740991]')).toEqual([9007199254740991]);
  });

  it('restores big integers of history rows exactly whatever the text around them', () => {
    const rows = [
      { int_id: '9007199254740993', crc: 18446744073709551615n, message: '{"crc": 12345678901234567890, [,9007199254740995]', id: 1 },
      { int_id: '9007199254740994', crc: 1234567890123456n, message: 'кириллица \"crc\":9007199254740999', id: 2 },
      { int_id: '9007199254740995', crc: -9223372036854775808n, message: '', id: 9007199254740997n },
    ];
    const text = JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? JSON.rawJSON(v.toString()) : v));
    expect(parseExactJson(text)).toEqual([
      { ...rows[0], crc: 18446744073709551615n },
      { ...rows[1], crc: 1234567890123456 },
      rows[2],
    ]);
    // Odd shapes go the slow way and come out the same.
    expect(parseExactJson('{"a": [{"b": 9007199254740993}], "c": 1e300}')).toEqual({ a: [{ b: 9007199254740993n }], c: 1e300 });
    expect(parseExactJson('[{"a": 9007199254740993, "a": 9007199254740995}]')).toEqual([{ a: 9007199254740995n }]);
    expect(parseExactJson('[{"x": 9.007199254740993e15}]')).toEqual([{ x: 9007199254740992 }]);
  });
});

describe('requestFingerprint', () => {
  it('leaves credentials out and sorts the rest, so equal requests compare equal', () => {
    const a = requestFingerprint('get.php', [['psw', 'x'], ['login', 'acme'], ['get_messages', '1'], ['cnt', '10']]);
    const b = requestFingerprint('get.php', [['cnt', '10'], ['get_messages', '1'], ['apikey', 'k']]);
    expect(a).toBe('get.php?cnt=10&get_messages=1');
    expect(b).toBe(a);
  });
});

describe('backupHosts', () => {
  it('lists www2…www5 for SMSC regional hosts only', () => {
    expect(backupHosts('https://smsc.kz')).toEqual(['https://www2.smsc.kz', 'https://www3.smsc.kz', 'https://www4.smsc.kz', 'https://www5.smsc.kz']);
    expect(backupHosts('https://www.smsc.ru')[0]).toBe('https://www2.smsc.ru');
    expect(backupHosts('http://127.0.0.1:8123')).toEqual([]);
  });
});
