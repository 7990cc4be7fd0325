/**
 * Output helpers shared by the command files: JSON for machines, text for people.
 *
 * Terminal safety: text from a model file (tensor and node names, metadata) or from a device
 * (log lines, record strings) can hold escape sequences that retitle the window, clear the
 * screen or rewrite a line. Every printer passes such strings through `safe()`, which shows
 * control characters as visible escapes (`\x1b`, `\n`, `\u202e`); printLine() and warn() also
 * escape any control character but the line breaks the printers write themselves, so nothing
 * raw reaches the terminal even where a printer forgets. `--json` output is JSON-escaped.
 */

/**
 * C0 controls, DEL, C1 controls (0x80-0x9f: 0x9b is a one-byte CSI on some terminals), the
 * Unicode line/paragraph separators and the bidirectional overrides ("Trojan Source").
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Untrusted text (from a model file or a device) made safe to print: control characters escaped, one line. */
export function safe(text: unknown): string {
  return String(text).replace(CONTROL, escapeChar);
}

/** A long model name (TFLite fuses layer names into ~250-character ones) cut to its last `max`
 * characters for a text line; --json keeps names whole. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `...${s.slice(s.length - max + 3)}`;
}

/** The safety net of every printed line: controls escaped, the printer's own line breaks kept. */
function terminalText(text: string): string {
  return text.replace(CONTROL_BUT_NEWLINE, escapeChar);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLine(line = ''): void {
  process.stdout.write(terminalText(line) + '\n');
}

export function warn(message: string): void {
  process.stderr.write(`tinyml: warning: ${safe(message)}\n`);
}

/** An error line on stderr (`tinyml: error: ...`), escaped like everything printed. */
export function printError(message: string): void {
  process.stderr.write(`tinyml: error: ${safe(message)}\n`);
}

/** Formats a table with left-aligned columns; `rows` are strings already (untrusted cells through safe()). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), h.length));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
