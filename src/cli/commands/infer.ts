/** `tinyml infer <model> --input <file>...`: one inference, outputs printed and written as raw bytes. */
import type { Command } from 'commander';
import { infer, jsonValues, type InferResult } from '../../infer/infer.ts';
import { ENGINES } from '../../infer/engines.ts';
import { printJson, printLine, safe, warn } from '../output.ts';

export function register(program: Command): void {
  program
    .command('infer')
    .description('run one inference on input files and print/write the outputs')
    .argument('<model>', '.tflite or .onnx model')
    .requiredOption('-i, --input <file...>', 'one input file per model input: raw .bin in the input dtype, .npy, .npz or an ONNX TensorProto .pb (in the model\'s own layout, e.g. NCHW for ONNX; float data for an int8 input is quantized with its scale and zero point)')
    .option('-o, --out <dir>', 'write each output as raw little-endian bytes to <dir>/output_<j>.bin')
    .option('-e, --engine <id>', `engine: ${ENGINES.map((e) => e.id).join(' | ')} (default: float when it runs every op of the model, else reference)`)
    .option('-b, --board <id>', 'emulated board for --engine emulator: mps2-an386 (default), netduinoplus2 (QEMU) or nano33ble, nano33ble-sense, stm32f4-discovery, disco-f746ng (Renode)')
    .option('--runtime <name>', 'for --engine emulator: native (tinyml C, default) or tflm (TensorFlow Lite Micro)')
    .option('--tflm-lib <path>', 'for --runtime tflm: the Chirale_TensorFLowLite 2.0.0 library (default: $TINYML_TFLM_LIB, then the Arduino libraries folder)')
    .option('--json', 'print the result as JSON (all output values)')
    .action(async (model: string, opts: { input: string[]; out?: string; engine?: string; board?: string; runtime?: string; tflmLib?: string; json?: boolean }) => {
      const r = await infer(model, { inputs: opts.input, out: opts.out, engine: opts.engine, board: opts.board, runtime: opts.runtime, tflmLib: opts.tflmLib });
      if (opts.json) printJson(toJson(r));
      else printText(r);
    });
}

function toJson(r: InferResult): unknown {
  return {
    model: r.model,
    format: r.format,
    engine: r.engine,
    inputs: r.inputs,
    outputs: r.outputs.map((o) => ({
      index: o.index,
      name: o.name,
      dtype: o.dtype,
      shape: o.shape,
      argmax: o.argmax,
      ...(o.quant ? { quant: o.quant } : {}),
      ...(o.file ? { file: o.file } : {}),
      values: jsonValues(o.data),
    })),
    notes: r.notes,
  };
}

const PREVIEW = 16;

function printText(r: InferResult): void {
  for (const n of r.notes) warn(n);
  printLine(`${safe(r.model)}: ${r.engine} engine`);
  for (const o of r.outputs) {
    const values = jsonValues(o.data);
    const shown = values.slice(0, PREVIEW).map((v) => (o.dtype.startsWith('float') ? Number(v.toPrecision(6)) : v)).join(' ');
    const more = values.length > PREVIEW ? ` ... (${values.length} values)` : '';
    printLine(`output ${o.index} '${safe(o.name)}' ${o.dtype} [${o.shape.join(',')}] argmax ${o.argmax}${o.file ? ` -> ${safe(o.file)}` : ''}`);
    printLine(`  ${shown}${more}`);
  }
}
