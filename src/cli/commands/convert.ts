/**
 * `tinyml convert <model> --calib <data> [-o out.tflite] [--calibrator X] [--io int8|float] [--json]`:
 * post-training int8 quantization of a float ONNX or TFLite model into an int8 .tflite.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { CALIBRATORS, parseCalibrator } from '../../quantize/calibrate.ts';
import { convertModel, type ConvertSummary } from '../../quantize/convert.ts';
import type { IoType } from '../../quantize/quantize-graph.ts';
import { jsonNumber } from '../../eval/metrics.ts';
import { formatTable, printJson, printLine, safe, warn } from '../output.ts';
import { createProgress } from '../progress.ts';

const n = (x: number) => x.toLocaleString('en-US');
const db = (x: number) => (x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x.toFixed(1));

function printSummary(s: ConvertSummary): void {
  printLine(`converted ${safe(s.model)} -> ${safe(s.output)}`);
  printLine(`calibration: ${safe(s.calibration.source)}, calibrator ${s.calibration.calibrator}`);
  for (const p of s.passes) printLine(`  ${safe(p)}`);
  const q = s.quantized;
  printLine(
    `quantized: ${q.activations} activation tensors (int8 per-tensor), ${q.weights} weight tensors (int8), ${q.biases} biases (int32), ${s.ops} ops` +
      (q.fixedBySpec ? `; ${q.fixedBySpec} tensors with params fixed by the int8 spec` : '') +
      (q.fromQdq ? `; ${q.fromQdq} with the model's own QDQ params` : ''),
  );
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
    printLine(`quality: float vs int8 (int8 reference) on ${qual.data === 'calibration' ? 'the calibration set' : qual.data} (${qual.samples} samples)`);
    for (const o of qual.outputs) {
      const agree = o.top1Agreement !== null ? `top-1 agreement ${(o.top1Agreement * 100).toFixed(2)}%, ` : '';
      printLine(`  output ${o.name}: ${agree}SNR ${db(o.snrDb)} dB, max error ${o.maxAbsError.toPrecision(3)}`);
    }
    if (qual.worstLayers.length > 0) {
      printLine(`  worst layers: ${qual.worstLayers.map((l) => `${l.op} ${JSON.stringify(l.tensor)} ${db(l.snrDb)} dB`).join(', ')}`);
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

export function register(program: Command): void {
  program
    .command('convert')
    .description('quantize a float .onnx or .tflite model to an int8 .tflite (post-training, with calibration data)')
    .argument('<model>', 'float .onnx or .tflite model')
    .option('--calib <data>', 'calibration samples: .npy, .npz, .json, raw float32 .bin, or a folder of .npy/.bin files')
    .option('-o, --output <file>', 'where to write the int8 .tflite (default: <model>_int8.tflite beside the model)')
    .option('--calibrator <name>', `how activation ranges are chosen: ${CALIBRATORS.join(', ')}`, 'minmax')
    .option('--percentile <p>', 'upper percentile for --calibrator percentile', '99.99')
    .option('--io <type>', 'input/output type of the int8 model: int8 (the device feeds int8) or float (QUANTIZE/DEQUANTIZE added)', 'int8')
    .option('--fc-per-tensor', 'per-tensor FULLY_CONNECTED weights (for runtimes without per-channel FC kernels)')
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
          io: string;
          fcPerTensor?: boolean;
          maxSamples?: string;
          val?: string;
          quality: boolean;
          strict?: boolean;
          json?: boolean;
        },
      ) => {
        if (!opts.calib) throw new UsageError('convert needs calibration data: pass --calib <file or folder> with representative inputs of the model');
        if (opts.io !== 'int8' && opts.io !== 'float') throw new UsageError(`--io must be int8 or float, not '${opts.io}'`);
        const percentile = Number(opts.percentile);
        if (!(percentile > 50 && percentile <= 100)) throw new UsageError(`--percentile must be a number in (50, 100], not '${opts.percentile}'`);
        let limit: number | undefined;
        if (opts.maxSamples !== undefined) {
          limit = Number(opts.maxSamples);
          if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--max-samples must be a positive integer, not '${opts.maxSamples}'`);
        }
        const progress = createProgress({ json: opts.json });
        let summary: ConvertSummary;
        try {
          summary = convertModel(model, opts.calib, {
            calibrator: parseCalibrator(opts.calibrator),
            percentile,
            io: opts.io as IoType,
            fcPerChannel: !opts.fcPerTensor,
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
