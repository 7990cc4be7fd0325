/**
 * Turning untrusted model text and numbers into C source that cannot break.
 *
 * Identifiers in generated C come from indices only (tml_op3_filter), never from names in the
 * model file. Names appear only inside comments, through commentText(), which keeps printable
 * ASCII and escapes everything that could end the comment, splice a line or form a trigraph.
 */

/** Safe text for inside a C block comment: one line, printable ASCII, no comment delimiters. */
export function commentText(text: string, maxLength = 160): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\x5c'; // never a trailing backslash that could splice lines
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp > 0x7e) out += cp <= 0xffff ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
    else out += ch;
  }
  // Break the two-character sequences that mean something inside a comment: */ ends it,
  // /* nests (-Wcomment), ?? starts a trigraph (??/ is a backslash that splices lines).
  out = out.replace(/\*\//g, '*\\/').replace(/\/\*/g, '/\\*').replace(/\?\?/g, '?\\?');
  if (out.length > maxLength) out = `${out.slice(0, maxLength - 3).replace(/\\[^\\]*$/, '')}...`;
  return out;
}

/** A C string literal holding `text`; anything outside [A-Za-z0-9_ .-] is an octal escape. */
export function cString(text: string): string {
  let out = '"';
  for (const byte of new TextEncoder().encode(text)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_ .:-]/.test(ch) ? ch : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** An exact C99 hexadecimal float literal for a float32 value (e.g. 0x1.8p-3f). */
export function floatLiteral(x: number): string {
  const f = Math.fround(x);
  if (Number.isNaN(f) || !Number.isFinite(f)) throw new RangeError(`no C literal for ${x}`);
  if (f === 0) return Object.is(f, -0) ? '-0.0f' : '0.0f';
  const sign = f < 0 ? '-' : '';
  let m = Math.abs(f);
  let e = 0;
  while (m >= 2) {
    m /= 2;
    e++;
  }
  while (m < 1) {
    m *= 2;
    e--;
  }
  // m in [1, 2): 23 fraction bits fit in 6 hex digits (24 bits).
  const frac = Math.round((m - 1) * 2 ** 24);
  const hex = frac.toString(16).padStart(6, '0').replace(/0+$/, '');
  return `${sign}0x1${hex ? `.${hex}` : ''}p${e}f`;
}

/** An int32 C literal; INT32_MIN cannot be written as a plain negative literal. */
export function int32Literal(v: number): string {
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new RangeError(`${v} is not an int32`);
  return v === -2147483648 ? '(-2147483647 - 1)' : String(v);
}

/** Comma-separated values, `perLine` to a line, indented: the body of a C array initializer. */
export function arrayBody(values: ArrayLike<number>, perLine: number, format: (v: number) => string = String): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += perLine) {
    const row: string[] = [];
    for (let j = i; j < Math.min(values.length, i + perLine); j++) row.push(format(values[j]!));
    lines.push(`  ${row.join(', ')}${i + perLine < values.length ? ',' : ''}`);
  }
  return lines.join('\n');
}

/** An int64 C literal (INT64_C from stdint.h); values must be exact JS integers (|v| < 2^53). */
export function int64Literal(v: number): string {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not an exactly representable int64`);
  return `INT64_C(${v})`;
}
