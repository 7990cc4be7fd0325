/**
 * Firmware builds for bare-metal Cortex-M boards: generate the native C, check that it fits the
 * board, compile it with arm-none-eabi-gcc together with the kernels, the report runtime and
 * the board's platform files, and measure the ELF.
 *
 * Nothing is written to outDir until the model has been lowered completely and the fit check
 * has passed, so an unsupported op or an oversized model leaves no partial output.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BoardError, DoesNotFitError, FileError, MissingToolError, UsageError } from '../errors.ts';
import { tensorBytes, type Graph } from '../ir/graph.ts';
import { readModelBytes, importModel } from '../formats/load.ts';
import { getBoard, type Board } from '../boards/registry.ts';
import { generateNative } from '../codegen/native/generate.ts';
import { assertBackendRuns } from '../backends/support.ts';
import type { LoweredModel } from '../codegen/native/lower.ts';
import { compilerMemoryLimit, INSTALL_HINT, requireTool, runTool, whichTool } from '../toolchain/tools.ts';
import { kernelSourcesFor } from '../export/kernel-sources.ts';
import { compileCached } from './object-cache.ts';
import { progress } from '../progress.ts';
import { elfSections, mapSectionBytes } from '../toolchain/size.ts';
import { KERNEL_INCLUDE_DIR, KERNELS_DIR, PLATFORM_DIR, RUNTIME_DIR } from './paths.ts';

import type { KernelSet } from '../codegen/native/dsp.ts';

export type OptLevel = 's' | '2';
export type { KernelSet };

/** The optimisation level of every tinyml build (build, run, deploy, the Arduino native sketch). */
export const DEFAULT_OPT: OptLevel = '2';

/** For C compiled with someone else's flags (an Arduino core): the DEFAULT_OPT level, as a pragma. */
export function optimizePragma(level: OptLevel = DEFAULT_OPT): string {
  return `#pragma GCC optimize ("O${level}")`;
}

/**
 * The fastest kernel set a board's core runs, the default everywhere: dsp on cores with the
 * Armv7E-M DSP extension (Cortex-M4/M7/M33), portable elsewhere (Cortex-M0+).
 */
export function defaultKernels(board: Board): KernelSet {
  return board.dsp ? 'dsp' : 'portable';
}

export interface BuildFirmwareOptions {
  /** The model file (read for the graph and TML_MODEL_HASH), or a graph already in memory. */
  modelPath?: string;
  graph?: Graph;
  /** Bytes of the model file when `graph` is given (for TML_MODEL_HASH). */
  modelBytes?: Uint8Array;
  /** Board id (boards/<id>.json). */
  board: string;
  outDir: string;
  /** Raw bytes per model input baked into the firmware; default: zero points. */
  inputs?: Uint8Array[];
  /** -O2 (default, DEFAULT_OPT) or -Os. */
  optimize?: OptLevel;
  /** Compile the per-op profiling hooks (-DTML_PROFILE). */
  profile?: boolean;
  /** How many timed inferences the firmware runs (-DTML_RUNS). */
  runs?: number;
  /** 'portable' C kernels, or 'dsp' (Armv7E-M SIMD kernels); default: defaultKernels(board). */
  kernels?: KernelSet;
  /**
   * Write the sources and a Makefile instead of compiling (firmware-project): for a machine
   * without arm-none-eabi-gcc. Without the compiler, a build writes them too and then fails.
   */
  generateOnly?: boolean;
}

/** What a generate-only build wrote: the firmware's sources and a Makefile, nothing compiled. */
export interface GeneratedFirmware {
  generatedOnly: true;
  outDir: string;
  board: string;
  modelHash: string;
  buildId: string;
  /** Every file written (absolute paths), the Makefile among them. */
  files: string[];
  optimize: OptLevel;
  kernels: KernelSet;
  generateMs: number;
}

/** The JSON size report of a build. Every number is bytes. */
export interface SizeReport {
  /** .text: code plus read-only data (the linker script keeps .rodata inside .text). */
  text: number;
  /** Read-only data inside .text (const arrays, string literals, tables), from the link map. */
  rodata: number;
  /** Code: text - rodata. */
  code: number;
  data: number;
  bss: number;
  /** The model's const arrays: weights, folded biases, multipliers, shifts. */
  weights: number;
  /** Baked input bytes (tml_input.c). */
  inputs: number;
  arena: number;
  /** Stack reserved by the linker script. */
  stackReserve: number;
  /** Flash used: text + data (+ .ARM.exidx). */
  flashUsed: number;
  flashTotal: number;
  /** RAM used: data + bss + stack reserve (the arena is inside bss). */
  ramUsed: number;
  ramTotal: number;
}

export interface FirmwareBuild {
  generatedOnly?: false;
  elfPath: string;
  /** The raw flash image (objcopy -O binary) from the flash origin. */
  binPath: string;
  /** The same image as Intel HEX, with its load addresses. */
  hexPath: string;
  outDir: string;
  board: string;
  modelHash: string;
  buildId: string;
  arenaBytes: number;
  weightBytes: number;
  sizes: SizeReport;
  /** Generated and written files (absolute paths). */
  files: string[];
  /** The compile and link command (it links the cached objects, see object-cache.ts). */
  command: string[];
  /** The command that compiled the kernel objects `command` links (run in their cache folder). */
  kernelCommand: string[];
  /** True when the kernel, runtime and platform objects all came from the build cache. */
  cachedObjects: boolean;
  optimize: OptLevel;
  kernels: KernelSet;
  /** Milliseconds spent generating C (plan + lowering + templates). */
  generateMs: number;
}

/** Code the firmware adds besides the model's const data (kernels, runtime, startup, libc bits). */
export const CODE_ESTIMATE_BYTES = 16 * 1024;
/**
 * Flash each op takes at least besides its const arrays: the kernel call and its arguments, the
 * op-type table entry, the current-op store. Its parameter structs add about 2 bytes per
 * initializer value at least (they are int32 and pointers today: 4). A lower bound: the check
 * refuses only what cannot fit, and the linker has the last word.
 */
export const OP_CODE_ESTIMATE_BYTES = 24;
export const PARAM_VALUE_ESTIMATE_BYTES = 2;
/** Largest generated C handed to the compiler: far beyond the source of any model that fits a microcontroller. */
export const MAX_GENERATED_SOURCE_BYTES = 64 * 1024 * 1024;

/** Lower bound of the flash the ops' code and parameter structs take (see OP_CODE_ESTIMATE_BYTES). */
export function opCodeEstimate(lowered: LoweredModel): { ops: number; bytes: number } {
  let values = 0;
  for (const op of lowered.ops) {
    for (const line of op.params) {
      // Initializer values: numbers and names between the braces of `... = { ... };`.
      const body = line.includes('=') ? line.slice(line.indexOf('=') + 1) : line;
      values += (body.match(/[-\w.+]+/g) ?? []).length;
    }
  }
  return { ops: lowered.ops.length, bytes: lowered.ops.length * OP_CODE_ESTIMATE_BYTES + values * PARAM_VALUE_ESTIMATE_BYTES };
}
/** .data/.bss the runtime needs besides the arena. */
export const RUNTIME_RAM_ESTIMATE_BYTES = 2 * 1024;

/** Boards with a bare-metal platform (startup, linker script, UART) in firmware/platform/. */
export function nativePlatforms(): string[] {
  if (!existsSync(PLATFORM_DIR)) return [];
  return readdirSync(PLATFORM_DIR)
    .filter((d) => existsSync(join(PLATFORM_DIR, d, 'linker.ld')))
    .sort();
}

/** The compiler flags for a board: -mcpu, -mthumb, and the hard-float ABI where it has an FPU. */
export function cpuFlags(board: Board): string[] {
  const flags = [`-mcpu=${board.cpu}`, '-mthumb'];
  if (board.fpu) flags.push('-mfloat-abi=hard', `-mfpu=${board.fpu}`);
  else flags.push('-mfloat-abi=soft');
  return flags;
}

/** The stack the board's linker script reserves (TML_STACK_SIZE = ...). */
export function stackReserve(linkerScript: string): number {
  const m = /TML_STACK_SIZE\s*=\s*(0x[0-9a-fA-F]+|\d+)/.exec(readFileSync(linkerScript, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function cSources(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => resolve(dir, f));
}

/** Flash the model's constants may take on a board: what the fit check leaves after code and inputs. */
export function constBudget(board: Board, graph: Graph): number {
  const inputs = graph.inputs.reduce((n, i) => n + tensorBytes(graph.tensors[i.tensor]!), 0);
  return board.usable.flash_bytes - CODE_ESTIMATE_BYTES - inputs;
}

/**
 * Throws DoesNotFitError when the model cannot fit the board, before anything is compiled.
 * `code` is the ops' own code and parameters (opCodeEstimate), counted when given.
 */
export function checkFit(board: Board, need: { weights: number; inputs: number; arena: number; stack: number; code?: { ops: number; bytes: number } }): void {
  const opsCode = need.code?.bytes ?? 0;
  const flashNeed = need.weights + need.inputs + CODE_ESTIMATE_BYTES + opsCode;
  const ramNeed = need.arena + need.stack + RUNTIME_RAM_ESTIMATE_BYTES;
  const flash = board.usable.flash_bytes;
  const ram = board.usable.ram_bytes;
  const problems: string[] = [];
  if (flashNeed > flash) {
    const ops = need.code ? ` + code of ${need.code.ops} op${need.code.ops === 1 ? '' : 's'} ~${opsCode}` : '';
    problems.push(
      `flash: needs about ${flashNeed} bytes (weights ${need.weights} + inputs ${need.inputs} + code ~${CODE_ESTIMATE_BYTES}${ops}) but ${board.id} has ${flash}, ${flashNeed - flash} bytes too many`,
    );
  }
  if (ramNeed > ram) {
    problems.push(
      `RAM: needs about ${ramNeed} bytes (arena ${need.arena} + stack ${need.stack} + runtime ~${RUNTIME_RAM_ESTIMATE_BYTES}) but ${board.id} has ${ram}, ${ramNeed - ram} bytes too many`,
    );
  }
  if (problems.length > 0) {
    throw new DoesNotFitError(`the model does not fit ${board.id}: ${problems.join('; ')}. Use a smaller model or a board with more memory`);
  }
}

/**
 * Creates `dir` if needed and checks it is writable. The nearest existing ancestor is checked
 * first: mkdirSync({recursive}) can spin on pseudo file systems such as /proc.
 */
export function ensureWritableDir(dir: string, flag = '--out'): void {
  const fail = () => new FileError(`cannot write to the output folder ${dir}: choose a writable folder with ${flag}`);
  const missing: string[] = [];
  let existing = dir;
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) throw fail();
    missing.unshift(existing);
    existing = parent;
  }
  try {
    if (!statSync(existing).isDirectory()) throw fail();
    accessSync(existing, constants.W_OK);
    for (const d of missing) mkdirSync(d); // one level at a time, no recursive mkdir
    accessSync(dir, constants.W_OK);
  } catch {
    throw fail();
  }
}

/** True when the graph computes on float activations and none is quantized (a float model). */
export function isFloatGraph(graph: Graph): boolean {
  return !isQuantizedGraph(graph) && graph.tensors.some((t) => t.data === undefined && t.dtype === 'float32');
}

/** True when the graph computes on integer activations (an int8 model). */
export function isQuantizedGraph(graph: Graph): boolean {
  return graph.tensors.some((t) => t.data === undefined && !t.variable && (t.dtype === 'int8' || t.dtype === 'int16') && t.quant !== undefined);
}

function writeOut(path: string, contents: string | Uint8Array): string {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, contents);
  } catch {
    throw new FileError(`cannot write ${path}: choose a writable folder with --out`);
  }
  return path;
}

/**
 * The firmware as a project that builds without tinyml: the kernels model.c calls, the runtime
 * and the board's platform files copied under tinyml/, and a Makefile with the exact flags
 * and link order of `tinyml build` (so `make` gives the same firmware.bin).
 */
function writeFirmwareProject(
  outDir: string,
  p: { cflags: string[]; linker: string; sources: { kernels: string[]; runtime: string[]; platform: string[] }; kernelCode: string },
): string[] {
  const written: string[] = [];
  const copy = (src: string, rel: string) => {
    written.push(writeOut(join(outDir, rel), readFileSync(src)));
    return rel;
  };
  const kernels = kernelSourcesFor(p.kernelCode).map((k) => copy(join(KERNELS_DIR, k.file), `tinyml/kernels/${k.file}`));
  for (const h of readdirSync(KERNEL_INCLUDE_DIR).filter((f) => f.endsWith('.h'))) copy(join(KERNEL_INCLUDE_DIR, h), `tinyml/include/${h}`);
  for (const h of readdirSync(RUNTIME_DIR).filter((f) => f.endsWith('.h'))) copy(join(RUNTIME_DIR, h), `tinyml/runtime/${h}`);
  const runtime = p.sources.runtime.map((f) => copy(f, `tinyml/runtime/${basename(f)}`));
  // Platform files include ../../runtime/tml_platform.h: keep that relative layout.
  const platform = p.sources.platform.map((f) => copy(f, `tinyml/platform/${basename(dirname(f))}/${basename(f)}`));
  const linker = copy(p.linker, `tinyml/platform/${basename(dirname(p.linker))}/linker.ld`);
  const flags = p.cflags.map((f) => f.replace(/"/g, '\\"')).join(' ');
  const makefile = [
    '# Makefile: the firmware tinyml generated, as a project that builds without tinyml.',
    '# `make` writes firmware.elf, firmware.bin (raw, from the flash origin) and firmware.hex.',
    '# make CC=... OBJCOPY=... to use another toolchain path.',
    'CC = arm-none-eabi-gcc',
    'OBJCOPY = arm-none-eabi-objcopy',
    `CFLAGS = ${flags} -I. -Itinyml/include -Itinyml/runtime`,
    `SRCS = model.c tml_input.c ${[...kernels, ...runtime, ...platform].join(' ')}`,
    `LDFLAGS = -nostartfiles --specs=nano.specs -T${linker} -Wl,--gc-sections -Wl,-Map=firmware.map`,
    '',
    'all: firmware.bin firmware.hex',
    '',
    'firmware.elf: $(SRCS) $(wildcard *.h tinyml/include/*.h tinyml/runtime/*.h)',
    '\t$(CC) $(CFLAGS) $(SRCS) $(LDFLAGS) -o $@ -lc -lgcc',
    '',
    'firmware.bin: firmware.elf',
    '\t$(OBJCOPY) -O binary $< $@',
    '',
    'firmware.hex: firmware.elf',
    '\t$(OBJCOPY) -O ihex $< $@',
    '',
    'clean:',
    '\trm -f firmware.elf firmware.bin firmware.hex firmware.map',
    '',
    '.PHONY: all clean',
    '',
  ].join('\n');
  written.push(writeOut(join(outDir, 'Makefile'), makefile));
  return written;
}

export function buildFirmware(opts: BuildFirmwareOptions & { generateOnly: true }): GeneratedFirmware;
export function buildFirmware(opts: BuildFirmwareOptions & { generateOnly?: false }): FirmwareBuild;
export function buildFirmware(opts: BuildFirmwareOptions): FirmwareBuild | GeneratedFirmware;
export function buildFirmware(opts: BuildFirmwareOptions): FirmwareBuild | GeneratedFirmware {
  const board = getBoard(opts.board);
  const kernels = opts.kernels ?? defaultKernels(board);
  if (kernels === 'dsp' && !board.dsp) {
    throw new BoardError(`the dsp kernel set needs the Armv7E-M DSP instructions and ${board.id} (${board.cpu}) has none: build with --kernels portable`);
  }
  const platforms = nativePlatforms();
  const platform = board.platform ?? board.id;
  if (!platforms.includes(platform)) {
    throw new BoardError(
      `board '${board.id}' has no bare-metal platform for the native backend (firmware/platform/${board.id}): build for ${platforms.join(' or ')}, or use the TFLite Micro backend for Arduino boards`,
    );
  }
  const optimize = opts.optimize ?? DEFAULT_OPT;
  if (optimize !== 's' && optimize !== '2') throw new UsageError(`--opt must be s or 2, not '${String(optimize)}'`);

  let graph = opts.graph;
  let modelBytes = opts.modelBytes;
  if (graph === undefined) {
    if (opts.modelPath === undefined) throw new UsageError('buildFirmware needs a modelPath or a graph');
    modelBytes = readModelBytes(opts.modelPath);
    graph = importModel(modelBytes, opts.modelPath);
  }
  if (isFloatGraph(graph)) {
    throw new UsageError('this model is float: the native backend runs int8 models; pass --calib <data> to quantize it on the way (or run `tinyml convert <model> --calib <data>` first)');
  }
  assertBackendRuns(graph, 'native-c'); // the op, its dtype, its node, and the backends that do run it

  const linker = join(PLATFORM_DIR, platform, 'linker.ld');
  const stack = stackReserve(linker);
  const t0 = performance.now();
  const g = graph;
  const inputBytes = g.inputs.reduce((n, i) => n + tensorBytes(g.tensors[i.tensor]!), 0);
  const gen = generateNative(graph, {
    modelBytes,
    modelLabel: opts.modelPath ? opts.modelPath.split('/').pop() : 'model',
    board: { id: board.id, clockHz: board.f_cpu, flashBytes: board.usable.flash_bytes, ramBytes: board.usable.ram_bytes },
    bakedInputs: opts.inputs,
    buildOptions: { optimize, kernels, profile: opts.profile ?? false, runs: opts.runs ?? 1 },
    // Refused as soon as the model is lowered, before any C is rendered or compiled.
    beforeRender: (lowered, plan) => checkFit(board, { weights: lowered.constBytes, inputs: inputBytes, arena: plan.arenaBytes, stack, code: opCodeEstimate(lowered) }),
    kernels,
    constBudget: constBudget(board, graph),
  });
  const generateMs = performance.now() - t0;
  checkFit(board, { weights: gen.weightBytes, inputs: gen.bakedInputBytes, arena: gen.arenaBytes, stack, code: opCodeEstimate(gen.lowered) });
  const sourceBytes = Object.values(gen.files).reduce((n, text) => n + text.length, 0);
  if (sourceBytes > MAX_GENERATED_SOURCE_BYTES) {
    throw new DoesNotFitError(
      `the generated C for ${board.id} is ${sourceBytes} bytes (${graph.ops.length} ops), more than a firmware build should compile (${MAX_GENERATED_SOURCE_BYTES}): use a smaller model`,
    );
  }

  const outDir = resolve(opts.outDir);
  ensureWritableDir(outDir);
  const files: string[] = [];
  for (const [name, text] of Object.entries(gen.files)) files.push(writeOut(join(outDir, name), text));
  const stage = `building firmware for ${board.id}`;
  progress({ stage, done: 1, total: 4 });

  const defines = [`-DTML_KERNEL_SET="${kernels}"`, `-DTML_RUNS=${opts.runs ?? 1}`];
  if (opts.profile) defines.push('-DTML_PROFILE');
  const kernelDefines = kernels === 'dsp' ? ['-DTML_KERNELS_DSP'] : [];
  const cflags = [...cpuFlags(board), '-std=c99', `-O${optimize}`, '-Wall', '-Wextra', '-Werror', '-ffunction-sections', '-fdata-sections', '-fno-common'];
  const platformDir = join(PLATFORM_DIR, platform);
  // Link order: the model, then kernels, runtime and platform, each sorted by file name.
  const sources = {
    kernels: cSources(KERNELS_DIR),
    runtime: cSources(RUNTIME_DIR),
    platform: cSources(platformDir),
  };

  const gcc = whichTool('arm-none-eabi-gcc');
  if (opts.generateOnly || gcc === undefined) {
    files.push(...writeFirmwareProject(outDir, { cflags: [...cflags, ...defines, ...kernelDefines], linker, sources, kernelCode: gen.files['model.c']! }));
    if (gcc === undefined) {
      throw new MissingToolError(
        `arm-none-eabi-gcc not found on PATH: install it with \`${INSTALL_HINT['arm-none-eabi-gcc']}\`. The generated sources and a Makefile are in ${outDir}: run \`make\` there once it is installed`,
      );
    }
    return { generatedOnly: true, outDir, board: board.id, modelHash: gen.modelHash, buildId: gen.buildId, files, optimize, kernels, generateMs };
  }

  // Objects the same in every firmware built with these flags, compiled once and linked from
  // the cache: the kernels (with the kernel set's define only, so any TML_RUNS or --profile
  // shares them), and every runtime and platform source that includes none of the generated
  // headers (tml_main.c and tml_fault.c include model.h: they are compiled with the model).
  const includeFlags = [`-I${KERNEL_INCLUDE_DIR}`, `-I${RUNTIME_DIR}`];
  const headersOf = (dirs: string[]) => dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.h')).map((f) => join(d, f)));
  const kernelObjects = compileCached({
    compiler: gcc,
    flags: [...cflags, ...kernelDefines, `-I${KERNEL_INCLUDE_DIR}`],
    sources: sources.kernels,
    headers: headersOf([KERNEL_INCLUDE_DIR]),
    what: `compiling the kernels for ${board.id} (arm-none-eabi-gcc)`,
  });
  const generated = Object.keys(gen.files).filter((f) => f.endsWith('.h'));
  const includesGenerated = (f: string) => {
    const text = readFileSync(f, 'utf8');
    return generated.some((h) => text.includes(`#include "${h}"`));
  };
  const shared = [...sources.runtime, ...sources.platform].filter((f) => !includesGenerated(f));
  const runtimeObjects = compileCached({
    compiler: gcc,
    flags: [...cflags, ...defines, ...kernelDefines, ...includeFlags],
    sources: shared,
    headers: headersOf([KERNEL_INCLUDE_DIR, RUNTIME_DIR]),
    what: `compiling the runtime for ${board.id} (arm-none-eabi-gcc)`,
  });
  const objectOf = new Map([...sources.kernels.map((f, i) => [f, kernelObjects.objects[i]!] as const), ...shared.map((f, i) => [f, runtimeObjects.objects[i]!] as const)]);
  progress({ stage, done: 2, total: 4 });
  const elfPath = join(outDir, 'firmware.elf');
  const command = [
    gcc,
    ...cflags,
    ...defines,
    ...kernelDefines,
    `-I${outDir}`,
    `-I${KERNEL_INCLUDE_DIR}`,
    `-I${RUNTIME_DIR}`,
    join(outDir, 'model.c'),
    join(outDir, 'tml_input.c'),
    ...[...sources.kernels, ...sources.runtime, ...sources.platform].map((f) => objectOf.get(f) ?? f),
    '-nostartfiles',
    '--specs=nano.specs',
    `-T${linker}`,
    '-Wl,--gc-sections',
    `-Wl,-Map=${join(outDir, 'firmware.map')}`,
    '-o',
    elfPath,
    '-lc',
    '-lgcc',
  ];
  runTool(command[0]!, command.slice(1), { what: `compiling the firmware for ${board.id} (arm-none-eabi-gcc)`, memoryLimitBytes: compilerMemoryLimit() });
  files.push(elfPath);
  progress({ stage, done: 3, total: 4 });
  // The flash image for uploaders that take raw bytes (bossac on the Nano 33 BLE, st-flash),
  // starting at the linker script's flash origin (0x10000 behind the Nano 33 BLE's bootloader),
  // and the same as Intel HEX with its addresses (J-Link, pyOCD, STM32CubeProgrammer, nrfjprog).
  const objcopy = requireTool('arm-none-eabi-objcopy');
  const binPath = join(outDir, 'firmware.bin');
  runTool(objcopy, ['-O', 'binary', elfPath, binPath], { what: `writing firmware.bin for ${board.id} (arm-none-eabi-objcopy)` });
  const hexPath = join(outDir, 'firmware.hex');
  runTool(objcopy, ['-O', 'ihex', elfPath, hexPath], { what: `writing firmware.hex for ${board.id} (arm-none-eabi-objcopy)` });
  files.push(binPath, hexPath);
  progress({ stage, done: 4, total: 4 });

  const sections = elfSections(elfPath).sections;
  const rodata = mapSectionBytes(readFileSync(join(outDir, 'firmware.map'), 'utf8'), '.rodata');
  const text = sections['.text'] ?? 0;
  const data = sections['.data'] ?? 0;
  const bss = sections['.bss'] ?? 0;
  const stackSection = sections['.stack'] ?? stack;
  const sizes: SizeReport = {
    text,
    rodata,
    code: text - rodata,
    data,
    bss,
    weights: gen.weightBytes,
    inputs: gen.bakedInputBytes,
    arena: gen.arenaBytes,
    stackReserve: stackSection,
    flashUsed: text + data + (sections['.ARM.exidx'] ?? 0),
    flashTotal: board.usable.flash_bytes,
    ramUsed: data + bss + stackSection,
    ramTotal: board.usable.ram_bytes,
  };
  const sizePath = join(outDir, 'size.json');
  writeFileSync(sizePath, `${JSON.stringify(sizes, null, 2)}\n`);
  files.push(sizePath);
  return {
    elfPath,
    binPath,
    hexPath,
    outDir,
    board: board.id,
    modelHash: gen.modelHash,
    buildId: gen.buildId,
    arenaBytes: gen.arenaBytes,
    weightBytes: gen.weightBytes,
    sizes,
    files,
    command,
    kernelCommand: kernelObjects.command,
    cachedObjects: kernelObjects.hit && runtimeObjects.hit,
    optimize,
    kernels,
    generateMs,
  };
}

/** PlatformIO-style bar: `Flash: [==        ]  12.3% (used N bytes from M bytes)`. */
export function usageLine(label: string, used: number, total: number): string {
  const frac = total > 0 ? used / total : 0;
  const filled = Math.min(10, Math.round(frac * 10));
  const bar = `${'='.repeat(filled)}${' '.repeat(10 - filled)}`;
  return `${label.padEnd(6)}[${bar}] ${(frac * 100).toFixed(1).padStart(5)}% (used ${used} bytes from ${total} bytes)`;
}

/** The summary printed after a build. */
export function sizeSummary(s: SizeReport): string[] {
  return [
    usageLine('RAM:', s.ramUsed, s.ramTotal),
    usageLine('Flash:', s.flashUsed, s.flashTotal),
    `Arena: ${s.arena} bytes (inside RAM), stack reserve ${s.stackReserve} bytes`,
    `Flash detail: code ${s.code}, weights ${s.weights}, other read-only data ${s.rodata - s.weights}, data ${s.data} bytes`,
  ];
}
