// PromQL string literals: read as Prometheus reads them (Go's escapes, which the editor grammar
// does not check), and written back in one form that cannot end early or hide anything.
import { PromQLError } from './tree.ts';

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
};
const HEX = /^[0-9a-fA-F]+$/;
const OCTAL = /^[0-7]{3}$/;
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
const utf8 = new TextEncoder();

/** The value of a string literal token (`"..."`, `'...'` or a raw backtick string). */
export function unquote(token: string): string {
  const quote = token[0];
  if (token.length < 2 || token[token.length - 1] !== quote || (quote !== '"' && quote !== "'" && quote !== '`')) {
    throw new PromQLError(`unterminated quoted string ${token}`);
  }
  const body = token.slice(1, -1);
  if (quote === '`') return body;
  if (!body.includes('\\')) {
    if (body.includes('\n')) throw new PromQLError('unterminated quoted string: newline in string');
    return body;
  }
  // Escapes may spell raw bytes (\xC3\xA9), so the value is built as bytes and read as UTF-8.
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const point = body.codePointAt(i)!;
    const char = String.fromCodePoint(point);
    i += char.length;
    if (char === '\n' || char === quote) throw new PromQLError(`unexpected ${JSON.stringify(char)} in string`);
    if (char !== '\\') {
      if (point >= 0xd800 && point <= 0xdfff) throw new PromQLError('invalid UTF-8 in string');
      bytes.push(...utf8.encode(char));
      continue;
    }
    const kind = body[i++];
    if (kind === undefined) throw new PromQLError('unterminated escape sequence in string');
    const simple = SIMPLE_ESCAPES[kind];
    if (simple !== undefined || kind === quote) {
      bytes.push(simple ?? kind.charCodeAt(0));
    } else if (kind === 'x' || kind === 'u' || kind === 'U') {
      const length = kind === 'x' ? 2 : kind === 'u' ? 4 : 8;
      const digits = body.slice(i, i + length);
      if (digits.length !== length || !HEX.test(digits)) throw new PromQLError(`invalid escape sequence \\${kind}`);
      i += length;
      const value = Number.parseInt(digits, 16);
      if (kind === 'x') bytes.push(value);
      else if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
        throw new PromQLError(`invalid escape sequence \\${kind}${digits}`);
      } else bytes.push(...utf8.encode(String.fromCodePoint(value)));
    } else if (kind >= '0' && kind <= '7') {
      const digits = body.slice(i - 1, i + 2);
      const value = Number.parseInt(digits, 8);
      if (!OCTAL.test(digits) || value > 0xff) throw new PromQLError(`invalid escape sequence \\${digits}`);
      i += 2;
      bytes.push(value);
    } else {
      throw new PromQLError(`unknown escape sequence \\${kind}`);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(new Uint8Array(bytes));
  } catch {
    throw new PromQLError('invalid UTF-8 in string');
  }
}

/** A double-quoted literal of `value`: printable ASCII as is, everything else escaped. */
export function quote(value: string): string {
  if (PLAIN.test(value)) return `"${value}"`;
  let out = '"';
  for (const char of value) {
    const point = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (point >= 0x20 && point < 0x7f) out += char;
    else if (point < 0x80) out += `\\x${point.toString(16).padStart(2, '0')}`;
    else if (point >= 0xd800 && point <= 0xdfff) throw new PromQLError('invalid UTF-8 in string');
    else if (point <= 0xffff) out += `\\u${point.toString(16).padStart(4, '0')}`;
    else out += `\\U${point.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** RE2's QuoteMeta: the regex matching exactly `value` (Prometheus anchors label regexes). */
export function quoteMeta(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
