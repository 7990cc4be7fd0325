/**
 * `tinyml run`: build a model's firmware for an emulated board (the native backend's
 * buildFirmware), run it in the board's emulator (QEMU or Renode, src/emulate/runner.ts) behind
 * a pty, decode the report and return the numbers:
 * instructions per inference (min/median/max), MACs per instruction, arena, stack high-water
 * mark, flash, outputs, budget verdicts. Returns data; src/cli/commands/run.ts prints it.
 *
 * Checks that make a CI run fail loudly: a device error or HardFault (DeviceFaultError), a
 * hello whose model hash differs from the model just built (stale firmware, MismatchError),
 * no `done` record (DeviceError/TimeoutError). Budgets are returned as verdicts; the command
 * sets the budget exit code after printing the report.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DeviceError, DeviceFaultError, FileError, MismatchError, UsageError } from '../errors.ts';
import { getBoard, loadBoards, type Board } from '../boards/registry.ts';
import { emulatorFor, type Emulator, type EmulatorChoice, type EmulatorId } from '../emulate/runner.ts';
import { ReportCollector, describeDeviceError, summarizeCosts, type CostSummary, type DeviceReport } from '../report/device-report.ts';
import { JsonlLog } from '../report/jsonl.ts';
import type { DecodedItem, DecoderStats } from '../device/protocol.ts';
import { readModelBytes } from '../formats/load.ts';
import { loadModelFile, type LoadedModel } from '../load/model.ts';
import { progress } from '../progress.ts';
import { dtypeSize, elementCount, type DType, type Graph, type Tensor } from '../ir/graph.ts';
import { decodeBytes } from '../reference/int8/common.ts';
import { opMacs } from '../inspect/metrics.ts';
import { buildFirmware, DEFAULT_OPT, type FirmwareBuild, type KernelSet, type OptLevel } from '../build/firmware.ts';
import { loadInput } from '../infer/inputs.ts';
import { bytesOfTyped } from '../data/npy.ts';
import { buildTflmForEmulator, type Runtime, type TflmEmulatedBuild } from '../arduino/tflm-emulated.ts';
import type { ArenaChoice } from '../arduino/tflm-arena-plan.ts';
import type { TflmArenaPlan } from '../arduino/arena.ts';

/** Timed inferences per run when --runs is not given: enough for min/median/max. */
export const DEFAULT_RUNS = 3;

export interface Budgets {
  maxInstructions?: number;
  maxArena?: number;
  maxFlash?: number;
  maxStack?: number;
}

export interface RunOptions {
  /** Model to build; optional when `elf` is given. */
  model?: string;
  /** Run this already-built firmware instead of building one. */
  elf?: string;
  board: string;
  /** qemu or renode (default: the board's QEMU machine, else its Renode platform). */
  emulator?: string;
  /** Renode launcher or folder (--renode); default $RENODE, PATH, ../shared/tools/renode. */
  renodePath?: string;
  runs?: number;
  /** One raw input file per model input, baked into the firmware. */
  inputs?: string[];
  profile?: boolean;
  /** Compiler optimisation: '2' (default, as every tinyml build) or 's'. */
  optimize?: OptLevel;
  /** Kernel set; default: the board's (dsp on cores with the DSP extension). */
  kernels?: KernelSet;
  /** Build output folder (default: a fresh temporary folder, removed after a successful run). */
  outDir?: string;
  /** Keep the temporary build folder (its path is in the result's build.outDir). */
  keep?: boolean;
  /** The model file already loaded by the caller (so it is not read again). */
  loaded?: LoadedModel;
  /** Every decoded record is appended here as it arrives. */
  jsonl?: string;
  timeoutMs?: number;
  budgets?: Budgets;
  /** Called for every decoded item (the CLI shows device log lines live). */
  onItem?: (item: DecodedItem) => void;
  /** 'native' (default): tinyml's generated C; 'tflm': the TFLite Micro sketch on the bare-metal Arduino core. */
  runtime?: Runtime;
  /** TFLM: --tflm-lib and --arena. */
  tflmLib?: string;
  arena?: ArenaChoice;
  /** Long steps (library compile, arena measurement) as they start. */
  onProgress?: (message: string) => void;
}

export interface BudgetVerdict {
  name: 'instructions' | 'arena' | 'flash' | 'stack';
  option: string;
  limit: number;
  actual: number | null;
  ok: boolean;
}

export interface RunOutput {
  index: number;
  bytes: number;
  hex: string;
  /** The model output's dtype; null when no model was given (--elf alone) or the device sent a
   * different number of bytes than the tensor holds. */
  dtype: DType | null;
  /** The bytes decoded as `dtype` (little-endian); null when dtype is null. */
  values: number[] | null;
  /** Index of the largest value; null when dtype is null. */
  argmax: number | null;
}

/** One output the device sent, decoded with the model's output tensor when there is one. */
export function runOutput(bytes: Uint8Array, index: number, tensor: Tensor | undefined): RunOutput {
  const hex = Buffer.from(bytes).toString('hex');
  const size = tensor ? dtypeSize(tensor.dtype) : 0;
  if (!tensor || size === 0 || bytes.length !== elementCount(tensor.shape) * size) {
    return { index, bytes: bytes.length, hex, dtype: null, values: null, argmax: null };
  }
  const values = Array.from(decodeBytes(tensor.dtype, bytes, bytes.length / size) as ArrayLike<number | bigint>, Number);
  return { index, bytes: bytes.length, hex, dtype: tensor.dtype, values, argmax: values.indexOf(Math.max(...values)) };
}

export interface RunResult {
  board: string;
  emulator: EmulatorId;
  /** QEMU machine or Renode platform file. */
  machine: string;
  /** How the emulator counts ("QEMU mps2-an386, -icount shift=0"), for report headers. */
  emulatorDescription: string;
  /** Renode's exact executed-instruction count of the whole run, init and reporting included (null under QEMU). */
  executedInstructions: number | null;
  runtime: Runtime;
  /** The firmware run; null when it was built in a temporary folder that is now removed. */
  elf: string | null;
  model: string | null;
  /** sha256 prefix of the model file the firmware was built from (null for --elf). */
  expectedModelHash: string | null;
  deviceModelHash: string | null;
  unit: 'instructions' | 'cycles' | null;
  latency: CostSummary | null;
  /** Cost per inference from the batch measurement (small models, finer than one timer tick). */
  batchPerInference: number | null;
  /** The best per-inference figure: the batch mean when there is one, else the median. */
  perInference: number | null;
  macs: number | null;
  macsPerUnit: number | null;
  arenaBytes: number | null;
  stackHighWaterBytes: number | null;
  staticRamBytes: number | null;
  flashBytes: number | null;
  /** The size report when this run built the firmware. */
  /** outDir is null when the temporary build folder was removed (no --out, no --keep). */
  build: { outDir: string | null; buildId: string; sizes: FirmwareBuild['sizes'] } | null;
  /** TFLM runtime: the library, how the arena was sized, and TFLM's arena_used_bytes(). */
  tflm: { library: string; arena: TflmArenaPlan; arenaUsedBytes: number | null } | null;
  ops: { index: number; op: string; cost: number }[];
  outputs: RunOutput[];
  logs: string[];
  decoder: DecoderStats;
  wallMs: number;
  budgets: BudgetVerdict[];
  device: DeviceReport;
}

/** Input files (raw bytes in the input dtype, .npy or .npz) as the bytes to bake in, in IR layout. */
export function bakedInputs(graph: Graph, files: string[]): Uint8Array[] {
  if (files.length !== graph.inputs.length) {
    throw new UsageError(`the model has ${graph.inputs.length} input(s) but ${files.length} --input file(s) were given: pass one --input per model input, in order`);
  }
  return files.map((f, i) => bytesOfTyped(loadInput(f, graph, i).value.data));
}

export function modelHashOf(path: string): string {
  return createHash('sha256').update(readModelBytes(path)).digest('hex').slice(0, 16);
}

/** The board must exist and have an emulator (the one asked for, else its first). */
export function emulatedBoard(id: string, choice: EmulatorChoice = {}): { board: Board; machine: string; emulator: Emulator } {
  const board = getBoard(id);
  const emulator = emulatorFor(board, choice, loadBoards());
  return { board, machine: emulator.machine, emulator };
}

function checkPositive(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) throw new UsageError(`${name} ${v} must be a positive integer`);
}

export function checkBudgets(result: Pick<RunResult, 'latency' | 'arenaBytes' | 'flashBytes' | 'stackHighWaterBytes'>, budgets: Budgets): BudgetVerdict[] {
  const verdicts: BudgetVerdict[] = [];
  const add = (name: BudgetVerdict['name'], option: string, limit: number | undefined, actual: number | null) => {
    if (limit === undefined) return;
    verdicts.push({ name, option, limit, actual, ok: actual !== null && actual <= limit });
  };
  add('instructions', '--max-instructions', budgets.maxInstructions, result.latency ? result.latency.max : null);
  add('arena', '--max-arena', budgets.maxArena, result.arenaBytes);
  add('flash', '--max-flash', budgets.maxFlash, result.flashBytes);
  add('stack', '--max-stack', budgets.maxStack, result.stackHighWaterBytes);
  return verdicts;
}

export async function runOnEmulator(opts: RunOptions): Promise<RunResult> {
  const { machine, emulator } = emulatedBoard(opts.board, { emulator: opts.emulator, renodePath: opts.renodePath });
  checkPositive('--runs', opts.runs);
  if (!opts.model && !opts.elf) throw new UsageError('give a model to build and run, or --elf <file> with a built firmware');
  if (opts.model && !existsSync(opts.model)) throw new FileError(`model ${opts.model} not found: check the path`);
  if (opts.elf) {
    // These are compiled into the firmware: with a built ELF they would be silently ignored.
    const built = ([['--runs', opts.runs], ['--input', opts.inputs], ['--profile', opts.profile], ['--opt', opts.optimize], ['--kernels', opts.kernels], ['--out', opts.outDir], ['--keep', opts.keep]] as const)
      .filter(([, v]) => v !== undefined && v !== false)
      .map(([name]) => name);
    if (built.length > 0) {
      throw new UsageError(`${built.join(', ')} ${built.length === 1 ? 'is' : 'are'} built into the firmware, so --elf cannot change ${built.length === 1 ? 'it' : 'them'}: drop ${built.length === 1 ? 'it' : 'them'}, or run the model without --elf (tinyml run builds it)`);
    }
  }

  emulator.check();
  let elfPath: string;
  let expectedModelHash: string | null = null;
  let macs: number | null = null;
  let graph: Graph | null = null;
  let build: FirmwareBuild | TflmEmulatedBuild | null = null;
  let tflmBuild: TflmEmulatedBuild | null = null;
  let temporary: string | undefined;
  const runtime = opts.runtime ?? 'native';
  if (runtime === 'tflm' && opts.elf) throw new UsageError('--runtime tflm builds the TFLite Micro firmware from the model: drop --elf (or run the ELF without --runtime)');
  if (runtime === 'tflm' && opts.profile) throw new UsageError('--profile times the native runtime\'s ops: TFLite Micro firmware has no per-op records, drop --profile');
  // The model file is read once: its graph, bytes and hash go to the build and the checks.
  const loaded = opts.loaded ?? (opts.model ? loadModelFile(opts.model) : null);
  if (loaded) {
    graph = loaded.graph;
    macs = graph.ops.reduce((n, op) => n + opMacs(graph!, op), 0);
    expectedModelHash = loaded.hash;
  }
  if (opts.elf) {
    if (!existsSync(opts.elf)) throw new FileError(`firmware ${opts.elf} not found: check the path or build it with tinyml build`);
    elfPath = resolve(opts.elf);
  } else {
    // A temporary folder is removed after a successful run; after a failure it stays, so the
    // ELF and map named in the error can be inspected.
    const outDir = opts.outDir ?? (temporary = mkdtempSync(join(tmpdir(), `tinyml-run-${basename(opts.model!).replace(/\W+/g, '_')}-`)));
    if (runtime === 'tflm') {
      tflmBuild = await buildTflmForEmulator({
        modelPath: opts.model,
        board: opts.board,
        outDir,
        inputs: opts.inputs ? bakedInputs(graph!, opts.inputs) : undefined,
        optimize: opts.optimize ?? '2',
        runs: opts.runs ?? DEFAULT_RUNS,
        tflmLib: opts.tflmLib,
        arena: opts.arena,
        onProgress: opts.onProgress,
      });
    }
    build = tflmBuild ?? buildFirmware({
      modelPath: opts.model,
      graph: loaded!.graph,
      modelBytes: loaded!.bytes,
      board: opts.board,
      outDir,
      inputs: opts.inputs ? bakedInputs(graph!, opts.inputs) : undefined,
      optimize: opts.optimize ?? DEFAULT_OPT,
      kernels: opts.kernels,
      profile: opts.profile ?? false,
      runs: opts.runs ?? DEFAULT_RUNS,
    });
    elfPath = build.elfPath;
    expectedModelHash = build.modelHash;
  }

  const log = opts.jsonl ? new JsonlLog(opts.jsonl) : null;
  const collector = new ReportCollector();
  // Progress: inference records as they arrive, out of the runs the firmware was built for.
  const stage = `running on ${opts.board} (${emulator.id})`;
  const expectedRuns = build ? (opts.runs ?? DEFAULT_RUNS) : null;
  let inferences = 0;
  let emulated;
  try {
    emulated = await emulator.run({
      elfPath,
      timeoutMs: opts.timeoutMs,
      onItem: (item) => {
        log?.write(item);
        collector.add(item);
        if (expectedRuns !== null && item.kind === 'record' && item.record.type === 'inference') progress({ stage, done: Math.min(++inferences, expectedRuns), total: expectedRuns });
        opts.onItem?.(item);
      },
    });
  } finally {
    log?.close();
  }
  const rep = collector.report;

  const fault = rep.errors[0];
  if (fault?.code === 'stack_overflow') {
    throw new DeviceFaultError(`the firmware reported a ${describeDeviceError(fault)} on ${opts.board}: the op needs more stack than the firmware reserves (TML_STACK_SIZE in the board's linker script); see the JSONL log (--jsonl)`);
  }
  if (fault) throw new DeviceFaultError(`the firmware reported ${describeDeviceError(fault)} on ${opts.board}: see the JSONL log (--jsonl) and the map file; addr2line -e ${elfPath} <pc> names the function`);
  if (!rep.hello) throw new DeviceError(`no hello record from the firmware on ${opts.board} (${emulated.stats.rejected} rejected lines): is ${basename(elfPath)} a tinyml firmware for ${opts.board}?`);
  if (!emulated.done || !rep.done) throw new DeviceError(`the firmware stopped without a done record on ${opts.board}: see the log lines it printed`);
  if (expectedModelHash && rep.hello.model_hash !== expectedModelHash) {
    throw new MismatchError(`the firmware runs model ${rep.hello.model_hash} but ${opts.model} is ${expectedModelHash}: the ELF is stale, rebuild it (tinyml build) or drop --elf`);
  }

  const unit = rep.unit ?? 'instructions';
  const latency = summarizeCosts(rep.inferences, unit);
  const batchPerInference = rep.batch ? rep.batch.cost / rep.batch.inferences : null;
  const perInference = batchPerInference ?? latency?.median ?? null;
  const memRecord = rep.mem as unknown as Record<string, unknown> | null;
  const result: RunResult = {
    board: opts.board,
    emulator: emulator.id,
    machine,
    emulatorDescription: emulator.describe,
    executedInstructions: emulated.executedInstructions,
    runtime: rep.hello.runtime === 'tflm' ? 'tflm' : 'native',
    elf: elfPath,
    model: opts.model ?? null,
    expectedModelHash,
    deviceModelHash: rep.hello.model_hash,
    unit: rep.unit,
    latency,
    batchPerInference,
    perInference,
    macs,
    macsPerUnit: macs !== null && perInference ? macs / perInference : null,
    arenaBytes: rep.mem?.arena_bytes ?? rep.hello.arena_bytes ?? null,
    stackHighWaterBytes: rep.mem?.stack_high_water_bytes ?? null,
    staticRamBytes: rep.mem?.static_ram_bytes ?? null,
    flashBytes: rep.mem?.flash_used_bytes ?? null,
    build: build ? { outDir: build.outDir, buildId: build.buildId, sizes: build.sizes } : null,
    tflm: tflmBuild
      ? {
          library: `${tflmBuild.library.name} ${tflmBuild.library.version}`,
          arena: tflmBuild.arena,
          arenaUsedBytes: typeof memRecord?.['arena_used_bytes'] === 'number' ? memRecord['arena_used_bytes'] : null,
        }
      : null,
    ops: rep.ops,
    outputs: rep.outputs.map((bytes, index) => runOutput(bytes, index, graph ? graph.tensors[graph.outputs[index]?.tensor ?? -1] : undefined)),
    logs: rep.logs,
    decoder: emulated.stats,
    wallMs: emulated.wallMs,
    budgets: [],
    device: rep,
  };
  result.budgets = checkBudgets(result, opts.budgets ?? {});
  if (temporary !== undefined && !opts.keep) {
    rmSync(temporary, { recursive: true, force: true });
    result.build!.outDir = null;
    result.elf = null;
  }
  return result;
}

