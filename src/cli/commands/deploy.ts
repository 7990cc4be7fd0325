/**
 * `tinyml deploy <model> --board <id>`: convert (float + --calib), then on an emulated board
 * build + run in QEMU or Renode, on an Arduino board generate the sketch + compile + upload with
 * arduino-cli + read the board's report (src/cli/arduino-deploy.ts). Same report, budgets and
 * JUnit either way.
 */
import type { Command } from 'commander';
import { deploy } from '../../run/deploy.ts';
import { printJson, printLine, safe } from '../output.ts';
import { UsageError } from '../../errors.ts';
import { isArduinoTarget, runArduinoDeploy } from '../arduino-deploy.ts';
import { addRunOptions, failOnBudgets, printRunReport, runOptionsFrom, runToJson, withJunit, type RunCliOptions } from './run.ts';

export function register(program: Command): void {
  addRunOptions(
    program
      .command('deploy')
      .description('quantize (float models, with --calib), then build and run a model on an emulated board (QEMU, Renode) or upload it to an Arduino board (arduino-cli), and print its report')
      .argument('<model>', '.tflite or .onnx model, int8 or float'),
    true,
  )
    .option('--calib <data>', 'calibration data to quantize a float model (as for tinyml convert)')
    .option('-p, --port <path>', 'Arduino boards: serial port (default: found by USB VID:PID)')
    .action(async (model: string, opts: RunCliOptions & { calib?: string; port?: string }) => {
      // Arduino boards: --runtime tflm (default there) or native, uploaded with arduino-cli;
      // --emulator renode on an Arduino board (nano33ble) runs it in Renode instead.
      if (opts.emulator === undefined && isArduinoTarget(opts.board)) return runArduinoDeploy(model, opts);
      if (opts.port !== undefined) throw new UsageError(`--port is for Arduino boards; ${opts.board} runs in an emulator: drop --port`);
      // undefined: not converted; null: converted into a temporary folder that is gone.
      let converted: string | null | undefined;
      const result = await withJunit(opts.junit, `${model} on ${opts.board}`, async () => {
        const d = await deploy({ ...runOptionsFrom(opts, model), model, calib: opts.calib });
        if (d.converted) converted = d.int8Model;
        return d.run;
      });
      if (opts.json) printJson({ ...(runToJson(result) as object), int8Model: converted === undefined ? model : converted });
      else {
        if (converted) printLine(`quantized ${safe(model)} -> ${safe(converted)}`);
        else if (converted === null) printLine(`quantized ${safe(model)} to int8 in a temporary folder, now removed (--out <dir> or --keep keeps the int8 .tflite and the firmware)`);
        printRunReport(result);
      }
      failOnBudgets(result);
    });
}
