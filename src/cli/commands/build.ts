/**
 * `tinyml build <model> --board <id> [--out <dir>] [--opt s|2] [--input <file>...] [--calib <data>]
 *  [--kernels portable|dsp] [--profile] [--json]`: native C firmware for a bare-metal board.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { build } from '../../build/build.ts';
import { printJson, printLine, safe, warn } from '../output.ts';
import { buildArduinoSketch, wantsArduinoSketch } from '../../arduino/build-sketch.ts';

export function register(program: Command): void {
  program
    .command('build')
    .description('generate interpreter-free C for an int8 model and compile firmware for a board (flash/RAM summary)')
    .argument('<model>', 'int8 .tflite (or a float model with --calib)')
    .option('--board <id>', 'target board (see `tinyml boards`); the native backend builds bare-metal firmware for mps2-an386, netduinoplus2, nano33ble(-sense) with --bare-metal, stm32f4-discovery and disco-f746ng')
    .option('--out <dir>', 'output folder for the generated C, firmware.elf and size.json (default: build/<board>)')
    .option('--opt <level>', 'optimisation: 2 (speed, default) or s (size)')
    .option('--input <file...>', 'input(s) baked into the firmware, one per model input (raw .bin or .npy); default: zero points')
    .option('--calib <data>', 'calibration data: quantizes a float model to int8 on the way')
    .option('--kernels <set>', "kernel set: dsp (Armv7E-M SIMD, the default on cores with DSP) or portable (C99, the default elsewhere)")
    .option('--profile', 'compile the per-op profiling hooks')
    .option('--generate-only', 'write the generated C, the kernels, runtime and platform sources and a Makefile; compile nothing (for a machine without arm-none-eabi-gcc; `make` there builds the same firmware)')
    .option('--json', 'print the build result as JSON')
    .option('--runtime <name>', 'Arduino boards: an Arduino sketch with tflm (TensorFlow Lite Micro, default) or native (tinyml C) runtime')
    .option('--report-serial <serial>', 'Arduino sketches: Serial (USB, default) or Serial1 (hardware UART, for Renode)')
    .option('--bare-metal', 'Arduino boards with a bare-metal platform (nano33ble, nano33ble-sense): tinyml\'s own firmware, no Arduino core (firmware.elf + firmware.bin at the bootloader offset; report on the TX pin)')
    .action(
      (
        model: string,
        opts: { board?: string; out?: string; opt?: string; input?: string[]; calib?: string; kernels?: string; profile?: boolean; json?: boolean; runtime?: string; reportSerial?: string; bareMetal?: boolean; generateOnly?: boolean },
      ) => {
        if (!opts.board) throw new UsageError('build needs a board: pass --board <id> (run `tinyml boards` to list them)');
        if (opts.bareMetal && (opts.runtime !== undefined || opts.reportSerial !== undefined)) {
          throw new UsageError('--bare-metal builds tinyml\'s own firmware without an Arduino core: drop --runtime and --report-serial, which are for Arduino sketches');
        }
        if (!opts.bareMetal && wantsArduinoSketch(opts.board, opts.runtime)) {
          const a = buildArduinoSketch(model, { board: opts.board, runtime: opts.runtime ?? 'tflm', out: opts.out, calib: opts.calib, inputs: opts.input, reportSerial: opts.reportSerial });
          if (opts.json) printJson(a);
          else for (const line of a.summary) printLine(line);
          return;
        }
        const r = build(model, {
          board: opts.board,
          out: opts.out,
          opt: opts.opt,
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
