/** `tinyml bench <model> [--runtime tflm,native]`: one model on each runtime, side by side, in QEMU. */
import type { Command } from 'commander';
import { benchModel, parseRuntimes, type BenchResult } from '../../run/bench.ts';
import { parseArenaChoice } from '../../arduino/tflm-arena-plan.ts';
import { describeArena } from '../../arduino/arena.ts';
import { UsageError } from '../../errors.ts';
import { formatTable, printJson, printLine } from '../output.ts';
import { intOption, progressLine } from './run.ts';

export function register(program: Command): void {
  program
    .command('bench')
    .description('run a model on each runtime (tinyml native C, TensorFlow Lite Micro) on an emulated board and compare instructions, arena, flash and outputs side by side')
    .argument('<model>', 'int8 .tflite or .onnx model')
    .option('-b, --board <id>', 'emulated board: mps2-an386 (default) or netduinoplus2')
    .option('--runtime <list>', 'runtimes to compare: native, tflm, or tflm,native', 'native')
    .option('-n, --runs <n>', 'timed inferences per runtime (default 3)')
    .option('-i, --input <file...>', 'input file per model input, the same for every runtime (default: zero points)')
    .option('--tflm-lib <path>', 'the Chirale_TensorFLowLite 2.0.0 library (default: $TINYML_TFLM_LIB, then the Arduino libraries folder)')
    .option('--arena <measure|formula|bytes>', 'the TFLite Micro arena (default: measured)')
    .option('--json', 'print the result as JSON')
    .action(async (model: string, opts: { board?: string; runtime: string; runs?: string; input?: string[]; tflmLib?: string; arena?: string; json?: boolean }) => {
      const runtimes = parseRuntimes(opts.runtime);
      if (!runtimes.includes('tflm') && (opts.tflmLib !== undefined || opts.arena !== undefined)) {
        throw new UsageError(`${opts.tflmLib !== undefined ? '--tflm-lib' : '--arena'} is for the tflm runtime: add --runtime tflm,native, or drop it`);
      }
      const r = await benchModel({
        model,
        board: opts.board,
        runtimes,
        runs: intOption('--runs', opts.runs),
        inputs: opts.input,
        tflmLib: opts.tflmLib,
        arena: runtimes.includes('tflm') ? parseArenaChoice(opts.arena) : undefined,
        onProgress: progressLine,
      });
      if (opts.json) printJson(benchToJson(r));
      else printBench(r);
    });
}

export function benchToJson(r: BenchResult): unknown {
  return {
    ...r,
    columns: r.columns.map(({ run, ...c }) => ({ ...c, arena: run.tflm?.arena ?? null, latency: run.latency })),
  };
}

const n = (v: number | null, digits = 0) => (v === null ? '-' : digits ? v.toFixed(digits) : Math.round(v).toLocaleString('en-US'));

export function printBench(r: BenchResult): void {
  printLine(`${r.model} on ${r.board} (QEMU ${r.machine}, -icount shift=0: costs are guest instructions, not time)`);
  const rows = [
    ['instructions/inference', ...r.columns.map((c) => n(c.instructions))],
    ['measured as', ...r.columns.map((c) => c.measuredAs)],
    ['MACs/instruction', ...r.columns.map((c) => n(c.macsPerInstruction, 3))],
    ['arena bytes', ...r.columns.map((c) => `${n(c.arenaBytes)}${c.arenaUsedBytes !== null ? ` (used ${n(c.arenaUsedBytes)})` : ''}`)],
    ['flash bytes', ...r.columns.map((c) => n(c.flashBytes))],
    ['static RAM bytes', ...r.columns.map((c) => n(c.staticRamBytes))],
    ['stack high-water bytes', ...r.columns.map((c) => n(c.stackHighWaterBytes))],
  ];
  printLine(formatTable(['', ...r.columns.map((c) => c.label)], rows));
  if (r.outputsIdentical !== null) {
    printLine(r.outputsIdentical ? `outputs: byte-identical on every runtime (${r.columns[0]!.outputs.length} tensor(s))` : `outputs: DIFFER (output ${r.differingOutputs.join(', ')})`);
  }
  for (const c of r.columns) if (c.run.tflm) printLine(`TFLite Micro ${describeArena(c.run.tflm.arena)}`);
}
