// The configuration schema: defaults, *_FILE secrets, .env, and one clear line per problem.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

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
    const config = load({ SMSC_APIKEY: 'key-123', SMSC_ACCOUNT_NAME: 'kz-shop', SMSC_BASE_URL: 'https://smsc.kz/', SMSC_TIMEZONE: 'Asia/Almaty' });
    expect(config.accounts[0]).toMatchObject({ name: 'kz-shop', apikey: 'key-123', baseUrl: 'https://smsc.kz', timezone: 'Asia/Almaty' });
    // An API key does not say which login it is: without a name two keys would share one account's rows.
    expect(() => load({ SMSC_APIKEY: 'key-123' })).toThrow(/SMSC_ACCOUNT_NAME: required with SMSC_APIKEY/);
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

  it('refuses two entries for one SMSC login or one API key on a host: SMSC counts quotas per login', () => {
    const accounts = [
      { name: 'shop', login: 'acme', password: 'p1' },
      { name: 'shop-again', login: 'acme', password: 'p1' },
      { name: 'kz', login: 'acme', password: 'p1', baseUrl: 'https://smsc.kz' },
      { name: 'key1', apikey: 'k-1' },
      { name: 'key2', apikey: 'k-1' },
      { name: 'key3', apikey: 'k-3' },
    ];
    expect(problemsOf({ SMSC_ACCOUNTS: JSON.stringify(accounts) })).toEqual([
      "SMSC_ACCOUNTS[1]: 'shop-again' uses login 'acme' on smsc.ru like SMSC_ACCOUNTS[0] ('shop'); SMSC counts quotas per login, so each login may appear once",
      "SMSC_ACCOUNTS[4]: 'key2' uses the same API key on smsc.ru like SMSC_ACCOUNTS[3] ('key1'); SMSC counts quotas per login, so each login may appear once",
    ]);
  });

  it('reads the run limits and deadlines, with defaults, and names a bad one', () => {
    const defaults = load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'b' });
    expect(defaults).toMatchObject({ maxConcurrentRuns: 4, requestTimeoutMs: 30_000, dbTimeoutMs: 10_000, statementTimeoutMs: 120_000, stopTimeoutMs: 30_000, secretKey: undefined });
    const set = load({
      SMSC_LOGIN: 'a',
      SMSC_PASSWORD: 'b',
      SMSC_MAX_CONCURRENT_RUNS: '12',
      SMSC_REQUEST_TIMEOUT_SECONDS: '2.5',
      SMSC_DB_TIMEOUT_SECONDS: '3',
      SMSC_STATEMENT_TIMEOUT_SECONDS: '60',
      SMSC_STOP_TIMEOUT_SECONDS: '5',
      SMSC_SECRET_KEY: '0123456789abcdef0123',
    });
    expect(set).toMatchObject({ maxConcurrentRuns: 12, requestTimeoutMs: 2500, dbTimeoutMs: 3000, statementTimeoutMs: 60_000, stopTimeoutMs: 5000, secretKey: '0123456789abcdef0123' });
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'b', SMSC_MAX_CONCURRENT_RUNS: '0', SMSC_REQUEST_TIMEOUT_SECONDS: 'soon', SMSC_SECRET_KEY: 'short' })).toEqual([
      "SMSC_MAX_CONCURRENT_RUNS: expected a whole number from 1 to 64, got '0'",
      "SMSC_REQUEST_TIMEOUT_SECONDS: expected a positive number up to 600, got 'soon'",
      'SMSC_SECRET_KEY: at least 16 characters (e.g. `openssl rand -hex 32`)',
    ]);
  });

  it('refuses a plain-http SMSC_BASE_URL, which would send the password in clear, except on this machine', () => {
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_BASE_URL: 'http://smsc.ru' })).toEqual([
      "SMSC_BASE_URL: 'http://smsc.ru' is plain http, which would send the password or API key in clear; use https://smsc.ru (http is accepted for localhost and 127.0.0.1 only)",
    ]);
    expect(problemsOf({ SMSC_ACCOUNTS: JSON.stringify([{ name: 'kz', apikey: 'k', baseUrl: 'http://10.0.0.7:8080' }]) })).toEqual([
      "SMSC_ACCOUNTS[0].baseUrl: 'http://10.0.0.7:8080' is plain http, which would send the password or API key in clear; use https://10.0.0.7:8080 (http is accepted for localhost and 127.0.0.1 only)",
    ]);
    // The emulator, or a proxy on this machine.
    for (const url of ['http://127.0.0.1:8123', 'http://localhost:8123', 'http://[::1]:8123', 'https://smsc.kz']) {
      expect(load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_BASE_URL: url }).accounts[0]!.baseUrl).toBe(url);
    }
  });

  it('reads SMSC_MAX_ANSWER_MB, the largest SMSC answer read, and names a bad one', () => {
    expect(load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p' }).maxAnswerBytes).toBe(32 * 1_048_576);
    expect(load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_MAX_ANSWER_MB: '0.5' }).maxAnswerBytes).toBe(524_288);
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_MAX_ANSWER_MB: 'lots' })).toEqual(["SMSC_MAX_ANSWER_MB: expected a positive number up to 1024, got 'lots'"]);
  });

  it('reads LOG_FORMAT (json or pretty; unset: by the terminal) and NO_COLOR, and names a bad LOG_FORMAT', () => {
    const base = { SMSC_LOGIN: 'acme', SMSC_PASSWORD: 'p' };
    expect(load(base)).toMatchObject({ logFormat: undefined, noColor: false });
    expect(load({ ...base, LOG_FORMAT: 'json' })).toMatchObject({ logFormat: 'json' });
    expect(load({ ...base, LOG_FORMAT: 'Pretty' })).toMatchObject({ logFormat: 'pretty' });
    expect(load({ ...base, LOG_FORMAT: '' })).toMatchObject({ logFormat: undefined });
    expect(problemsOf({ ...base, LOG_FORMAT: 'xml' })).toEqual(["LOG_FORMAT: 'xml' is not one of json, pretty (unset: pretty on a terminal, JSON otherwise)"]);
    // https://no-color.org: set and not empty, whatever the value; empty is unset.
    expect(load({ ...base, NO_COLOR: '1' })).toMatchObject({ noColor: true });
    expect(load({ ...base, NO_COLOR: 'false' })).toMatchObject({ noColor: true });
    expect(load({ ...base, NO_COLOR: '' })).toMatchObject({ noColor: false });
  });

  it('names a DATABASE_URL the driver cannot read, without repeating it (it holds the password)', () => {
    const base = { SMSC_LOGIN: 'acme', SMSC_PASSWORD: 'p' };
    const message =
      'DATABASE_URL: not a valid URL (the value is not shown: it holds the password); expected postgres://user:password@host:5432/database, ' +
      'a port up to 65535, and the characters @ : / ? # in the user name or password percent-encoded (@ as %40, : as %3A, / as %2F, ? as %3F, # as %23)';
    for (const url of [
      'postgres://smsc:Pw#4471@db.example/smsc',
      'postgres://smsc:Pw/4471@db.example/smsc',
      'postgres://smsc:Pw-4471@db.example:99999/smsc',
      'postgresql://smsc:Pw-4471@[db.example/smsc',
      'postgres://smsc:Pw%C3%284471@db.example/smsc',
    ]) {
      expect(problemsOf({ ...base, DATABASE_URL: url }), url).toEqual([message]);
    }
    // What node-postgres reads: percent-encoded passwords, a space or a stray % taken as written,
    // an empty host (a socket, or PGHOST), options in the query.
    for (const url of [
      'postgres://smsc:p%40ss%2Fw%3Ard@db.example:5432/smsc',
      'postgres://smsc:pass word@db.example/smsc',
      'postgres://smsc:100%@db.example/smsc',
      'postgres://smsc:pw@/smsc',
      'postgresql://smsc@db.example/smsc?sslmode=require&application_name=x',
    ]) {
      expect(load({ ...base, DATABASE_URL: url }).databaseUrl, url).toBe(url);
    }
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
    expect(defaults).toMatchObject({ statsElectronic: 'auto', operatorTtlDays: 30 });
    expect(load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_STATS_ELECTRONIC: 'false' })).toMatchObject({ statsElectronic: false });
    expect(load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_STATS_ELECTRONIC: 'AUTO' })).toMatchObject({ statsElectronic: 'auto' });
    expect(defaults.accounts[0]!.shortLinks).toBeUndefined();
    const several = load({ SMSC_SHORT_LINKS: '7', SMSC_ACCOUNTS: JSON.stringify([{ name: 'a', apikey: 'k', shortLinks: [1, 'x.example/y'] }, { name: 'b', apikey: 'k2' }]) });
    expect(several.accounts.map((a) => a.shortLinks)).toEqual([[{ id: 1 }, { link: 'x.example/y' }], [{ id: 7 }]]);
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_STATS_ELECTRONIC: 'maybe', SMSC_SHORT_LINKS: 'not a link', SMSC_OPERATOR_TTL_DAYS: '0' })).toEqual([
      "SMSC_OPERATOR_TTL_DAYS: expected a positive number, got '0'",
      "SMSC_STATS_ELECTRONIC: expected true, false or auto, got 'maybe'",
      "SMSC_SHORT_LINKS: 'not a link' is neither a short-link id nor a link",
    ]);
  });

  it('reads schedules of known jobs and the HTTP port, refusing unknown jobs and bad expressions', () => {
    const config = load({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_SCHEDULE_OUTBOUND: '*/10 * * * *', SMSC_SCHEDULE_SHORT_LINKS: '0 23 * * *', SMSC_HTTP_PORT: '9464' });
    expect(config.schedules).toEqual({ outbound: '*/10 * * * *', short_links: '0 23 * * *' });
    expect(config.httpPort).toBe(9464);
    expect(problemsOf({ SMSC_LOGIN: 'a', SMSC_PASSWORD: 'p', SMSC_SCHEDULE_OUTBUND: '* * * * *', SMSC_SCHEDULE_STATS: 'hourly', SMSC_HTTP_PORT: '70000' })).toEqual([
      'SMSC_SCHEDULE_OUTBUND: no such job; known: SMSC_SCHEDULE_OUTBOUND, SMSC_SCHEDULE_INBOUND, SMSC_SCHEDULE_STATS, SMSC_SCHEDULE_TARIFFS, SMSC_SCHEDULE_OPERATORS, SMSC_SCHEDULE_SHORT_LINKS, SMSC_SCHEDULE_BALANCE',
      "SMSC_SCHEDULE_STATS: 'hourly' is not a cron expression; expected e.g. '*/5 * * * *'",
      "SMSC_HTTP_PORT: expected a port number (0 to 65535), got '70000'",
    ]);
  });

  it('lets commands that need no account (sandbox) start without one', () => {
    expect(loadConfig({}, { cwd: emptyDir(), requireAccount: false }).accounts).toEqual([]);
  });
});

describe('SMSC_TIMEZONE', () => {
  // Node (the sync) and PostgreSQL (the views' AT TIME ZONE) must read the zone alike.
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('config_tz');
  });
  afterAll(() => database.drop());

  /** Wall clock at an instant as PostgreSQL reads the zone, `YYYY-MM-DD hh:mm`. */
  const postgresWall = async (zone: string, iso: string) =>
    (await sql<{ wall: string }>`SELECT to_char(${iso}::timestamptz AT TIME ZONE ${zone}, 'YYYY-MM-DD HH24:MI') AS wall`.execute(database.warehouse.db)).rows[0]!.wall;
  /** The same as Node reads it (Intl, not src/time). */
  const nodeWall = (zone: string, iso: string) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
        .formatToParts(new Date(iso))
        .map((x) => [x.type, x.value]),
    );
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
  };
  const instants = ['2026-01-15T12:00:00Z', '2026-07-15T12:00:00Z'];

  it('accepts IANA zone names, which PostgreSQL and Node read alike', async () => {
    const zones = ['Europe/Moscow', 'Europe/Kyiv', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Almaty', 'America/Argentina/Buenos_Aires', 'UTC', 'Etc/UTC', 'Etc/GMT-3'];
    for (const zone of zones) {
      expect(load({ SMSC_APIKEY: 'k', SMSC_ACCOUNT_NAME: 'kz', SMSC_TIMEZONE: zone }).accounts[0]!.timezone).toBe(zone);
      for (const at of instants) expect(await postgresWall(zone, at), `${zone} ${at}`).toBe(nodeWall(zone, at));
    }
    const accounts = JSON.stringify([{ name: 'ua', apikey: 'k1', timezone: 'Europe/Kyiv' }, { name: 'au', apikey: 'k2', timezone: 'Australia/Sydney' }]);
    expect(load({ SMSC_ACCOUNTS: accounts }).accounts.map((a) => a.timezone)).toEqual(['Europe/Kyiv', 'Australia/Sydney']);
  });

  it('refuses offsets, which PostgreSQL reads west of Greenwich and Node east, naming the variable', async () => {
    // The reason, seen on the warehouse itself: '+03:00' is UTC-3 to PostgreSQL, UTC+3 to Node.
    expect(await postgresWall('+03:00', '2026-07-15T12:00:00Z')).toBe('2026-07-15 09:00');
    expect(nodeWall('+03:00', '2026-07-15T12:00:00Z')).toBe('2026-07-15 15:00');
    for (const offset of ['+03:00', '-05:00', '+0300', '3', 'UTC+3', 'utc+03:00', 'GMT-5', 'Z']) {
      expect(problemsOf({ SMSC_APIKEY: 'k', SMSC_ACCOUNT_NAME: 'kz', SMSC_TIMEZONE: offset }), offset).toEqual([
        `SMSC_TIMEZONE: '${offset}' is an offset, not a time zone (PostgreSQL reads '+03:00' and 'UTC+3' as UTC−3, Node as UTC+3, and an offset knows no daylight saving); expected e.g. Europe/Moscow`,
      ]);
    }
  });

  it('refuses abbreviations and POSIX rules, which PostgreSQL and Node read differently', async () => {
    // 'CET' to PostgreSQL is the abbreviation, UTC+1 all year; to Node the zone, with summer time.
    expect(await postgresWall('CET', '2026-07-15T12:00:00Z')).toBe('2026-07-15 13:00');
    expect(nodeWall('CET', '2026-07-15T12:00:00Z')).toBe('2026-07-15 14:00');
    for (const name of ['CET', 'EST', 'EST5EDT', 'utc']) {
      expect(problemsOf({ SMSC_APIKEY: 'k', SMSC_ACCOUNT_NAME: 'kz', SMSC_TIMEZONE: name }), name).toEqual([
        `SMSC_TIMEZONE: '${name}' is not an IANA zone name (PostgreSQL and Node read abbreviations and POSIX rules differently); expected Area/Location, e.g. Europe/Moscow, or UTC`,
      ]);
    }
    expect(problemsOf({ SMSC_APIKEY: 'k', SMSC_ACCOUNT_NAME: 'kz', SMSC_TIMEZONE: 'MSK' })).toEqual(["SMSC_TIMEZONE: 'MSK' is not an IANA time zone; expected e.g. Europe/Moscow"]);
    const accounts = JSON.stringify([{ name: 'ru', apikey: 'k1' }, { name: 'kz', apikey: 'k2', timezone: '+05:00' }]);
    expect(problemsOf({ SMSC_ACCOUNTS: accounts })).toEqual([
      "SMSC_ACCOUNTS[1].timezone: '+05:00' is an offset, not a time zone (PostgreSQL reads '+03:00' and 'UTC+3' as UTC−3, Node as UTC+3, and an offset knows no daylight saving); expected e.g. Europe/Moscow",
    ]);
  });
});
