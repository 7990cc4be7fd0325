/**
 * `tinyml inspect` on the real shared models through the real binary. The MAC and weight-byte
 * figures are the independently counted ones for the MLPerf Tiny int8 reference models.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspectModel, type InspectReport } from '../src/inspect/inspect.ts';
import { isKnownOp } from '../src/ir/ops.ts';
import { BACKENDS, opDtype } from '../src/backends/support.ts';
import { loadModel } from '../src/formats/load.ts';
import { getBoard } from '../src/boards/registry.ts';
import { runCli } from './helpers/cli.ts';
import { MODELS, sharedPath } from './helpers/shared.ts';

/** Each distinct command runs once per file: spawning the binary is the slow part. */
const reports = new Map<string, InspectReport>();

function inspectJson(args: string[]): InspectReport {
  const key = args.join('\0');
  if (!reports.has(key)) reports.set(key, runInspectJson(args));
  return reports.get(key)!;
}

function runInspectJson(args: string[]): InspectReport {
  const r = runCli(['inspect', ...args, '--json']);
  expect(r.stderr.split('\n').filter((l) => l.includes('error'))).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as InspectReport;
}

describe('MLPerf Tiny figures (issue 2)', () => {
  const figures: [string, string, number, number][] = [
    ['KWS', 'models/mlperf-tiny/kws/kws_ref_model.tflite', 2_656_768, 24_376],
    ['IC (ResNet-8)', 'models/mlperf-tiny/ic/pretrainedResnet_quant.tflite', 12_501_632, 78_752],
    ['AD', 'models/mlperf-tiny/ad/ad01_int8.tflite', 264_192, 270_880],
  ];
  for (const [what, file, macs, weightBytes] of figures) {
    it(`${what}: ${macs} MACs and ${weightBytes} weight bytes`, () => {
      const r = inspectJson([sharedPath(file)]);
      expect(r.totals.macs).toBe(macs);
      expect(r.totals.weightBytes).toBe(weightBytes);
      expect(r.ops.reduce((s, o) => s + o.macs, 0)).toBe(macs);
    });
  }

  it('parameters equal the constant-element counts in the models README', () => {
    // ../shared/models/mlperf-tiny/README.md: "params (constant tensor elements): N" per model.
    const readme = readFileSync(sharedPath('models/mlperf-tiny/README.md'), 'utf8');
    for (const file of ['kws/kws_ref_model.tflite', 'ic/pretrainedResnet_quant.tflite', 'ad/ad01_int8.tflite']) {
      const block = readme.split(`### ${file}`)[1]!;
      const params = Number(/params \(constant tensor elements\): (\d+)/.exec(block)![1]);
      expect(inspectJson([sharedPath(`models/mlperf-tiny/${file}`)]).totals.parameters).toBe(params);
    }
  });
});

describe('report contents', () => {
  it('KWS: per-op rows carry shapes, dtypes, per-channel weights and source names; totals add up', () => {
    const r = inspectJson([sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite')]);
    expect(r.model.format).toBe('tflite');
    expect(r.inputs[0]).toMatchObject({ shape: [1, 49, 10, 1], dtype: 'int8' });
    const conv = r.ops[0]!;
    expect(conv.type).toBe('CONV_2D');
    expect(conv.inputs[1]!.constant).toBe(true);
    expect(conv.inputs[1]!.quant).toBe(`per-channel(${conv.inputs[1]!.shape[0]})`);
    expect(conv.outputs[0]!.quant).toMatch(/^scale=[\d.e-]+ zp=-?\d+$/);
    expect(r.ops.every((o) => o.sourceName.length > 0)).toBe(true);
    expect(r.totals.activationBytes).toBeGreaterThan(0);
    // The peak is at least the largest single op's input + output activations.
    const largestOp = Math.max(...r.ops.map((o) => [...o.inputs, ...o.outputs].filter((t) => t && !t.constant).reduce((s, t) => s + t!.shape.reduce((a, b) => a * b, 1), 0)));
    expect(r.totals.activationBytes).toBeGreaterThanOrEqual(largestOp);
  });

  it('the op set reports each backend exactly as the backend\'s own per-op check says', () => {
    const file = sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite');
    const r = inspectJson([file]);
    expect(r.opSet.map((e) => e.type).sort()).toEqual([...new Set(r.ops.map((o) => o.type))].sort());
    const graph = loadModel(file);
    for (const b of BACKENDS) {
      const refused = b.refusals(graph);
      for (const e of r.opSet) {
        const ops = graph.ops.filter((o) => o.type === e.type && opDtype(graph, o) === e.dtype);
        expect(e.backends[b.id], `${b.id} ${e.type} ${e.dtype}`).toBe(ops.every((o) => !refused.has(o.index)));
      }
    }
    expect(r.opSet.reduce((s, e) => s + e.count, 0)).toBe(r.ops.length);
  });

  it('a model with ops tinyml does not know still inspects (exit 0) and names them', () => {
    // The README lists CAST, STRIDED_SLICE, DIV, MINIMUM, MAXIMUM and TFLM Signal custom ops
    // (STRIDED_SLICE has since become a known op).
    const file = sharedPath('models/tflm-micro-speech/audio_preprocessor_int8.tflite');
    const r = inspectJson([file]);
    // (DIV, MINIMUM, MAXIMUM, STRIDED_SLICE and CAST have since become known ops.)
    for (const op of ['SignalWindow', 'SignalRfft']) expect(r.unknownOps).toContain(op);
    for (const op of ['STRIDED_SLICE', 'DIV', 'MINIMUM', 'MAXIMUM', 'CAST']) expect(r.unknownOps).not.toContain(op);
    const text = runCli(['inspect', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/ops tinyml's graph IR does not know \(kept as read; only a backend marked yes runs them\): .*SignalRfft/);
  });

  it('an ONNX model inspects too', () => {
    const r = inspectJson([sharedPath('models/onnx-mnist/mnist-8.onnx')]);
    expect(r.model.format).toBe('onnx');
    expect(r.totals.macs).toBeGreaterThan(0);
    expect(r.ops.some((o) => o.type === 'CONV_2D')).toBe(true);
  });
});

describe('--board', () => {
  it('a model that fits: bytes and percent against the usable flash and RAM', () => {
    const board = getBoard('nano33ble');
    const r = inspectJson([sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite'), '--board', 'nano33ble']);
    expect(r.fit!.board.id).toBe('nano33ble');
    expect(r.fit!.flash).toMatchObject({ usedBytes: 24_376, availableBytes: board.usable.flash_bytes, fits: true, excessBytes: 0 });
    expect(r.fit!.flash.percent).toBeCloseTo((24_376 / board.usable.flash_bytes) * 100, 1);
    expect(r.fit!.ram.availableBytes).toBe(board.usable.ram_bytes);
    expect(r.fit!.fits).toBe(true);
  });

  it('a model that does not fit: still exit 0, the text says so and by how many bytes', () => {
    const board = getBoard('nicla-sense-me');
    const file = sharedPath('models/mlperf-tiny/ad/ad01_fp32.tflite'); // ~1 MiB of float weights
    const r = inspectJson([file, '--board', 'nicla-sense-me']);
    expect(r.fit!.fits).toBe(false);
    expect(r.fit!.flash.excessBytes).toBe(r.totals.weightBytes - board.usable.flash_bytes);
    const text = runCli(['inspect', file, '--board', 'nicla-sense-me']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('THE MODEL DOES NOT FIT');
    expect(text.stdout).toContain(`DOES NOT FIT: ${r.fit!.flash.excessBytes.toLocaleString('en-US')} bytes over`);
  });
});

describe('every shared model', () => {
  function models(dir: string): string[] {
    return readdirSync(dir).flatMap((e) => {
      const p = join(dir, e);
      return statSync(p).isDirectory() ? models(p) : /\.(tflite|onnx)$/.test(e) ? [p] : [];
    });
  }

  it('inspects, with totals that agree with the per-op rows and unknown ops named', () => {
    const all = models(MODELS);
    expect(all.length).toBeGreaterThan(50);
    for (const file of all) {
      const r = inspectModel(file, { boardId: 'mps2-an386' });
      expect(r.ops.length, file).toBeGreaterThan(0);
      expect(r.totals.macs, file).toBe(r.ops.reduce((s, o) => s + o.macs, 0));
      // Per-op weight bytes count a tensor shared by two ops twice; the total counts it once.
      expect(r.totals.weightBytes, file).toBeLessThanOrEqual(r.ops.reduce((s, o) => s + o.weightBytes, 0));
      expect(r.unknownOps, file).toEqual([...new Set(r.opSet.filter((e) => !isKnownOp(e.type)).map((e) => e.type))]);
      expect(r.fit!.flash.usedBytes, file).toBe(r.totals.weightBytes);
    }
  });
});
