/**
 * The report protocol decoder (device -> host), streaming.
 *
 * Wire format (docs/protocol.md): one record per line, `@TML <json> *<crc16>`, where <crc16> is
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) of exactly the JSON
 * bytes, as 4 hex digits. Every other line is device log.
 *
 * The decoder is fed chunks split anywhere (even inside a record). It finds records anywhere in
 * a line, so garbage before or after a record on the same line never hides it; a line holding
 * `@TML` that yields no valid record is counted as rejected; lines longer than `maxLineBytes`
 * are cut (counted as overlong) while keeping any record start that may still complete.
 * Bytes are handled as latin1 so that one char is one byte and the CRC is over the wire bytes.
 * A record whose CRC is valid is still checked against its schema (records.ts) before it is
 * handed on; one that fails is rejected and counted like a CRC failure.
 */
import { checkRecord, jsonDepth, MAX_RECORD_DEPTH } from './records.ts';

export const PROTOCOL_VERSION = 1;
export const RECORD_MARKER = '@TML ';
/** Longest line kept whole; device records are at most ~1 KiB (outputs come in 256-byte chunks). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** A decoded record: a JSON object whose `type` names it (hello, mem, inference, op, output, error, done). */
export interface ReportRecord {
  type: string;
  [key: string]: unknown;
}

export type DecodedItem =
  | { kind: 'record'; record: ReportRecord; raw: string }
  | { kind: 'log'; line: string }
  | { kind: 'rejected'; line: string; reason: string };

export interface DecoderStats {
  records: number;
  rejected: number;
  logLines: number;
  overlongLines: number;
}

/** CRC-16/CCITT-FALSE over bytes (or a latin1 string); check value 0x29B1 for "123456789". */
export function crc16(data: Uint8Array | string): number {
  let crc = 0xffff;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const byte = typeof data === 'string' ? data.charCodeAt(i) & 0xff : data[i]!;
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Formats a record exactly as the firmware writes it (used by test doubles and docs). */
export function encodeRecord(record: ReportRecord): string {
  const json = JSON.stringify(record);
  return `${RECORD_MARKER}${json} *${crc16(json).toString(16).toUpperCase().padStart(4, '0')}\n`;
}

const CRC_SUFFIX = / \*([0-9A-Fa-f]{4})/g;

/**
 * Finds the record that starts at `start` (the index of `@TML `) in `line`: the first ` *XXXX`
 * after it whose CRC matches bytes in between that parse as a JSON object with a string `type`.
 */
function recordAt(line: string, start: number): { record: ReportRecord; end: number; raw: string } | { error: string } {
  const jsonStart = start + RECORD_MARKER.length;
  if (line[jsonStart] !== '{') return { error: 'no JSON object after @TML' };
  CRC_SUFFIX.lastIndex = jsonStart;
  let sawCrc = false;
  let crcMismatch = false;
  for (let m = CRC_SUFFIX.exec(line); m; m = CRC_SUFFIX.exec(line)) {
    sawCrc = true;
    const json = line.slice(jsonStart, m.index);
    if (crc16(json) !== parseInt(m[1]!, 16)) {
      crcMismatch = true;
      CRC_SUFFIX.lastIndex = m.index + 1;
      continue;
    }
    // The CRC only proves the bytes arrived as sent: what they say is checked before use.
    if (jsonDepth(json) > MAX_RECORD_DEPTH) return { error: `record nests deeper than ${MAX_RECORD_DEPTH} levels` };
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      return { error: 'CRC matches but the JSON does not parse' };
    }
    const check = checkRecord(value);
    if (!check.ok) return { error: check.reason };
    const end = m.index + m[0].length;
    return { record: value as ReportRecord, end, raw: line.slice(start, end) };
  }
  if (!sawCrc) return { error: 'no " *<crc16>" suffix' };
  return { error: crcMismatch ? 'CRC mismatch' : 'bad record' };
}

export class ReportDecoder {
  readonly stats: DecoderStats = { records: 0, rejected: 0, logLines: 0, overlongLines: 0 };
  private buffer = '';
  private readonly maxLineBytes: number;

  constructor(opts: { maxLineBytes?: number } = {}) {
    this.maxLineBytes = Math.max(256, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  }

  /** Feeds bytes as they arrive; returns what completed lines held, in order. */
  push(chunk: Uint8Array | string): DecodedItem[] {
    this.buffer += typeof chunk === 'string' ? chunk : latin1(chunk);
    const items: DecodedItem[] = [];
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      this.decodeLine(line.endsWith('\r') ? line.slice(0, -1) : line, items);
      newline = this.buffer.indexOf('\n');
    }
    if (this.buffer.length > this.maxLineBytes) this.cutOverlong(items);
    return items;
  }

  /** Decodes whatever is left without a final newline (end of stream). */
  end(): DecodedItem[] {
    const items: DecodedItem[] = [];
    if (this.buffer.length > 0) this.decodeLine(this.buffer.endsWith('\r') ? this.buffer.slice(0, -1) : this.buffer, items);
    this.buffer = '';
    return items;
  }

  /**
   * A line too long to keep: decode the records already complete in it, then keep only the
   * last record start (which may still complete) or, without one, a tail short enough to hold
   * the beginning of a marker.
   */
  private cutOverlong(items: DecodedItem[]): void {
    this.stats.overlongLines++;
    const lastStart = this.buffer.lastIndexOf(RECORD_MARKER.trimEnd());
    const keepFrom = lastStart >= 0 && this.buffer.length - lastStart <= this.maxLineBytes ? lastStart : this.buffer.length - (RECORD_MARKER.length - 1);
    const dropped = this.buffer.slice(0, keepFrom);
    this.buffer = this.buffer.slice(keepFrom);
    const before = items.length;
    this.decodeLine(dropped, items, true);
    // The cut part itself is not a log line anyone wants to see whole.
    for (let i = before; i < items.length; i++) {
      const item = items[i]!;
      if (item.kind === 'log') items[i] = { kind: 'log', line: `${item.line.slice(0, 200)}... (${item.line.length} bytes, line too long)` };
    }
  }

  /**
   * Decodes one line: every valid record in it; one `rejected` item for each stretch of text
   * that holds `@TML` markers but no valid record (so a bad record quoting "@TML" in a string
   * counts once); the remaining text as one log line.
   */
  private decodeLine(line: string, items: DecodedItem[], partial = false): void {
    let pos = 0;
    let outside = '';
    let failed: { from: number; reason: string } | null = null;
    const flushFailed = (to: number) => {
      if (!failed) return;
      const text = line.slice(failed.from, to);
      items.push({ kind: 'rejected', line: partial ? text.slice(0, 200) : text, reason: failed.reason });
      this.stats.rejected++;
      failed = null;
    };
    for (let start = line.indexOf('@TML', pos); start >= 0; start = line.indexOf('@TML', pos)) {
      const found = line.startsWith(RECORD_MARKER, start) ? recordAt(line, start) : { error: 'no space after @TML' };
      if ('record' in found) {
        if (failed) flushFailed(start);
        else outside += line.slice(pos, start);
        items.push({ kind: 'record', record: found.record, raw: found.raw });
        this.stats.records++;
        pos = found.end;
      } else {
        // Not a record here; keep scanning after this marker (a real record may follow).
        if (!failed) {
          outside += line.slice(pos, start);
          failed = { from: start, reason: found.error };
        }
        pos = start + 4;
      }
    }
    if (failed) flushFailed(line.length);
    else outside += line.slice(pos);
    if (outside.trim().length > 0) {
      items.push({ kind: 'log', line: outside });
      this.stats.logLines++;
    }
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}
