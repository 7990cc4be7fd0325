/**
 * The device column of `tinyml eval --device <board>`: the int8 model's firmware runs the same
 * samples on an emulated Cortex-M board (QEMU or Renode), and its raw output integers must equal the TS
 * int8 reference's element for element.
 *
 * The firmware reads its input from a baked const array (tml_baked_input_<k> in tml_input.c).
 * It is compiled once, with the first sample baked in; for every further sample the array's
 * bytes are rewritten in a copy of the ELF (located through the symbol table, and checked to
 * hold the first sample's bytes before anything is rewritten), so N samples cost one build and
 * N emulator runs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceError, DeviceFaultError, MismatchError, UnsupportedError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { TensorValue } from '../reference/tensor-value.ts';
import { bytesOfTyped, isNpyDType, typedFromBytes } from '../data/npy.ts';
import { buildFirmware, DEFAULT_OPT, type KernelSet } from '../build/firmware.ts';
import { progress } from '../progress.ts';
import { ReportCollector, describeDeviceError } from '../report/device-report.ts';
import { emulatedBoard } from '../run/run.ts';
import { symbolBytes } from './elf-symbols.ts';
import { buildTflmForEmulator, type Runtime } from '../arduino/tflm-emulated.ts';

/** Samples run on the device when --device-samples is not given: one build, a few emulator runs. */
export const DEFAULT_DEVICE_SAMPLES = 5;
/** Differing elements listed one by one; the rest are counted. */
export const DIFFERENCES_LISTED = 20;

export interface ElementDifference {
  sample: number;
  output: number;
  /** Flat index into the output tensor (IR layout: NHWC, the TFLite layout). */
  index: number;
  /** null when the device sent fewer elements than the reference has (or more). */
  device: number | null;
  reference: number | null;
}

export interface DeviceComparison {
  samples: number;
  /** Output elements compared over all samples. */
  elements: number;
  /** How many of them differ. */
  differing: number;
  /** The first DIFFERENCES_LISTED differing elements, in sample/output/index order. */
  differences: ElementDifference[];
}

/**
 * Compares device outputs with the int8 reference's, exactly (raw integers, not dequantized).
 * Both are [sample][output] tensor values; a length difference counts every unmatched element.
 */
export function compareWithReference(reference: TensorValue[][], device: TensorValue[][], listed = DIFFERENCES_LISTED): DeviceComparison {
  const result: DeviceComparison = { samples: reference.length, elements: 0, differing: 0, differences: [] };
  reference.forEach((refOuts, sample) => {
    refOuts.forEach((ref, output) => {
      const r = ref.data as ArrayLike<number | bigint>;
      const d = (device[sample]?.[output]?.data ?? []) as ArrayLike<number | bigint>;
      const n = Math.max(r.length, d.length);
      result.elements += n;
      for (let index = 0; index < n; index++) {
        const rv = index < r.length ? Number(r[index]) : null;
        const dv = index < d.length ? Number(d[index]) : null;
        if (rv === dv) continue;
        result.differing++;
        if (result.differences.length < listed) result.differences.push({ sample, output, index, device: dv, reference: rv });
      }
    });
  });
  return result;
}

export interface EmulatorRuns {
  board: string;
  /** 'QEMU' or 'Renode'. */
  emulator: string;
  machine: string;
  /** [sample][output], IR layout and the output tensors' dtypes. */
  outputs: TensorValue[][];
  /** Firmware builds done (1: further samples are swapped into the same ELF). */
  builds: number;
  buildMs: number;
  /** Wall time of all emulator runs. */
  emulatorMs: number;
}

/**
 * Runs each sample (model inputs in IR layout and dtype) through the graph's firmware on an
 * emulated board. `modelBytes`, when the graph came from a file, lets the firmware's model
 * hash be the file's, as `tinyml run` reports it. `kernels`: the board's default set unless given.
 */
export async function runSamplesOnEmulator(
  graph: Graph,
  samples: TensorValue[][],
  board: string,
  modelBytes?: Uint8Array,
  kernels?: KernelSet,
  target: { runtime?: Runtime; tflmLib?: string } = {},
): Promise<EmulatorRuns> {
  const { machine, emulator } = emulatedBoard(board);
  const outDir = mkdtempSync(join(tmpdir(), 'tinyml-eval-device-'));
  try {
    const emulatorName = emulator.id === 'renode' ? 'Renode' : 'QEMU';
    if (samples.length === 0) return { board, emulator: emulatorName, machine, outputs: [], builds: 0, buildMs: 0, emulatorMs: 0 };
    const bytesOf = (sample: TensorValue[]) => sample.map((v) => bytesOfTyped(v.data));
    const t0 = performance.now();
    const build =
      target.runtime === 'tflm'
        ? await buildTflmForEmulator({ graph, modelBytes, board, outDir, inputs: bytesOf(samples[0]!), optimize: '2', runs: 1, tflmLib: target.tflmLib })
        : buildFirmware({ graph, modelBytes, board, outDir, inputs: bytesOf(samples[0]!), optimize: DEFAULT_OPT, kernels, runs: 1 });
    const buildMs = performance.now() - t0;

    const elf = new Uint8Array(readFileSync(build.elfPath));
    const first = bytesOf(samples[0]!);
    const slots = first.map((bytes, k) => {
      const slot = symbolBytes(elf, `tml_baked_input_${k}`);
      const baked = elf.subarray(slot.fileOffset, slot.fileOffset + slot.size);
      if (slot.size !== bytes.length || !baked.every((b, i) => b === bytes[i])) {
        throw new DeviceError(`the firmware's tml_baked_input_${k} does not hold the input it was built with: the firmware layout changed, rebuild per sample`);
      }
      return slot;
    });

    const outputs: TensorValue[][] = [];
    let emulatorMs = 0;
    const patched = join(outDir, 'firmware-sample.elf');
    for (const [k, sample] of samples.entries()) {
      const image = new Uint8Array(elf);
      bytesOf(sample).forEach((bytes, i) => image.set(bytes, slots[i]!.fileOffset));
      writeFileSync(patched, image);
      const collector = new ReportCollector();
      const run = await emulator.run({ elfPath: patched, onItem: (item) => collector.add(item) });
      emulatorMs += run.wallMs;
      progress({ stage: `running the samples on ${board} (${emulatorName})`, done: k + 1, total: samples.length });
      const rep = collector.report;
      const where = `on ${board} (sample ${k})`;
      if (rep.errors[0]) throw new DeviceFaultError(`the emulated firmware reported ${describeDeviceError(rep.errors[0])} ${where}`);
      if (!rep.done) throw new DeviceError(`the emulated firmware stopped without a done record ${where}: see tinyml run on the int8 model for its log`);
      if (!rep.hello) throw new DeviceError(`no hello record from the emulated firmware ${where}: see tinyml run on the int8 model for its log`);
      if (rep.hello.model_hash !== build.modelHash) {
        throw new MismatchError(`the emulated firmware runs model ${rep.hello.model_hash} but the model built is ${build.modelHash}: rerun eval`);
      }
      outputs.push(
        graph.outputs.map((go, j): TensorValue => {
          const t = graph.tensors[go.tensor]!;
          const bytes = rep.outputs[j];
          if (!bytes) throw new DeviceError(`the emulated firmware sent no output ${j} ${where}`);
          if (!isNpyDType(t.dtype)) throw new UnsupportedError(`output ${j} has dtype ${t.dtype}, which the device column cannot compare`);
          return { dtype: t.dtype, shape: [...t.shape], data: typedFromBytes(t.dtype, bytes, `device output ${j}`) };
        }),
      );
    }
    return { board, emulator: emulatorName, machine, outputs, builds: 1, buildMs, emulatorMs };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
