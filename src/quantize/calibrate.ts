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
 *   entropy     the clipping threshold whose 255-level quantized distribution has the smallest
 *               KL divergence from the observed one (TensorRT's entropy calibration, also
 *               TFLite's legacy calibrator), on the signed histogram (int8 here is asymmetric).
 * percentile, mse and entropy need a second pass over the samples to fill 2048-bin histograms
 * over each tensor's [min, max].
 *
 * The first pass also keeps, per tensor, a histogram of log2 |x| (range-free, so one pass is
 * enough) and the count of values, from which the warnings of warnings.ts are drawn (outliers
 * stretching a min-max range, constant tensors).
 */
import type { Graph } from '../ir/graph.ts';
import { isConstant } from '../ir/graph.ts';
import { UsageError } from '../errors.ts';
import type { TensorValue } from '../reference/tensor-value.ts';
import { runFloatGraph } from './engines.ts';
import { asymmetricParams, clamp, INT8_MAX, INT8_MIN, roundHalfAway, type Range } from './params.ts';
import type { SampleSet } from './calib-data.ts';

export const CALIBRATORS = ['minmax', 'percentile', 'mse', 'entropy'] as const;
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
  /** Called after each sample of each pass (a progress bar in the CLI). */
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
}

/** log2 |x| buckets of the magnitude histogram: [2^(e-1), 2^e) for e in LOG2_MIN..LOG2_MAX. */
const LOG2_MIN = -64;
const LOG2_MAX = 64;

/** What one float activation tensor saw over the whole calibration set. */
export interface TensorStats {
  min: number;
  max: number;
  /** Values seen (elements x samples), and how many were exactly 0. */
  count: number;
  zeros: number;
  /** Counts of non-zero |x| per power-of-two bucket (index e - LOG2_MIN, x in [2^(e-1), 2^e)). */
  log2: Float64Array;
}

export interface Calibration {
  /** Real range per float activation tensor (IR tensor index), after the calibrator. */
  ranges: Map<number, Range>;
  /** The raw observed min/max, for the summary. */
  observed: Map<number, Range>;
  /** Per-tensor statistics of the first pass (for warnings). */
  stats: Map<number, TensorStats>;
  samples: number;
}

/**
 * The magnitude below which a fraction `p` (e.g. 0.999) of a tensor's non-zero values lie, from
 * the log2 histogram (the bucket's upper edge: an over-estimate by at most 2x).
 */
export function magnitudeQuantile(s: TensorStats, p: number): number {
  const nonZero = s.count - s.zeros;
  if (nonZero <= 0) return 0;
  let acc = 0;
  for (let b = 0; b < s.log2.length; b++) {
    acc += s.log2[b]!;
    if (acc >= p * nonZero) return 2 ** (b + LOG2_MIN);
  }
  return Math.max(Math.abs(s.min), Math.abs(s.max));
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

function forEachActivation(
  g: Graph,
  set: SampleSet,
  tensors: number[],
  visit: (tensor: number, data: Float32Array) => void,
  progress?: (done: number, total: number) => void,
): void {
  for (let k = 0; k < set.samples.length; k++) {
    const inputs = sampleInputs(set, k);
    const r = runFloatGraph(g, inputs, true);
    for (const t of tensors) {
      const gi = g.inputs.findIndex((x) => x.tensor === t);
      const v = gi >= 0 ? inputs[gi] : r.tensors?.get(t);
      if (!v) continue;
      visit(t, v.data as Float32Array);
    }
    progress?.(k + 1, set.samples.length);
  }
}

export function calibrate(g: Graph, set: SampleSet, opts: CalibrationOptions): Calibration {
  const tensors = activationTensors(g);
  const stats = new Map<number, TensorStats>();
  const passes = opts.calibrator === 'minmax' ? 1 : 2;
  const progress = (pass: number) => (done: number, total: number) =>
    opts.onProgress?.({ stage: passes === 1 ? 'calibrating' : `calibrating (pass ${pass} of ${passes})`, done, total });
  forEachActivation(
    g,
    set,
    tensors,
    (t, data) => {
      let s = stats.get(t);
      if (!s) stats.set(t, (s = { min: Infinity, max: -Infinity, count: 0, zeros: 0, log2: new Float64Array(LOG2_MAX - LOG2_MIN + 1) }));
      for (let i = 0; i < data.length; i++) {
        const x = data[i]!;
        if (x < s.min) s.min = x;
        if (x > s.max) s.max = x;
        if (x === 0) s.zeros++;
        else {
          const e = Math.min(LOG2_MAX, Math.max(LOG2_MIN, Math.floor(Math.log2(Math.abs(x))) + 1));
          s.log2[e - LOG2_MIN]! += 1;
        }
      }
      s.count += data.length;
    },
    progress(1),
  );
  const observed = new Map<number, Range>([...stats].map(([t, s]) => [t, { min: s.min, max: s.max }]));
  if (opts.calibrator === 'minmax') return { ranges: new Map(observed), observed, stats, samples: set.samples.length };

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
    // Entropy: exact zeros (ReLU outputs, padding) are exact in int8 whatever the range; as a
    // spike in the first bin they would pull the KL search towards heavy clipping.
    const skipZeros = opts.calibrator === 'entropy';
    for (let i = 0; i < data.length; i++) {
      if (skipZeros && data[i] === 0) continue;
      h[Math.min(bins - 1, Math.floor((data[i]! - r.min) / width))]! += 1;
    }
  }, progress(2));
  const ranges = new Map<number, Range>();
  for (const t of tensors) {
    const r = observed.get(t);
    const h = hists.get(t);
    if (!r || !h) continue;
    const range =
      opts.calibrator === 'percentile' ? percentileRange(h, r, opts.percentile ?? 99.99) : opts.calibrator === 'entropy' ? entropyRange(h, r) : mseRange(h, r);
    ranges.set(t, range);
  }
  return { ranges, observed, stats, samples: set.samples.length };
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

/**
 * KL-divergence clipping (TensorRT's entropy calibration, adapted to asymmetric int8): for every
 * candidate threshold T (in bins, around 0), the clipped range [max(min, -T), min(max, T)] of the
 * signed [min, max] histogram gives P = its bins with everything outside added to the edge bins,
 * and Q = its bins merged into the 255 int8 levels that range gets and spread back over the
 * non-empty bins; the threshold with the smallest KL(P || Q) wins.
 */
export function entropyRange(h: Float64Array, r: Range, levels = 255): Range {
  const bins = h.length;
  const width = (r.max - r.min) / bins;
  if (width <= 0) return { ...r };
  const zero = Math.min(bins, Math.max(0, -r.min / width)); // bin coordinate of 0
  const n = Math.ceil(Math.max(Math.abs(r.min), Math.abs(r.max)) / width);
  const prefix = new Float64Array(bins + 1);
  for (let b = 0; b < bins; b++) prefix[b + 1] = prefix[b]! + h[b]!;
  let best = n;
  let bestKl = Infinity;
  for (let i = Math.min(n, 16); i <= n; i++) {
    const lo = Math.max(0, Math.floor(zero - i));
    const hi = Math.min(bins, Math.ceil(zero + i));
    const len = hi - lo;
    if (len <= 0) continue;
    const p = h.slice(lo, hi);
    p[0]! += prefix[lo]!;
    p[len - 1]! += prefix[bins]! - prefix[hi]!;
    const q = new Float64Array(len);
    const per = len / levels;
    for (let l = 0; l < levels; l++) {
      const start = Math.floor(l * per);
      const end = l === levels - 1 ? len : Math.floor((l + 1) * per);
      let sum = 0;
      let nonEmpty = 0;
      for (let b = start; b < end; b++) {
        sum += h[lo + b]!;
        if (h[lo + b] !== 0) nonEmpty++;
      }
      if (nonEmpty === 0) continue;
      for (let b = start; b < end; b++) if (h[lo + b] !== 0) q[b] = sum / nonEmpty;
    }
    const kl = klDivergence(p, q);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  const threshold = best * width;
  return { min: Math.max(r.min, -threshold), max: Math.min(r.max, threshold) };
}

/** KL(P || Q) of two unnormalised histograms; bins where P is 0 contribute nothing, Q 0 is smoothed. */
function klDivergence(p: Float64Array, q: Float64Array): number {
  let sp = 0;
  let sq = 0;
  for (let b = 0; b < p.length; b++) {
    sp += p[b]!;
    sq += q[b]!;
  }
  if (sp === 0 || sq === 0) return Infinity;
  let kl = 0;
  for (let b = 0; b < p.length; b++) {
    if (p[b] === 0) continue;
    const pb = p[b]! / sp;
    const qb = Math.max(q[b]! / sq, 1e-12);
    kl += pb * Math.log(pb / qb);
  }
  return kl;
}
