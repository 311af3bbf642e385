// The pino root logger: JSON lines for machines, pino-pretty on a terminal (LOG_FORMAT picks
// either). Secrets are scrubbed twice: by key name at any depth, and by value wherever a
// registered secret appears. Every instant is written in ISO 8601, and no line repeats a key.
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.ts';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line, at any depth. */
const SECRET_KEYS = new Set(['psw', 'password', 'apikey', 'api_key', 'secret', 'authorization']);
/** `psw=…`, `"apikey": "…"` and the like inside free text (error messages, bodies, URLs). */
const SECRET_IN_TEXT = /\b(psw|password|apikey)(["']?\s*[=:]\s*["']?)([^&\s"',;]+)/gi;
const REDACTED = '[REDACTED]';

/**
 * A Date written into text by `${date}` or String(date), `Mon Nov 23 2026 10:00:00 GMT+0000
 * (Coordinated Universal Time)`, or by toUTCString(), `Mon, 23 Nov 2026 10:00:00 GMT`
 * (node-cron's messages, a driver's or a library's error text).
 */
const DATE_IN_TEXT = new RegExp(
  [
    String.raw`\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4}(?: \([^()]*\))?`,
    String.raw`\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT\b`,
  ].join('|'),
  'g',
);

const knownSecrets = new Set<string>();
const knownNames = new Set<string>();

/** Registers a secret value (a password, an API key) to be masked in every later log line. */
export function registerSecret(value: string | undefined): void {
  // Very short values would mask ordinary words; config requires real credentials anyway.
  if (value && value.length >= 3) knownSecrets.add(value);
}

/**
 * Registers an account name or login: not a secret, so never masked by value, even where it
 * equals or contains a registered secret (the emulator's login `demo` with password `demo`).
 * The password itself stays masked wherever it stands apart from such a name, and always
 * under the secret keys (`psw`, `password`, …) and in `psw=…` text.
 */
export function registerAccountName(value: string | undefined): void {
  if (value) knownNames.add(value);
}

/** Masks secrets in a string: `key=value` pairs and every registered secret value. */
export function scrubText(text: string): string {
  return maskRegistered(text).replace(SECRET_IN_TEXT, (_m, key: string, sep: string) => `${key}${sep}${REDACTED}`);
}

/**
 * Masks each occurrence of a registered secret that does not lie within an occurrence of a
 * registered account name. Whole values are masked in one piece: a pattern cut at '&' would
 * leave the tail of a password.
 */
function maskRegistered(text: string): string {
  const masks: [number, number][] = [];
  for (const secret of knownSecrets) {
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) masks.push([at, at + secret.length]);
  }
  if (masks.length === 0) return text;
  const names: [number, number][] = [];
  for (const name of knownNames) {
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) names.push([at, at + name.length]);
  }
  const kept = masks.filter(([from, to]) => !names.some(([nFrom, nTo]) => nFrom <= from && to <= nTo)).sort((a, b) => a[0] - b[0]);
  let out = '';
  let done = 0;
  for (const [from, to] of kept) {
    if (to <= done) continue;
    if (from >= done) out += text.slice(done, from) + REDACTED;
    done = to;
  }
  return out + text.slice(done);
}

/** ISO 8601 for an instant; an invalid Date stays recognisable rather than throwing. */
function isoOf(date: Date): string {
  return Number.isNaN(date.getTime()) ? 'Invalid Date' : date.toISOString();
}

/** A string for a log line: Dates written into it become ISO 8601, secrets are masked. */
function logText(text: string): string {
  return scrubText(text.replace(DATE_IN_TEXT, (d) => isoOf(new Date(d))));
}

/**
 * Deep copy of a log argument with secrets masked and every Date as ISO 8601; errors become
 * plain objects.
 */
export function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return logText(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Date) return isoOf(value);
  if (value instanceof URL) return logText(value.href);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: logText(value.message) };
    if (value.stack) out.stack = logText(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k.toLowerCase()) ? REDACTED : scrubValue(v, depth + 1);
    if (value.cause !== undefined) out.cause = scrubValue(value.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k.toLowerCase()) ? REDACTED : scrubValue(v, depth + 1);
  return out;
}

/** Keys pino writes into every line itself (`pid` comes from `base`). */
const LINE_KEYS = ['level', 'time', 'pid'] as const;

/**
 * The call's data without the keys the line already has: pino writes a child logger's
 * bindings, its own keys and the call's data side by side, so `{ stream }` logged on a logger
 * bound to `{ stream }` gives a line with `stream` twice, which JSON parsers read differently
 * (most keep the last). The same value is dropped; a different one is kept as `<key>_2`.
 */
function withoutTakenKeys(data: Record<string, unknown>, bound: Record<string, unknown>, hasMessage: boolean): Record<string, unknown> {
  const taken = new Set<string>([...LINE_KEYS, ...Object.keys(bound), ...(hasMessage ? ['msg'] : [])]);
  if (!Object.keys(data).some((k) => taken.has(k))) return data;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (!taken.has(k)) out[k] = v;
    else if (!(k in bound) || JSON.stringify(v) !== JSON.stringify(bound[k])) {
      let alias = `${k}_2`;
      for (let n = 3; taken.has(alias) || alias in data; n++) alias = `${k}_${n}`;
      out[alias] = v;
    }
  }
  return out;
}

/**
 * How log lines are written: `format` as LOG_FORMAT gives it, else pretty on a terminal and
 * JSON otherwise.
 */
export function resolveLogFormat(format: LogFormat | undefined, isTTY: boolean): LogFormat {
  return format ?? (isTTY ? 'pretty' : 'json');
}

export interface CreateLoggerOptions {
  /** (Default: 'info') */
  readonly level?: LogLevel;
  /** `json` or `pretty` (LOG_FORMAT). (Default: pretty when the output is a terminal, JSON otherwise) */
  readonly format?: LogFormat | undefined;
  /** Pretty output without colours (NO_COLOR, https://no-color.org). (Default: false) */
  readonly noColor?: boolean;
  /** Where lines go; tests pass a capture stream. (Default: stdout) */
  readonly destination?: DestinationStream;
  /** Whether the output is a terminal. (Default: stdout's isTTY; false with a `destination`) */
  readonly isTTY?: boolean;
}

/** Creates the root logger; child loggers carry `{ account, stream, runId }`. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const isTTY = options.isTTY ?? (options.destination ? false : Boolean(process.stdout.isTTY));
  const config: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: (e: unknown) => scrubValue(e) },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => scrubValue(a));
        const [data, ...rest] = scrubbed;
        if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
          scrubbed[0] = withoutTakenKeys(data as Record<string, unknown>, this.bindings(), rest.length > 0);
        }
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  const out = options.destination ?? pino.destination({ fd: 1, sync: true });
  if (resolveLogFormat(options.format, isTTY) === 'json') return pino(config, out);
  // Prettified in this process and written at once (not in a worker thread or a stream
  // pipeline), so that a line logged just before process.exit() is not lost.
  const prettify = pretty.prettyFactory({ colorize: isTTY && !options.noColor, translateTime: 'UTC:yyyy-mm-dd\'T\'HH:MM:ss.l\'Z\'' });
  return pino(config, { write: (line: string) => out.write(prettify(line)) });
}
