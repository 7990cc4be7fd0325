/**
 * `tinyml convert <model> --calib <data> [-o out.tflite] [--calibrator X] [--io int8|float] [--json]`:
 * post-training int8 quantization of a float ONNX or TFLite model into an int8 .tflite.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { CALIBRATORS, parseCalibrator } from '../../quantize/calibrate.ts';
import { convertModel, MIXED_SNR_DB, type ConvertSummary } from '../../quantize/convert.ts';
import type { IoType } from '../../quantize/quantize-graph.ts';
import { jsonNumber } from '../../eval/metrics.ts';
import { formatTable, printJson, printLine, safe, truncate, warn } from '../output.ts';
import { createProgress } from '../progress.ts';

const n = (x: number) => x.toLocaleString('en-US');
const PRECISION = { int8: 'int8', int16: '16x8', mixed: 'mixed int8/16x8' } as const;
const db = (x: number) => (x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x.toFixed(1));

function printSummary(s: ConvertSummary): void {
  printLine(`converted ${safe(s.model)} -> ${safe(s.output)}`);
  printLine(`calibration: ${safe(s.calibration.source)}, calibrator ${s.calibration.calibrator}`);
  for (const p of s.passes) printLine(`  ${safe(p)}`);
  const q = s.quantized;
  const acts = [q.activations ? `${q.activations} int8` : '', q.activationsInt16 ? `${q.activationsInt16} int16` : ''].filter(Boolean).join(' + ');
  printLine(
    `quantized: ${acts} activation tensors (per-tensor), ${q.weights} weight tensors (int8), ${q.biases} biases (${q.activationsInt16 ? 'int32/int64' : 'int32'}), ${s.ops} ops` +
      (q.fixedBySpec ? `; ${q.fixedBySpec} tensors with params fixed by the int8 spec` : '') +
      (q.fromQdq ? `; ${q.fromQdq} with the model's own QDQ params` : ''),
  );
  for (const c of s.int16Ops) printLine(`  int16: ${c.opType} "${safe(truncate(c.node, 60))}"${c.tensor === c.node ? '' : ` (output "${safe(truncate(c.tensor, 60))}")`}: ${db(c.int8SnrDb)} dB SNR in int8`);
  const rows = [...s.inputs.map((t) => ['input', t] as const), ...s.outputs.map((t) => ['output', t] as const)].map(([kind, t]) => [
    kind,
    safe(t.name),
    t.dtype,
    `[${t.shape.join(',')}]`,
    t.scale !== undefined ? String(t.scale) : '-',
    t.zeroPoint !== undefined ? String(t.zeroPoint) : '-',
  ]);
  printLine(formatTable(['', 'tensor', 'dtype', 'shape', 'scale', 'zero point'], rows));
  const b = s.bytes;
  printLine(`size: model ${n(b.modelBefore)} -> ${n(b.modelAfter)} bytes; weights ${n(b.weightsBefore)} -> ${n(b.weightsAfter)} bytes`);
  if (s.quality) {
    const qual = s.quality;
    printLine(`quality: float vs ${PRECISION[s.activations]} (int8 reference executor) on ${qual.data === 'calibration' ? 'the calibration set' : safe(qual.data)} (${qual.samples} samples)`);
    for (const o of qual.outputs) {
      const agree = o.top1Agreement !== null ? `top-1 agreement ${(o.top1Agreement * 100).toFixed(2)}%, ` : '';
      printLine(`  output ${safe(o.name)}: ${agree}SNR ${db(o.snrDb)} dB, max error ${o.maxAbsError.toPrecision(3)}`);
    }
    if (qual.worstLayers.length > 0) {
      printLine(`  worst layers: ${qual.worstLayers.map((l) => `${l.op} "${safe(truncate(l.tensor, 60))}" ${db(l.snrDb)} dB`).join(', ')}`);
    }
  }
}

/** The summary as JSON: SNRs of identical tensors are "inf" (JSON has no Infinity). */
function jsonSummary(s: ConvertSummary): unknown {
  if (!s.quality) return s;
  return {
    ...s,
    quality: {
      ...s.quality,
      outputs: s.quality.outputs.map((o) => ({ ...o, snrDb: jsonNumber(o.snrDb) })),
      worstLayers: s.quality.worstLayers.map((l) => ({ ...l, snrDb: jsonNumber(l.snrDb) })),
    },
  };
}

const OP_KINDS: Record<string, string> = { conv: 'CONV_2D', depthwise: 'DEPTHWISE_CONV_2D', fc: 'FULLY_CONNECTED' };

function parsePerTensor(list: string): string[] {
  return list.split(',').map((k) => {
    const key = k.trim().toLowerCase();
    const op = OP_KINDS[key] ?? Object.values(OP_KINDS).find((o) => o.toLowerCase() === key);
    if (!op) throw new UsageError(`--per-tensor: unknown op kind '${k.trim()}': use ${Object.keys(OP_KINDS).join(', ')} (comma-separated)`);
    return op;
  });
}

export function register(program: Command): void {
  program
    .command('convert')
    .description('quantize a float .onnx or .tflite model to an int8 .tflite (post-training, with calibration data)')
    .argument('<model>', 'float .onnx or .tflite model')
    .option('--calib <data>', 'calibration samples: .npy, .npz, .json, raw float32 .bin, ONNX TensorProto .pb, or a folder of them (or ONNX test_data_set folders)')
    .option('-o, --output <file>', 'where to write the int8 .tflite (default: <model>_int8.tflite beside the model)')
    .option('--calibrator <name>', `how activation ranges are chosen: ${CALIBRATORS.join(', ')}`, 'minmax')
    .option('--percentile <p>', 'upper percentile for --calibrator percentile', '99.99')
    .option('--io <type>', 'input/output type: int8 or int16 (the device feeds integers; QUANTIZE added where the activations differ) or float (QUANTIZE/DEQUANTIZE added); default: the activation type at each edge')
    .option('--activations <type>', 'activation precision: int8, int16 (16x8: int16 activations, int8 weights, int64 biases) or mixed (int8, with the layers below --int16-snr kept in int16)', 'int8')
    .option('--int16-snr <dB>', `mixed precision: move a layer to int16 when its int8 SNR against float is below this (default ${MIXED_SNR_DB})`)
    .option('--fc-per-tensor', 'per-tensor FULLY_CONNECTED weights (for runtimes without per-channel FC kernels); same as --per-tensor fc')
    .option('--per-tensor <ops>', 'weights with one scale per tensor instead of per channel, for these op kinds: conv, depthwise, fc (comma-separated)')
    .option('--max-samples <n>', 'use at most this many calibration samples')
    .option('--val <data>', 'data for the quality report (same forms as --calib; default: the calibration set)')
    .option('--no-quality', 'skip the quality report (float vs int8 on the calibration or --val data)')
    .option('--strict', 'treat every quantization warning as an error (exit 8, nothing written)')
    .option('--json', 'print the summary as JSON')
    .action(
      (
        model: string,
        opts: {
          calib?: string;
          output?: string;
          calibrator: string;
          percentile: string;
          io?: string;
          activations: string;
          int16Snr?: string;
          fcPerTensor?: boolean;
          perTensor?: string;
          maxSamples?: string;
          val?: string;
          quality: boolean;
          strict?: boolean;
          json?: boolean;
        },
      ) => {
        if (!opts.calib) throw new UsageError('convert needs calibration data: pass --calib <file or folder> with representative inputs of the model');
        if (opts.io !== undefined && !['int8', 'int16', 'float'].includes(opts.io)) throw new UsageError(`--io must be int8, int16 or float, not '${opts.io}'`);
        if (!['int8', 'int16', 'mixed'].includes(opts.activations)) throw new UsageError(`--activations must be int8, int16 or mixed, not '${opts.activations}'`);
        const int16SnrDb = opts.int16Snr === undefined ? undefined : Number(opts.int16Snr);
        if (int16SnrDb !== undefined && !(Number.isFinite(int16SnrDb) && int16SnrDb > 0)) throw new UsageError(`--int16-snr must be a positive number of dB, not '${opts.int16Snr}'`);
        if (int16SnrDb !== undefined && opts.activations !== 'mixed') throw new UsageError('--int16-snr applies to --activations mixed only');
        const percentile = Number(opts.percentile);
        if (!(percentile > 50 && percentile <= 100)) throw new UsageError(`--percentile must be a number in (50, 100], not '${opts.percentile}'`);
        let limit: number | undefined;
        if (opts.maxSamples !== undefined) {
          limit = Number(opts.maxSamples);
          if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--max-samples must be a positive integer, not '${opts.maxSamples}'`);
        }
        const perTensorOps = opts.perTensor === undefined ? [] : parsePerTensor(opts.perTensor);
        const progress = createProgress({ json: opts.json });
        let summary: ConvertSummary;
        try {
          summary = convertModel(model, opts.calib, {
            calibrator: parseCalibrator(opts.calibrator),
            percentile,
            io: opts.io as IoType | undefined,
            activations: opts.activations as 'int8' | 'int16' | 'mixed',
            int16SnrDb,
            fcPerChannel: !opts.fcPerTensor,
            perTensorOps,
            output: opts.output,
            limit,
            val: opts.val,
            quality: opts.quality,
            strict: opts.strict,
            onProgress: (p) => progress.update(p),
          });
        } finally {
          progress.stop();
        }
        if (opts.json) printJson(jsonSummary(summary));
        else {
          for (const w of summary.warnings) warn(w.message);
          printSummary(summary);
        }
      },
    );
}
