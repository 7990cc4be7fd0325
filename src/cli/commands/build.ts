/**
 * `tinyml build <model> --board <id> [--out <dir>] [--opt s|2] [--input <file>...] [--calib <data>]
 *  [--kernels portable|dsp] [--profile] [--json]`: native C firmware for a bare-metal board.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { build } from '../../build/build.ts';
import { printJson, printLine, safe, warn } from '../output.ts';
import { buildArduinoSketch, wantsArduinoSketch } from '../../arduino/build-sketch.ts';
import { buildTflmForEmulator } from '../../arduino/tflm-emulated.ts';
import { parseArenaChoice } from '../../arduino/tflm-arena-plan.ts';
import { describeArena } from '../../arduino/arena.ts';
import { sizeSummary } from '../../build/firmware.ts';
import { getBoard } from '../../boards/registry.ts';
import { kernelSet, optLevel, progressLine } from './run.ts';

type BuildCliOptions = {
  board?: string;
  out?: string;
  opt?: string;
  input?: string[];
  calib?: string;
  kernels?: string;
  profile?: boolean;
  json?: boolean;
  runtime?: string;
  reportSerial?: string;
  arena?: string;
  tflmLib?: string;
  bareMetal?: boolean;
  generateOnly?: boolean;
};

/** `--runtime tflm` for an emulated board: the TFLite Micro firmware ELF (bare-metal Arduino core). */
async function buildTflmElf(model: string, opts: BuildCliOptions & { board: string }): Promise<void> {
  if (opts.calib) throw new UsageError('--runtime tflm on an emulated board builds an int8 model: quantize it first with `tinyml convert <model> --calib <data>`');
  if (opts.profile) throw new UsageError('--profile times the native runtime\'s ops: TFLite Micro firmware has no per-op records, drop --profile');
  if (opts.generateOnly) throw new UsageError('--generate-only writes the native runtime\'s sources: for TFLite Micro, build the Arduino sketch with --board nano33ble --runtime tflm, or drop --generate-only');
  const optimize = (opts.opt ?? '2').replace(/^-?O/, '');
  if (optimize !== 's' && optimize !== '2') throw new UsageError(`--opt ${opts.opt} is not supported: use 2 or s`);
  const { loadModel } = await import('../../formats/load.ts');
  const { bakedInputs } = await import('../../run/run.ts');
  const graph = opts.input ? loadModel(model) : undefined;
  const b = await buildTflmForEmulator({
    modelPath: model,
    board: opts.board,
    outDir: opts.out ?? `build/${opts.board}-tflm`,
    inputs: graph && opts.input ? bakedInputs(graph, opts.input) : undefined,
    optimize,
    tflmLib: opts.tflmLib,
    arena: parseArenaChoice(opts.arena),
    onProgress: progressLine,
  });
  for (const w of b.sketch.warnings) warn(w);
  if (opts.json) {
    printJson({
      model,
      board: b.board,
      runtime: 'tflm',
      elf: b.elfPath,
      outDir: b.outDir,
      sketchDir: b.sketchDir,
      modelHash: b.modelHash,
      buildId: b.buildId,
      optimize: b.optimize,
      library: b.library,
      arenaBytes: b.arena.arenaBytes,
      arenaSource: b.arena.source,
      neededArenaBytes: b.arena.neededBytes,
      formulaArenaBytes: b.arena.formula.arenaBytes,
      plannedArenaBytes: b.arena.formula.plannedBytes,
      sizes: b.sizes,
    });
    return;
  }
  printLine(`built ${b.elfPath} for ${b.board}: TensorFlow Lite Micro (${b.library.name} ${b.library.version}, CMSIS-NN) on tinyml's bare-metal Arduino core (model ${b.modelHash}, build ${b.buildId}, -O${b.optimize})`);
  printLine(describeArena(b.arena));
  for (const line of sizeSummary(b.sizes)) printLine(line);
}

export function register(program: Command): void {
  program
    .command('build')
    .description('generate interpreter-free C for an int8 model and compile firmware for a board (flash/RAM summary)')
    .argument('<model>', 'int8 .tflite (or a float model with --calib)')
    .option('-b, --board <id>', 'target board (see `tinyml boards`); the native backend builds bare-metal firmware for mps2-an386, netduinoplus2, nano33ble(-sense) with --bare-metal, stm32f4-discovery and disco-f746ng')
    .option('-o, --out <dir>', 'output folder for the generated C, firmware.elf and size.json (default: build/<board>)')
    .option('-O, --opt <level>', 'optimisation: 2 (speed, default) or s (size)')
    .option('-i, --input <file...>', 'input(s) baked into the firmware, one per model input (raw bytes in the input dtype, .npy, .npz or ONNX .pb); default: zero points')
    .option('--calib <data>', 'calibration data: quantizes a float model to int8 on the way')
    .option('--kernels <set>', "kernel set: dsp (Armv7E-M SIMD, the default on cores with DSP) or portable (C99, the default elsewhere)")
    .option('--profile', 'compile the per-op profiling hooks')
    .option('--generate-only', 'write the generated C, the kernels, runtime and platform sources and a Makefile; compile nothing (for a machine without arm-none-eabi-gcc; `make` there builds the same firmware)')
    .option('--json', 'print the build result as JSON')
    .option('--runtime <name>', 'Arduino boards: an Arduino sketch with tflm (TensorFlow Lite Micro, default) or native (tinyml C) runtime')
    .option('--report-serial <serial>', 'Arduino sketches: Serial (USB, default) or Serial1 (hardware UART, for Renode)')
    .option('--bare-metal', 'Arduino boards with a bare-metal platform (nano33ble, nano33ble-sense): tinyml\'s own firmware, no Arduino core (firmware.elf + firmware.bin at the bootloader offset; report on the TX pin)')
    .option('--arena <measure|formula|bytes>', 'TFLite Micro: the tensor arena: measured with the library in QEMU (default when the library is installed; cached), the formula, or a byte count')
    .option('--tflm-lib <path>', 'TFLite Micro: the Chirale_TensorFLowLite 2.0.0 library (default: $TINYML_TFLM_LIB, then the Arduino libraries folder)')
    .action(
      async (
        model: string,
        opts: BuildCliOptions,
      ) => {
        if (!opts.board) throw new UsageError('build needs a board: pass --board <id> (run `tinyml boards` to list them)');
        if (opts.bareMetal && (opts.runtime !== undefined || opts.reportSerial !== undefined)) {
          throw new UsageError('--bare-metal builds tinyml\'s own firmware without an Arduino core: drop --runtime and --report-serial, which are for Arduino sketches');
        }
        const board = getBoard(opts.board);
        if (opts.runtime === 'tflm' && board.fqbn === null) return buildTflmElf(model, { ...opts, board: opts.board });
        if (opts.runtime === 'native' && board.fqbn === null) opts.runtime = undefined;
        if (!opts.bareMetal && wantsArduinoSketch(opts.board, opts.runtime)) {
          const a = await buildArduinoSketch(model, {
            board: opts.board,
            runtime: opts.runtime ?? 'tflm',
            out: opts.out,
            calib: opts.calib,
            inputs: opts.input,
            reportSerial: opts.reportSerial,
            arena: opts.arena,
            tflmLib: opts.tflmLib,
            onProgress: progressLine,
            native: { kernels: kernelSet(opts.kernels), optimize: optLevel(opts.opt), profile: opts.profile },
          });
          for (const w of a.warnings) warn(w);
          if (opts.json) printJson(a);
          else for (const line of a.summary) printLine(line);
          return;
        }
        if (opts.arena !== undefined || opts.tflmLib !== undefined) throw new UsageError(`${opts.arena !== undefined ? '--arena' : '--tflm-lib'} is for the TFLite Micro runtime: add --runtime tflm, or drop it`);
        const r = build(model, {
          board: opts.board,
          out: opts.out,
          opt: opts.opt?.replace(/^-?O/, ''),
          inputs: opts.input,
          calib: opts.calib,
          kernels: opts.kernels,
          profile: opts.profile,
          generateOnly: opts.generateOnly,
        });
        for (const w of r.warnings) warn(w);
        if (r.generatedOnly) {
          if (opts.json) {
            printJson({ model: r.model, board: r.board, outDir: r.outDir, generatedOnly: true, modelHash: r.modelHash, buildId: r.buildId, optimize: r.optimize, kernels: r.kernels, quantizedWithCalib: r.quantized, files: r.files, warnings: r.warnings });
            return;
          }
          printLine(`generated the firmware sources for ${r.board} in ${safe(r.outDir)} (model ${r.modelHash}, build ${r.buildId}, -O${r.optimize}, ${r.kernels} kernels); nothing compiled`);
          printLine(`build them with \`make\` in that folder (arm-none-eabi-gcc and newlib): firmware.elf, firmware.bin, firmware.hex`);
          return;
        }
        if (opts.json) {
          printJson({
            model: r.model,
            board: r.board,
            elf: r.elfPath,
            bin: r.binPath,
            hex: r.hexPath,
            outDir: r.outDir,
            modelHash: r.modelHash,
            buildId: r.buildId,
            optimize: r.optimize,
            kernels: r.kernels,
            quantizedWithCalib: r.quantized,
            cachedObjects: r.cachedObjects,
            sizes: r.sizes,
            files: r.files,
            warnings: r.warnings,
          });
          return;
        }
        printLine(`built ${safe(r.elfPath)} for ${r.board} (model ${r.modelHash}, build ${r.buildId}, -O${r.optimize}, ${r.kernels} kernels)`);
        printLine(`flash image ${safe(r.binPath)} (raw bytes from the flash origin, for bossac or st-flash) and ${safe(r.hexPath)} (Intel HEX, for J-Link, pyOCD or STM32CubeProgrammer)`);
        for (const line of r.summary) printLine(line);
      },
    );
}
