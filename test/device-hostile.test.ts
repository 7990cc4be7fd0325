/**
 * Hostile devices (issue 14): every value from the wire is untrusted.
 *
 * - The decoder checks each record's schema before anything uses it: the three records that
 *   crashed `tinyml monitor` (JSON nested 5,000 deep, an output of 1e12 bytes, a negative
 *   offset) are rejected and counted like CRC failures, and decoding goes on.
 * - Property tests (fast-check) with random valid-CRC records of every type: every valid record
 *   is kept unchanged whatever surrounds it; any JSON at all never makes the decoder, the
 *   collector or the JSONL writer throw.
 * - `tinyml monitor` against a hostile board on a real pty (test/fixtures/firmware/
 *   hostile-board.py, a test double for a board, which cannot exist here): exit 0, nothing raw
 *   on the terminal, everything in the JSONL log.
 * - A second reader that takes no lock (a real `cat` on the same pty) is found and named, exit 11,
 *   whether it was there first or opens the port mid-session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ReportDecoder, type DecodedItem, type ReportRecord } from '../src/device/protocol.ts';
import { checkRecord, MAX_OUTPUT_TENSOR_BYTES } from '../src/device/records.ts';
import { MAX_OUTPUT_BYTES_HELD, ReportCollector } from '../src/report/device-report.ts';
import { runCliAsync } from './fixtures/firmware/run-cli-async.ts';
import { frameJson, frameLine, hostileJson, hostileRecord, RECORD_TYPES, validRecord } from './helpers/record-arbitraries.ts';

const HOSTILE = resolve(import.meta.dirname, 'fixtures/firmware/hostile-board.py');
const dir = mkdtempSync(join(tmpdir(), 'tinyml-hostile-'));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function records(items: DecodedItem[]): ReportRecord[] {
  return items.flatMap((i) => (i.kind === 'record' ? [i.record] : []));
}

const THE_THREE = {
  deep: `{"type":"log","x":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  huge: JSON.stringify({ type: 'output', index: 0, offset: 0, bytes: 1e12, hex: '00' }),
  negative: JSON.stringify({ type: 'output', index: 0, offset: -8, bytes: 4, hex: '0102' }),
};

describe('report decoder: the schema is checked before a record is used', () => {
  it('rejects and counts the three records that crashed monitor, and keeps decoding after them', () => {
    const d = new ReportDecoder();
    const collector = new ReportCollector();
    const stream = [
      frameLine({ type: 'hello', protocol: 1, model_hash: 'ab', board: 'b' }),
      frameJson(THE_THREE.deep),
      frameJson(THE_THREE.huge),
      frameJson(THE_THREE.negative),
      frameLine({ type: 'output', index: 0, offset: 0, bytes: 2, hex: '7f80' }),
      frameLine({ type: 'done', status: 'ok' }),
    ].join('');
    const items = d.push(stream);
    for (const item of items) {
      collector.add(item);
      expect(() => JSON.stringify(item)).not.toThrow(); // what the JSONL log writes
    }
    const rejected = items.filter((i) => i.kind === 'rejected');
    expect(rejected.map((r) => (r as { reason: string }).reason)).toEqual([
      'record nests deeper than 3 levels',
      `"output" record fails the schema: 'bytes' must be <= ${MAX_OUTPUT_TENSOR_BYTES}`,
      `"output" record fails the schema: 'offset' must be >= 0`,
    ]);
    expect(d.stats).toEqual({ records: 3, rejected: 3, logLines: 0, overlongLines: 0 });
    expect(records(items).map((r) => r.type)).toEqual(['hello', 'output', 'done']);
    expect(Array.from(collector.report.outputs[0]!)).toEqual([0x7f, 0x80]);
    expect(collector.report.rejected).toBe(3);
  });

  it('every valid record of every type is kept unchanged, whatever hostile records surround it (property)', () => {
    const seenTypes = new Set<string>();
    fc.assert(
      fc.property(fc.array(fc.tuple(validRecord, fc.option(hostileRecord, { nil: undefined }), fc.integer({ min: 1, max: 64 })), { minLength: 1, maxLength: 12 }), (cases) => {
        const d = new ReportDecoder();
        const wire = cases.map(([r, h]) => frameLine(r) + (h === undefined ? '' : frameJson(hostileJson(h)))).join('');
        // Split the stream anywhere, as a serial port does.
        const items: DecodedItem[] = [];
        let at = 0;
        for (const [, , step] of cases) {
          items.push(...d.push(wire.slice(at, at + step * 7)));
          at += step * 7;
        }
        items.push(...d.push(wire.slice(at)), ...d.end());
        const kept = records(items);
        const valid = cases.map(([r]) => r);
        for (const r of valid) seenTypes.add(RECORD_TYPES.includes(r.type) ? r.type : 'unknown');
        // Hostile values that happen to be valid records are kept too, so look for the valid ones in order.
        let k = 0;
        for (const r of valid) {
          while (k < kept.length && JSON.stringify(kept[k]) !== JSON.stringify(r)) k++;
          expect(k, `record ${JSON.stringify(r).slice(0, 200)} was not kept`).toBeLessThan(kept.length);
          k++;
        }
        expect(d.stats.records + d.stats.rejected).toBe(items.filter((i) => i.kind !== 'log').length);
      }),
      { numRuns: 400, seed: 14 },
    );
    expect([...seenTypes].sort()).toEqual([...RECORD_TYPES].sort());
  });

  it('any JSON with a valid CRC: nothing throws; what is kept passes the schema and is safe to log and collect (property)', () => {
    fc.assert(
      fc.property(hostileRecord, (value) => {
        const d = new ReportDecoder();
        const collector = new ReportCollector();
        const items = [...d.push(frameJson(hostileJson(value))), ...d.end()];
        expect(items).toHaveLength(1);
        const item = items[0]!;
        if (item.kind === 'record') expect(checkRecord(item.record)).toEqual({ ok: true });
        else expect(item.kind).toBe('rejected');
        collector.add(item);
        JSON.stringify(item);
      }),
      { numRuns: 1500, seed: 1414 },
    );
  });

  it('bounds the memory held for outputs, and a repeated chunk does not complete a tensor with gaps', () => {
    const c = new ReportCollector();
    const big = MAX_OUTPUT_TENSOR_BYTES;
    for (let i = 0; i < 10; i++) c.addRecord({ type: 'output', index: i, offset: 0, bytes: big, hex: '00' });
    const held = (c as unknown as { outputBytesHeld: number }).outputBytesHeld;
    expect(held).toBeLessThanOrEqual(MAX_OUTPUT_BYTES_HELD);
    const g = new ReportCollector();
    for (let i = 0; i < 4; i++) g.addRecord({ type: 'output', index: 0, offset: 0, bytes: 4, hex: '0102' });
    expect(g.report.outputs[0]).toBeUndefined();
    g.addRecord({ type: 'output', index: 0, offset: 2, bytes: 4, hex: '0304' });
    expect(Array.from(g.report.outputs[0]!)).toEqual([1, 2, 3, 4]);
  });
});

/** Starts the hostile board double; resolves with its slave pty path once the port exists. */
function startBoard(link: string, scenario: 'hostile' | 'stream'): Promise<{ child: ChildProcess; slave: string }> {
  const child = spawn('python3', [HOSTILE, link, scenario], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^READY (\S+)\n/.exec(out);
      if (m) resolvePromise({ child, slave: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`board double exited ${code}`)));
  });
}

function jsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tinyml monitor against a hostile board on a pty', () => {
  it('absurd records are rejected and counted, the session goes on (exit 0), and no escape sequence reaches the terminal', async () => {
    const link = join(dir, 'ttyHOSTILE');
    const log = join(dir, 'hostile.jsonl');
    await startBoard(link, 'hostile');
    const r = await runCliAsync(['monitor', '--port', link, '--until-done', '--jsonl', log], 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // Nothing a device sends is written raw: no ESC, BEL, CR, or C1 control in the output.
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('boot\\x1b]0;pwned\\x07\\x1b[2J\\x1b[1A\\rlog line\\x9b31m');
    expect(r.stdout).toContain('(rejected line: record nests deeper than 3 levels)');
    expect(r.stdout).toContain(`(rejected line: "output" record fails the schema: 'bytes' must be <= ${MAX_OUTPUT_TENSOR_BYTES})`);
    expect(r.stdout).toContain(`(rejected line: "output" record fails the schema: 'offset' must be >= 0)`);
    expect(r.stdout).toContain('(rejected line: "inference" record fails the schema: has a key that is not a plain name)');
    expect(r.stdout).toContain('summary: 5 records, 4 rejected (CRC or schema)');
    const lines = jsonl(log);
    expect(lines.filter((l) => l.rejected !== undefined)).toHaveLength(4);
    expect(lines.flatMap((l) => (l.record ? [(l.record as { type: string }).type] : []))).toEqual(['hello', 'note', 'inference', 'output', 'done']);
  });
});

describe('a second reader of the same port', () => {
  it('a cat already reading the port: monitor refuses with exit 11 and names it', async () => {
    const link = join(dir, 'ttyCATFIRST');
    await startBoard(link, 'stream');
    const cat = spawn('cat', [link], { stdio: ['ignore', 'ignore', 'ignore'] });
    children.push(cat);
    await sleep(500);
    const r = await runCliAsync(['monitor', '--port', link, '--until-done'], 20_000);
    expect(r.code).toBe(11);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`serial port ${link} is also open in cat (pid ${cat.pid})`);
    expect(r.stderr).toContain('records are lost');
  });

  it('a cat that opens the port mid-session: monitor stops with exit 11 naming it; what arrived before is in the JSONL log', async () => {
    const link = join(dir, 'ttyCATLATER');
    const log = join(dir, 'catlater.jsonl');
    await startBoard(link, 'stream');
    const monitor = runCliAsync(['monitor', '--port', link, '--until-done', '--jsonl', log], 30_000);
    const inferences = () => jsonl(log).filter((l) => (l.record as { type?: string } | undefined)?.type === 'inference');
    for (let i = 0; i < 100 && inferences().length < 20; i++) await sleep(100);
    const before = inferences().length;
    expect(before).toBeGreaterThanOrEqual(20);
    const cat = spawn('cat', [link], { stdio: ['ignore', 'ignore', 'ignore'] });
    children.push(cat);
    const started = Date.now();
    const r = await monitor;
    expect(r.code).toBe(11);
    expect(Date.now() - started).toBeLessThan(5000); // 250 records take 5 s: it stopped early
    expect(r.stderr).toContain(`is also open in cat (pid ${cat.pid})`);
    const kept = inferences().map((l) => (l.record as { index: number }).index);
    expect(kept.slice(0, before)).toEqual(Array.from({ length: before }, (_, i) => i));
  });
});
