/**
 * Calibration: runs the float executor over the samples, keeping every intermediate tensor, and
 * turns what each float activation tensor saw into a real range [min, max].
 *
 * Calibrators:
 *   minmax      the observed min and max (TFLite converter's default).
 *   percentile  the p-th and (100-p)-th percentiles (default p = 99.99) of all values the
 *               tensor saw: ignores a few outliers that would otherwise stretch the scale.
 *   mse         the clipping range (a fraction of [min, max], searched on a grid) that
 *               minimises the int8 quantization error over the observed value histogram.
 * percentile and mse need a second pass over the samples to fill 2048-bin histograms over
 * each tensor's [min, max].
 */
import type { Graph } from '../ir/graph.ts';
import { isConstant } from '../ir/graph.ts';
import { UsageError } from '../errors.ts';
import type { TensorValue } from '../reference/tensor-value.ts';
import { runFloatGraph } from './engines.ts';
import { asymmetricParams, clamp, INT8_MAX, INT8_MIN, roundHalfAway, type Range } from './params.ts';
import type { SampleSet } from './calib-data.ts';

export const CALIBRATORS = ['minmax', 'percentile', 'mse'] as const;
export type Calibrator = (typeof CALIBRATORS)[number];

export function parseCalibrator(s: string): Calibrator {
  if ((CALIBRATORS as readonly string[]).includes(s)) return s as Calibrator;
  throw new UsageError(`unknown calibrator '${s}': use one of ${CALIBRATORS.join(', ')}`);
}

export interface CalibrationOptions {
  calibrator: Calibrator;
  /** Upper percentile for `percentile` (the lower one is 100 - p). */
  percentile?: number;
  bins?: number;
}

export interface Calibration {
  /** Real range per float activation tensor (IR tensor index), after the calibrator. */
  ranges: Map<number, Range>;
  /** The raw observed min/max, for the summary. */
  observed: Map<number, Range>;
  samples: number;
}

/** Float activation tensors: graph inputs and op outputs that are float32 and not constant. */
export function activationTensors(g: Graph): number[] {
  const out = new Set<number>();
  for (const i of g.inputs) out.add(i.tensor);
  for (const op of g.ops) for (const o of op.outputs) out.add(o);
  return [...out].filter((i) => g.tensors[i]!.dtype === 'float32' && !isConstant(g.tensors[i]!));
}

export function sampleInputs(set: SampleSet, k: number): TensorValue[] {
  return set.inputs.map((spec, i) => ({ dtype: 'float32', shape: [...spec.irShape], data: set.samples[k]![i]! }));
}

function forEachActivation(g: Graph, set: SampleSet, tensors: number[], visit: (tensor: number, data: Float32Array) => void): void {
  for (let k = 0; k < set.samples.length; k++) {
    const inputs = sampleInputs(set, k);
    const r = runFloatGraph(g, inputs, true);
    for (const t of tensors) {
      const gi = g.inputs.findIndex((x) => x.tensor === t);
      const v = gi >= 0 ? inputs[gi] : r.tensors?.get(t);
      if (!v) continue;
      visit(t, v.data as Float32Array);
    }
  }
}

export function calibrate(g: Graph, set: SampleSet, opts: CalibrationOptions): Calibration {
  const tensors = activationTensors(g);
  const observed = new Map<number, Range>();
  forEachActivation(g, set, tensors, (t, data) => {
    let { min, max } = observed.get(t) ?? { min: Infinity, max: -Infinity };
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    observed.set(t, { min, max });
  });
  if (opts.calibrator === 'minmax') return { ranges: new Map(observed), observed, samples: set.samples.length };

  const bins = opts.bins ?? 2048;
  const hists = new Map<number, Float64Array>();
  forEachActivation(g, set, tensors, (t, data) => {
    const r = observed.get(t)!;
    let h = hists.get(t);
    if (!h) hists.set(t, (h = new Float64Array(bins)));
    const width = (r.max - r.min) / bins;
    if (width <= 0) {
      h[0]! += data.length;
      return;
    }
    for (let i = 0; i < data.length; i++) h[Math.min(bins - 1, Math.floor((data[i]! - r.min) / width))]! += 1;
  });
  const ranges = new Map<number, Range>();
  for (const t of tensors) {
    const r = observed.get(t);
    const h = hists.get(t);
    if (!r || !h) continue;
    ranges.set(t, opts.calibrator === 'percentile' ? percentileRange(h, r, opts.percentile ?? 99.99) : mseRange(h, r));
  }
  return { ranges, observed, samples: set.samples.length };
}

/** The (100-p)-th and p-th percentiles from a histogram over `r` (bin edges, conservative). */
export function percentileRange(h: Float64Array, r: Range, p: number): Range {
  const total = h.reduce((a, b) => a + b, 0);
  const width = (r.max - r.min) / h.length;
  if (total === 0 || width <= 0) return { ...r };
  const tail = (total * (100 - p)) / 100;
  let acc = 0;
  let lo = 0;
  while (lo < h.length - 1 && acc + h[lo]! <= tail) acc += h[lo++]!;
  acc = 0;
  let hi = h.length - 1;
  while (hi > 0 && acc + h[hi]! <= tail) acc += h[hi--]!;
  // Never clip a side that sits at 0 (ReLU outputs): 0 stays exact anyway.
  return { min: r.min >= 0 ? r.min : r.min + lo * width, max: r.max <= 0 ? r.max : r.min + (hi + 1) * width };
}

/** Expected squared int8 error of the histogram's values under the params of `range`. */
function histogramError(h: Float64Array, r: Range, range: Range): number {
  const { scale, zeroPoint } = asymmetricParams(range);
  const width = (r.max - r.min) / h.length;
  let err = 0;
  for (let b = 0; b < h.length; b++) {
    if (h[b] === 0) continue;
    const x = r.min + (b + 0.5) * width;
    const q = clamp(roundHalfAway(x / scale) + zeroPoint, INT8_MIN, INT8_MAX);
    const d = x - scale * (q - zeroPoint);
    err += h[b]! * d * d;
  }
  return err;
}

/** Clipping range minimising the histogram's quantization error over a grid of fractions. */
export function mseRange(h: Float64Array, r: Range): Range {
  const width = (r.max - r.min) / h.length;
  if (width <= 0) return { ...r };
  let best = { ...r };
  let bestErr = histogramError(h, r, r);
  for (let f = 0.99; f >= 0.2; f -= 0.01) {
    const cand = { min: r.min * f, max: r.max * f };
    const e = histogramError(h, r, cand);
    if (e < bestErr) {
      bestErr = e;
      best = cand;
    }
  }
  return best;
}
