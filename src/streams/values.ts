// Strict readers of API values, shared by the normalizers. SMSC sends numbers as numbers or
// numeric strings, 64-bit ids beyond 2^53, money as "1.60" (or "1,60"), and dates as
// `DD.MM.YYYY hh:mm:ss` beside Unix timestamps. Anything that does not fit is refused with
// the field and the reason, and the row goes to rejected_rows.
import { escapedByte } from '../smsc/utf8.ts';
import { parseDateTime } from '../time/zoned-time.ts';

/** What a normalizer makes of one API row: the row, or why it goes to rejected_rows. */
export type Normalized<T> = { readonly row: T } | { readonly rejected: string };

/** Runs a normalizer body: a RowRejected it throws becomes `{ rejected: reason }`. */
export function normalizeWith<T>(body: () => T): Normalized<T> {
  try {
    return { row: body() };
  } catch (error) {
    if (error instanceof RowRejected) return { rejected: error.message };
    throw error;
  }
}

/** A row that cannot be normalized; the message is the reason stored in rejected_rows. */
export class RowRejected extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RowRejected';
  }
}

const INT8_MAX = 2n ** 63n - 1n;
const INT8_MIN = -(2n ** 63n);
/** Longest text kept in a column; longer is not a real SMS or reply. */
export const MAX_TEXT = 65_536;
/** Instants outside these bounds are taken as corrupt. */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? `${value}` : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function absent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/**
 * The one reader of 64-bit integers (int_id, reply ids, crc, short-link ids): a BigInt, a
 * safe-integer number or a string of up to 20 digits, within PostgreSQL's bigint range. Every
 * id a cursor or a page check uses comes from a row this reader accepted, so no id that
 * PostgreSQL cannot hold can become a cursor.
 * @throws RowRejected naming the field.
 */
export function int64Value(value: unknown, field: string): bigint {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^\s*-?\d{1,20}\s*$/.test(value)) n = BigInt(value.trim());
  else throw new RowRejected(`${field}: expected a whole number, got ${describe(value)}`);
  if (n > INT8_MAX || n < INT8_MIN) throw new RowRejected(`${field}: ${n} does not fit a 64-bit integer`);
  return n;
}

/** A bigint column value as a decimal string (exact beyond 2^53); see int64Value. */
export function int64(value: unknown, field: string): string {
  return int64Value(value, field).toString();
}

/** An id SMSC assigns (int_id, a reply's id): a 64-bit integer above 0. */
export function id64(value: unknown, field: string): string {
  const n = int64Value(value, field);
  if (n <= 0n) throw new RowRejected(`${field}: ${n} is not a valid id (ids are above 0)`);
  return n.toString();
}

export function optionalInt64(value: unknown, field: string): string | null {
  return absent(value) ? null : int64(value, field);
}

export function int32(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^\s*-?\d{1,10}\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n > 2 ** 31 - 1 || n < -(2 ** 31)) {
    throw new RowRejected(`${field}: expected a whole number, got ${describe(value)}`);
  }
  return n;
}

export function optionalInt32(value: unknown, field: string): number | null {
  return absent(value) ? null : int32(value, field);
}

/** A count (message parts and the like): a whole number, 0 or more. */
export function optionalCount(value: unknown, field: string): number | null {
  const n = optionalInt32(value, field);
  if (n !== null && n < 0) throw new RowRejected(`${field}: ${n} is negative; expected a count`);
  return n;
}

/** Money and other decimals as exact strings: "1.60", "1,60", 1.6 and "  2 " are read; floats never round. */
export function decimal(value: unknown, field: string): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value.trim().replace(',', '.') : undefined;
  if (text === undefined || !/^-?\d{1,15}(\.\d{1,8})?$/.test(text)) throw new RowRejected(`${field}: expected an amount like "1.60", got ${describe(value)}`);
  return text;
}

/** An amount that may be missing: null (unknown), never 0, when SMSC leaves it out or empty. */
export function optionalDecimal(value: unknown, field: string): string | null {
  return absent(value) ? null : decimal(value, field);
}

/** Text as stored: numbers become their digits; NUL bytes and oversized values are refused. */
export function text(value: unknown, field: string): string {
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'number' || typeof value === 'bigint') s = String(value);
  else throw new RowRejected(`${field}: expected text, got ${describe(value)}`);
  if (s.includes('\u0000')) throw new RowRejected(`${field}: contains a NUL byte, which PostgreSQL text cannot hold`);
  if (s.length > MAX_TEXT) throw new RowRejected(`${field}: ${s.length} characters, more than the ${MAX_TEXT} accepted`);
  if (LONE_SURROGATE.test(s)) {
    const byte = escapedByte(s);
    throw new RowRejected(byte !== undefined ? `${field}: not valid UTF-8 (byte 0x${byte.toString(16).toUpperCase()})` : `${field}: invalid UTF-16 (a lone surrogate)`);
  }
  return s;
}

export function optionalText(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : text(value, field);
}

/**
 * An instant from a Unix timestamp (the truth where given) or else a zone-local
 * `DD.MM.YYYY hh:mm:ss` date.
 */
export function instant(timestamp: unknown, date: unknown, timeZone: string, field: string): Date {
  if (!absent(timestamp)) {
    const seconds = typeof timestamp === 'string' && /^\s*\d+\s*$/.test(timestamp) ? Number(timestamp) : timestamp;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds)) throw new RowRejected(`${field}: timestamp ${describe(timestamp)} is not a whole number of seconds`);
    return plausible(seconds * 1000, field, timestamp);
  }
  if (absent(date)) throw new RowRejected(`${field}: missing`);
  // A date field may itself hold a Unix timestamp (get_answers is documented both ways).
  if (typeof date === 'number') return plausible(date * 1000, field, date);
  if (typeof date === 'string' && /^\s*\d{9,11}\s*$/.test(date)) return plausible(Number(date) * 1000, field, date);
  const ms = typeof date === 'string' ? parseDateTime(date, timeZone) : undefined;
  if (ms === undefined) throw new RowRejected(`${field}: ${describe(date)} is not a date DD.MM.YYYY hh:mm:ss`);
  return plausible(ms, field, date);
}

export function optionalInstant(timestamp: unknown, date: unknown, timeZone: string, field: string): Date | null {
  return absent(timestamp) && absent(date) ? null : instant(timestamp, date, timeZone, field);
}

function plausible(ms: number, field: string, source: unknown): Date {
  if (!(ms >= EARLIEST && ms < LATEST)) throw new RowRejected(`${field}: ${describe(source)} is outside 2000–2100`);
  return new Date(ms);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** `\u0000` or a lone-surrogate escape in JSON text (an odd number of backslashes before the u). */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * An API object as JSON text for a jsonb column. jsonb holds neither NUL nor a lone surrogate,
 * in any field, read or not: such a row is refused here, with the reason, and not at insert
 * time, where it would fail its whole page.
 */
export function storableJson(value: unknown): string {
  const json = exactJson(value);
  const m = UNSTORABLE_ESCAPE.exec(json);
  if (m) {
    const escape = m[0].slice(m[0].lastIndexOf('\\u'));
    if (escape === '\\u0000') throw new RowRejected('contains a NUL byte, which PostgreSQL cannot store');
    const code = Number.parseInt(escape.slice(2), 16);
    throw new RowRejected(code >= 0xdc80 && code <= 0xdcff ? `not valid UTF-8 (byte 0x${(code - 0xdc00).toString(16).toUpperCase()})` : 'invalid UTF-16 (a lone surrogate)');
  }
  return json;
}

/** JSON text of an API object with 64-bit integers exact (BigInt written as a bare number). */
export function exactJson(value: unknown): string {
  // A flat object (an API row) without a replacer: a replacer call per value is most of the cost.
  if (isPlainObject(value)) {
    let flat: Record<string, unknown> | undefined;
    let nested = false;
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'bigint') (flat ??= { ...value })[k] = JSON.rawJSON(v.toString());
      else if (typeof v === 'object' && v !== null) nested = true;
    }
    if (!nested) return JSON.stringify(flat ?? value);
  }
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? JSON.rawJSON(v.toString()) : v));
}

/** The object as stored in a jsonb column: jsonb cannot hold \u0000, so such rows are refused earlier. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
