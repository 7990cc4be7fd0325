/**
 * `tinyml eval <model> --data <inputs> [--labels <file>] [--quantized <int8 model> | --calib <data>] [--json]`:
 * float model vs int8 reference on the same inputs, per output and per layer.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { CALIBRATORS, parseCalibrator } from '../../quantize/calibrate.ts';
import { evalModel, type EvalModelReport } from '../../eval/eval-model.ts';
import { jsonNumber } from '../../eval/metrics.ts';
import { formatTable, printJson, printLine } from '../output.ts';

const db = (x: number | undefined) => (x === undefined ? '-' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x.toFixed(1));
const num = (x: number | undefined) => (x === undefined ? '-' : x.toPrecision(4));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function printReport(r: EvalModelReport): void {
  const cands = r.columns.filter((c) => c.role === 'candidate');
  printLine(`eval ${r.model} on ${r.samples} samples from ${r.data}`);
  for (const c of r.columns) printLine(`  ${c.id}: ${c.model}${c.role === 'reference' ? ' (reference)' : ''}`);
  if (r.int8.source === 'quantized') printLine(`  int8 model quantized here: ${r.int8.samples} calibration samples from ${r.int8.calib}, calibrator ${r.int8.calibrator}`);
  if (r.accuracy) printLine(`accuracy (top-1 vs labels): ${r.columns.map((c) => `${c.id} ${pct(r.accuracy![c.id]!)}`).join(', ')}`);
  printLine();
  const outRows = r.outputs.flatMap((o) =>
    cands.map((c) => {
      const m = o.engines[c.id]!;
      return [o.name, c.id, pct(m.top1Agreement), num(m.maxAbsError), num(m.rmse), db(m.snrDb)];
    }),
  );
  printLine(formatTable(['output', 'engine', 'top-1 agreement', 'max abs error', 'RMSE', 'SNR dB'], outRows));
  printLine();
  const L = r.layers;
  printLine(`per layer (first ${L.samples} samples; SNR of each engine vs float):`);
  const layerRows = L.rows.map((row) => [String(row.opIndex), row.op, row.tensor.length > 60 ? `...${row.tensor.slice(-57)}` : row.tensor, ...cands.flatMap((c) => [db(row.engines[c.id]?.snrDb), num(row.engines[c.id]?.maxAbsError)])]);
  printLine(formatTable(['#', 'op', 'tensor', ...cands.flatMap((c) => [`${c.id} SNR dB`, 'max abs err'])], layerRows));
  for (const c of cands) {
    const d = L.firstDivergence[c.id];
    printLine(
      d
        ? `${c.id} first diverges at op ${d.opIndex} ${d.op} '${d.tensor}': SNR ${db(d.snrDb)} dB < ${L.snrThresholdDb} dB`
        : `${c.id}: every layer stays above ${L.snrThresholdDb} dB SNR`,
    );
  }
}

/** JSON cannot hold Infinity: SNR of identical tensors is written as "inf". */
function jsonSafe(r: EvalModelReport): unknown {
  return JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? jsonNumber(v) : v)));
}

function positiveInt(s: string | undefined, flag: string): number | undefined {
  if (s === undefined) return undefined;
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag} must be a positive integer, not '${s}'`);
  return v;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('compare the float model with its int8 version on the same inputs: agreement, accuracy, error per output and per layer')
    .argument('<model>', 'the float .onnx or .tflite model (the reference)')
    .option('--data <inputs>', 'evaluation samples: .npy, .npz, .json, raw float32 .bin, or a folder of .npy/.bin files')
    .option('--labels <file>', 'one class index per sample (.npy, .json or one integer per line) for accuracy')
    .option('--quantized <model>', 'the int8 .tflite to compare (for example from tinyml convert)')
    .option('--calib <data>', 'quantize the float model here with this calibration data instead of --quantized')
    .option('--calibrator <name>', `calibrator for --calib: ${CALIBRATORS.join(', ')}`, 'minmax')
    .option('--max-samples <n>', 'evaluate at most the first N samples')
    .option('--layer-samples <n>', 'per-layer statistics over the first N samples', '200')
    .option('--snr-threshold <db>', 'a layer whose SNR is below this diverges', '20')
    .option('--json', 'print the report as JSON')
    .action(
      (
        model: string,
        opts: { data?: string; labels?: string; quantized?: string; calib?: string; calibrator: string; maxSamples?: string; layerSamples: string; snrThreshold: string; json?: boolean },
      ) => {
        if (!opts.data) throw new UsageError('eval needs input samples: pass --data <file or folder>');
        const snr = Number(opts.snrThreshold);
        if (!Number.isFinite(snr)) throw new UsageError(`--snr-threshold must be a number of dB, not '${opts.snrThreshold}'`);
        const report = evalModel(model, {
          data: opts.data,
          labels: opts.labels,
          quantized: opts.quantized,
          calib: opts.calib,
          calibrator: parseCalibrator(opts.calibrator),
          maxSamples: positiveInt(opts.maxSamples, '--max-samples'),
          layerSamples: positiveInt(opts.layerSamples, '--layer-samples'),
          snrThresholdDb: snr,
        });
        if (opts.json) printJson(jsonSafe(report));
        else printReport(report);
      },
    );
}
