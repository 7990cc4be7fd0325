/**
 * TensorFlow Lite Micro firmware for the emulated boards: the generated TFLM sketch, unchanged
 * (the same .ino, model_data.cc and src/ files arduino-cli builds for a Nano 33 BLE), built
 * with arm-none-eabi-g++ on tinyml's bare-metal Arduino core instead of an Arduino core, and
 * linked with the pinned library's cached archive (tflm-archive.ts):
 *
 *   <out>/tflm_sketch/          the sketch, as generated
 *   <out>/obj/                  the sketch's objects (-Wall -Wextra -Werror: tinyml's code; the
 *                               library's headers as system headers)
 *   <cache>/tflm-core/<key>/    the bare-metal core (core.cpp, startup.c, the board's UART
 *                               driver, the runtime's timer and stack code) and the sketch files
 *                               copied unchanged from firmware/ (SKETCH_STATIC_FILES), compiled
 *                               once with the same flags and linked whole
 *   <out>/baremetal.ld          the board's memory map with C++ sections (templates/arduino)
 *   <out>/firmware.elf, firmware.map, size.json
 *
 * The .ino is compiled the way arduino-cli compiles one: as C++ after `#include <Arduino.h>`.
 * The caller decides the arena (tflm-emulated.ts measures it first).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { BoardError, UsageError } from '../errors.ts';
import { getBoard, loadBoards, type Board } from '../boards/registry.ts';
import { cpuFlags, ensureWritableDir, nativePlatforms, stackReserve, type OptLevel, type SizeReport } from '../build/firmware.ts';
import { PLATFORM_DIR, RUNTIME_DIR } from '../build/paths.ts';
import { requireTool, runTool } from '../toolchain/tools.ts';
import { elfSections, mapSectionBytes } from '../toolchain/size.ts';
import { BAREMETAL_CORE_DIR, CORE_DEFINES, CXX_FLAGS, C_FLAGS, compileAsync, compilerId, ensureCachedArchive, ensureTflmArchive, runPool, type ArchiveUnit, type CachedArchive, type TflmArchive } from './tflm-archive.ts';
import type { TflmLibrary } from './tflm-library.ts';
import type { TflmArenaPlan } from './arena.ts';
import { ARDUINO_PLATFORM_DIR, ARDUINO_TEMPLATES_DIR, renderTemplate, writeSketch, type Int8Model } from './sketch-common.ts';
import { generateTflmSketch, type TflmSketch } from './sketch-tflm.ts';

export interface TflmFirmwareOptions {
  model: Int8Model;
  /** An emulated board with a platform folder (firmware/platform/<board>/). */
  board: string;
  outDir: string;
  /** Raw bytes per model input baked in; default: zero points. */
  inputs?: Uint8Array[];
  runs?: number;
  optimize?: OptLevel;
  lib: TflmLibrary;
  /** The arena the sketch gets. */
  arena: TflmArenaPlan;
  /** CPU flags (default: the board's); the arena measurement builds for a CPU class. */
  cpuFlags?: string[];
  /** Build the arena measurement variant with this largest arena (-DTML_TFLM_MEASURE_ARENA). */
  measureArenaMax?: number;
  /** bench/tflm-golden.ts only (see SketchOptions). */
  ignoreCapabilities?: boolean;
  onProgress?: (message: string) => void;
}

export interface TflmFirmwareBuild {
  elfPath: string;
  outDir: string;
  sketchDir: string;
  board: string;
  modelHash: string;
  buildId: string;
  arena: TflmArenaPlan;
  arenaBytes: number;
  sizes: SizeReport;
  sketch: Omit<TflmSketch, 'files' | 'tflite' | 'graph'>;
  archive: TflmArchive;
  library: { name: string; version: string; root: string };
  optimize: OptLevel;
  /** The kernel set the library compiles in. */
  kernels: 'cmsis-nn';
  /** The link command, for reproducing the build by hand. */
  command: string[];
}

/** The board must have a bare-metal platform (UART driver + linker script) for the core. */
/** The board's folder in firmware/platform/: its own, or the one it shares (nano33ble-sense: nano33ble). */
const platformOf = (board: Board): string => board.platform ?? board.id;

const hasCorePlatform = (board: Board): boolean => nativePlatforms().includes(platformOf(board)) && existsSync(join(PLATFORM_DIR, platformOf(board), 'uart.c'));

export function coreBoard(id: string): Board {
  const board = getBoard(id);
  if (!hasCorePlatform(board)) {
    const boards = loadBoards().filter(hasCorePlatform).map((b) => b.id);
    throw new BoardError(
      `TFLite Micro firmware runs on the emulated boards with a bare-metal platform (${boards.join(', ')}), not on ${board.id}: for an Arduino board use \`tinyml build --runtime tflm\` and \`tinyml flash\``,
    );
  }
  return board;
}

/** The bare-metal core's linker script for a board: its MEMORY and stack size, C++ sections added. */
export function coreLinkerScript(board: Board): string {
  const boardScript = join(PLATFORM_DIR, platformOf(board), 'linker.ld');
  const text = readFileSync(boardScript, 'utf8');
  const memory = /MEMORY\s*\{[^}]*\}/.exec(text)?.[0];
  if (!memory) throw new BoardError(`${boardScript} has no MEMORY block: the bare-metal Arduino core cannot place the firmware`);
  return renderTemplate(ARDUINO_TEMPLATES_DIR, 'baremetal.ld.hbs', { board: board.id, memory, stackSize: `0x${stackReserve(boardScript).toString(16)}` });
}

/** The board UART driver and the runtime's timer are linked under tml_board_* names (tml_baremetal_core.h). */
const CORE_RENAMES = ['-Dtml_platform_init=tml_board_uart_init', '-Dtml_platform_write=tml_board_uart_write', '-Dtml_platform_cpu_hz=tml_board_cpu_hz'];

/** Files a TFLM sketch copies unchanged from firmware/ and that include nothing the generator
 * writes: compiled once from firmware/ (the same bytes) into the core archive. (tml_fault.c
 * includes the generated model.h: it is compiled with the sketch.) */
export const SKETCH_STATIC_FILES = ['tml_report.c', 'tml_stack.c', 'tml_arduino_fault.c', 'tml_tflm_arena.cpp'];
const staticSource = (f: string) => join(f === 'tml_report.c' || f === 'tml_stack.c' ? RUNTIME_DIR : ARDUINO_PLATFORM_DIR, f);

function dirDigest(h: ReturnType<typeof createHash>, dir: string): void {
  for (const f of readdirSync(dir).sort()) if (/\.(c|cpp|h)$/.test(f)) h.update(`${f}\0`).update(readFileSync(join(dir, f))).update('\0');
}

/**
 * The bare-metal core for a board and CPU (core.cpp, startup.c, the board's UART driver, the
 * runtime's timer and stack code) plus the sketch's unchanged files (SKETCH_STATIC_FILES), with
 * -Wall -Wextra -Werror, cached as one archive linked whole.
 */
export async function ensureCoreArchive(board: Board, lib: TflmLibrary, common: string[], ours: string[]): Promise<CachedArchive> {
  const h = createHash('sha256').update(`tinyml-arduino-core v1\0${board.id}\0${compilerId()}\0${common.join(' ')}\0${ours.join(' ')}\0${lib.contentHash}\0`);
  for (const d of [BAREMETAL_CORE_DIR, ARDUINO_PLATFORM_DIR, RUNTIME_DIR, join(PLATFORM_DIR, platformOf(board))]) dirDigest(h, d);
  const key = h.digest('hex').slice(0, 20);
  return ensureCachedArchive('tflm-core', key, 'libtinyml-arduino-core.a', (): ArchiveUnit[] => {
    const gcc = requireTool('arm-none-eabi-gcc');
    const gxx = requireTool('arm-none-eabi-g++');
    const unit = (src: string, extra: string[] = []): ArchiveUnit => {
      const cxx = src.endsWith('.cpp');
      return { tool: cxx ? gxx : gcc, args: [...common, ...ours, `-isystem${lib.src}`, ...extra, ...(cxx ? CXX_FLAGS : C_FLAGS)], src, what: `compiling ${basename(src)} (bare-metal Arduino core for ${board.id})` };
    };
    return [
      unit(join(BAREMETAL_CORE_DIR, 'core.cpp')),
      unit(join(BAREMETAL_CORE_DIR, 'startup.c')),
      unit(join(PLATFORM_DIR, platformOf(board), 'uart.c'), CORE_RENAMES),
      unit(join(RUNTIME_DIR, 'tml_timer.c'), CORE_RENAMES),
      ...SKETCH_STATIC_FILES.map((f) => unit(staticSource(f))),
    ];
  }, { label: `tinyml's bare-metal Arduino core for ${board.id}` });
}

export async function buildTflmFirmware(opts: TflmFirmwareOptions): Promise<TflmFirmwareBuild> {
  const board = coreBoard(opts.board);
  const optimize = opts.optimize ?? '2';
  if (optimize !== 's' && optimize !== '2') throw new UsageError(`--opt must be s or 2, not '${String(optimize)}'`);
  const outDir = resolve(opts.outDir);
  const sketchDir = join(outDir, 'tflm_sketch');
  const sketch = generateTflmSketch(opts.model, {
    board: board.id,
    outDir: sketchDir,
    inputBytes: opts.inputs,
    runs: opts.runs ?? 1,
    target: 'emulator',
    arena: opts.arena,
    ignoreCapabilities: opts.ignoreCapabilities,
  });
  const cpu = opts.cpuFlags ?? cpuFlags(board);
  const archive = await ensureTflmArchive({ lib: opts.lib, cpuFlags: cpu, optimize, onBuild: opts.onProgress });

  ensureWritableDir(outDir);
  writeSketch(sketchDir, sketch.files);
  const objDir = join(outDir, 'obj');
  mkdirSync(objDir, { recursive: true });
  const gcc = requireTool('arm-none-eabi-gcc');
  const gxx = requireTool('arm-none-eabi-g++');

  const common = [...cpu, `-O${optimize}`, '-g', '-ffunction-sections', '-fdata-sections', ...CORE_DEFINES, `-I${BAREMETAL_CORE_DIR}`, `-I${RUNTIME_DIR}`];
  const ours = ['-Wall', '-Wextra', '-Werror'];
  const sketchFlags = [...common, ...ours, `-isystem${opts.lib.src}`, ...(opts.measureArenaMax ? [`-DTML_TFLM_MEASURE_ARENA=${opts.measureArenaMax}u`] : [])];
  const inoWrapper = join(objDir, `${sketch.name}.ino.cpp`);
  writeFileSync(inoWrapper, `#include <Arduino.h>\n#line 1 "${join(sketchDir, `${sketch.name}.ino`)}"\n#include "${join(sketchDir, `${sketch.name}.ino`)}"\n`);

  interface Unit { src: string; cxx: boolean; flags: string[] }
  const units: Unit[] = [
    { src: inoWrapper, cxx: true, flags: sketchFlags },
    { src: join(sketchDir, 'model_data.cc'), cxx: true, flags: sketchFlags },
  ];
  for (const f of Object.keys(sketch.files).filter((f) => f.startsWith('src/')).sort()) {
    const file = f.slice(4);
    if (SKETCH_STATIC_FILES.includes(file)) {
      // In the core archive, compiled from the same bytes in firmware/.
      if (sketch.files[f] !== readFileSync(staticSource(file), 'utf8')) {
        throw new Error(`internal: the sketch's ${f} differs from firmware/`);
      }
      continue;
    }
    if (f.endsWith('.c')) units.push({ src: join(sketchDir, f), cxx: false, flags: sketchFlags });
    else if (f.endsWith('.cpp')) units.push({ src: join(sketchDir, f), cxx: true, flags: sketchFlags });
  }
  const core = await ensureCoreArchive(board, opts.lib, common, ours);
  const objects = units.map((u, i) => join(objDir, `${String(i).padStart(2, '0')}_${basename(u.src)}.o`));
  await runPool(
    units.map((u, i) => () => compileAsync(u.cxx ? gxx : gcc, [...u.flags, ...(u.cxx ? CXX_FLAGS : C_FLAGS), '-c', u.src, '-o', objects[i]!], `compiling ${basename(u.src)} for ${board.id} (TFLite Micro firmware)`)),
    availableParallelism(),
  );

  const ld = join(outDir, 'baremetal.ld');
  writeFileSync(ld, coreLinkerScript(board));
  const elfPath = join(outDir, 'firmware.elf');
  const mapPath = join(outDir, 'firmware.map');
  const command = [
    gxx,
    ...cpu,
    `-O${optimize}`,
    '-nostartfiles',
    '--specs=nano.specs',
    '--specs=nosys.specs',
    `-T${ld}`,
    '-Wl,--gc-sections',
    `-Wl,-Map=${mapPath}`,
    '-o',
    elfPath,
    ...objects,
    '-Wl,--whole-archive',
    core.path,
    '-Wl,--no-whole-archive',
    archive.path,
    '-lm',
    '-lc',
    '-lgcc',
  ];
  runTool(command[0]!, command.slice(1), { what: `linking the TFLite Micro firmware for ${board.id}` });

  const sections = elfSections(elfPath).sections;
  const rodata = mapSectionBytes(readFileSync(mapPath, 'utf8'), '.rodata');
  const text = sections['.text'] ?? 0;
  const data = sections['.data'] ?? 0;
  const bss = sections['.bss'] ?? 0;
  const stack = sections['.stack'] ?? 0;
  const sizes: SizeReport = {
    text,
    rodata,
    code: text - rodata,
    data,
    bss,
    weights: sketch.tfliteBytes,
    inputs: 0,
    arena: sketch.arenaBytes,
    stackReserve: stack,
    flashUsed: text + data + (sections['.ARM.exidx'] ?? 0) + (sections['.ARM.extab'] ?? 0),
    flashTotal: board.usable.flash_bytes,
    ramUsed: data + bss + stack,
    ramTotal: board.usable.ram_bytes,
  };
  writeFileSync(join(outDir, 'size.json'), `${JSON.stringify(sizes, null, 2)}\n`);
  const { files: _f, tflite: _t, graph: _g, ...sketchInfo } = sketch;
  void _f;
  void _t;
  void _g;
  return {
    elfPath,
    outDir,
    sketchDir,
    board: board.id,
    modelHash: sketch.modelHash,
    buildId: sketch.buildId,
    arena: sketch.arena,
    arenaBytes: sketch.arenaBytes,
    sizes,
    sketch: sketchInfo,
    archive,
    library: { name: opts.lib.name, version: opts.lib.version, root: opts.lib.root },
    optimize,
    kernels: 'cmsis-nn',
    command,
  };
}
