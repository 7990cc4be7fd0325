/**
 * `tinyml eval <model> --data <inputs> [--labels <file>] [--quantized <int8 model> | --calib <data>] [--json]`:
 * float model vs int8 reference on the same inputs, per output and per layer.
 */
import type { Command } from 'commander';
import { ExitCode, MismatchError, UsageError } from '../../errors.ts';
import { CALIBRATORS, parseCalibrator } from '../../quantize/calibrate.ts';
import { evalModel, type DeviceColumnReport, type EvalModelReport } from '../../eval/eval-model.ts';
import { DEFAULT_DEVICE_SAMPLES } from '../../eval/device.ts';
import { jsonNumber } from '../../eval/metrics.ts';
import { formatTable, printError, printJson, printLine, safe, truncate } from '../output.ts';
import { parseRuntime } from '../../arduino/tflm-emulated.ts';

const db = (x: number | undefined) => (x === undefined ? '-' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x.toFixed(1));
const num = (x: number | undefined) => (x === undefined ? '-' : x.toPrecision(4));
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function printReport(r: EvalModelReport): void {
  const cands = r.columns.filter((c) => c.role === 'candidate');
  printLine(`eval ${safe(r.model)} on ${r.samples} samples from ${safe(r.data)}`);
  for (const c of r.columns) printLine(`  ${c.id}: ${safe(c.model)}${c.role === 'reference' ? ' (reference)' : ''}`);
  if (r.int8.source === 'quantized') printLine(`  int8 model quantized here: ${r.int8.samples} calibration samples from ${r.int8.calib}, calibrator ${r.int8.calibrator}`);
  if (r.accuracy) {
    const acc = r.columns.map((c) => {
      const a = r.accuracy![c.id];
      const n = r.device?.samples ?? 0;
      const over = c.role === 'device' && n < r.samples ? ` (first ${n} sample${n === 1 ? '' : 's'})` : '';
      return `${c.id} ${a === undefined ? 'n/a' : pct(a)}${over}`;
    });
    printLine(`accuracy (top-1 vs labels): ${acc.join(', ')}`);
  }
  printLine();
  const outColumns = r.columns.filter((c) => c.role !== 'reference');
  const outRows = r.outputs.flatMap((o) =>
    outColumns.map((c) => {
      const m = o.engines[c.id]!;
      const label = c.role === 'device' ? `${c.id} (${r.device!.samples} samples)` : c.id;
      return [safe(o.name), label, pct(m.top1Agreement), num(m.maxAbsError), num(m.rmse), db(m.snrDb)];
    }),
  );
  printLine(formatTable(['output', 'engine', 'top-1 agreement', 'max abs error', 'RMSE', 'SNR dB'], outRows));
  printLine();
  const L = r.layers;
  printLine(`per layer (first ${L.samples} samples; SNR of each engine vs float):`);
  const layerRows = L.rows.map((row) => [String(row.opIndex), safe(row.op), safe(truncate(row.tensor, 60)), ...cands.flatMap((c) => [db(row.engines[c.id]?.snrDb), num(row.engines[c.id]?.maxAbsError)])]);
  printLine(formatTable(['#', 'op', 'tensor', ...cands.flatMap((c) => [`${c.id} SNR dB`, 'max abs err'])], layerRows));
  for (const c of cands) {
    const d = L.firstDivergence[c.id];
    printLine(
      d
        ? `${c.id} first diverges at op ${d.opIndex} ${safe(d.op)} '${safe(truncate(d.tensor, 60))}': SNR ${db(d.snrDb)} dB < ${L.snrThresholdDb} dB`
        : `${c.id}: every layer stays above ${L.snrThresholdDb} dB SNR`,
    );
  }
  if (r.device) printDevice(r.device);
}

function printDevice(d: DeviceColumnReport): void {
  const cmp = d.vsInt8Reference;
  printLine();
  printLine(
    `${d.id}: ran ${d.samples} of ${d.of} samples in ${d.emulator} (${d.machine}; --device-samples), ${d.builds} firmware build in ${(d.buildMs / 1000).toFixed(1)} s, emulation ${(d.emulatorMs / 1000).toFixed(1)} s`,
  );
  if (cmp.differing === 0) {
    printLine(`${d.id} vs int8-reference: all ${cmp.elements} output elements equal`);
    return;
  }
  printLine(`${d.id} vs int8-reference: ${cmp.differing} of ${cmp.elements} output elements differ${cmp.differing > cmp.differences.length ? ` (first ${cmp.differences.length} listed)` : ''}:`);
  const show = (v: number | null) => (v === null ? 'missing' : String(v));
  printLine(formatTable(['sample', 'output', 'index', 'device', 'int8-reference'], cmp.differences.map((x) => [String(x.sample), String(x.output), String(x.index), show(x.device), show(x.reference)])));
}

/** A device that differs from the int8 reference fails the command (exit 14) after the report
 * is printed. Not thrown: main.ts would print a second JSON document after the --json report. */
export function failOnDeviceMismatch(r: EvalModelReport): void {
  const cmp = r.device?.vsInt8Reference;
  if (!cmp || cmp.differing === 0) return;
  const first = cmp.differences[0]!;
  const err = new MismatchError(
    `${r.device!.id} differs from the int8 reference in ${cmp.differing} of ${cmp.elements} output elements (first: sample ${first.sample} output ${first.output} index ${first.index}: device ${first.device ?? 'missing'}, reference ${first.reference ?? 'missing'}): the firmware's kernels disagree with the reference arithmetic, rerun with tinyml run --profile and compare op by op`,
  );
  printError(err.message);
  process.exitCode = ExitCode.MISMATCH;
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
    .description('compare the float model with its int8 version (and, with --device, its firmware on an emulated board) on the same inputs: agreement, accuracy, error per output and per layer')
    .argument('<model>', 'the float .onnx or .tflite model (the reference)')
    .option('--data <inputs>', 'evaluation samples: .npy, .npz, .json, raw float32 .bin, ONNX TensorProto .pb, or a folder of them (or ONNX test_data_set folders)')
    .option('--labels <file>', 'one class index per sample (.npy, .json or one integer per line) for accuracy')
    .option('--quantized <model>', 'the int8 .tflite to compare (for example from tinyml convert)')
    .option('--calib <data>', 'quantize the float model here with this calibration data instead of --quantized')
    .option('--calibrator <name>', `calibrator for --calib: ${CALIBRATORS.join(', ')}`, 'minmax')
    .option('--max-samples <n>', 'evaluate at most the first N samples')
    .option('--layer-samples <n>', 'per-layer statistics over the first N samples', '200')
    .option('--snr-threshold <db>', 'a layer whose SNR is below this diverges', '20')
    .option('--device <board>', 'also run the int8 model\'s firmware on an emulated board (QEMU: mps2-an386, netduinoplus2; Renode: nano33ble, stm32f4-discovery, disco-f746ng): its outputs must equal the int8 reference exactly (exit 14 if not)')
    .option('--device-samples <n>', 'run the first N samples on --device', String(DEFAULT_DEVICE_SAMPLES))
    .option('--runtime <name>', 'what the --device firmware runs: native (tinyml C, default) or tflm (TensorFlow Lite Micro)')
    .option('--tflm-lib <path>', 'for --runtime tflm: the Chirale_TensorFLowLite 2.0.0 library (default: $TINYML_TFLM_LIB, then the Arduino libraries folder)')
    .option('--json', 'print the report as JSON')
    .action(
      async (
        model: string,
        opts: {
          data?: string;
          labels?: string;
          quantized?: string;
          calib?: string;
          calibrator: string;
          maxSamples?: string;
          layerSamples: string;
          snrThreshold: string;
          device?: string;
          deviceSamples: string;
          runtime?: string;
          tflmLib?: string;
          json?: boolean;
        },
      ) => {
        if (!opts.data) throw new UsageError('eval needs input samples: pass --data <file or folder>');
        const snr = Number(opts.snrThreshold);
        if (!Number.isFinite(snr)) throw new UsageError(`--snr-threshold must be a number of dB, not '${opts.snrThreshold}'`);
        const report = await evalModel(model, {
          data: opts.data,
          labels: opts.labels,
          quantized: opts.quantized,
          calib: opts.calib,
          calibrator: parseCalibrator(opts.calibrator),
          maxSamples: positiveInt(opts.maxSamples, '--max-samples'),
          layerSamples: positiveInt(opts.layerSamples, '--layer-samples'),
          snrThresholdDb: snr,
          device: opts.device,
          deviceSamples: positiveInt(opts.deviceSamples, '--device-samples'),
          runtime: opts.runtime !== undefined ? parseRuntime(opts.runtime) : undefined,
          tflmLib: opts.tflmLib,
        });
        if (opts.json) printJson(jsonSafe(report));
        else printReport(report);
        failOnDeviceMismatch(report);
      },
    );
}
