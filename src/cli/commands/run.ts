/** `tinyml run <model> --board <emulated board>`: build, run in QEMU or Renode, print the device's report. */
import type { Command } from 'commander';
import { BudgetError, ExitCode, TinymlError, UsageError } from '../../errors.ts';
import { runOnEmulator, type BudgetVerdict, type Budgets, type RunOptions, type RunResult } from '../../run/run.ts';
import { writeJunit, type JunitCase } from '../../report/junit.ts';
import { budgetsFor, readCiConfig } from '../../ci/config.ts';
import { formatTable, printError, printJson, printLine, safe } from '../output.ts';
import { parseRuntime } from '../../arduino/tflm-emulated.ts';
import { parseArenaChoice } from '../../arduino/tflm-arena-plan.ts';
import { describeArena } from '../../arduino/arena.ts';

export interface RunCliOptions {
  board: string;
  emulator?: string;
  renode?: string;
  budgets?: string;
  runs?: string;
  input?: string[];
  profile?: boolean;
  json?: boolean;
  junit?: string;
  jsonl?: string;
  elf?: string;
  out?: string;
  keep?: boolean;
  opt?: string;
  kernels?: string;
  timeout?: string;
  maxInstructions?: string;
  maxArena?: string;
  maxFlash?: string;
  maxStack?: string;
  runtime?: string;
  tflmLib?: string;
  arena?: string;
}

export function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${name} '${value}' is not a positive integer: pass a whole number, e.g. ${name} 100000`);
  }
  return Number(value);
}

export function kernelSet(v: string | undefined): 'portable' | 'dsp' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'portable' && v !== 'dsp') throw new UsageError(`--kernels ${v} is not a kernel set: use dsp or portable`);
  return v;
}

export function optLevel(v: string | undefined): '2' | 's' | undefined {
  if (v === undefined) return undefined;
  const level = v.replace(/^-?O/, '');
  if (level !== '2' && level !== 's') throw new UsageError(`--opt ${v} is not supported: use 2 or s`);
  return level;
}

/** The options `run` and `deploy` share; `deploy` also takes Arduino boards (uploaded with arduino-cli). */
export function addRunOptions(cmd: Command, arduino = false): Command {
  return cmd
    .requiredOption(
      '-b, --board <id>',
      arduino
        ? 'emulated board: mps2-an386 | netduinoplus2 (QEMU); stm32f4-discovery | disco-f746ng (Renode); or an Arduino board (nano33ble, nano33ble-sense, nano-rp2040-connect, ...: upload with arduino-cli; --emulator renode runs nano33ble(-sense) in Renode instead)'
        : 'emulated board: mps2-an386 | netduinoplus2 (QEMU); nano33ble | nano33ble-sense | stm32f4-discovery | disco-f746ng (Renode)',
    )
    .option('--emulator <name>', 'qemu | renode (default: the board\'s QEMU machine, else its Renode platform)')
    .option('--renode <path>', 'Renode launcher or its folder (default: $RENODE, `renode` on PATH, ../shared/tools/renode)')
    .option('-n, --runs <n>', 'inferences to time (default 3)')
    .option('-i, --input <file...>', 'input file per model input (raw bytes in the input dtype, .npy or .npz), baked into the firmware; default: every input at its zero point')
    .option('--profile', `per-op cost records${arduino ? ' (Arduino boards: --runtime native)' : ''}`)
    .option('-o, --out <dir>', `build folder (default: a temporary folder, removed after a successful run${arduino ? '; Arduino boards: the sketch folder, default build/<board>-<runtime>' : ''})`)
    .option('--keep', `keep the temporary build folder (its path is printed)${arduino ? '; Arduino boards always keep the sketch folder' : ''}`)
    .option('-O, --opt <level>', `compiler optimisation: 2 | s (default 2, as every tinyml build${arduino ? '; Arduino boards: --runtime native' : ''})`)
    .option('--kernels <set>', `kernel set: dsp | portable (default: dsp on cores with the DSP extension, else portable${arduino ? '; Arduino boards: --runtime native' : ''})`)
    .option('--timeout <s>', `wall-clock limit of the emulated run in seconds (default 120${arduino ? '; Arduino boards: seconds to wait for the board\'s report, default 60' : ''})`)
    .option('--jsonl <file>', 'append every report record to this JSONL file as it arrives')
    .option('--junit <file>', 'write a JUnit XML report (the run and each budget as a test case)')
    .option('--budgets <file>', 'budgets from tinyml.ci.json (or a package.json "tinyml" key) for this model and board; --max-* options override them')
    .option('--max-instructions <n>', `budget: fail (exit 13) if an inference costs more instructions${arduino ? ' (emulated boards only: an Arduino board counts cycles and refuses it, exit 2)' : ''}`)
    .option('--max-arena <bytes>', 'budget: fail (exit 13) if the tensor arena is larger')
    .option('--max-flash <bytes>', `budget: fail (exit 13) if the firmware uses more flash${arduino ? ' (Arduino boards: the sketch size arduino-cli reports)' : ''}`)
    .option('--max-stack <bytes>', `budget: fail (exit 13) if the stack high-water mark is higher${arduino ? ' (or the board does not report one)' : ''}`)
    .option('--runtime <name>', 'native (tinyml\'s generated C; the default on emulated boards) or tflm (the TensorFlow Lite Micro sketch: on emulated boards with tinyml\'s bare-metal Arduino core; the default on Arduino boards)')
    .option('--tflm-lib <path>', `--runtime tflm: the Chirale_TensorFLowLite 2.0.0 library (default: $TINYML_TFLM_LIB, then the Arduino libraries folder)`)
    .option('--arena <measure|formula|bytes>', '--runtime tflm: the tensor arena: measured with the library in QEMU (default, cached), the formula, or a byte count')
    .option('--json', 'print the result as JSON');
}

/** Long steps (library compile, arena measurement) on stderr, so --json stays clean. */
export const progressLine = (message: string): void => void process.stderr.write(`tinyml: ${message}\n`);

/** Turns the shared CLI options into RunOptions (model and elf are the caller's; the model names
 * its entry in a --budgets file). */
export function runOptionsFrom(opts: RunCliOptions, model?: string): Omit<RunOptions, 'model' | 'elf'> {
  const budgets = budgetsFrom(opts, model);
  const runtime = parseRuntime(opts.runtime);
  if (runtime !== 'tflm' && (opts.tflmLib !== undefined || opts.arena !== undefined)) {
    throw new UsageError(`${opts.tflmLib !== undefined ? '--tflm-lib' : '--arena'} is for --runtime tflm: add --runtime tflm, or drop it`);
  }
  return {
    board: opts.board,
    emulator: opts.emulator,
    renodePath: opts.renode,
    runtime,
    tflmLib: opts.tflmLib,
    arena: runtime === 'tflm' ? parseArenaChoice(opts.arena) : undefined,
    onProgress: progressLine,
    runs: intOption('--runs', opts.runs),
    inputs: opts.input,
    profile: opts.profile,
    optimize: optLevel(opts.opt),
    kernels: kernelSet(opts.kernels),
    outDir: opts.out,
    keep: opts.keep,
    jsonl: opts.jsonl,
    timeoutMs: (intOption('--timeout', opts.timeout) ?? 120) * 1000,
    budgets,
    onItem: opts.json ? undefined : (item) => {
      if (item.kind === 'log') printLine(`device: ${safe(item.line)}`);
    },
  };
}

/** What a JUnit report and the budget exit need of a run (emulated or on an Arduino board). */
export type RunVerdicts = Pick<RunResult, 'latency' | 'budgets'>;

/** The budgets of --budgets <file> (its entry for this model and board), overridden by --max-*. */
export function budgetsFrom(opts: Pick<RunCliOptions, 'budgets' | 'board' | 'maxInstructions' | 'maxArena' | 'maxFlash' | 'maxStack'>, model?: string): Budgets {
  const fromFile: Budgets = opts.budgets ? budgetsFor(readCiConfig(opts.budgets), model ?? '', opts.board) : {};
  return {
    maxInstructions: intOption('--max-instructions', opts.maxInstructions) ?? fromFile.maxInstructions,
    maxArena: intOption('--max-arena', opts.maxArena) ?? fromFile.maxArena,
    maxFlash: intOption('--max-flash', opts.maxFlash) ?? fromFile.maxFlash,
    maxStack: intOption('--max-stack', opts.maxStack) ?? fromFile.maxStack,
  };
}

/** Runs `work`, writing the JUnit file either way (a failure becomes a failed test case). */
export async function withJunit<T extends RunVerdicts>(junit: string | undefined, name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let result: T;
  try {
    result = await work();
  } catch (e) {
    if (junit && e instanceof TinymlError) writeJunit(junit, 'tinyml run', [{ name, failure: e.message, time: (Date.now() - started) / 1000 }]);
    throw e;
  }
  if (junit) writeJunit(junit, 'tinyml run', junitCases(result, name, (Date.now() - started) / 1000));
  return result;
}

export function register(program: Command): void {
  addRunOptions(
    program
      .command('run')
      .description('build a model for an emulated board, run it in QEMU or Renode and print its report (instructions, memory, outputs)')
      .argument('[model]', '.tflite or .onnx int8 model; optional with --elf'),
  )
    .option('--elf <file>', 'run this built firmware instead of building (with a model: checks the firmware runs that model)')
    .action(async (model: string | undefined, opts: RunCliOptions) => {
      const name = `${model ?? opts.elf ?? '?'} on ${opts.board}`;
      const result = await withJunit(opts.junit, name, () => runOnEmulator({ ...runOptionsFrom(opts, model), model, elf: opts.elf }));
      if (opts.json) printJson(runToJson(result));
      else printRunReport(result);
      failOnBudgets(result);
    });
}

/** Budget overruns: printed after the report (CI logs show both) and exit code 13. Not thrown:
 * main.ts would print a second JSON document after the --json report. */
export function failOnBudgets(result: Pick<RunResult, 'budgets'>): void {
  const over = result.budgets.filter((b) => !b.ok);
  if (over.length === 0) return;
  const err = new BudgetError(over.map((b) => budgetFailure(b)).join('; ') + ': shrink the model or raise the budget');
  printError(err.message);
  process.exitCode = ExitCode.BUDGET;
}

/** One failed budget: over the limit, or not measured by the device (so it cannot pass). */
function budgetFailure(b: BudgetVerdict, limit = `${b.option} ${b.limit}`): string {
  return b.actual === null ? `${b.name} was not measured by the device, so ${b.option} ${b.limit} cannot be checked` : `${b.name} ${b.actual} exceeds ${limit}`;
}

export function junitCases(r: RunVerdicts, name: string, seconds: number): JunitCase[] {
  return [
    { name, time: seconds, output: r.latency ? `${r.latency.median} ${r.latency.unit}/inference` : undefined },
    ...r.budgets.map((b) => ({ name: `budget ${b.option} ${b.limit}`, failure: b.ok ? undefined : budgetFailure(b, String(b.limit)) })),
  ];
}

export function runToJson(r: RunResult): unknown {
  const { device: _device, ...rest } = r;
  return rest;
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');

export function printRunReport(r: RunResult): void {
  const emulated = r.unit !== 'cycles';
  const runtime = r.runtime === 'tflm' ? `TensorFlow Lite Micro${r.tflm ? ` (${r.tflm.library}, CMSIS-NN)` : ''}` : 'tinyml native';
  printLine(`${safe(r.model ?? r.elf)} on ${r.board}, ${runtime} (${r.emulatorDescription}${emulated ? ': costs are guest instructions, not time' : ''})`);
  if (r.latency) {
    const l = r.latency;
    printLine(`  latency     ${n(l.median)} ${l.unit}/inference (median of ${l.runs}; min ${n(l.min)}, max ${n(l.max)})`);
  }
  if (r.batchPerInference !== null && r.device.batch) {
    printLine(`  batch       ${r.batchPerInference.toFixed(1)} ${r.unit}/inference (mean of a batch of ${r.device.batch.inferences}, finer than one timer tick)`);
  }
  if (r.macs !== null) printLine(`  MACs        ${n(r.macs)}${r.macsPerUnit !== null ? `  (${r.macsPerUnit.toFixed(3)} MACs per ${r.unit === 'cycles' ? 'cycle' : 'instruction'})` : ''}`);
  if (r.arenaBytes !== null) printLine(`  arena       ${n(r.arenaBytes)} bytes${r.tflm?.arenaUsedBytes != null ? ` (TFLite Micro arena_used_bytes ${n(r.tflm.arenaUsedBytes)})` : ''}`);
  if (r.tflm) printLine(`              ${describeArena(r.tflm.arena)}`);
  if (r.stackHighWaterBytes !== null) printLine(`  stack       ${n(r.stackHighWaterBytes)} bytes high-water mark`);
  if (r.staticRamBytes !== null) printLine(`  static RAM  ${n(r.staticRamBytes)} bytes (.data + .bss, arena included)`);
  if (r.flashBytes !== null) printLine(`  flash       ${n(r.flashBytes)} bytes`);
  if (r.build?.outDir) printLine(`  build       ${r.build.outDir} (firmware.elf, .bin, .hex, generated C)`);
  for (const o of r.outputs) {
    if (o.values === null) {
      // --elf without the model (or a size that does not match the tensor): the dtype is unknown.
      printLine(`  output ${o.index}    ${o.hex.slice(0, 64)}${o.hex.length > 64 ? '...' : ''}  (${o.bytes} bytes, hex: pass the model to decode them)`);
      continue;
    }
    const shown = o.values.slice(0, 16).join(' ');
    printLine(`  output ${o.index}    ${shown}${o.values.length > 16 ? ` ... (${o.values.length} values)` : ''}  (${o.dtype}, argmax ${o.argmax})`);
  }
  if (r.ops.length > 0) {
    printLine('');
    printLine(formatTable(['#', 'op', r.unit ?? 'cost'], r.ops.map((o) => [String(o.index), safe(o.op), n(o.cost)])));
  }
  if (r.executedInstructions !== null) printLine(`  whole run   ${n(r.executedInstructions)} instructions executed (Renode's count: start-up, every inference and the report)`);
  for (const b of r.budgets) printLine(`  budget ${b.option} ${b.limit}: ${b.ok ? 'ok' : 'EXCEEDED'} (${b.actual ?? 'unknown'})`);
  if (r.decoder.rejected > 0) printLine(`  ${r.decoder.rejected} corrupt report line(s) rejected (CRC or schema)`);
}
