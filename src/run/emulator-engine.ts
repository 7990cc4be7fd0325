/**
 * The `emulator` inference engine: builds the graph's firmware with the given inputs baked in,
 * runs it in the board's emulator (QEMU, or Renode for the Nano 33 BLE and STM32 Discovery
 * boards), and returns the output tensors the device reported, so the emulated
 * Cortex-M answers through `tinyml infer` (and `eval`) like the reference engines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceError, DeviceFaultError, UnsupportedError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { RunOptions, RunResult, TensorValue } from '../reference/tensor-value.ts';
import { bytesOfTyped, isNpyDType, typedFromBytes } from '../data/npy.ts';
import { buildFirmware, DEFAULT_OPT, isQuantizedGraph, type KernelSet } from '../build/firmware.ts';
import { ReportCollector, describeDeviceError } from '../report/device-report.ts';
import { assertBackendRuns, floatModelRefusal } from '../backends/support.ts';
import { emulatedBoard } from './run.ts';
import { buildTflmForEmulator, type Runtime } from '../arduino/tflm-emulated.ts';

/** What the emulator engine builds: tinyml's native C (default) or the TFLite Micro sketch. */
export interface EmulatorEngineOptions {
  board?: string;
  runtime?: Runtime;
  /** --tflm-lib for the TFLM runtime. */
  tflmLib?: string;
  /** The model file's bytes (the TFLM sketch embeds a .tflite as it is). */
  modelBytes?: Uint8Array;
}

export const DEFAULT_EMULATED_BOARD = 'mps2-an386';

/** Registered in src/infer/engines.ts. The board comes from RunOptions.board (the infer command's
 * --board), default mps2-an386. */
export const emulatorEngine = {
  id: 'emulator',
  summary: 'the firmware built for an emulated Cortex-M board and run in QEMU or Renode: tinyml native C, or TensorFlow Lite Micro with --runtime tflm (int8 models; board mps2-an386 by default, or any board `tinyml boards` lists with an emulator)',
  check(graph: Graph): void {
    if (!isQuantizedGraph(graph)) throw floatModelRefusal('emulator', graph);
    assertBackendRuns(graph, 'native-c');
  },
  async run(graph: Graph, inputs: TensorValue[], opts?: RunOptions & EmulatorEngineOptions): Promise<RunResult> {
    return inferOnEmulator(graph, inputs, opts?.board ?? DEFAULT_EMULATED_BOARD, undefined, opts);
  },
};

/**
 * `kernels`: the board's default kernel set unless given (tests run every set the board can use);
 * the TFLM runtime ignores it (the library's CMSIS-NN kernels).
 */
export async function inferOnEmulator(graph: Graph, inputs: TensorValue[], board: string = DEFAULT_EMULATED_BOARD, kernels?: KernelSet, opts: EmulatorEngineOptions = {}): Promise<RunResult> {
  const { emulator } = emulatedBoard(board);
  const outDir = mkdtempSync(join(tmpdir(), 'tinyml-emulator-'));
  try {
    const bytes = inputs.map((v) => bytesOfTyped(v.data));
    const build =
      opts.runtime === 'tflm'
        ? await buildTflmForEmulator({ graph, modelBytes: opts.modelBytes, board, outDir, inputs: bytes, optimize: '2', runs: 1, tflmLib: opts.tflmLib })
        : buildFirmware({ graph, board, outDir, inputs: bytes, optimize: DEFAULT_OPT, kernels, runs: 1 });
    const collector = new ReportCollector();
    await emulator.run({ elfPath: build.elfPath, onItem: (item) => collector.add(item) });
    const rep = collector.report;
    if (rep.errors[0]) throw new DeviceFaultError(`the emulated firmware reported ${describeDeviceError(rep.errors[0])} on ${board}`);
    if (!rep.done) throw new DeviceError(`the emulated firmware on ${board} stopped without a done record`);
    const outputs = graph.outputs.map((go, j): TensorValue => {
      const t = graph.tensors[go.tensor]!;
      const bytes = rep.outputs[j];
      if (!bytes) throw new DeviceError(`the emulated firmware on ${board} sent no output ${j}`);
      if (!isNpyDType(t.dtype)) throw new UnsupportedError(`output ${j} has dtype ${t.dtype}, which the emulator engine cannot return`);
      return { dtype: t.dtype, shape: [...t.shape], data: typedFromBytes(t.dtype, bytes, `emulator output ${j}`) };
    });
    return { outputs };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
