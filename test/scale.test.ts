/**
 * Huge models (issue 14): import and every graph pass are linear in the number of ops, the
 * generated C stays linear and bounded, a model that cannot fit is refused before the compiler
 * runs, and the compiler runs under a memory limit whose breach is exit 10 with the reason.
 *
 * The models are generated here: chains of int8 ADD ops that all read one shared constant (the
 * shape that made ONNX import quadratic: 112 s for 100k nodes). Timings are measured in
 * bench/robustness.ts; the bound asserted here (30 s for a 100k-op import, typically under 2 s)
 * only catches a quadratic pass coming back.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { generateNative, GROUPED_DISPATCH_ABOVE } from '../src/codegen/native/generate.ts';
import { importModel } from '../src/formats/load.ts';
import { writeTflite } from '../src/formats/tflite/write.ts';
import type { Graph, Op, Tensor } from '../src/ir/graph.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import { runCli } from './helpers/cli.ts';
import { MODELS } from './helpers/shared.ts';

const dir = mkdtempSync(join(tmpdir(), 'tinyml-scale-'));
const IMPORT_BOUND_MS = 30_000;

/** n int8 ADDs in a chain; every one reads one of two shared constants; output scales alternate. */
function addChain(n: number): Graph {
  const q = (s: number) => ({ scale: [s], zeroPoint: [0], axis: 0 });
  const tensors: Tensor[] = [
    { index: 0, name: 'plus', shape: [1, 4], dtype: 'int8', quant: q(0.05), data: new Uint8Array([1, 2, 3, 4]) },
    { index: 1, name: 'minus', shape: [1, 4], dtype: 'int8', quant: q(0.05), data: new Uint8Array(new Int8Array([-1, -3, -2, -4]).buffer) },
    { index: 2, name: 'x', shape: [1, 4], dtype: 'int8', quant: q(0.05) },
  ];
  const ops: Op[] = [];
  let prev = 2;
  for (let i = 0; i < n; i++) {
    const t = tensors.push({ index: tensors.length, name: `y${i}`, shape: [1, 4], dtype: 'int8', quant: q(i % 3 === 0 ? 0.05 : 0.06) }) - 1;
    ops.push({ index: i, type: 'ADD', version: 2, inputs: [prev, i % 2], outputs: [t], attrs: { fusedActivation: 'NONE' }, source: { format: 'tflite', opType: 'ADD', name: `y${i}` } });
    prev = t;
  }
  return { format: 'tflite', tensors, ops, inputs: [{ tensor: 2 }], outputs: [{ tensor: prev }], meta: {}, warnings: [] };
}

function onnxAddChain(n: number): Uint8Array {
  const { onnx } = onnxProto;
  const node: onnxProto.onnx.INodeProto[] = [];
  for (let i = 0; i < n; i++) node.push({ opType: 'Add', input: [i === 0 ? 'x' : `y${i - 1}`, 'c'], output: [`y${i}`], name: `add${i}` });
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'chain', node, input: [vi('x')], output: [vi(`y${n - 1}`)], initializer: [{ name: 'c', dims: [1, 4], dataType: 1, floatData: [1, 2, 3, 4] }] },
  }).finish();
}

describe('a 100,000-op model', () => {
  const N = 100_000;
  const tflite = join(dir, 'add100k.tflite');
  writeFileSync(tflite, writeTflite(addChain(N)));

  it('imports in seconds, TFLite and ONNX (all nodes reading one shared constant)', () => {
    let t0 = performance.now();
    const g = importModel(new Uint8Array(readFileSync(tflite)), tflite);
    const tfliteMs = performance.now() - t0;
    expect(g.ops).toHaveLength(N);
    const onnxBytes = onnxAddChain(N);
    t0 = performance.now();
    const o = importModel(onnxBytes, 'add100k.onnx');
    const onnxMs = performance.now() - t0;
    expect(o.ops).toHaveLength(N);
    expect(tfliteMs).toBeLessThan(IMPORT_BOUND_MS);
    expect(onnxMs).toBeLessThan(IMPORT_BOUND_MS);
  });

  it('build refuses it before compiling (exit 6): the ops alone need more flash than the board has', { timeout: 180_000 }, () => {
    const out = join(dir, 'build100k');
    const r = runCli(['build', tflite, '--board', 'mps2-an386', '--out', out], { timeoutMs: 170_000 });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/the model does not fit mps2-an386: flash: needs about \d+ bytes \(weights 8 \+ inputs 4 \+ code ~16384 \+ code of 100000 ops ~\d+\) but mps2-an386 has 4194304/);
    expect(existsSync(join(out, 'model.c'))).toBe(false);
  });
});

describe('long op lists: grouped dispatch', () => {
  it(`above ${GROUPED_DISPATCH_ABOVE} ops the C runs ops from a table of small functions, one const array per shared constant, and stays bit-exact with the int8 reference`, async () => {
    const graph = addChain(300);
    const gen = generateNative(graph);
    const c = gen.files['model.c']!;
    expect(c.match(/^static int tml_ops_\d+\(void\) \{$/gm)).toHaveLength(Math.ceil(300 / 64));
    expect(c).toContain('static int (*const tml_op_groups[5])(void) = {');
    expect(gen.weightBytes).toBe(8); // the two shared constants once each, not 300 copies
    // Source size is linear: 300 ops give about 3x the text of 100.
    const small = generateNative(addChain(100)).files['model.c']!.length;
    expect(c.length / small).toBeLessThan(3.5);

    const x = new Int8Array([-100, -7, 60, 120]);
    const want = runInt8(graph, [{ dtype: 'int8', shape: [1, 4], data: x }]).outputs[0]!.data as Int8Array;
    const runner = await buildHostRunner(graph);
    const got = (await runHostRunner(runner, [[new Uint8Array(x.buffer)]]))[0]![0]!;
    expect(Array.from(new Int8Array(got.buffer, got.byteOffset, got.length))).toEqual(Array.from(want));
    expect(new Set(Array.from(want)).size).toBeGreaterThan(1); // not saturated into a constant
  });
});

describe('the compiler runs under a memory limit', () => {
  it('running out of it is exit 10 with the reason and the setting to raise', () => {
    const r = runCli(['build', join(MODELS, 'tflm-hello-world/hello_world_int8.tflite'), '--board', 'mps2-an386', '--out', join(dir, 'oom')], {
      env: { TINYML_COMPILER_MEMORY_MB: '24' },
    });
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/failed: the compiler ran out of memory \(limit 24 MiB; .*\): .*raise the limit with TINYML_COMPILER_MEMORY_MB/);
  });
});
