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
