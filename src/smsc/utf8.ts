// Answers are asked for in UTF-8, but a byte sequence that is not UTF-8 must not turn into
// U+FFFD silently: a changed character in a stored text is a wrong row. Such bytes are
// decoded the way Python's "surrogateescape" does (byte 0xXY becomes the lone surrogate
// U+DCXY), so the JSON still parses and the field that holds them is refused with its row.

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 text; each byte that is not part of a valid sequence becomes U+DC80…U+DCFF. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeEscaping(bytes);
  }
}

/** The first invalid byte a string decoded by `decodeUtf8` held, if any. */
export function escapedByte(text: string): number | undefined {
  const m = /[\uDC80-\uDCFF]/.exec(text);
  if (!m) return undefined;
  const i = m.index;
  // Part of a valid surrogate pair (an astral character) is not an escaped byte.
  if (i > 0 && /[\uD800-\uDBFF]/.test(text[i - 1]!)) return undefined;
  return text.charCodeAt(i) - 0xdc00;
}

function decodeEscaping(bytes: Uint8Array): string {
  const parts: string[] = [];
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    if (runStart < i) parts.push(strict.decode(bytes.subarray(runStart, i)));
    parts.push(String.fromCharCode(0xdc00 + bytes[i]!));
    i += 1;
    runStart = i;
  }
  if (runStart < bytes.length) parts.push(strict.decode(bytes.subarray(runStart)));
  return parts.join('');
}

/** Length of the valid UTF-8 sequence at `i` (RFC 3629), or 0 when the byte there starts none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const b0 = b[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
