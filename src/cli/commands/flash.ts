/**
 * `tinyml flash --board <id> [--sketch <dir>] [--port <path>]`: compile a generated Arduino
 * sketch with its pinned profile, upload it with arduino-cli and wait for the board to come
 * back on USB. With a model argument it first generates the sketch and afterwards reads the
 * board's report (the Arduino `deploy` path).
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { flashSketch } from '../../arduino/deploy.ts';
import { progressPrinter, runArduinoDeploy, runtimeOption } from '../arduino-deploy.ts';
import { defaultSketchDir } from '../../arduino/sketch-tflm.ts';
import { printJson, printLine } from '../output.ts';

interface FlashCliOptions {
  board?: string;
  sketch?: string;
  port?: string;
  runtime: string;
  out?: string;
  calib?: string;
  input?: string[];
  runs?: string;
  timeout?: string;
  jsonl?: string;
  json?: boolean;
  arena?: string;
  tflmLib?: string;
}

export function register(program: Command): void {
  program
    .command('flash')
    .description('compile and upload an Arduino sketch with arduino-cli (finds the board by USB VID:PID); with a model, generate it first and show the report')
    .argument('[model]', 'optional: generate the sketch for this model, upload it and read its report')
    .option('-b, --board <id>', 'Arduino board (see `tinyml boards`), e.g. nano33ble')
    .option('--sketch <dir>', 'sketch folder to upload (default: build/<board>-<runtime>)')
    .option('-p, --port <path>', 'serial port of the board (default: found by USB VID:PID)')
    .option('--runtime <name>', 'tflm (TensorFlow Lite Micro) or native (tinyml generated C)', 'tflm')
    .option('-o, --out <dir>', 'with a model: the sketch folder to generate')
    .option('--calib <data>', 'with a float model: calibration data to quantize it')
    .option('-i, --input <file...>', 'with a model: input(s) baked into the sketch')
    .option('-n, --runs <n>', 'with a model: inferences per session (default 1)')
    .option('--timeout <s>', 'with a model: seconds to wait for the report (default 60)')
    .option('--jsonl <file>', 'with a model: append every report record to this JSONL file')
    .option('--arena <measure|formula|bytes>', 'with a model, TFLite Micro: the tensor arena (default: measured when the library is installed)')
    .option('--tflm-lib <path>', 'with a model, TFLite Micro: the Chirale_TensorFLowLite 2.0.0 library used to measure the arena')
    .option('--json', 'print the result as JSON')
    .action(async (model: string | undefined, opts: FlashCliOptions) => {
      if (!opts.board) throw new UsageError('flash needs a board: pass --board <id> (run `tinyml boards` to list them)');
      const runtime = runtimeOption(opts.runtime);
      if (model) {
        await runArduinoDeploy(model, { ...opts, board: opts.board, out: opts.out ?? opts.sketch });
        return;
      }
      // Options that shape or read a generated sketch mean nothing for a sketch folder given as is.
      const withModel = (['out', 'calib', 'input', 'runs', 'timeout', 'jsonl'] as const).find((k) => opts[k] !== undefined);
      if (withModel) {
        const flag = withModel === 'out' ? '--out' : `--${withModel}`;
        throw new UsageError(`${flag} is for \`tinyml flash <model>\` (it generates the sketch and reads its report): add the model, or drop ${flag} to upload ${opts.sketch ?? defaultSketchDir(opts.board, runtime)} as it is`);
      }
      const r = await flashSketch({ board: opts.board, sketchDir: opts.sketch ?? defaultSketchDir(opts.board, runtime), port: opts.port, onProgress: progressPrinter });
      if (opts.json) {
        printJson(r);
        return;
      }
      printLine(`uploaded ${r.sketchDir} (profile ${r.profile}) with arduino-cli ${r.arduinoCli.version} via ${r.uploadPort}`);
      if (r.compile.flashBytes !== null) printLine(`flash: ${r.compile.flashBytes} bytes, RAM (static): ${r.compile.ramBytes ?? '?'} bytes`);
      for (const w of r.compile.warnings) printLine(`warning: ${w}`);
      printLine(`board running the sketch on ${r.port}${r.portChanged ? ' (the port changed after the upload reset)' : ''}: read it with \`tinyml monitor --port ${r.port}\``);
    });
}
