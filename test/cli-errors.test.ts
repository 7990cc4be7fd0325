/**
 * Bad input through the real binary (issue 2 item 4): each case exits with its documented code,
 * prints exactly one line on stderr naming the problem, and never a stack trace. The broken files
 * are made at test time from the shared models.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteBuffer } from 'flatbuffers';
import { ExitCode } from '../src/errors.ts';
import { runCli, type CliResult } from './helpers/cli.ts';
import { sharedPath } from './helpers/shared.ts';

const KWS = sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite');
let dir: string;

/** Deterministic bytes (mulberry32), so a failure is reproducible. */
function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

/**
 * Byte offset of the first dimension of subgraph 0's first input shape, found by walking the
 * flatbuffer (Model.subgraphs = field 2, SubGraph.tensors = 0, SubGraph.inputs = 1, Tensor.shape = 0
 * in schema.fbs), so the patch does not depend on a hard-coded offset.
 */
function inputShapeOffset(bytes: Uint8Array): { offset: number; rank: number } {
  const bb = new ByteBuffer(bytes);
  const deref = (at: number) => at + bb.readInt32(at);
  const field = (table: number, id: number) => {
    const vtable = table - bb.readInt32(table);
    const slot = 4 + 2 * id;
    const off = slot < bb.readInt16(vtable) ? bb.readInt16(vtable + slot) : 0;
    if (off === 0) throw new Error(`field ${id} missing`);
    return table + off;
  };
  const vector = (table: number, id: number) => {
    const v = deref(field(table, id));
    return { length: bb.readInt32(v), first: v + 4 };
  };
  const subgraph = deref(vector(deref(0), 2).first);
  const inputIndex = bb.readInt32(vector(subgraph, 1).first);
  const tensor = deref(vector(subgraph, 0).first + 4 * inputIndex);
  const shape = vector(tensor, 0);
  return { offset: shape.first, rank: shape.length };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyml-bad-'));
  const kws = new Uint8Array(readFileSync(KWS));
  writeFileSync(join(dir, 'empty.tflite'), new Uint8Array(0));
  writeFileSync(join(dir, 'truncated.tflite'), kws.subarray(0, 4096)); // keeps the TFL3 identifier
  writeFileSync(join(dir, 'random.tflite'), pseudoRandomBytes(4096, 1));
  writeFileSync(join(dir, 'random.onnx'), pseudoRandomBytes(4096, 2));
  copyFileSync(sharedPath('models/onnx-node-tests/test_add/test_data_set_0/input_0.pb'), join(dir, 'tensor.onnx'));
  // The KWS input is [1,49,10,1]; claim [1, 2^31-1, 2^31-1, 1] instead.
  const huge = kws.slice();
  const { offset, rank } = inputShapeOffset(huge);
  expect(rank).toBe(4);
  const view = new DataView(huge.buffer);
  expect([0, 1, 2, 3].map((k) => view.getInt32(offset + 4 * k, true))).toEqual([1, 49, 10, 1]);
  view.setInt32(offset + 4, 0x7fffffff, true);
  view.setInt32(offset + 8, 0x7fffffff, true);
  writeFileSync(join(dir, 'huge-shape.tflite'), huge);
});

function expectOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tinyml: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('internal error');
}

describe('inspect with bad input', () => {
  const cases: [string, () => string, number, RegExp][] = [
    ['a missing file', () => join(dir, 'missing.tflite'), ExitCode.FILE, /not found/],
    ['an empty file', () => join(dir, 'empty.tflite'), ExitCode.INVALID_MODEL, /empty/],
    ['a truncated flatbuffer', () => join(dir, 'truncated.tflite'), ExitCode.INVALID_MODEL, /truncated|past its end|out of range/i],
    ['random bytes named .tflite', () => join(dir, 'random.tflite'), ExitCode.INVALID_MODEL, /random\.tflite/],
    ['random bytes named .onnx', () => join(dir, 'random.onnx'), ExitCode.INVALID_MODEL, /random\.onnx/],
    ['a protobuf that is a tensor, not a model', () => join(dir, 'tensor.onnx'), ExitCode.INVALID_MODEL, /not a model|not an? (valid )?ONNX model/i],
    ['a shape with more elements than memory can hold', () => join(dir, 'huge-shape.tflite'), ExitCode.INVALID_MODEL, /2147483647/],
  ];
  for (const [what, file, code, pattern] of cases) {
    it(`${what}: exit ${code}, one line naming the problem, no stack`, () => {
      expectOneLineError(runCli(['inspect', file()]), code, pattern);
    });
  }

  it('an unknown board id: exit 7 with the closest id and how to list boards', () => {
    expectOneLineError(runCli(['inspect', KWS, '--board', 'nano33bel']), ExitCode.BOARD, /unknown board 'nano33bel' \(did you mean 'nano33ble'\?\): run `tinyml boards`/);
  });

  it('an unknown board is reported even before the model is read', () => {
    expectOneLineError(runCli(['inspect', join(dir, 'missing.tflite'), '--board', 'no-such-board']), ExitCode.BOARD, /unknown board 'no-such-board'/);
  });

  it('--json: the error is also a JSON object on stdout with kind and exit code', () => {
    const r = runCli(['inspect', join(dir, 'random.onnx'), '--json']);
    expectOneLineError(r, ExitCode.INVALID_MODEL, /random\.onnx/);
    const body = JSON.parse(r.stdout) as { error: { kind: string; message: string; exitCode: number } };
    expect(body.error.kind).toBe('invalid-model');
    expect(body.error.exitCode).toBe(ExitCode.INVALID_MODEL);
    expect(r.stderr).toContain(body.error.message);
  });

  it('--json with an unknown board: kind "board", exit 7', () => {
    const r = runCli(['inspect', KWS, '--board', 'esp32', '--json']);
    expect(r.code).toBe(ExitCode.BOARD);
    expect(JSON.parse(r.stdout).error).toMatchObject({ kind: 'board', exitCode: ExitCode.BOARD });
  });

  it('a missing model argument is a usage error (exit 2)', () => {
    const r = runCli(['inspect']);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
