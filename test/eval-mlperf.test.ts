/**
 * MLPerf Tiny quality check: our PTQ of the float model against the official int8 model, both
 * on the int8 reference executor, compared with the float model on the same inputs.
 * AD uses real data (the shipped DCASE clip: calibrate on every 4th 5-frame window, evaluate on
 * others); KWS uses its one real sample plus perturbed copies (there is no other data). The full
 * record, with IC, is bench/results/quality.json (bench/ptq.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/formats/load.ts';
import { inputSpecs, type SampleSet } from '../src/quantize/calib-data.ts';
import { quantizeFloatGraph } from '../src/quantize/convert.ts';
import { floatEngine, int8ReferenceEngine } from '../src/eval/engines.ts';
import { evaluate } from '../src/eval/eval.ts';
import { sharedPath } from './helpers/shared.ts';

const set = (g: ReturnType<typeof loadModel>, xs: Float32Array[]): SampleSet => ({ inputs: inputSpecs(g), samples: xs.map((x) => [x]), source: 'test' });

describe('MLPerf Tiny: our PTQ vs the official int8 models', () => {
  it('AD autoencoder: our int8 output is at least as close to float as the official int8 model (real windows)', () => {
    const fg = loadModel(sharedPath('models/mlperf-tiny/ad/ad01_fp32.tflite'));
    const og = loadModel(sharedPath('models/mlperf-tiny/ad/ad01_int8.tflite'));
    const raw = new Uint8Array(readFileSync(sharedPath('models/mlperf-tiny/ad/normal_id_01_00000000_hist_librosa.bin')));
    const f = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
    const windows = Array.from({ length: 196 }, (_, k) => f.slice(k * 128, k * 128 + 640));
    const ours = quantizeFloatGraph(fg, set(fg, windows.filter((_, k) => k % 4 === 0)), { calibrator: 'minmax', io: 'int8', fcPerChannel: true }).graph;
    const held = windows.filter((_, k) => k % 8 === 2); // held out from calibration
    const r = evaluate([floatEngine('float', fg), { ...int8ReferenceEngine('ours', ours), id: 'ours' }, { ...int8ReferenceEngine('official', og), id: 'official' }], set(fg, held), {
      snrThresholdDb: 20,
      layerSamples: 0,
    });
    const o = r.outputs[0]!.engines;
    expect(o.ours!.snrDb).toBeGreaterThanOrEqual(o.official!.snrDb);
    expect(o.ours!.snrDb).toBeGreaterThan(30);
  });

  it('KWS: top-1 agreement with float at least the official int8 model\'s (real sample + perturbed copies)', () => {
    const fg = loadModel(sharedPath('models/mlperf-tiny/kws/kws_ref_model_float32.tflite'));
    const og = loadModel(sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite'));
    const q = og.tensors[og.inputs[0]!.tensor]!.quant!;
    const raw = new Int8Array(new Uint8Array(readFileSync(sharedPath('models/mlperf-tiny/kws/kws_input_0_int8.bin'))).buffer);
    const x0 = Float32Array.from(raw, (v) => q.scale[0]! * (v - q.zeroPoint[0]!));
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const copy = (): Float32Array => {
      const shift = Math.floor(rnd() * 13) - 6;
      return Float32Array.from({ length: 490 }, (_, i) => {
        const t = Math.min(48, Math.max(0, Math.floor(i / 10) - shift));
        return x0[t * 10 + (i % 10)]! + 3 * (rnd() - 0.5);
      });
    };
    const calib = [x0, ...Array.from({ length: 15 }, copy)];
    const evalSet = Array.from({ length: 30 }, copy);
    const ours = quantizeFloatGraph(fg, set(fg, calib), { calibrator: 'minmax', io: 'int8', fcPerChannel: true }).graph;
    const r = evaluate([floatEngine('float', fg), { ...int8ReferenceEngine('ours', ours), id: 'ours' }, { ...int8ReferenceEngine('official', og), id: 'official' }], set(fg, evalSet), {
      snrThresholdDb: 20,
      layerSamples: 0,
    });
    const o = r.outputs[0]!.engines;
    expect(o.ours!.top1Agreement).toBeGreaterThanOrEqual(o.official!.top1Agreement);
    expect(o.ours!.top1Agreement).toBeGreaterThanOrEqual(0.9);
  });
});
