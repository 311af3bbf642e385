// The one reader of the environment: validates every variable once at start and hands a
// frozen Config to the rest of the program. Nothing else touches process.env.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import cron from 'node-cron';
import { z } from 'zod';
import { JOBS } from '../jobs/index.ts';
import { scheduleVariable } from './scheduler/job.ts';

/** One SMSC account to keep in sync. */
export interface AccountConfig {
  /** Name stored in every table's `account` column. */
  readonly name: string;
  readonly login?: string | undefined;
  readonly password?: string | undefined;
  readonly apikey?: string | undefined;
  /** API host, e.g. https://smsc.ru, https://smsc.kz. (Default: https://smsc.ru) */
  readonly baseUrl: string;
  /** IANA zone of the account's `DD.MM.YYYY hh:mm:ss` dates. (Default: Europe/Moscow) */
  readonly timezone: string;
  /** Short links whose clicks are snapshotted daily: by id or by the original link. (Default: none) */
  readonly shortLinks?: readonly ShortLinkRef[];
}

/** SMSC_STATS_ELECTRONIC: `auto` and `true` read the electronic balance's statistics too. */
export type StatsElectronic = boolean | 'auto';

export type ShortLinkRef = { readonly id: number } | { readonly link: string };

export interface Config {
  readonly accounts: readonly AccountConfig[];
  /** PostgreSQL URL; undefined means the embedded PGlite warehouse in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Folder of the embedded warehouse. (Default: ./.smsc-sync) */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** `json` or `pretty` (LOG_FORMAT); undefined: pretty when stdout is a terminal, JSON otherwise. */
  readonly logFormat: LogFormat | undefined;
  /** Pretty logs without colours: NO_COLOR is set and not empty (https://no-color.org). (Default: false) */
  readonly noColor: boolean;
  /** Hours of history re-read for status changes. (Default: 72) */
  readonly statusWindowHours: number;
  /**
   * Statistics of the electronic balance (balance2=1): `auto` and `true` read them beside the
   * main balance's (a second get_stat request per day), so an account that pays some messages
   * from it reconciles; `false` reads the main balance only. (Default: 'auto')
   */
  readonly statsElectronic: StatsElectronic;
  /** Days after which a number's operator is looked up again (numbers get ported). (Default: 30) */
  readonly operatorTtlDays: number;
  /** Cron expressions that replace jobs' defaults, by job name (SMSC_SCHEDULE_<NAME>). */
  readonly schedules: Readonly<Record<string, string>>;
  /** `start` runs every job once for every account shortly after it starts (SMSC_RUN_ON_START). (Default: true) */
  readonly runOnStart: boolean;
  /** Port of `start`'s /healthz and /metrics; undefined: no listener. */
  readonly httpPort: number | undefined;
  /**
   * Stream runs at once in one process (`start`, `sync`, `backfill`); further runs wait for a
   * slot. The database pool holds one connection per run plus DB_SPARE_CONNECTIONS. (Default: 4)
   */
  readonly maxConcurrentRuns: number;
  /** Overall deadline of one SMSC request: connecting, headers and the whole body. (Default: 30 s) */
  readonly requestTimeoutMs: number;
  /**
   * Largest SMSC answer read (SMSC_MAX_ANSWER_MB), counted while it streams in; a larger one
   * fails its request unread. (Default: 32 MB, some 50 times a 1000-row history page)
   */
  readonly maxAnswerBytes: number;
  /** Longest wait for a database connection from the pool, and for a lock (lock_timeout). (Default: 10 s) */
  readonly dbTimeoutMs: number;
  /** statement_timeout of the sync's own statements. (Default: 120 s) */
  readonly statementTimeoutMs: number;
  /** How long `start` and `sync` wait for running pages after SIGTERM/SIGINT before a hard exit. (Default: 30 s) */
  readonly stopTimeoutMs: number;
  /**
   * Key of the HMAC that lets a hold after error 2 recognise a change of credentials without
   * storing anything a password could be recovered from (SMSC_SECRET_KEY). Undefined: a key
   * kept in `<dataDir>/secret.key`, created on first use.
   */
  readonly secretKey: string | undefined;
}

const DEFAULT_STATUS_WINDOW_HOURS = 72;
const DEFAULT_OPERATOR_TTL_DAYS = 30;
const DEFAULT_MAX_CONCURRENT_RUNS = 4;
const DEFAULT_REQUEST_TIMEOUT_S = 30;
const DEFAULT_MAX_ANSWER_MB = 32;
const MB = 1_048_576;
const DEFAULT_DB_TIMEOUT_S = 10;
const DEFAULT_STATEMENT_TIMEOUT_S = 120;
const DEFAULT_STOP_TIMEOUT_S = 30;

/**
 * A configuration with every default but the accounts, for code that builds one rather than
 * reading the environment (the demo, the benchmarks, the tests).
 */
export function configWithDefaults(accounts: readonly AccountConfig[], overrides: Partial<Config> = {}): Config {
  return {
    accounts,
    databaseUrl: undefined,
    dataDir: '',
    logLevel: 'info',
    logFormat: undefined,
    noColor: false,
    statusWindowHours: DEFAULT_STATUS_WINDOW_HOURS,
    statsElectronic: 'auto',
    operatorTtlDays: DEFAULT_OPERATOR_TTL_DAYS,
    schedules: {},
    runOnStart: true,
    httpPort: undefined,
    maxConcurrentRuns: DEFAULT_MAX_CONCURRENT_RUNS,
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_S * 1000,
    maxAnswerBytes: DEFAULT_MAX_ANSWER_MB * MB,
    dbTimeoutMs: DEFAULT_DB_TIMEOUT_S * 1000,
    statementTimeoutMs: DEFAULT_STATEMENT_TIMEOUT_S * 1000,
    stopTimeoutMs: DEFAULT_STOP_TIMEOUT_S * 1000,
    secretKey: undefined,
    ...overrides,
  };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Raised with one line per bad or missing variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** Fail when no SMSC account is configured (every command that talks to SMSC). (Default: true) */
  readonly requireAccount?: boolean;
  /** Folder whose `.env` is read. (Default: process.cwd()) */
  readonly cwd?: string;
}

/** Variables that may instead be read from a file named by `<NAME>_FILE` (Docker/Kubernetes secrets). */
const FILE_VARIABLES = ['SMSC_PASSWORD', 'SMSC_APIKEY', 'SMSC_ACCOUNTS', 'DATABASE_URL', 'SMSC_SECRET_KEY'] as const;

const DEFAULT_BASE_URL = 'https://smsc.ru';
const DEFAULT_TIMEZONE = 'Europe/Moscow';
const ACCOUNT_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

const accountEntry = z.strictObject({
  name: z.string().regex(ACCOUNT_NAME, 'letters, digits, _ . @ - (1 to 64)'),
  login: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  apikey: z.string().min(1).optional(),
  baseUrl: z.string().optional(),
  timezone: z.string().optional(),
  shortLinks: z.array(z.union([z.number().int().positive(), z.string().min(3)])).optional(),
});

/**
 * Reads and validates the configuration.
 *
 * `.env` in `cwd` is read when present; variables already in `env` win over it.
 * @throws ConfigError naming every bad or missing variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const vars = withFileSecrets(withDotEnv(env, options.cwd ?? process.cwd()), problems);

  const logLevel = (vars.LOG_LEVEL ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL: '${vars.LOG_LEVEL}' is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const logFormat = vars.LOG_FORMAT ? vars.LOG_FORMAT.toLowerCase() : undefined;
  if (logFormat !== undefined && !(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    problems.push(`LOG_FORMAT: '${vars.LOG_FORMAT}' is not one of ${LOG_FORMATS.join(', ')} (unset: pretty on a terminal, JSON otherwise)`);
  }
  // https://no-color.org: set and not empty, whatever its value.
  const noColor = vars.NO_COLOR !== undefined && vars.NO_COLOR !== '';

  const statusWindowHours = positiveNumber('SMSC_STATUS_WINDOW_HOURS', vars.SMSC_STATUS_WINDOW_HOURS, DEFAULT_STATUS_WINDOW_HOURS, problems);
  const operatorTtlDays = positiveNumber('SMSC_OPERATOR_TTL_DAYS', vars.SMSC_OPERATOR_TTL_DAYS, DEFAULT_OPERATOR_TTL_DAYS, problems);
  const statsElectronic: StatsElectronic =
    vars.SMSC_STATS_ELECTRONIC === undefined || vars.SMSC_STATS_ELECTRONIC === '' || /^auto$/i.test(vars.SMSC_STATS_ELECTRONIC)
      ? 'auto'
      : flag('SMSC_STATS_ELECTRONIC', vars.SMSC_STATS_ELECTRONIC, problems, 'true, false or auto');
  const shortLinks = vars.SMSC_SHORT_LINKS ? parseShortLinks('SMSC_SHORT_LINKS', vars.SMSC_SHORT_LINKS, problems) : undefined;
  const schedules = readSchedules(vars, problems);
  const runOnStart = vars.SMSC_RUN_ON_START === undefined || vars.SMSC_RUN_ON_START === '' ? true : flag('SMSC_RUN_ON_START', vars.SMSC_RUN_ON_START, problems);
  const httpPort = vars.SMSC_HTTP_PORT ? port('SMSC_HTTP_PORT', vars.SMSC_HTTP_PORT, problems) : undefined;
  const maxConcurrentRuns = wholeNumber('SMSC_MAX_CONCURRENT_RUNS', vars.SMSC_MAX_CONCURRENT_RUNS, DEFAULT_MAX_CONCURRENT_RUNS, 1, 64, problems);
  const seconds = (name: string, fallback: number, max: number) => positiveNumber(name, vars[name], fallback, problems, max) * 1000;
  const requestTimeoutMs = seconds('SMSC_REQUEST_TIMEOUT_SECONDS', DEFAULT_REQUEST_TIMEOUT_S, 600);
  const maxAnswerBytes = Math.round(positiveNumber('SMSC_MAX_ANSWER_MB', vars.SMSC_MAX_ANSWER_MB, DEFAULT_MAX_ANSWER_MB, problems, 1024) * MB);
  const dbTimeoutMs = seconds('SMSC_DB_TIMEOUT_SECONDS', DEFAULT_DB_TIMEOUT_S, 600);
  const statementTimeoutMs = seconds('SMSC_STATEMENT_TIMEOUT_SECONDS', DEFAULT_STATEMENT_TIMEOUT_S, 86_400);
  const stopTimeoutMs = seconds('SMSC_STOP_TIMEOUT_SECONDS', DEFAULT_STOP_TIMEOUT_S, 3600);
  const secretKey = vars.SMSC_SECRET_KEY || undefined;
  if (secretKey !== undefined && secretKey.length < 16) problems.push('SMSC_SECRET_KEY: at least 16 characters (e.g. `openssl rand -hex 32`)');

  const databaseUrl = vars.DATABASE_URL || undefined;
  if (databaseUrl !== undefined) checkDatabaseUrl('DATABASE_URL', databaseUrl, problems);

  const defaults = {
    baseUrl: checkBaseUrl('SMSC_BASE_URL', vars.SMSC_BASE_URL ?? DEFAULT_BASE_URL, problems),
    timezone: checkTimezone('SMSC_TIMEZONE', vars.SMSC_TIMEZONE ?? DEFAULT_TIMEZONE, problems),
    ...(shortLinks ? { shortLinks } : {}),
  };
  const accounts = vars.SMSC_ACCOUNTS
    ? accountsFromJson(vars, defaults, problems)
    : singleAccount(vars, defaults, problems);

  if (accounts.length === 0 && !vars.SMSC_ACCOUNTS && (options.requireAccount ?? true)) {
    problems.push('SMSC_LOGIN + SMSC_PASSWORD, or SMSC_APIKEY, or SMSC_ACCOUNTS: no SMSC account is configured');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    accounts: Object.freeze(accounts.map((a) => Object.freeze(a))),
    databaseUrl,
    dataDir: resolve(options.cwd ?? process.cwd(), vars.SMSC_DATA_DIR || '.smsc-sync'),
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat | undefined,
    noColor,
    statusWindowHours,
    statsElectronic,
    operatorTtlDays,
    schedules: Object.freeze(schedules),
    runOnStart,
    httpPort,
    maxConcurrentRuns,
    requestTimeoutMs,
    maxAnswerBytes,
    dbTimeoutMs,
    statementTimeoutMs,
    stopTimeoutMs,
    secretKey,
  });
}

function readSchedules(vars: Record<string, string | undefined>, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const known = new Map(JOBS.map((j) => [scheduleVariable(j.name), j.name]));
  for (const [name, value] of Object.entries(vars)) {
    if (!name.startsWith('SMSC_SCHEDULE_') || !value) continue;
    const job = known.get(name);
    if (!job) problems.push(`${name}: no such job; known: ${[...known.keys()].join(', ')}`);
    else if (!cron.validate(value)) problems.push(`${name}: '${value}' is not a cron expression; expected e.g. '*/5 * * * *'`);
    else out[job] = value;
  }
  return out;
}

function port(name: string, value: string, problems: string[]): number | undefined {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    problems.push(`${name}: expected a port number (0 to 65535), got '${value}'`);
    return undefined;
  }
  return n;
}

function flag(name: string, value: string | undefined, problems: string[], expected = 'true or false'): boolean {
  if (value === undefined || value === '') return false;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  problems.push(`${name}: expected ${expected}, got '${value}'`);
  return false;
}

/** `145142,https://mysite.ru/sale`: digits are short-link ids, anything else an original link. */
function parseShortLinks(name: string, value: string, problems: string[]): ShortLinkRef[] {
  const refs: ShortLinkRef[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (/^\d{1,18}$/.test(item)) refs.push({ id: Number(item) });
    else if (/^[^\s]+\.[^\s]+$/.test(item)) refs.push({ link: item });
    else problems.push(`${name}: '${item}' is neither a short-link id nor a link`);
  }
  return refs;
}

function positiveNumber(name: string, value: string | undefined, fallback: number, problems: string[], max = Infinity): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    problems.push(`${name}: expected a positive number${max < Infinity ? ` up to ${max}` : ''}, got '${value}'`);
    return fallback;
  }
  return n;
}

function wholeNumber(name: string, value: string | undefined, fallback: number, min: number, max: number, problems: string[]): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    problems.push(`${name}: expected a whole number from ${min} to ${max}, got '${value}'`);
    return fallback;
  }
  return n;
}

function withDotEnv(env: NodeJS.ProcessEnv, cwd: string): Record<string, string | undefined> {
  const path = resolve(cwd, '.env');
  if (!existsSync(path)) return { ...env };
  return { ...parseEnv(readFileSync(path, 'utf8')), ...env };
}

function withFileSecrets(vars: Record<string, string | undefined>, problems: string[]): Record<string, string | undefined> {
  const out = { ...vars };
  for (const name of FILE_VARIABLES) {
    const file = vars[`${name}_FILE`];
    if (!file) continue;
    if (vars[name]) {
      problems.push(`${name}_FILE: set together with ${name}; set only one of them`);
      continue;
    }
    try {
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (error) {
      problems.push(`${name}_FILE: cannot read '${file}' (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  return out;
}

interface AccountDefaults {
  readonly baseUrl: string;
  readonly timezone: string;
  readonly shortLinks?: readonly ShortLinkRef[];
}

function singleAccount(
  vars: Record<string, string | undefined>,
  defaults: AccountDefaults,
  problems: string[],
): AccountConfig[] {
  const { SMSC_LOGIN: login, SMSC_PASSWORD: password, SMSC_APIKEY: apikey } = vars;
  if (!login && !password && !apikey) return [];
  if (apikey && password) {
    problems.push(
      "SMSC_APIKEY: set either SMSC_APIKEY or SMSC_LOGIN + SMSC_PASSWORD, not both (with SMSC_APIKEY, SMSC_LOGIN alone may name the account's own login: it is never sent)",
    );
    return [];
  }
  if (!apikey && !login) problems.push('SMSC_LOGIN: required with SMSC_PASSWORD');
  if (!apikey && !password) problems.push('SMSC_PASSWORD: required with SMSC_LOGIN (or set SMSC_PASSWORD_FILE)');
  // An API key does not say which login it belongs to: without a name of its own, two
  // installations with different keys would write into one account's rows.
  if (apikey && !vars.SMSC_ACCOUNT_NAME && !login) {
    problems.push("SMSC_ACCOUNT_NAME: required with SMSC_APIKEY (an API key does not say which SMSC login it belongs to); name the account, e.g. SMSC_ACCOUNT_NAME=shop (use 'default' to go on with rows synced before under that name)");
  }
  const name = vars.SMSC_ACCOUNT_NAME || login || 'default';
  if (!ACCOUNT_NAME.test(name)) problems.push(`SMSC_ACCOUNT_NAME: '${name}' must be letters, digits, _ . @ - (1 to 64)`);
  // With an API key, a login only names the account's own login (its statistics row and
  // balance, for the reconciliation); requests carry the key alone.
  return [{ name, login: login || undefined, password: apikey ? undefined : password, apikey, ...defaults }];
}

function accountsFromJson(
  vars: Record<string, string | undefined>,
  defaults: AccountDefaults,
  problems: string[],
): AccountConfig[] {
  if (vars.SMSC_LOGIN || vars.SMSC_PASSWORD || vars.SMSC_APIKEY) {
    problems.push('SMSC_ACCOUNTS: set either SMSC_ACCOUNTS or SMSC_LOGIN/SMSC_PASSWORD/SMSC_APIKEY, not both');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(vars.SMSC_ACCOUNTS ?? '');
  } catch {
    problems.push('SMSC_ACCOUNTS: not valid JSON; expected [{"name":"…","login":"…","password":"…"}, …]');
    return [];
  }
  const list = z.array(accountEntry).min(1).safeParse(parsed);
  if (!list.success) {
    for (const issue of list.error.issues) {
      const where = issue.path.length ? `[${String(issue.path[0])}]${issue.path.slice(1).map((p) => `.${String(p)}`).join('')}` : '';
      problems.push(`SMSC_ACCOUNTS${where}: ${issue.message}`);
    }
    return [];
  }
  const seen = new Set<string>();
  const accounts = list.data.map((entry, i) => {
    const at = `SMSC_ACCOUNTS[${i}]`;
    if (seen.has(entry.name)) problems.push(`${at}.name: '${entry.name}' is used twice; account names must be unique`);
    seen.add(entry.name);
    if (entry.apikey && entry.password) problems.push(`${at}: give either apikey or login + password, not both (with apikey, login alone may name the account's own login)`);
    if (!entry.apikey && !(entry.login && entry.password)) problems.push(`${at}: needs login + password, or apikey`);
    return {
      name: entry.name,
      login: entry.login,
      password: entry.apikey ? undefined : entry.password,
      apikey: entry.apikey,
      baseUrl: entry.baseUrl === undefined ? defaults.baseUrl : checkBaseUrl(`${at}.baseUrl`, entry.baseUrl, problems),
      timezone: entry.timezone === undefined ? defaults.timezone : checkTimezone(`${at}.timezone`, entry.timezone, problems),
      ...(entry.shortLinks
        ? { shortLinks: entry.shortLinks.map((l) => (typeof l === 'number' ? { id: l } : { link: l })) }
        : defaults.shortLinks
          ? { shortLinks: defaults.shortLinks }
          : {}),
    };
  });
  refuseSharedLogins(accounts, problems);
  return accounts;
}

/**
 * SMSC counts its quotas per login on each host: two entries for one login would each plan
 * with the whole budget (and earn error 9), and two entries with one API key would write one
 * account's messages under two names. Such a configuration is refused.
 */
function refuseSharedLogins(accounts: readonly AccountConfig[], problems: string[]): void {
  const byIdentity = new Map<string, number>();
  accounts.forEach((a, i) => {
    let host: string;
    try {
      host = new URL(a.baseUrl).host;
    } catch {
      return;
    }
    const identity = a.apikey ? `${host}\napikey\n${a.apikey}` : `${host}\nlogin\n${a.login ?? ''}`;
    const first = byIdentity.get(identity);
    if (first === undefined) {
      byIdentity.set(identity, i);
      return;
    }
    const what = a.apikey ? 'the same API key' : `login '${a.login}'`;
    problems.push(
      `SMSC_ACCOUNTS[${i}]: '${a.name}' uses ${what} on ${host} like SMSC_ACCOUNTS[${first}] ('${accounts[first]!.name}'); ` +
        'SMSC counts quotas per login, so each login may appear once',
    );
  });
}

/**
 * The URL must be one node-postgres can read, checked here so that a bad one is named (the
 * driver says only "Invalid URL"). The value itself is never repeated: it holds the password.
 * Like the driver, spaces and stray `%` are taken as written, and the host may be empty (a
 * socket, or PGHOST).
 */
function checkDatabaseUrl(name: string, value: string, problems: string[]): void {
  if (!/^postgres(ql)?:\/\//.test(value)) {
    problems.push(`${name}: expected a postgres:// or postgresql:// URL (unset it for the embedded warehouse)`);
    return;
  }
  // node-postgres's own preparation of the text before it parses it (pg-connection-string).
  const prepared = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(value) ? encodeURI(value).replace(/%25(\d\d)/g, '%$1') : value;
  const readable = (text: string) => {
    try {
      const url = new URL(text);
      // (The driver decodes both, and a bad escape such as %C3%28 throws there.)
      decodeURIComponent(url.username);
      decodeURIComponent(url.password);
      return true;
    } catch {
      return false;
    }
  };
  if (readable(prepared) || readable(prepared.replace('@/', '@host/'))) return;
  problems.push(
    `${name}: not a valid URL (the value is not shown: it holds the password); expected postgres://user:password@host:5432/database, ` +
      'a port up to 65535, and the characters @ : / ? # in the user name or password percent-encoded (@ as %40, : as %3A, / as %2F, ? as %3F, # as %23)',
  );
}

/** Hosts on this machine: localhost, 127.0.0.0/8, [::1]. */
const LOOPBACK_HOSTS = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function checkBaseUrl(name: string, value: string, problems: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name}: '${value}' is not a URL; expected e.g. https://smsc.ru`);
    return value;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`${name}: expected an http(s) URL, got '${url.protocol}'`);
  // Plain http sends the password (psw) or API key in clear across every network in between:
  // only a host on this machine (the emulator, a local proxy) may be reached that way.
  else if (url.protocol === 'http:' && !LOOPBACK_HOSTS.test(url.hostname)) {
    problems.push(`${name}: '${url.origin}' is plain http, which would send the password or API key in clear; use https://${url.host} (http is accepted for localhost and 127.0.0.1 only)`);
  }
  // Credentials never travel in URLs (they end up in proxies' and servers' logs).
  if (url.username || url.password || url.search) problems.push(`${name}: must not carry credentials or a query string`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** An IANA zone name: `Area/Location` (`America/Argentina/Buenos_Aires`, `Etc/UTC`), or `UTC`. */
const IANA_ZONE = /^(?:UTC|[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)+)$/;

/**
 * The zone must be an IANA name, which Node (the sync) and PostgreSQL (the views'
 * `AT TIME ZONE`) read alike. Anything else is refused, because the two read it differently
 * or not at all: PostgreSQL reads `+03:00` and `UTC+3` as POSIX zones, west of Greenwich
 * (UTC−3), where Node reads `+03:00` as UTC+3; abbreviations (`MSK`, `EST`) are PostgreSQL's
 * fixed offsets but unknown to Node or another zone there; `EST5EDT`-style rules differ
 * between versions of the zone database.
 */
function checkTimezone(name: string, value: string, problems: string[]): string {
  if (/^[+\-\u2212]?\d|^(?:UTC|GMT|Z)\s*[+\-\u2212]|^Z$/i.test(value)) {
    problems.push(
      `${name}: '${value}' is an offset, not a time zone (PostgreSQL reads '+03:00' and 'UTC+3' as UTC−3, Node as UTC+3, and an offset knows no daylight saving); expected e.g. Europe/Moscow`,
    );
    return value;
  }
  let known = true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    known = false;
  }
  if (!known) problems.push(`${name}: '${value}' is not an IANA time zone; expected e.g. Europe/Moscow`);
  else if (!IANA_ZONE.test(value)) {
    problems.push(`${name}: '${value}' is not an IANA zone name (PostgreSQL and Node read abbreviations and POSIX rules differently); expected Area/Location, e.g. Europe/Moscow, or UTC`);
  }
  return value;
}
