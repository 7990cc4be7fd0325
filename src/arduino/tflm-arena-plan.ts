/**
 * Sizing the arena of a TFLM sketch (`--arena measure|formula|<bytes>`): measured with the
 * pinned library in QEMU when this machine has the library, the cross compiler and QEMU (once
 * per model, cached), else the formula, saying why it was not measured. A model the library
 * cannot run, or one that needs more arena than the board has, is an error here, not a guess.
 */
import { UsageError } from '../errors.ts';
import type { Board } from '../boards/registry.ts';
import { whichTool } from '../toolchain/tools.ts';
import { QEMU_BINARY } from '../emulate/qemu.ts';
import { cpuClassOf, measureTflmArena, measuredArena, MEASURE_MAX_BYTES, type ArenaMeasurement } from './arena-measure.ts';
import { findTflmLibrary, tflmInstallLine, type TflmLibrary } from './tflm-library.ts';
import { TFLM_LIBRARY } from './profiles.ts';
import { formulaArena, tflmModelOf } from './sketch-tflm.ts';
import type { TflmArenaPlan } from './arena.ts';
import type { Int8Model } from './sketch-common.ts';
import { MissingToolError } from '../errors.ts';

export type ArenaChoice = { kind: 'measure' } | { kind: 'formula' } | { kind: 'bytes'; bytes: number };

/** Parses --arena: measure (default), formula, or a byte count (a multiple of 16). */
export function parseArenaChoice(v: string | undefined): ArenaChoice {
  if (v === undefined || v === 'measure') return { kind: 'measure' };
  if (v === 'formula') return { kind: 'formula' };
  if (/^\d+$/.test(v) && Number(v) > 0 && Number.isSafeInteger(Number(v))) {
    const bytes = Number(v);
    if (bytes % 16 !== 0) throw new UsageError(`--arena ${v} is not a multiple of 16: TFLite Micro aligns the arena to 16 bytes, pass ${Math.ceil(bytes / 16) * 16}`);
    return { kind: 'bytes', bytes };
  }
  throw new UsageError(`--arena must be measure, formula or a byte count, not '${v}'`);
}

/** What stops a measurement on this machine, or null when it can run. */
export function measurementBlocker(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const tool of ['arm-none-eabi-g++', 'arm-none-eabi-ar', QEMU_BINARY]) {
    if (!whichTool(tool, env['PATH'] ?? '')) return `${tool} is not installed`;
  }
  return null;
}

export interface ArenaPlanOptions {
  choice?: ArenaChoice;
  /** --tflm-lib; the library is also looked for in TINYML_TFLM_LIB and the Arduino libraries. */
  libPath?: string;
  /** A library already found (the emulated build needs it anyway). */
  lib?: TflmLibrary;
  env?: NodeJS.ProcessEnv;
  onProgress?: (message: string) => void;
}

export interface ArenaPlanResult {
  plan: TflmArenaPlan;
  measurement: (ArenaMeasurement & { cached: boolean }) | null;
}

/**
 * The arena for `model`'s TFLM sketch on `board`. Measuring needs the library: when it is not
 * installed here, an Arduino sketch falls back to the formula (the user installs the library
 * for arduino-cli later); a given `lib` is always used.
 */
export async function planTflmArena(model: Int8Model, board: Board, opts: ArenaPlanOptions = {}): Promise<ArenaPlanResult> {
  const choice = opts.choice ?? { kind: 'measure' };
  const { graph } = tflmModelOf(model);
  if (choice.kind === 'formula') return { plan: formulaArena(graph, '--arena formula'), measurement: null };
  let lib = opts.lib;
  if (!lib) {
    try {
      lib = findTflmLibrary({ path: opts.libPath, env: opts.env });
    } catch (e) {
      if (opts.libPath || !(e instanceof MissingToolError)) throw e;
      if (choice.kind === 'bytes') return { plan: { ...formulaArena(graph), arenaBytes: choice.bytes, source: 'given' }, measurement: null };
      return { plan: formulaArena(graph, `the TFLite Micro library ${TFLM_LIBRARY.name} ${TFLM_LIBRARY.version} was not found on this machine (install it with \`${tflmInstallLine()}\` to measure)`), measurement: null };
    }
  }
  const blocker = measurementBlocker(opts.env);
  if (blocker) {
    if (choice.kind === 'bytes') return { plan: { ...formulaArena(graph), arenaBytes: choice.bytes, source: 'given' }, measurement: null };
    return { plan: formulaArena(graph, blocker), measurement: null };
  }
  const maxBytes = Math.min(MEASURE_MAX_BYTES, board.usable.ram_bytes);
  const m = await measureTflmArena({ model, lib, cpuClass: cpuClassOf(board), maxBytes, onProgress: opts.onProgress });
  if (choice.kind === 'bytes') {
    return { plan: { ...measuredArena(graph, m), arenaBytes: choice.bytes, source: 'given' }, measurement: m };
  }
  return { plan: measuredArena(graph, m), measurement: m };
}
