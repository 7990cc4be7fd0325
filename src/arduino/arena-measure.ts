/**
 * Measuring the tensor arena the pinned TensorFlow Lite Micro library needs for a model: the
 * model's TFLM sketch, built for QEMU mps2-an386 with tinyml's bare-metal Arduino core and
 * -DTML_TFLM_MEASURE_ARENA=<largest>, bisects for the smallest arena (16-byte steps) with which
 * AllocateTensors() succeeds and then runs the model once with exactly that arena. Its `arena`
 * record says what it found, its `mem` record what TFLM reports as arena_used_bytes().
 *
 * What TFLM allocates depends on the model, the library and the CPU's kernel variants (the
 * CMSIS-NN scratch buffers differ with and without the DSP extension), not on the compiler's
 * optimisation or the board's clock, so the measurement is cached per
 *
 *   <cache>/tflm-arena/<library version>-<library hash>/<cpu class>/<model sha256>.json
 *
 * and the CPU class decides the build flags: Armv7E-M (Cortex-M4/M7, with DSP), Armv7-M
 * (Cortex-M3), Armv6-M (Cortex-M0/M0+). All of them run on the emulated Cortex-M4.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceError, DoesNotFitError, UnsupportedError } from '../errors.ts';
import type { Board } from '../boards/registry.ts';
import { cacheDir } from '../build/paths.ts';
import { runQemu } from '../emulate/qemu.ts';
import { ReportCollector, describeDeviceError } from '../report/device-report.ts';
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
  /** The largest arena it refused (needed - 16). */
  refused_bytes: number;
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
    const collector = new ReportCollector();
    let arenaRecord: Record<string, unknown> | null = null;
    await runQemu({
      elfPath: build.elfPath,
      machine: MEASURE_MACHINE,
      onItem: (item) => {
        collector.add(item);
        if (item.kind === 'record' && item.record.type === 'arena') arenaRecord = item.record;
      },
    });
    const rep = collector.report;
    const rec = arenaRecord as Record<string, unknown> | null;
    const needed = typeof rec?.['needed_bytes'] === 'number' ? rec['needed_bytes'] : null;
    if (rec && needed === 0) {
      throw new DoesNotFitError(`TensorFlow Lite Micro cannot allocate ${opts.model.label}'s tensors even in a ${maxBytes}-byte arena: use a smaller model, or --runtime native (tinyml plans its own arena)`);
    }
    const error = rep.errors[0];
    if (error && error['code'] === 'invoke_failed') {
      const why = rep.logs.filter((l) => l.trim().length > 0).slice(-2).join(' / ');
      throw new UnsupportedError(`TensorFlow Lite Micro ${opts.lib.version} fails to run ${opts.model.label}${why ? ` ("${why}")` : ''}: use --runtime native`);
    }
    if (error) throw new DeviceError(`the arena measurement firmware reported ${describeDeviceError(error)}: report this with the model`);
    if (needed === null || !rep.done) throw new DeviceError('the arena measurement firmware stopped without its arena record: report this with the model');
    const m: ArenaMeasurement = {
      needed_bytes: needed,
      refused_bytes: typeof rec!['refused_bytes'] === 'number' ? rec!['refused_bytes'] : needed - 16,
      arena_used_bytes: typeof (rep.mem as Record<string, unknown> | null)?.['arena_used_bytes'] === 'number' ? (rep.mem as unknown as Record<string, number>)['arena_used_bytes']! : null,
      probes: typeof rec!['probes'] === 'number' ? rec!['probes'] : 0,
      verified: rep.done['status'] === 'ok' && rep.inferences.length > 0,
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
