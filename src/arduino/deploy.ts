/**
 * The Arduino path of `tinyml flash` and `tinyml deploy`: model -> int8 -> sketch (TFLM or
 * native runtime) -> arduino-cli compile (pinned profile) -> upload -> wait for the board's
 * sketch USB id -> monitor the report stream (src/device/monitor.ts) until `done`.
 *
 * Returns data; the commands print it. `onProgress` reports each long step as it starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BoardError, DeviceFaultError, FileError, MismatchError, TimeoutError, UsageError } from '../errors.ts';
import { getBoard, type Board } from '../boards/registry.ts';
import { monitorPort, type MonitorResult } from '../device/monitor.ts';
import type { DecodedItem } from '../device/protocol.ts';
import { describeDeviceError, summarizeCosts, type CostSummary } from '../report/device-report.ts';
import { compileSketch, detectArduinoCli, findBoardPort, uploadSketch, waitForSketchPort, type ArduinoCli, type CompileResult } from './cli.ts';
import { parseFqbn, type ArduinoRuntime } from './profiles.ts';
import { checkBudgets, type BudgetVerdict, type Budgets } from '../run/run.ts';
import { writeNativeSketch, type NativeOptions } from './sketch-native.ts';
import { writeTflmSketch, type GeneratedSketch, type SketchOptions, type WriteTflmOptions } from './sketch-tflm.ts';

export type ProgressStep = 'generate' | 'detect' | 'compile' | 'port' | 'upload' | 'wait' | 'monitor';
export type Progress = (step: ProgressStep, message: string) => void;

export interface FlashOptions {
  board: string;
  /** Sketch folder to build and upload. */
  sketchDir: string;
  port?: string;
  /** Seconds to wait for the board's sketch port after upload (default 10). */
  waitSeconds?: number;
  env?: NodeJS.ProcessEnv;
  onProgress?: Progress;
  /** arduino-cli already detected by the caller. */
  cli?: ArduinoCli;
}

export interface FlashResult {
  board: string;
  sketchDir: string;
  profile: string;
  arduinoCli: ArduinoCli;
  compile: CompileResult;
  uploadPort: string;
  /** Where the board's sketch shows up after the upload reset. */
  port: string;
  portChanged: boolean;
}

/** The default (only) profile of a generated sketch.yaml. */
export function sketchProfile(sketchDir: string): string {
  const yaml = join(sketchDir, 'sketch.yaml');
  if (!existsSync(yaml)) {
    throw new FileError(`${sketchDir} has no sketch.yaml: generate the sketch first with \`tinyml build <model> --board <id> --runtime tflm|native\``);
  }
  const m = /^default_profile:\s*(\S+)/m.exec(readFileSync(yaml, 'utf8'));
  if (!m) throw new FileError(`${yaml} names no default_profile: regenerate the sketch with tinyml build`);
  return m[1]!;
}

export function arduinoBoard(id: string): Board & { fqbn: string } {
  const board = getBoard(id);
  if (board.fqbn === null) {
    throw new UsageError(`board '${id}' is not an Arduino board (no FQBN): use \`tinyml run\` or \`tinyml deploy\` for emulated boards`);
  }
  return board as Board & { fqbn: string };
}

/** Compile, upload and wait for the board to come back: `tinyml flash`. */
export async function flashSketch(opts: FlashOptions): Promise<FlashResult> {
  const board = arduinoBoard(opts.board);
  const env = opts.env ?? process.env;
  const progress = opts.onProgress ?? (() => {});
  const sketchDir = resolve(opts.sketchDir);
  const profile = sketchProfile(sketchDir);
  let cli = opts.cli;
  if (cli === undefined) {
    progress('detect', 'looking for arduino-cli');
    cli = await detectArduinoCli(env);
  }
  const { vendor, architecture } = parseFqbn(board.fqbn);
  progress('compile', `compiling ${sketchDir} with arduino-cli ${cli.version} (profile ${profile})`);
  const compile = await compileSketch(cli, { sketchDir, profile, platform: `${vendor}:${architecture}` }, env);
  progress('port', opts.port ? `using port ${opts.port}` : `looking for ${board.name} on USB`);
  const uploadPort = opts.port ?? (await findBoardPort(cli, board, env));
  progress('upload', `uploading to ${uploadPort}`);
  const up = await uploadSketch(cli, { sketchDir, profile, port: uploadPort }, env);
  progress('wait', `waiting for ${board.name} to come back on USB${up.portChanged ? ` (port changed to ${up.port})` : ''}`);
  const port = await waitForSketchPort(cli, board, { expected: up.port, timeoutMs: (opts.waitSeconds ?? 10) * 1000 }, env);
  return { board: board.id, sketchDir, profile, arduinoCli: cli, compile, uploadPort, port, portChanged: port !== uploadPort };
}

export interface DeployArduinoOptions extends Omit<SketchOptions, 'board'>, NativeOptions {
  board: string;
  runtime?: ArduinoRuntime;
  /** --arena and --tflm-lib (TFLM runtime). */
  arenaChoice?: WriteTflmOptions['arenaChoice'];
  libPath?: string;
  /** Checked against arduino-cli's flash size and the board's mem record; maxInstructions is
   * refused (a board counts cycles, not emulated instructions). */
  budgets?: Budgets;
  port?: string;
  /** Seconds to wait for the report's `done` record (default 60). */
  timeoutSeconds?: number;
  jsonl?: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: Progress;
  onItem?: (item: DecodedItem) => void;
}

export interface DeployArduinoResult {
  sketch: Omit<GeneratedSketch, 'files'>;
  flash: FlashResult;
  monitor: MonitorResult;
  /** CPU cycles per inference (the sketch's timer), null when the board sent no inference record. */
  latency: CostSummary | null;
  /** From the board's mem record. */
  arenaBytes: number | null;
  stackHighWaterBytes: number | null;
  /** arduino-cli's text section (the whole sketch: core, runtime, model). */
  flashBytes: number | null;
  budgets: BudgetVerdict[];
}

/**
 * Refuses sketch options the runtime cannot honour, before anything is generated: the dsp
 * kernel set on a core without the DSP extension (BoardError, exit 7), and --kernels, --opt,
 * --profile with TFLite Micro, whose kernels (the library's CMSIS-NN) and flags arduino-cli
 * chooses and which has no per-op records (UsageError).
 */
export function checkSketchOptions(boardId: string, runtime: ArduinoRuntime, opts: NativeOptions): void {
  const board = getBoard(boardId);
  if (opts.kernels === 'dsp' && !board.dsp) {
    throw new BoardError(`the dsp kernel set needs the Armv7E-M DSP instructions and ${board.id} (${board.cpu}) has none: use --kernels portable`);
  }
  if (runtime !== 'tflm') return;
  const given = [opts.kernels !== undefined && '--kernels', opts.optimize !== undefined && '--opt', opts.profile && '--profile'].filter((o): o is string => typeof o === 'string');
  if (given.length > 0) {
    throw new UsageError(
      `${given.join(', ')} ${given.length > 1 ? 'choose' : 'chooses'} how tinyml's native C is compiled or timed; the TFLite Micro sketch runs the library's CMSIS-NN kernels with arduino-cli's flags and has no per-op records: add --runtime native, or drop ${given.join(' ')}`,
    );
  }
}

/** Generates the sketch for `model`: TFLM (arena measured when the library is here) or native runtime. */
export async function generateSketch(model: string, runtime: ArduinoRuntime, opts: WriteTflmOptions & NativeOptions): Promise<GeneratedSketch> {
  checkSketchOptions(opts.board, runtime, opts);
  return runtime === 'tflm' ? writeTflmSketch(model, opts) : writeNativeSketch(model, opts);
}

/** `tinyml deploy <model> --board <arduino board>`: generate, compile, upload, monitor. */
export async function deployArduino(model: string, opts: DeployArduinoOptions): Promise<DeployArduinoResult> {
  arduinoBoard(opts.board);
  const progress = opts.onProgress ?? (() => {});
  const runtime = opts.runtime ?? 'tflm';
  checkSketchOptions(opts.board, runtime, opts);
  if (opts.budgets?.maxInstructions !== undefined) {
    throw new UsageError(`an instruction budget is for emulated boards: ${opts.board} times inferences in CPU cycles; drop --max-instructions (or maxInstructions in the budgets file), or check it in an emulator (tinyml run)`);
  }
  // arduino-cli first: without it nothing is generated.
  progress('detect', 'looking for arduino-cli');
  const cli = await detectArduinoCli(opts.env ?? process.env);
  progress('generate', `generating the ${runtime} sketch for ${opts.board}`);
  const { onProgress: _p, ...sketchOpts } = opts;
  void _p;
  const sketch = await generateSketch(model, runtime, { ...sketchOpts, onProgress: (m) => progress('generate', m) });
  const flash = await flashSketch({ board: opts.board, sketchDir: sketch.dir, port: opts.port, env: opts.env, onProgress: progress, cli });
  progress('monitor', `reading the report on ${flash.port}`);
  const monitor = await monitorPort({
    port: flash.port,
    untilDone: true,
    reconnect: true,
    durationMs: (opts.timeoutSeconds ?? 60) * 1000,
    jsonl: opts.jsonl,
    onItem: opts.onItem,
  });
  const report = monitor.report;
  if (report.errors.length > 0) throw new DeviceFaultError(describeDeviceError(report.errors[0]!));
  if (monitor.stoppedBy !== 'done') {
    throw new TimeoutError(`no \`done\` record from ${flash.port} within ${opts.timeoutSeconds ?? 60} s: press reset on the board and run \`tinyml monitor --port ${flash.port}\``);
  }
  const hash = report.hello?.['model_hash'];
  if (typeof hash === 'string' && hash !== sketch.modelHash) {
    throw new MismatchError(`the board runs model ${hash} but ${model} is ${sketch.modelHash}: the upload did not take; flash again (double-tap reset if it keeps failing)`);
  }
  const { files: _files, ...rest } = sketch;
  void _files;
  // What the budgets are checked against: arduino-cli's size and the board's own report.
  const measured = {
    latency: summarizeCosts(report.inferences, report.unit ?? 'cycles'),
    arenaBytes: report.mem?.arena_bytes ?? null,
    stackHighWaterBytes: report.mem?.stack_high_water_bytes ?? null,
    flashBytes: flash.compile.flashBytes,
  };
  return { sketch: rest, flash, monitor, ...measured, budgets: checkBudgets(measured, opts.budgets ?? {}) };
}
