// How the emulator writes answers: fmt 0 (`key = value` lines), 1 (comma-separated values),
// 2 (XML) and 3 (JSON), and the charset SMSC defaults to (windows-1251) unless utf-8 is asked.

/** A field value: strings are quoted in JSON, numbers and 64-bit integers are not. */
export type Value = string | number | bigint;
/** An answer row: ordered `[json key, value]` pairs. */
export type Row = readonly (readonly [string, Value])[];

export interface RowShape {
  /** fmt=0 key names where they differ from the JSON keys. */
  readonly fmt0Keys?: Readonly<Record<string, string>>;
  /** fmt=0 omits these keys (e.g. timestamps beside the dates). */
  readonly fmt0Omit?: readonly string[];
  /** fmt=1 column order; (Default: the row's own order) */
  readonly fmt1Columns?: readonly string[];
  /** fmt=2 element of one row. (Default: 'item') */
  readonly xmlElement?: string;
}

export interface Rendered {
  readonly body: string;
  readonly contentType: string;
  /** SMSC's error code when the answer is an error. */
  readonly errorCode?: number;
}

/** Renders rows; `single` answers with one object rather than a list (fmt=3). */
export function renderRows(rows: readonly Row[], fmt: number, shape: RowShape = {}, single = false): Rendered {
  switch (fmt) {
    case 3: {
      const objects = rows.map(toJsonObject);
      return json(single ? (objects[0] ?? {}) : objects);
    }
    case 2: {
      const element = shape.xmlElement ?? 'item';
      const items = rows.map((row) => `<${element}>${row.map(([k, v]) => `<${k}>${xml(String(v))}</${k}>`).join('')}</${element}>`);
      return { body: `<?xml version="1.0" encoding="utf-8"?>\n<result>${items.join('')}</result>`, contentType: 'text/xml' };
    }
    case 1: {
      const lines = rows.map((row) => {
        const map = new Map(row);
        const columns = shape.fmt1Columns ?? row.map(([k]) => k);
        return columns.map((c) => String(map.get(c) ?? '')).join(',');
      });
      return { body: lines.join('\n'), contentType: 'text/plain' };
    }
    default: {
      const lines = rows.map((row) =>
        row
          .filter(([k]) => !shape.fmt0Omit?.includes(k))
          .map(([k, v]) => `${shape.fmt0Keys?.[k] ?? k} = ${String(v)}`)
          .join(', '),
      );
      return { body: lines.join('\n'), contentType: 'text/plain' };
    }
  }
}

export function toJsonObject(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of row) out[k] = typeof v === 'bigint' ? JSON.rawJSON(v.toString()) : v;
  return out;
}

export function json(value: unknown): Rendered {
  return { body: JSON.stringify(value), contentType: 'application/json' };
}

/** An error in the shape of the asked format (smsc-api.md, common rules). */
export function renderError(code: number, description: string, fmt: number): Rendered {
  return { ...errorBody(code, description, fmt), errorCode: code };
}

function errorBody(code: number, description: string, fmt: number): Rendered {
  switch (fmt) {
    case 3:
      return json({ error: description, error_code: code });
    case 2:
      return {
        body: `<?xml version="1.0" encoding="utf-8"?>\n<result><error>${xml(description)}</error><error_code>${code}</error_code></result>`,
        contentType: 'text/xml',
      };
    case 1:
      return { body: `0,-${code}`, contentType: 'text/plain' };
    default:
      return plainError(code, description);
  }
}

/** `ERROR = N (description)`: fmt=0's error, which SMSC sometimes sends whatever fmt asked. */
export function plainError(code: number, description: string): Rendered {
  return { body: `ERROR = ${code} (${description})`, contentType: 'text/plain', errorCode: code };
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

let cp1251: Map<string, number> | undefined;

/** Encodes for the asked charset: utf-8, or SMSC's default windows-1251 ('?' where it has no letter). */
export function encodeBody(text: string, charset: string): Buffer {
  if (charset.toLowerCase().replace('_', '-') === 'utf-8') return Buffer.from(text, 'utf8');
  if (!cp1251) {
    cp1251 = new Map();
    const decoder = new TextDecoder('windows-1251');
    for (let b = 0x80; b <= 0xff; b++) cp1251.set(decoder.decode(Uint8Array.of(b)), b);
  }
  const bytes: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    bytes.push(code < 0x80 ? code : (cp1251.get(ch) ?? 0x3f));
  }
  return Buffer.from(bytes);
}

/** The charset name for the Content-Type header. */
export function charsetName(charset: string): string {
  return charset.toLowerCase().replace('_', '-') === 'utf-8' ? 'utf-8' : 'windows-1251';
}
