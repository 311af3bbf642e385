// JSON as SMSC sends it: `int_id` and `crc` are 64-bit, so integers beyond 2^53 must come
// through exactly. A reviver that reads each number's source text (JSON.parse source access)
// does that for any shape, but costs a call and a context object per value: on a history
// page it is three quarters of the parse. The fast path parses plainly and then puts back the
// exact digits of the few unsafe integers of a list of flat objects, found by their keys in
// the text; anything it cannot match exactly is parsed again the slow way.

/** Parses JSON; integers that a double cannot hold exactly become BigInt. */
export function parseExactJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (isExact(value)) return value;
  if (Array.isArray(value) && restoreRows(value, text)) return value;
  return parseWithReviver(text);
}

function parseWithReviver(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

const unsafe = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v);

/** Whether no value (at any depth) is an integer a double rounded. */
function isExact(value: unknown): boolean {
  if (unsafe(value)) return false;
  if (Array.isArray(value)) return value.every(isExact);
  if (value && typeof value === 'object') return Object.values(value).every(isExact);
  return true;
}

/**
 * A key followed by a bare integer of 16 or more digits. Outside strings only: inside a JSON
 * string every `"` is escaped, so `{"key":` or `,"key":` cannot occur there.
 */
const KEYED_BIG_INTEGER = /[{,]\s*"((?:[^"\\]|\\.)*)"\s*:\s*(-?\d{16,})\s*(?=[,}])/g;

/**
 * Puts the exact integers back into a list of flat objects, in text order. False (and the
 * list possibly half restored) when the text does not line up exactly with the values.
 */
function restoreRows(rows: unknown[], text: string): boolean {
  const found = text.matchAll(KEYED_BIG_INTEGER);
  for (const row of rows) {
    if (!row || typeof row !== 'object' || Array.isArray(row)) return false;
    const object = row as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const v = object[key];
      if (v && typeof v === 'object') return false;
      // Every integer of 16 or more digits has its match, safe ones too (to keep the pairing).
      if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) < 1e15) continue;
      const m = found.next();
      if (m.done || JSON.parse(`"${m.value[1]}"`) !== key || Number(m.value[2]) !== v) return false;
      if (!Number.isSafeInteger(v)) object[key] = BigInt(m.value[2]!);
    }
  }
  // Every big integer in the text was accounted for.
  return found.next().done === true;
}
