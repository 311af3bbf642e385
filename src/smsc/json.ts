// JSON as SMSC sends it: `int_id` and `crc` are 64-bit, so integers beyond 2^53 must come
// through exactly. The reviver reads each number's source text (JSON.parse source access).

/** Parses JSON; integers that a double cannot hold exactly become BigInt. */
export function parseExactJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}
