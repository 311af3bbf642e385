// The configuration schema: defaults, *_FILE secrets, .env, and one clear line per problem.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const emptyDir = () => mkdtempSync(join(tmpdir(), 'smsc-config-'));
const load = (env: Record<string, string>, cwd = emptyDir()) => loadConfig(env, { cwd });
const problemsOf = (env: Record<string, string>, cwd?: string): readonly string[] => {
  try {
    load(env, cwd);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('applies the documented defaults to a login + password account', () => {
    const config = load({ SMSC_LOGIN: 'acme', SMSC_PASSWORD: 's3cret' });
    expect(config.accounts).toEqual([
      { name: 'acme', login: 'acme', password: 's3cret', apikey: undefined, baseUrl: 'https://smsc.ru', timezone: 'Europe/Moscow' },
    ]);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.dataDir).toMatch(/\.smsc-sync$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes an API key alone, and regional hosts without a trailing slash', () => {
    const config = load({ SMSC_APIKEY: 'key-123', SMSC_BASE_URL: 'https://smsc.kz/', SMSC_TIMEZONE: 'Asia/Almaty' });
    expect(config.accounts[0]).toMatchObject({ name: 'default', apikey: 'key-123', baseUrl: 'https://smsc.kz', timezone: 'Asia/Almaty' });
  });

  it('reads secrets from *_FILE variables', () => {
    const dir = emptyDir();
    writeFileSync(join(dir, 'psw'), 'from-file\n');
    writeFileSync(join(dir, 'db'), 'postgres://u@db:5432/w\n');
    const config = load({ SMSC_LOGIN: 'acme', SMSC_PASSWORD_FILE: join(dir, 'psw'), DATABASE_URL_FILE: join(dir, 'db') });
    expect(config.accounts[0]!.password).toBe('from-file');
    expect(config.databaseUrl).toBe('postgres://u@db:5432/w');
  });

  it('reads .env when present, with the real environment taking precedence', () => {
    const dir = emptyDir();
    writeFileSync(join(dir, '.env'), 'SMSC_LOGIN=from-dotenv\nSMSC_PASSWORD=p\nLOG_LEVEL=debug\n');
    const config = load({ LOG_LEVEL: 'warn' }, dir);
    expect(config.accounts[0]!.login).toBe('from-dotenv');
    expect(config.logLevel).toBe('warn');
  });

  it('reads several accounts from SMSC_ACCOUNTS', () => {
    const config = load({
      SMSC_TIMEZONE: 'Europe/Kyiv',
      SMSC_ACCOUNTS: JSON.stringify([
        { name: 'ru', login: 'a', password: 'p' },
        { name: 'kz', apikey: 'k', baseUrl: 'https://smsc.kz', timezone: 'Asia/Almaty' },
      ]),
    });
    expect(config.accounts.map((a) => [a.name, a.baseUrl, a.timezone])).toEqual([
      ['ru', 'https://smsc.ru', 'Europe/Kyiv'],
      ['kz', 'https://smsc.kz', 'Asia/Almaty'],
    ]);
  });

  it('names every bad or missing variable, one line each', () => {
    expect(problemsOf({})).toEqual(['SMSC_LOGIN + SMSC_PASSWORD, or SMSC_APIKEY, or SMSC_ACCOUNTS: no SMSC account is configured']);
    expect(problemsOf({ SMSC_LOGIN: 'acme', SMSC_TIMEZONE: 'Mars/Base', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' })).toEqual([
      "LOG_LEVEL: 'loud' is not one of fatal, error, warn, info, debug, trace, silent",
      'DATABASE_URL: expected a postgres:// or postgresql:// URL (unset it for the embedded warehouse)',
      "SMSC_TIMEZONE: 'Mars/Base' is not an IANA time zone; expected e.g. Europe/Moscow",
      'SMSC_PASSWORD: required with SMSC_LOGIN (or set SMSC_PASSWORD_FILE)',
    ]);
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_BASE_URL: 'https://a:b@smsc.ru/?psw=1' })).toEqual([
      'SMSC_BASE_URL: must not carry credentials or a query string',
    ]);
    expect(problemsOf({ SMSC_PASSWORD: 'x', SMSC_PASSWORD_FILE: '/nonexistent', SMSC_LOGIN: 'a' })).toEqual([
      'SMSC_PASSWORD_FILE: set together with SMSC_PASSWORD; set only one of them',
    ]);
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD_FILE: '/nonexistent/psw' })[0]).toMatch(/^SMSC_PASSWORD_FILE: cannot read '\/nonexistent\/psw' \(ENOENT\)/);
    expect(problemsOf({ SMSC_ACCOUNTS: '[{"name":"a b","login":"x"},{"name":"k","apikey":"z","login":"q","password":"w"}]' })).toEqual([
      'SMSC_ACCOUNTS[0].name: letters, digits, _ . @ - (1 to 64)',
    ]);
    expect(problemsOf({ SMSC_ACCOUNTS: '[{"name":"a","login":"x"},{"name":"a","apikey":"z"}]' })).toEqual([
      'SMSC_ACCOUNTS[0]: needs login + password, or apikey',
      "SMSC_ACCOUNTS[1].name: 'a' is used twice; account names must be unique",
    ]);
    expect(problemsOf({ SMSC_ACCOUNTS: 'not json' })[0]).toMatch(/^SMSC_ACCOUNTS: not valid JSON/);
  });

  it('never repeats a secret in its messages', () => {
    const problems = problemsOf({ SMSC_LOGIN: 'acme', SMSC_PASSWORD: 'hunter2-secret', SMSC_BASE_URL: 'ftp://x', LOG_LEVEL: 'x' });
    expect(problems.join('\n')).not.toContain('hunter2-secret');
  });

  it('reads the stream settings: electronic balance, operator TTL, short links', () => {
    const config = load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_STATS_ELECTRONIC: 'true', SMSC_OPERATOR_TTL_DAYS: '14', SMSC_SHORT_LINKS: '145142, https://mysite.ru/sale ,99' });
    expect(config).toMatchObject({ statsElectronic: true, operatorTtlDays: 14, statusWindowHours: 72 });
    expect(config.accounts[0]!.shortLinks).toEqual([{ id: 145142 }, { link: 'https://mysite.ru/sale' }, { id: 99 }]);
    const defaults = load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p' });
    expect(defaults).toMatchObject({ statsElectronic: false, operatorTtlDays: 30 });
    expect(defaults.accounts[0]!.shortLinks).toBeUndefined();
    const several = load({ SMSC_SHORT_LINKS: '7', SMSC_ACCOUNTS: JSON.stringify([{ name: 'a', apikey: 'k', shortLinks: [1, 'x.example/y'] }, { name: 'b', apikey: 'k2' }]) });
    expect(several.accounts.map((a) => a.shortLinks)).toEqual([[{ id: 1 }, { link: 'x.example/y' }], [{ id: 7 }]]);
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_STATS_ELECTRONIC: 'maybe', SMSC_SHORT_LINKS: 'not a link', SMSC_OPERATOR_TTL_DAYS: '0' })).toEqual([
      "SMSC_OPERATOR_TTL_DAYS: expected a positive number, got '0'",
      "SMSC_STATS_ELECTRONIC: expected true or false, got 'maybe'",
      "SMSC_SHORT_LINKS: 'not a link' is neither a short-link id nor a link",
    ]);
  });

  it('reads schedules of known jobs and the HTTP port, refusing unknown jobs and bad expressions', () => {
    const config = load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_SCHEDULE_OUTBOUND: '*/10 * * * *', SMSC_SCHEDULE_SHORT_LINKS: '0 23 * * *', SMSC_HTTP_PORT: '9464' });
    expect(config.schedules).toEqual({ outbound: '*/10 * * * *', short_links: '0 23 * * *' });
    expect(config.httpPort).toBe(9464);
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_SCHEDULE_OUTBUND: '* * * * *', SMSC_SCHEDULE_STATS: 'hourly', SMSC_HTTP_PORT: '70000' })).toEqual([
      'SMSC_SCHEDULE_OUTBUND: no such job; known: SMSC_SCHEDULE_OUTBOUND, SMSC_SCHEDULE_INBOUND, SMSC_SCHEDULE_STATS, SMSC_SCHEDULE_TARIFFS, SMSC_SCHEDULE_OPERATORS, SMSC_SCHEDULE_SHORT_LINKS',
      "SMSC_SCHEDULE_STATS: 'hourly' is not a cron expression; expected e.g. '*/5 * * * *'",
      "SMSC_HTTP_PORT: expected a port number (0 to 65535), got '70000'",
    ]);
  });

  it('lets commands that need no account (sandbox) start without one', () => {
    expect(loadConfig({}, { cwd: emptyDir(), requireAccount: false }).accounts).toEqual([]);
  });
});
