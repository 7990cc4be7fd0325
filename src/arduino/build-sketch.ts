/**
 * `tinyml build <model> --board <arduino board> --runtime tflm|native`: generates the Arduino
 * sketch folder (no compiler runs here: arduino-cli compiles it in `tinyml flash`). Returns the
 * data the build command prints.
 */
import { getBoard } from '../boards/registry.ts';
import { UsageError } from '../errors.ts';
import { generateSketch } from './deploy.ts';
import type { ArduinoRuntime } from './profiles.ts';
import { describeArena } from './arena.ts';
import { parseArenaChoice } from './tflm-arena-plan.ts';
import type { NativeOptions } from './sketch-native.ts';

export interface ArduinoBuildOptions {
  board: string;
  runtime: string;
  out?: string;
  calib?: string;
  inputs?: string[];
  runs?: number;
  reportSerial?: string;
  /** --arena measure|formula|<bytes> (TFLM). */
  arena?: string;
  /** --tflm-lib <path> (TFLM). */
  tflmLib?: string;
  onProgress?: (message: string) => void;
  /** --kernels, --opt, --profile: the native runtime (refused for TFLite Micro). */
  native?: NativeOptions;
}

export interface ArduinoBuildResult {
  sketchDir: string;
  sketch: string;
  runtime: ArduinoRuntime;
  board: string;
  fqbn: string;
  profile: string;
  modelHash: string;
  buildId: string;
  quantizedWithCalib: boolean;
  plannedArenaBytes: number;
  arenaBytes: number;
  /** TFLM only: how the arena was sized, and the smallest arena the library accepts when measured. */
  arenaSource?: 'measured' | 'formula' | 'given';
  neededArenaBytes?: number | null;
  formulaArenaBytes?: number;
  /** TFLM only: the resolver's ops and N. */
  ops?: string[];
  resolverSize?: number;
  /** What is known before arduino-cli compiles the sketch (the Arduino core's share is not). */
  sizes: ArduinoSketchSizes;
  files: string[];
  summary: string[];
  /** TFLM: ops whose outputs differ slightly from the TFLite reference kernels. */
  warnings: string[];
}

export interface ArduinoSketchSizes {
  /** The model's bytes in flash: the native runtime's weights and baked inputs, or the .tflite TFLite Micro parses. */
  modelDataBytes: number;
  arenaBytes: number;
  /** The board's usable flash and RAM (boards/<id>.json). */
  flashTotal: number;
  ramTotal: number;
  /** The whole sketch's flash and static RAM: unknown until arduino-cli compiles it (`tinyml flash` prints them). */
  flashUsed: null;
  ramUsed: null;
}

/** True when `tinyml build` should make an Arduino sketch: --runtime given, or a board that only Arduino can build. */
export function wantsArduinoSketch(board: string, runtime: string | undefined): boolean {
  if (runtime !== undefined) return true;
  const b = getBoard(board);
  return b.fqbn !== null && b.emulation.qemu === null;
}

export async function buildArduinoSketch(model: string, opts: ArduinoBuildOptions): Promise<ArduinoBuildResult> {
  if (opts.runtime !== 'tflm' && opts.runtime !== 'native') throw new UsageError(`--runtime must be tflm or native, not '${opts.runtime}'`);
  if (opts.reportSerial !== undefined && opts.reportSerial !== 'Serial' && opts.reportSerial !== 'Serial1') {
    throw new UsageError(`--report-serial must be Serial or Serial1, not '${opts.reportSerial}'`);
  }
  const arenaChoice = opts.runtime === 'tflm' ? parseArenaChoice(opts.arena) : undefined;
  if (opts.runtime === 'native' && opts.arena !== undefined) throw new UsageError('--arena sizes the TFLite Micro arena: the native runtime plans its arena exactly, drop --arena');
  const s = await generateSketch(model, opts.runtime, {
    arenaChoice,
    libPath: opts.tflmLib,
    onProgress: opts.onProgress,
    board: opts.board,
    outDir: opts.out,
    calib: opts.calib,
    inputs: opts.inputs,
    runs: opts.runs,
    reportSerial: opts.reportSerial as 'Serial' | 'Serial1' | undefined,
    ...opts.native,
  });
  const tflm = s as Partial<import('./sketch-tflm.ts').TflmSketch>;
  const native = s as Partial<import('./sketch-native.ts').NativeSketch>;
  const usable = s.config.board.usable;
  const sizes: ArduinoSketchSizes = {
    modelDataBytes: s.runtime === 'tflm' ? tflm.tfliteBytes! : native.weightBytes! + native.bakedInputBytes!,
    arenaBytes: s.arenaBytes,
    flashTotal: usable.flash_bytes,
    ramTotal: usable.ram_bytes,
    flashUsed: null,
    ramUsed: null,
  };
  const summary = [
    `sketch ${s.dir}/${s.name}.ino for ${s.config.board.name} (${s.config.fqbn}), ${s.runtime} runtime, report on ${s.config.reportSerial}`,
    s.runtime === 'tflm'
      ? `${describeArena(tflm.arena!)}; resolver: MicroMutableOpResolver<${tflm.resolverSize}> ${tflm.ops!.map((o) => o.op).join(', ')}`
      : `arena: ${s.arenaBytes} bytes (planned); no TFLite Micro library needed`,
    `Flash: model data ${sizes.modelDataBytes} bytes of ${sizes.flashTotal}; RAM: arena ${sizes.arenaBytes} bytes of ${sizes.ramTotal}. The sketch's total flash and RAM (with the Arduino core) are arduino-cli's to measure: \`tinyml flash\` prints them`,
    `next: tinyml flash --board ${s.config.board.id} --sketch ${s.dir}   (or: arduino-cli compile --profile ${s.config.profile} ${s.dir})`,
  ];
  return {
    sketchDir: s.dir,
    sketch: s.name,
    runtime: s.runtime,
    board: s.config.board.id,
    fqbn: s.config.fqbn,
    profile: s.config.profile,
    modelHash: s.modelHash,
    buildId: s.buildId,
    quantizedWithCalib: s.quantized,
    plannedArenaBytes: s.plannedArenaBytes,
    arenaBytes: s.arenaBytes,
    ...(s.runtime === 'tflm'
      ? {
          ops: tflm.ops!.map((o) => o.op),
          resolverSize: tflm.resolverSize,
          arenaSource: tflm.arena!.source,
          neededArenaBytes: tflm.arena!.neededBytes,
          formulaArenaBytes: tflm.arena!.formula.arenaBytes,
        }
      : {}),
    sizes,
    files: s.written,
    summary,
    warnings: s.runtime === 'tflm' ? (tflm.warnings ?? []) : [],
  };
}
