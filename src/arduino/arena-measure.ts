/**
 * Measuring the tensor arena the pinned TensorFlow Lite Micro library needs for a model: the
 * model's TFLM sketch, built for QEMU mps2-an386 with tinyml's bare-metal Arduino core and
 * -DTML_TFLM_MEASURE_ARENA=<largest>, uses only the first `tml_tflm_probe_arena_bytes` of its
 * arena, a variable rewritten in the ELF before each run. Each probe is a run from reset:
 *
 *   1. the largest arena: AllocateTensors() and Invoke() must pass; its mem record gives
 *      arena_used_bytes() U. No arena below U can work (what TFLM keeps allocated needs U bytes
 *      at once), so align16(U) - 16 is refused without a run;
 *   2. from align16(U) up in doubling steps until a run passes, then bisection in 16-byte steps:
 *      the smallest arena whose run passes AllocateTensors(), Invoke() and reaches `done`.
 *
 * A run that fails counts as refused whether TFLite Micro reports it (allocate_failed) or
 * crashes (some kernels write through the null pointer a failed allocation returns; the
 * sketch's fault reporter ends the run): probing in separate runs keeps one probe's damage out
 * of the next. The run with exactly the result is the verification.
 *
 * What TFLM allocates depends on the model, the library and the CPU's kernel variants (the
 * CMSIS-NN scratch buffers differ with and without the DSP extension), not on the compiler's
 * optimisation or the board's clock, so the result is cached per
 *
 *   <cache>/tflm-arena/<library version>-<library hash>/<cpu class>/<model sha256>.json
 *
 * and the CPU class decides the build flags: Armv7E-M (Cortex-M4/M7, with DSP), Armv7-M
 * (Cortex-M3), Armv6-M (Cortex-M0/M0+). All of them run on the emulated Cortex-M4.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceError, DoesNotFitError, TimeoutError, UnsupportedError } from '../errors.ts';
import { getBoard, type Board } from '../boards/registry.ts';
import { cacheDir } from '../build/paths.ts';
import { emulatorFor } from '../emulate/runner.ts';
import { ReportCollector, describeDeviceError, type DeviceReport } from '../report/device-report.ts';
import { symbolBytes } from '../eval/elf-symbols.ts';
import { sha256Hex, type Int8Model } from './sketch-common.ts';
import type { TflmLibrary } from './tflm-library.ts';
import { buildTflmFirmware } from './tflm-firmware.ts';
import { formulaArena, tflmModelOf } from './sketch-tflm.ts';
import type { TflmArenaPlan } from './arena.ts';

/** The emulated board every measurement runs on. */
export const MEASURE_BOARD = 'mps2-an386';
export const MEASURE_MACHINE = 'mps2-an386';
/** The largest arena a measurement tries (mps2-an386 has 4 MiB of RAM). */
export const MEASURE_MAX_BYTES = 3 * 1024 * 1024;

/** One probe run: AllocateTensors() and one Invoke(); longer means the firmware hung. */
export const PROBE_TIMEOUT_MS = 60_000;

export type CpuClass = 'armv7e-m' | 'armv7-m' | 'armv6-m';

export function cpuClassOf(board: Board): CpuClass {
  if (board.dsp) return 'armv7e-m';
  if (/cortex-m0/.test(board.cpu)) return 'armv6-m';
  return 'armv7-m';
}

/** Flags of a measurement build for a CPU class (code that the emulated Cortex-M4 runs). */
export function cpuClassFlags(cls: CpuClass): string[] {
  switch (cls) {
    case 'armv7e-m':
      return ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'];
    case 'armv7-m':
      return ['-mcpu=cortex-m3', '-mthumb', '-mfloat-abi=soft'];
    case 'armv6-m':
      return ['-mcpu=cortex-m0plus', '-mthumb', '-mfloat-abi=soft'];
  }
}

export interface ArenaMeasurement {
  /** Smallest arena AllocateTensors() accepts, in bytes (a multiple of 16). */
  needed_bytes: number;
  /** The largest arena shown not to work (needed - 16). */
  refused_bytes: number;
  /** How: a run with it failed, or it is below arena_used_bytes(). */
  refused_by: 'run' | 'arena_used_bytes';
  /** MicroInterpreter::arena_used_bytes() in the run with exactly needed_bytes. */
  arena_used_bytes: number | null;
  probes: number;
  /** The run with exactly needed_bytes invoked the model successfully. */
  verified: boolean;
  library: string;
  cpu_class: CpuClass;
  model_sha256: string;
}

export function measurementCachePath(lib: TflmLibrary, cls: CpuClass, tflite: Uint8Array): string {
  return join(cacheDir(), 'tflm-arena', `${lib.version}-${lib.contentHash.slice(0, 12)}`, cls, `${sha256Hex(tflite).slice(0, 32)}.json`);
}

export interface MeasureOptions {
  model: Int8Model;
  lib: TflmLibrary;
  cpuClass: CpuClass;
  /** Largest arena to try (default MEASURE_MAX_BYTES); a model needing more does not fit. */
  maxBytes?: number;
  onProgress?: (message: string) => void;
}

export interface ProbeRun {
  /** The arena size of this run. */
  bytes: number;
  /** AllocateTensors() and Invoke() passed and the run reached done(ok). */
  ok: boolean;
  /** ok, allocate_failed, a fault code (hardfault, ...), invoke_failed, or no_done. */
  outcome: string;
  /** arena_used_bytes() of a passing run. */
  usedBytes: number | null;
  report: DeviceReport;
}

/** Runs the measurement ELF from reset with the first `bytes` of its arena (and `inputs`, if given). */
export async function probeArena(elf: Uint8Array, bytes: number, path: string, inputs?: Uint8Array[]): Promise<ProbeRun> {
  const image = new Uint8Array(elf);
  const slot = symbolBytes(elf, 'tml_tflm_probe_arena_bytes');
  new DataView(image.buffer, image.byteOffset + slot.fileOffset, 4).setUint32(0, bytes, true);
  inputs?.forEach((b, i) => image.set(b, symbolBytes(elf, `tml_baked_input_${i}`).fileOffset));
  writeFileSync(path, image);
  const collector = new ReportCollector();
  let timedOut = false;
  try {
    await emulatorFor(getBoard(MEASURE_BOARD), { emulator: 'qemu' }).run({ elfPath: path, timeoutMs: PROBE_TIMEOUT_MS, onItem: (item) => collector.add(item) });
  } catch (e) {
    // A probe that never ends (a crash where no fault reporter is installed: Cortex-M0+) is refused.
    if (!(e instanceof TimeoutError)) throw e;
    timedOut = true;
  }
  const rep = collector.report;
  const error = rep.errors[0];
  const mem = rep.mem as unknown as Record<string, unknown> | null;
  const ok = !error && rep.done?.['status'] === 'ok' && rep.inferences.length > 0;
  return {
    bytes,
    ok,
    outcome: ok ? 'ok' : error ? String(error['code'] ?? 'error') : timedOut ? 'timeout' : 'no_done',
    usedBytes: typeof mem?.['arena_used_bytes'] === 'number' ? mem['arena_used_bytes'] : null,
    report: rep,
  };
}

export interface ArenaSearch {
  needed: number;
  refused: number;
  /** How `refused` is known: a run that failed, or being below arena_used_bytes(). */
  refusedBy: 'run' | 'arena_used_bytes';
  usedBytes: number;
  probes: number;
  /** The run with exactly `needed` bytes. */
  verified: ProbeRun;
  /** The run with the largest arena. */
  largest: ProbeRun;
}

const up16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * The smallest arena for the measurement ELF (see the file comment). Throws DoesNotFitError when
 * even `maxBytes` fails to allocate, UnsupportedError when the library fails to invoke the model.
 */
export async function searchArena(elfPath: string, maxBytes: number, work: string, label: string, inputs?: Uint8Array[]): Promise<ArenaSearch> {
  const elf = new Uint8Array(readFileSync(elfPath));
  let n = 0;
  const probe = (bytes: number) => probeArena(elf, bytes, join(work, `probe-${n++}.elf`), inputs);
  const largest = await probe(maxBytes);
  if (!largest.ok) {
    if (largest.outcome === 'invoke_failed') {
      const why = largest.report.logs.filter((l) => l.trim().length > 0).slice(-2).join(' / ');
      throw new UnsupportedError(`TensorFlow Lite Micro fails to run ${label}${why ? ` ("${why}")` : ''}: use --runtime native`);
    }
    if (largest.outcome === 'allocate_failed' || largest.outcome.endsWith('fault')) {
      throw new DoesNotFitError(`TensorFlow Lite Micro cannot allocate ${label}'s tensors even in a ${maxBytes}-byte arena (${largest.outcome}): use a smaller model or a board with more RAM, or --runtime native (tinyml plans its own arena)`);
    }
    const e = largest.report.errors[0];
    throw new DeviceError(`the arena measurement run of ${label} ended without done (${e ? describeDeviceError(e) : largest.outcome}): report this with the model`);
  }
  const used = largest.usedBytes ?? 0;
  let bad = Math.max(0, up16(used) - 16);
  let good = maxBytes;
  let goodRun = largest;
  let refusedBy: ArenaSearch['refusedBy'] = 'arena_used_bytes';
  // Doubling steps from the lower bound: most models need a little more than arena_used_bytes().
  for (let step = 16; bad + step < good; step *= 2) {
    const r = await probe(bad + step);
    if (r.ok) {
      good = r.bytes;
      goodRun = r;
      break;
    }
    bad = r.bytes;
    refusedBy = 'run';
  }
  while (good - bad > 16) {
    const r = await probe(Math.floor((bad + good) / 32) * 16);
    if (r.ok) {
      good = r.bytes;
      goodRun = r;
    } else {
      bad = r.bytes;
      refusedBy = 'run';
    }
  }
  return { needed: good, refused: bad, refusedBy, usedBytes: used, probes: n, verified: goodRun, largest };
}

/**
 * The measured arena of a model, from the cache or measured now. Throws DoesNotFitError when
 * even maxBytes is refused, UnsupportedError when the library fails to run the model (the
 * TFLM log line says why), DeviceError when the measurement firmware misbehaves.
 */
export async function measureTflmArena(opts: MeasureOptions): Promise<ArenaMeasurement & { cached: boolean }> {
  const { tflite, graph } = tflmModelOf(opts.model);
  const cachePath = measurementCachePath(opts.lib, opts.cpuClass, tflite);
  if (existsSync(cachePath)) {
    try {
      const m = JSON.parse(readFileSync(cachePath, 'utf8')) as ArenaMeasurement;
      if (typeof m.needed_bytes === 'number' && m.needed_bytes > 0) return { ...m, cached: true };
    } catch {
      // a damaged cache entry is measured again
    }
  }
  const maxBytes = Math.floor((opts.maxBytes ?? MEASURE_MAX_BYTES) / 16) * 16;
  opts.onProgress?.(`measuring the TFLite Micro arena of ${opts.model.label} in QEMU ${MEASURE_MACHINE} (${opts.cpuClass}), once per model and library`);
  const outDir = mkdtempSync(join(tmpdir(), 'tinyml-tflm-arena-'));
  try {
    const build = await buildTflmFirmware({
      model: opts.model,
      board: MEASURE_BOARD,
      outDir,
      lib: opts.lib,
      arena: formulaArena(graph, 'measurement build'),
      cpuFlags: cpuClassFlags(opts.cpuClass),
      measureArenaMax: maxBytes,
      runs: 1,
      onProgress: opts.onProgress,
    });
    const s = await searchArena(build.elfPath, maxBytes, outDir, opts.model.label);
    const m: ArenaMeasurement = {
      needed_bytes: s.needed,
      refused_bytes: s.refused,
      refused_by: s.refusedBy,
      arena_used_bytes: s.verified.usedBytes,
      probes: s.probes,
      verified: s.verified.ok,
      library: `${opts.lib.name} ${opts.lib.version}`,
      cpu_class: opts.cpuClass,
      model_sha256: sha256Hex(tflite),
    };
    mkdirSync(join(cachePath, '..'), { recursive: true });
    const tmp = `${cachePath}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(m, null, 2)}\n`);
    renameSync(tmp, cachePath);
    return { ...m, cached: false };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** The arena plan from a measurement. */
export function measuredArena(graph: Parameters<typeof formulaArena>[0], m: ArenaMeasurement): TflmArenaPlan {
  const f = formulaArena(graph);
  return { arenaBytes: m.needed_bytes, source: 'measured', neededBytes: m.needed_bytes, formula: f.formula };
}
