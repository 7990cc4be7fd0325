/**
 * The TensorFlow Lite Micro library compiled once into a static archive and reused: every
 * source file of the pinned Arduino library (about 215 files, a few CPU-minutes with
 * arm-none-eabi-g++) is compiled for one CPU and optimisation level against tinyml's bare-metal
 * Arduino core (firmware/platform/arduino-baremetal/) and archived as libtflm.a in the build
 * cache:
 *
 *   <cache>/tflm-lib/<key>/libtflm.a     key = sha256 of the library's sources, the core
 *                                        headers, the compiler's version and every flag
 *
 * The files compile in parallel (one job per CPU). Concurrent builds of the same key (two
 * commands, or test files running side by side) share the work: one process holds a lock and
 * the others wait for its archive. The archive appears atomically (built in a private folder,
 * then renamed), so a crash never leaves a half archive behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { MissingToolError, ToolFailedError } from '../errors.ts';
import { requireTool } from '../toolchain/tools.ts';
import { cacheDir, PLATFORM_DIR } from '../build/paths.ts';
import { progress } from '../progress.ts';
import type { TflmLibrary } from './tflm-library.ts';

export const BAREMETAL_CORE_DIR = join(PLATFORM_DIR, 'arduino-baremetal');

/** What the Arduino IDE 1.8.19 passes as ARDUINO (the library tests `#if defined(ARDUINO)`). */
export const ARDUINO_VERSION_DEFINE = '10819';

/** Defines every file of a bare-metal-core build gets, as an Arduino core's platform.txt gives its own. */
export const CORE_DEFINES = [`-DARDUINO=${ARDUINO_VERSION_DEFINE}`, '-DARDUINO_ARCH_TINYML_BAREMETAL', '-DTINYML_BAREMETAL_CORE=1'];

/** C++ flags of the Arduino cores the library targets (no exceptions, no RTTI), C++17. */
export const CXX_FLAGS = ['-std=gnu++17', '-fno-exceptions', '-fno-rtti', '-fno-threadsafe-statics', '-fno-use-cxa-atexit'];
export const C_FLAGS = ['-std=gnu11'];

export interface TflmArchive {
  path: string;
  key: string;
  /** True when this call compiled it (false: it came from the cache). */
  built: boolean;
  /** Source files compiled into it. */
  files: number;
  /** Wall time of the compile (0 from the cache). */
  buildMs: number;
}

export interface ArchiveOptions {
  lib: TflmLibrary;
  /** -mcpu/-mthumb/-mfloat-abi/-mfpu flags of the target. */
  cpuFlags: string[];
  optimize: 's' | '2';
  /** Parallel compiler jobs (default: the CPU count). */
  jobs?: number;
  /** Called once before a (long) compile starts. */
  onBuild?: (message: string) => void;
}

/** Every C/C++ source of the library, relative to its src/ folder, sorted. */
export function librarySources(lib: TflmLibrary): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(c|cc|cpp)$/.test(e.name)) out.push(relative(lib.src, p));
    }
  };
  walk(lib.src);
  return out.sort();
}

let compilerIdCache: string | null = null;

/** The cross compiler's exact version (part of every cache key). */
export function compilerId(): string {
  if (compilerIdCache) return compilerIdCache;
  const gcc = requireTool('arm-none-eabi-gcc');
  const r = spawnSync(gcc, ['--version'], { encoding: 'utf8' });
  compilerIdCache = (r.stdout ?? '').split('\n')[0] ?? 'unknown';
  return compilerIdCache;
}

/** Flags every library file is compiled with, besides the language flags. */
export function libraryFlags(opts: Pick<ArchiveOptions, 'lib' | 'cpuFlags' | 'optimize'>): string[] {
  return [
    ...opts.cpuFlags,
    `-O${opts.optimize}`,
    '-ffunction-sections',
    '-fdata-sections',
    '-w', // the library's own warnings are not tinyml's to fix
    ...CORE_DEFINES,
    `-I${BAREMETAL_CORE_DIR}`,
    `-I${opts.lib.src}`,
  ];
}

/** The core's headers the library includes (system_setup.cpp, peripherals/): nothing else of ours. */
const CORE_HEADERS = ['Arduino.h', 'Wire.h'];

export function archiveKey(opts: Pick<ArchiveOptions, 'lib' | 'cpuFlags' | 'optimize'>): string {
  const h = createHash('sha256');
  h.update(`tflm-archive v1\0${opts.lib.name}@${opts.lib.version}\0${opts.lib.contentHash}\0${compilerId()}\0`);
  h.update(`${libraryFlags({ ...opts, lib: { ...opts.lib, src: '<lib>' } }).join(' ')}\0${CXX_FLAGS.join(' ')}\0${C_FLAGS.join(' ')}\0`);
  for (const f of CORE_HEADERS) h.update(readFileSync(join(BAREMETAL_CORE_DIR, f)));
  return h.digest('hex').slice(0, 20);
}

/** Runs one compiler process; rejects with its first error line. */
export function compileAsync(tool: string, args: string[], what: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => reject(new ToolFailedError(`${what}: could not start ${tool} (${e.message})`)));
    child.on('close', (code) => {
      if (code === 0) return resolvePromise();
      const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
      // The C++ standard headers come in their own Debian package.
      if (/fatal error: (new|cstddef|cstdint|algorithm|cmath|limits|cstring): No such file/.test(stderr)) {
        return reject(new MissingToolError(`the C++ standard library for arm-none-eabi is not installed (${what}): install it with \`sudo apt-get install libstdc++-arm-none-eabi-newlib\``));
      }
      reject(new ToolFailedError(`${what} failed: ${lines.find((l) => /error/i.test(l)) ?? lines[0] ?? `exit status ${code}`}`));
    });
  });
}

/** Runs `tasks` with at most `jobs` at a time; the first failure rejects (the rest still finish). */
export async function runPool(tasks: (() => Promise<void>)[], jobs: number): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, tasks.length)) }, worker));
  if (failure) throw failure;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock file (exclusive create); false when a live process holds it. Stale locks are broken. */
function tryLock(lock: string): boolean {
  try {
    const fd = openSync(lock, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch {
    let holder = NaN;
    try {
      holder = Number(readFileSync(lock, 'utf8'));
    } catch {
      return false; // released between the two calls: try again later
    }
    if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) return false;
    rmSync(lock, { force: true });
    return false;
  }
}

/** One compile of a cached archive: the tool, its arguments (without -c/-o) and the source. */
export interface ArchiveUnit {
  tool: string;
  args: string[];
  src: string;
  /** Names the unit in messages. */
  what: string;
}

export interface CachedArchive {
  path: string;
  key: string;
  built: boolean;
  files: number;
  buildMs: number;
}

/**
 * `<cache>/<kind>/<key>/<name>`: from the cache, or compiled from `units` now (in parallel, one
 * process at a time per key, appearing atomically). `onBuild` is told before a compile starts.
 */
export async function ensureCachedArchive(kind: string, key: string, name: string, units: () => ArchiveUnit[], opts: { jobs?: number; onBuild?: () => void; label?: string } = {}): Promise<CachedArchive> {
  const root = join(cacheDir(), kind);
  const dir = join(root, key);
  const archive = join(dir, name);
  const hit = (): CachedArchive => ({ path: archive, key, built: false, files: 0, buildMs: 0 });
  if (existsSync(archive)) return hit();
  mkdirSync(root, { recursive: true });
  const lock = join(root, `${key}.lock`);
  while (!tryLock(lock)) {
    if (existsSync(archive)) return hit();
    await sleep(500);
  }
  try {
    if (existsSync(archive)) return hit();
    const started = performance.now();
    const ar = requireTool('arm-none-eabi-ar');
    const list = units();
    opts.onBuild?.();
    const work = join(root, `${key}.tmp-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, 'obj'), { recursive: true });
    const objects = list.map((u, i) => join(work, 'obj', `${String(i).padStart(3, '0')}_${u.src.split(/[/\\]/).pop()}.o`));
    // A progress bar on a terminal (src/progress.ts): the library is ~215 files, minutes on 2 cores.
    const stage = `compiling ${opts.label ?? kind} (${list.length} files, once)`;
    let compiled = 0;
    progress({ stage, done: 0, total: list.length });
    await runPool(
      list.map((u, i) => async () => {
        await compileAsync(u.tool, [...u.args, '-c', u.src, '-o', objects[i]!], u.what);
        progress({ stage, done: ++compiled, total: list.length });
      }),
      opts.jobs ?? availableParallelism(),
    );
    const r = spawnSync(ar, ['rcs', join(work, name), ...objects], { encoding: 'utf8' });
    if (r.status !== 0) throw new ToolFailedError(`arm-none-eabi-ar could not write ${name}: ${(r.stderr ?? '').split('\n')[0]}`);
    rmSync(join(work, 'obj'), { recursive: true, force: true });
    try {
      renameSync(work, dir);
    } catch {
      rmSync(work, { recursive: true, force: true }); // another process put it there first
    }
    return { path: archive, key, built: true, files: list.length, buildMs: performance.now() - started };
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * The library's archive for these flags: from the cache, or compiled now (then cached). Throws
 * MissingToolError without the compiler, ToolFailedError when a file does not compile.
 */
export async function ensureTflmArchive(opts: ArchiveOptions): Promise<TflmArchive> {
  const sources = librarySources(opts.lib);
  const jobs = opts.jobs ?? availableParallelism();
  const a = await ensureCachedArchive(
    'tflm-lib',
    archiveKey(opts),
    'libtflm.a',
    () => {
      const gcc = requireTool('arm-none-eabi-gcc');
      const gxx = requireTool('arm-none-eabi-g++');
      const flags = libraryFlags(opts);
      return sources.map((s) => {
        const isC = s.endsWith('.c');
        return { tool: isC ? gcc : gxx, args: [...flags, ...(isC ? C_FLAGS : CXX_FLAGS)], src: join(opts.lib.src, s), what: `compiling ${opts.lib.name}/src/${s}` };
      });
    },
    {
      jobs,
      label: `${opts.lib.name} ${opts.lib.version}`,
      onBuild: () => opts.onBuild?.(`compiling ${opts.lib.name} ${opts.lib.version} (${sources.length} files, ${jobs} jobs) for ${opts.cpuFlags.join(' ')} -O${opts.optimize}, once: later builds reuse it`),
    },
  );
  return { ...a, files: sources.length };
}
