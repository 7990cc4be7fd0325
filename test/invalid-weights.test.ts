/**
 * A weight tensor without data is an invalid model (issue 14): the mutant that made `infer`
 * fail with an internal error while `inspect` said every backend runs it and `build` called the
 * op unsupported. Made here from the real hello_world models by dropping one weight tensor's
 * buffer (what a corrupted buffer index does); every command must say the same thing, exit 4,
 * in one line naming the op and the tensor.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/formats/load.ts';
import { writeTflite } from '../src/formats/tflite/write.ts';
import { runCli } from './helpers/cli.ts';
import { MODELS } from './helpers/shared.ts';

const dir = mkdtempSync(join(tmpdir(), 'tinyml-noweights-'));

/** The model with the weights of its first FULLY_CONNECTED stripped of their data. */
function withoutWeights(source: string, out: string): { path: string; tensor: number } {
  const g = loadModel(source);
  const fc = g.ops.find((o) => o.type === 'FULLY_CONNECTED')!;
  const w = g.tensors[fc.inputs[1]!]!;
  delete w.data;
  const path = join(dir, out);
  writeFileSync(path, writeTflite(g));
  return { path, tensor: w.index };
}

const int8 = withoutWeights(join(MODELS, 'tflm-hello-world/hello_world_int8.tflite'), 'int8-no-weights.tflite');
const float = withoutWeights(join(MODELS, 'tflm-hello-world/hello_world_float.tflite'), 'float-no-weights.tflite');
const input = join(dir, 'x.bin');
writeFileSync(input, Buffer.from([0]));
const calib = join(dir, 'calib.bin');
writeFileSync(calib, Buffer.from(new Float32Array([0.5]).buffer)); // one sample, raw float32

function expectInvalid(r: { code: number; stderr: string }, tensor: number): void {
  expect(r.code, r.stderr).toBe(4);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`FULLY_CONNECTED \\(op #0, node .*\\) reads tensor #${tensor} .* as input 1, but it has no data and no earlier op computes it`));
  expect(lines[0]).toContain('re-export or re-download the model');
}

describe('a weight tensor without data: exit 4 in every command', () => {
  it('inspect', () => expectInvalid(runCli(['inspect', int8.path]), int8.tensor));
  it('infer (reference and default engine)', () => {
    expectInvalid(runCli(['infer', int8.path, '--input', input, '--engine', 'reference']), int8.tensor);
    expectInvalid(runCli(['infer', int8.path, '--input', input]), int8.tensor);
  });
  it('convert', () => {
    expectInvalid(runCli(['convert', float.path, '--calib', calib, '-o', join(dir, 'out.tflite')]), float.tensor);
  });
  it('build', () => expectInvalid(runCli(['build', int8.path, '--board', 'mps2-an386', '--out', join(dir, 'build')]), int8.tensor));
});

/** Cases found by bench/robustness.ts (mutated hello_world_float): they ended in internal errors. */
describe('corrupted operator tables: a clear error, never an internal one', () => {
  const floatModel = join(MODELS, 'tflm-hello-world/hello_world_float.tflite');

  it('an op that lost its inputs: exit 4 in inspect and infer, naming the op', () => {
    const g = loadModel(floatModel);
    g.ops[0]!.inputs = [];
    const path = join(dir, 'no-inputs.tflite');
    writeFileSync(path, writeTflite(g));
    for (const args of [['inspect', path], ['infer', path, '--input', calib]]) {
      const r = runCli(args);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/FULLY_CONNECTED \(op #0, node ".*"\) has no input 0 \(it has 0\), which it cannot run without/);
    }
  });

  it('convert: a FULLY_CONNECTED whose input is a constant is refused (exit 5)', () => {
    const g = loadModel(floatModel);
    const x = g.tensors[g.ops[1]!.inputs[0]!]!;
    const c = g.tensors.push({ index: g.tensors.length, name: 'folded', shape: [...x.shape], dtype: 'float32', data: new Uint8Array(4 * x.shape.reduce((a, b) => a * b, 1)) }) - 1;
    g.ops[1]!.inputs[0] = c;
    const path = join(dir, 'const-input.tflite');
    writeFileSync(path, writeTflite(g));
    const r = runCli(['convert', path, '--calib', calib, '-o', join(dir, 'const-out.tflite')]);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/FULLY_CONNECTED \(op #1, node ".*"\) has a constant as its input/);
  });
});
