/**
 * What `tinyml convert` warns about: quantization decisions a user must know of, because the
 * int8 model may then be far from the float one on real data. Each warning names the tensor or
 * op (from the user's model) and says what to do. They go to stderr in text mode and into the
 * `warnings` array with --json; `--strict` turns any of them into exit 8 before anything is
 * written.
 *
 *   constant-input      an input's calibration data is one value everywhere (all zeros, say):
 *                       it does not look like a real input.
 *   zero-range          an activation saw one value only (0 -> scale 1 by fallback; c -> [0, c]).
 *   outlier-range       (minmax) a few values stretch a tensor's range: 99.9% of them lie in a
 *                       range at least 16x narrower, so most int8 codes are wasted.
 *   few-samples         fewer samples than the calibrator needs to be meaningful.
 *   widened-weight-scale a channel's weight scale was widened so its bias fits its integer.
 *   mixed-target-missed (--activations mixed) a layer stays under --int16-snr with every op
 *                       that could help already in int16.
 */
import type { Graph } from '../ir/graph.ts';
import type { Calibration, Calibrator } from './calibrate.ts';
import { magnitudeQuantile } from './calibrate.ts';
import type { SampleSet } from './calib-data.ts';
import type { WidenedWeights } from './quantize-graph.ts';

export type QuantizeWarningKind = 'constant-input' | 'zero-range' | 'outlier-range' | 'few-samples' | 'widened-weight-scale' | 'mixed-target-missed';

export interface QuantizeWarning {
  kind: QuantizeWarningKind;
  /** One line: what and what to do. Tensor and node names come from the model (untrusted). */
  message: string;
  /** The tensors concerned (model names). */
  tensors: string[];
}

/** Samples below which a calibrator's ranges rest on too little data. */
export const MIN_SAMPLES: Record<Calibrator, number> = { minmax: 8, percentile: 50, mse: 50, entropy: 50 };

/** A tensor whose 99.9% magnitude is this many times below its max is outlier-dominated. */
export const OUTLIER_RATIO = 16;

const q = (s: string) => JSON.stringify(s);
const fmt = (x: number) => Number(x.toPrecision(4)).toString();

/** Inputs whose calibration samples hold one value everywhere. */
export function constantInputs(set: SampleSet): QuantizeWarning[] {
  const out: QuantizeWarning[] = [];
  set.inputs.forEach((spec, i) => {
    const first = set.samples[0]?.[i]?.[0];
    if (first === undefined) return;
    const constant = set.samples.every((s) => s[i]!.every((v) => v === first));
    if (!constant) return;
    out.push({
      kind: 'constant-input',
      tensors: [spec.name],
      message: `input ${q(spec.name)}: every calibration value is ${fmt(first)} (${set.samples.length} sample${set.samples.length === 1 ? '' : 's'}), which does not look like real input data; calibrate with representative inputs of the model`,
    });
  });
  return out;
}

/** Activations that saw one value only, and (minmax) outlier-dominated ranges. */
export function rangeWarnings(g: Graph, cal: Calibration, calibrator: Calibrator): QuantizeWarning[] {
  const zero: string[] = [];
  const constant: string[] = [];
  const outliers: { name: string; typical: number; max: number }[] = [];
  for (const [t, s] of cal.stats) {
    const name = g.tensors[t]!.name;
    if (s.min === s.max) (s.min === 0 ? zero : constant).push(name);
    else if (calibrator === 'minmax' && s.count - s.zeros >= 1000) {
      const typical = magnitudeQuantile(s, 0.999);
      const max = Math.max(Math.abs(s.min), Math.abs(s.max));
      if (typical > 0 && max > OUTLIER_RATIO * typical) outliers.push({ name, typical, max });
    }
  }
  const out: QuantizeWarning[] = [];
  const list = (names: string[]) => names.slice(0, 5).map(q).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
  if (zero.length > 0) {
    out.push({
      kind: 'zero-range',
      tensors: zero,
      message: `${zero.length} tensor${zero.length > 1 ? 's' : ''} saw only 0 during calibration (${list(zero)}): their scale falls back to 1 and real data will be badly quantized; calibrate with data that exercises them`,
    });
  }
  if (constant.length > 0) {
    out.push({
      kind: 'zero-range',
      tensors: constant,
      message: `${constant.length} tensor${constant.length > 1 ? 's' : ''} saw one constant value during calibration (${list(constant)}): their range is [0, that value] only; calibrate with more varied data`,
    });
  }
  for (const o of outliers.slice(0, 5)) {
    out.push({
      kind: 'outlier-range',
      tensors: [o.name],
      message: `tensor ${q(o.name)}: 99.9% of its calibration values lie within +-${fmt(o.typical)} but outliers reach ${fmt(o.max)}, so the min-max range wastes most int8 codes; try --calibrator percentile or entropy`,
    });
  }
  return out;
}

export function sampleCountWarning(samples: number, calibrator: Calibrator): QuantizeWarning[] {
  const need = MIN_SAMPLES[calibrator];
  if (samples >= need) return [];
  return [
    {
      kind: 'few-samples',
      tensors: [],
      message: `${samples} calibration sample${samples === 1 ? '' : 's'} are too few for the ${calibrator} calibrator (want at least ${need}): give more representative inputs`,
    },
  ];
}

export function widenedWarnings(widened: WidenedWeights[]): QuantizeWarning[] {
  return widened.map((w) => {
    const worst = w.channels.reduce((a, c) => Math.max(a, c.to / c.from), 1);
    const chans = w.channels.map((c) => c.channel);
    return {
      kind: 'widened-weight-scale',
      tensors: [w.weights],
      message:
        `${w.opType} ${q(w.node)} (op #${w.op}): the weight scale of channel${chans.length > 1 ? 's' : ''} ${chans.slice(0, 8).join(', ')}${chans.length > 8 ? ', ...' : ''} ` +
        `was widened up to ${fmt(worst)}x so its bias fits int32 (weights tiny next to the bias, e.g. a nearly dead BatchNorm channel); ` +
        `those weights keep fewer significant bits: check the model (tinyml eval) or prune the channel`,
    };
  });
}

/** Mixed precision ended under its SNR target: what limits it, and what the user can change. */
export function mixedTargetWarning(missed: { tensor: string; snrDb: number }, targetDb: number, io: string | undefined): QuantizeWarning {
  const edges = io === 'int16' ? '' : 'the int8 model input caps what int16 layers can recover: try --io int16; ';
  return {
    kind: 'mixed-target-missed',
    tensors: [missed.tensor],
    message:
      `--activations mixed did not reach --int16-snr ${fmt(targetDb)} dB: layer ${q(missed.tensor)} is at ${fmt(missed.snrDb)} dB with every op before it in int16; ` +
      `${edges}or use --activations int16, or accept a lower target (--int16-snr)`,
  };
}
