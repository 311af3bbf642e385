// Checks for log lines that JSON.parse would accept silently: a key repeated in one object
// (JSON.parse keeps the last), and instants written in anything but ISO 8601.

/** The keys that occur more than once in some object of the JSON text, as `path.key`. */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${at} in ${text.slice(0, 200)}`);
  };
  const space = () => {
    while (/\s/.test(text[at] ?? '')) at++;
  };
  const string = (): string => {
    if (text[at] !== '"') fail('expected a string');
    const start = at++;
    while (text[at] !== '"') {
      if (at >= text.length) fail('unterminated string');
      at += text[at] === '\\' ? 2 : 1;
    }
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const value = (path: string): void => {
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const keys = new Set<string>();
      space();
      if (text[at] === '}') return void at++;
      for (;;) {
        space();
        const key = string();
        if (keys.has(key)) found.push(`${path}${key}`);
        keys.add(key);
        space();
        if (text[at++] !== ':') fail("expected ':'");
        value(`${path}${key}.`);
        space();
        const next = text[at++];
        if (next === '}') return;
        if (next !== ',') fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      at++;
      space();
      if (text[at] === ']') return void at++;
      for (let i = 0; ; i++) {
        value(`${path}${i}.`);
        space();
        const next = text[at++];
        if (next === ']') return;
        if (next !== ',') fail("expected ',' or ']'");
      }
    }
    if (c === '"') return void string();
    const literal = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(at));
    if (!literal) fail('unexpected character');
    at += literal![0].length;
  };
  value('');
  space();
  if (at !== text.length) fail('text after the value');
  return found;
}

/** An instant in ISO 8601 as toISOString() writes it, or a calendar day. */
export const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z)?$/;

/** A string that is a date or an instant, in whatever form: it must then be ISO_8601. */
const LOOKS_LIKE_A_DATE = [
  /^\d{4}-\d{1,2}-\d{1,2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/,
  /^\d{1,2}[./]\d{1,2}[./]\d{4}(?:,? \d{1,2}:\d{2}(?::\d{2})?)?$/,
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (?:\d{2} )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/,
  // Anywhere, in text too: what String(date) and toUTCString() write.
  /\bGMT\b|Coordinated Universal Time/,
];
/** Keys that always hold an instant (`time`, `retryAt`, `deferredUntil`, `since`, …). */
const TIME_KEY = /^(?:time|since|until)$|(?:At|Until|Since)$/;

/** `path: value` of every value in a parsed line that is a time but not ISO 8601. */
export function nonIsoTimes(value: unknown, path = ''): string[] {
  if (typeof value === 'string') {
    const key = path.split('.').at(-1) ?? '';
    const dateLike = TIME_KEY.test(key) || LOOKS_LIKE_A_DATE.some((r) => r.test(value));
    return dateLike && !ISO_8601.test(value) ? [`${path}: ${value}`] : [];
  }
  if (typeof value === 'number') return TIME_KEY.test(path.split('.').at(-1) ?? '') ? [`${path}: ${value}`] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => nonIsoTimes(v, path ? `${path}.${k}` : k));
}
