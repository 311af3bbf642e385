// Checks for log lines that JSON.parse would accept silently: a key repeated in one object
// (JSON.parse keeps the last).

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
