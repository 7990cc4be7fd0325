/**
 * `tinyml export <model> --format c|cmake|arduino|platformio|zephyr [--out <dir>] [--name <id>]
 *  [--input <file>...] [--kernels portable|dsp] [--board <id>] [--calib <data>] [--no-example] [--json]`: the model as a C library for
 *  the user's own firmware (docs/export.md).
 */
import type { Command } from 'commander';
import { EXPORT_FORMATS, exportModel } from '../../export/export.ts';
import { printJson, printLine, safe, warn } from '../output.ts';

const NEXT_STEP: Record<string, (name: string, dir: string) => string> = {
  c: (_, dir) => `add ${dir}/src/*.c to your build and ${dir}/include to the include path`,
  cmake: (name, dir) => `add_subdirectory(${dir}) and target_link_libraries(<your target> PRIVATE ${name})`,
  arduino: (name, dir) => `copy ${dir}/${name} into your Arduino libraries folder, or add ${dir}/${name}.zip (Sketch > Include Library > Add .ZIP Library)`,
  platformio: (_, dir) => `put ${dir} in your project's lib/ folder (or lib_deps = file://${dir})`,
  zephyr: (name, dir) => `list(APPEND ZEPHYR_EXTRA_MODULES ${dir}) before find_package(Zephyr), and CONFIG_TINYML_${name.toUpperCase()}=y in prj.conf`,
};

export function register(program: Command): void {
  program
    .command('export')
    .description('write the model as a self-contained C library for your own firmware: plain C, CMake, Arduino (+ .zip), PlatformIO or Zephyr module')
    .argument('<model>', 'int8 .tflite (or a float model with --calib)')
    .option('--format <format>', `library layout and build file: ${EXPORT_FORMATS.join(', ')}`, 'c')
    .option('-o, --out <dir>', 'output folder (default: export/<format>); a previous export there is replaced, any other non-empty folder is refused')
    .option('--name <id>', 'library name: header <id>.h, CMake target, Arduino/PlatformIO library, Zephyr module (default: from the model file name)')
    .option('-i, --input <file...>', "the example's sample input, one per model input (raw bytes in the input dtype, .npy, .npz or ONNX .pb); default: zero points")
    .option('--kernels <set>', 'kernel set: portable (C99, any core; the default without --board) or dsp (Armv7E-M DSP instructions: Cortex-M4/M7/M33)')
    .option('-b, --board <id>', "the board the library is for: its core picks the default kernel set, as for `tinyml build`")
    .option('--calib <data>', 'calibration data: quantizes a float model to int8 on the way')
    .option('--no-example', 'leave out the example (sample input, int8 reference outputs, a main that compares them)')
    .option('--json', 'print the export summary as JSON')
    .action((model: string, opts: { format: string; out?: string; name?: string; input?: string[]; calib?: string; kernels?: string; board?: string; example: boolean; json?: boolean }) => {
      const r = exportModel(model, {
        format: opts.format,
        out: opts.out,
        name: opts.name,
        inputs: opts.input,
        calib: opts.calib,
        kernels: opts.kernels,
        board: opts.board,
        example: opts.example,
      });
      for (const w of r.warnings) warn(w);
      const m = r.manifest;
      if (opts.json) {
        printJson({
          model,
          format: m.format,
          name: m.name,
          outDir: r.outDir,
          libraryDir: r.libraryDir,
          zip: r.zip,
          header: m.header,
          modelHash: m.modelHash,
          kernelSet: m.kernelSet,
          arenaBytes: m.arenaBytes,
          weightBytes: m.weightBytes,
          ops: m.ops.length,
          kernels: m.kernels,
          quantizedWithCalib: r.quantizedWithCalib,
          files: m.files,
          warnings: r.warnings,
        });
        return;
      }
      printLine(`exported ${safe(model)} as the ${m.format} library ${m.name} in ${safe(r.libraryDir)} (model ${m.modelHash})`);
      printLine(`  header     ${m.header}: tml_model_init(), tml_model_input(i), tml_model_invoke(), tml_model_output(j)`);
      printLine(`  arena      ${m.arenaBytes} bytes (static, .bss); weights ${m.weightBytes} bytes (flash)`);
      printLine(`  kernels    ${m.kernelSet} set: ${m.kernels.join(' ') || 'none'} (${m.ops.length} ops)`);
      if (opts.kernels === undefined && opts.board === undefined) {
        printLine('  note       portable kernels run on any core; for a Cortex-M4/M7/M33, --board <id> or --kernels dsp gives the faster C of `tinyml build`');
      }
      if (r.zip) printLine(`  zip        ${safe(r.zip)}`);
      printLine(`  next       ${NEXT_STEP[m.format]!(m.name, safe(r.outDir))}`);
    });
}
