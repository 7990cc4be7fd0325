/**
 * The report protocol decoder on hostile streams (issue 5, Proof): valid records interleaved
 * with random bytes, split at every byte boundary, CRC errors, overlong lines, near-records.
 * Every valid record must be recovered, every bad one counted, nothing may throw.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './helpers/shared.ts';
import { crc16, encodeRecord, ReportDecoder, type DecodedItem, type ReportRecord } from '../src/device/protocol.ts';

/** Deterministic xorshift32 bytes, so a failure can be reproduced. */
function randomBytes(seed: number, n: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function records(items: DecodedItem[]): ReportRecord[] {
  return items.flatMap((i) => (i.kind === 'record' ? [i.record] : []));
}

/** A record with its CRC changed: still well-formed, so only the CRC check can reject it. */
function corrupted(record: ReportRecord): string {
  const line = encodeRecord(record);
  const crc = parseInt(line.slice(-5, -1), 16) ^ 0x0101;
  return `${line.slice(0, -5)}${crc.toString(16).toUpperCase().padStart(4, '0')}\n`;
}

const VALID: ReportRecord[] = [
  { type: 'hello', protocol: 1, model_hash: '0123456789abcdef', board: 'mps2-an386', clock_hz: 25000000, arena_bytes: 1234 },
  { type: 'inference', index: 0, instructions: 1495445, timer_counts: 37386 },
  { type: 'op', index: 3, op: 'CONV_2D', instructions: 99 },
  { type: 'output', index: 0, offset: 0, bytes: 4, hex: '80878772' },
  { type: 'error', code: 'hardfault', pc: '0x00000DC8', lr: '0x0000034F', cfsr: '0x00010000' },
  { type: 'mem', arena_bytes: 6000, stack_high_water_bytes: 412 },
  { type: 'log', text: 'a "quoted" \\ string with * and @TML inside' },
  { type: 'done', status: 'ok', runs: 3 },
];

describe('crc16 (CRC-16/CCITT-FALSE)', () => {
  it('gives the catalogue check value 0x29B1 for "123456789"', () => {
    expect(crc16('123456789')).toBe(0x29b1);
    expect(crc16(bytesOf('123456789'))).toBe(0x29b1);
  });
});

describe('ReportDecoder', () => {
  it('decodes clean records and passes log lines through', () => {
    const d = new ReportDecoder();
    const items = d.push(['booting...\r\n', ...VALID.map(encodeRecord), 'plain log line\n'].join(''));
    expect(records(items)).toEqual(VALID);
    expect(items.filter((i) => i.kind === 'log').map((i) => (i as { line: string }).line)).toEqual(['booting...', 'plain log line']);
    expect(d.stats).toEqual({ records: VALID.length, rejected: 0, logLines: 2, overlongLines: 0 });
  });

  it('recovers every valid record interleaved with random bytes and counts every CRC error', () => {
    const parts: Uint8Array[] = [];
    const garbage: Uint8Array[] = [];
    const expected: ReportRecord[] = [];
    let bad = 0;
    for (let i = 0; i < 400; i++) {
      garbage.push(randomBytes(0x9e3779b9 + i, i % 37));
      parts.push(garbage[i]!);
      const r = { ...VALID[i % VALID.length]!, seq: i };
      if (i % 5 === 3) {
        parts.push(bytesOf(corrupted(r)));
        bad++;
      } else {
        parts.push(bytesOf(encodeRecord(r)));
        expected.push(r);
      }
    }
    const stream = concat(parts);
    // Random garbage could in principle spell the marker; these seeds do not.
    expect(Buffer.from(concat(garbage)).toString('latin1')).not.toContain('@TML');
    const d = new ReportDecoder();
    const items: DecodedItem[] = [];
    for (let o = 0; o < stream.length; o += 97) items.push(...d.push(stream.subarray(o, o + 97)));
    items.push(...d.end());
    expect(records(items)).toEqual(expected);
    expect(d.stats.rejected).toBe(bad);
  });

  it('gives the same records whatever byte boundary the stream is split at', () => {
    const stream = concat([
      randomBytes(7, 11),
      bytesOf(encodeRecord(VALID[0]!)),
      bytesOf('log\n'),
      randomBytes(8, 5),
      bytesOf(encodeRecord(VALID[3]!)),
      bytesOf(corrupted(VALID[1]!)),
      bytesOf(encodeRecord(VALID[7]!)),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new ReportDecoder();
      const items = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut)), ...d.end()];
      expect(records(items), `split at byte ${cut}`).toEqual([VALID[0], VALID[3], VALID[7]]);
      expect(d.stats.rejected, `split at byte ${cut}`).toBe(1);
    }
    const d = new ReportDecoder();
    const items: DecodedItem[] = [];
    for (let i = 0; i < stream.length; i++) items.push(...d.push(stream.subarray(i, i + 1)));
    expect(records(items)).toEqual([VALID[0], VALID[3], VALID[7]]);
  });

  it('finds a record with garbage before and after it on the same line', () => {
    const d = new ReportDecoder();
    const line = `\x00\xffnoise${encodeRecord(VALID[1]!).trimEnd()}trailing noise\n`;
    const items = d.push(line);
    expect(records(items)).toEqual([VALID[1]]);
    expect(d.stats.rejected).toBe(0);
  });

  it('bounds overlong lines and still recovers the record that follows', () => {
    const d = new ReportDecoder({ maxLineBytes: 4096 });
    const garbage = randomBytes(42, 200_000).map((b) => (b === 0x0a || b === 0x40 ? 0x20 : b));
    const items: DecodedItem[] = [];
    for (let o = 0; o < garbage.length; o += 1000) {
      items.push(...d.push(garbage.subarray(o, o + 1000)));
      // The decoder never holds more than the limit plus one chunk.
      expect((d as unknown as { buffer: string }).buffer.length).toBeLessThanOrEqual(4096 + 1000);
    }
    items.push(...d.push(encodeRecord(VALID[5]!)));
    expect(records(items)).toEqual([VALID[5]]);
    expect(d.stats.overlongLines).toBeGreaterThan(0);
  });

  it('keeps a record that begins inside an overlong run of garbage', () => {
    const d = new ReportDecoder({ maxLineBytes: 1024 });
    const items = [...d.push('x'.repeat(5000)), ...d.push(encodeRecord(VALID[2]!).slice(0, 20)), ...d.push(encodeRecord(VALID[2]!).slice(20))];
    expect(records(items)).toEqual([VALID[2]]);
  });

  it('rejects and counts near-records, and passes look-alike log lines through', () => {
    const arrayJson = '[1,2]';
    const noType = '{"kind":"hello"}';
    const notJson = '{"type":"x"';
    const lines = [
      '@TML\n', // marker only
      '@TML hello world\n', // no JSON
      '@TML {"type":"inference","index":0}\n', // no CRC
      '@TML {"type":"inference","index":0} *ZZZZ\n', // CRC not hex
      `@TML ${arrayJson} *${crc16(arrayJson).toString(16).toUpperCase().padStart(4, '0')}\n`, // CRC ok, not an object
      `@TML ${noType} *${crc16(noType).toString(16).toUpperCase().padStart(4, '0')}\n`, // CRC ok, no type
      `@TML ${notJson} *${crc16(notJson).toString(16).toUpperCase().padStart(4, '0')}\n`, // CRC ok, JSON cut
      '@TMLX {"type":"done"} *0000\n', // wrong marker
      corrupted(VALID[6]!),
    ];
    const logs = ['TML {"type":"done"} *61E0\n', '@ TML not a record\n', 'progress 50% *ABCD\n'];
    const d = new ReportDecoder();
    const items = d.push([...lines, ...logs, encodeRecord(VALID[7]!)].join(''));
    expect(records(items)).toEqual([VALID[7]]);
    expect(d.stats.rejected).toBe(lines.length);
    expect(d.stats.logLines).toBe(logs.length);
  });

  it('decodes a final record that arrives without a newline at end of stream', () => {
    const d = new ReportDecoder();
    const items = [...d.push(encodeRecord(VALID[7]!).trimEnd()), ...d.end()];
    expect(records(items)).toEqual([VALID[7]]);
  });
});

describe('the firmware record writer (firmware/runtime/tml_report.c compiled for the host)', () => {
  it('writes records the host decodes: escapes, 64-bit numbers, hex, and a cut record rejected', () => {
    const exe = join(mkdtempSync(join(tmpdir(), 'tinyml-report-host-')), 'report-host');
    execFileSync('gcc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', `-I${resolve(PROJECT_ROOT, 'firmware/runtime')}`,
      resolve(PROJECT_ROOT, 'test/fixtures/firmware/report-host.c'), resolve(PROJECT_ROOT, 'firmware/runtime/tml_report.c'), '-o', exe]);
    const stdout = execFileSync(exe);
    // Every byte the writer emits is printable ASCII or a newline.
    expect([...stdout].every((b) => b === 0x0a || (b >= 0x20 && b < 0x7f))).toBe(true);
    const d = new ReportDecoder();
    const items = [...d.push(stdout), ...d.end()];
    expect(records(items)).toEqual([
      {
        type: 'probe',
        tricky: 'quote\" backslash\\ newline\n tab\t bell\u0007 del\u007f high\u00e9 end',
        u32_max: 4294967295,
        u64_big: Number('18446744073709551615'),
        u64_mid: 1234567890123,
        i32_min: -2147483648,
        zero: 0,
        addr: '0x0800ABCD',
        hex: '007f80ff10',
      },
      { type: 'done', status: 'ok' },
    ]);
    expect(d.stats.rejected).toBe(1);
    expect(items.filter((i) => i.kind === 'log').map((i) => (i as { line: string }).line)).toEqual(['plain log line', `u64_div ${18446744073709551615n / 168000000n}`]);
    // The exact digits of the largest u64 (JSON.parse rounds it to a double).
    expect(stdout.toString('latin1')).toContain('"u64_big":18446744073709551615,');
  });
});
