/**
 * The host runner: the generated C, the kernels and templates/native/host_main.c compiled with
 * the system gcc under AddressSanitizer and UndefinedBehaviorSanitizer. Tests and
 * `tinyml infer --engine native` use it to run the exact C that goes into the firmware.
 *
 * Builds are cached by build id (a hash of every generated file, the kernel sources and the
 * compiler flags) in <cache>/native-host/<id>/, so the same model compiles once.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MismatchError, ToolFailedError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import { generateNative } from '../codegen/native/generate.ts';
import type { KernelSet } from '../codegen/native/dsp.ts';
import { requireTool } from '../toolchain/tools.ts';
import { cacheDir, KERNEL_INCLUDE_DIR, KERNELS_DIR, NATIVE_TEMPLATES_DIR } from './paths.ts';

export const HOST_CFLAGS = [
  '-std=c99',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-O1',
  '-g',
  '-fno-omit-frame-pointer',
  '-fsanitize=address,undefined',
  '-fno-sanitize-recover=all',
];

export interface HostRunner {
  /** Folder holding the generated sources and the runner binary. */
  dir: string;
  runner: string;
  buildId: string;
  arenaBytes: number;
  weightBytes: number;
  numInputs: number;
  numOutputs: number;
  /** True when this call compiled it (false: reused from the cache). */
  compiled: boolean;
}

function kernelSources(): string[] {
  return readdirSync(KERNELS_DIR)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => resolve(KERNELS_DIR, f));
}

function hashFiles(paths: string[]): string {
  const h = createHash('sha256');
  for (const p of paths) h.update(p).update(readFileSync(p));
  return h.digest('hex');
}

const execFileAsync = promisify(execFile);

/** Runs gcc without blocking the event loop; a failure is a ToolFailedError quoting the error. */
async function gccAsync(gcc: string, args: string[], what: string): Promise<void> {
  try {
    await execFileAsync(gcc, args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const lines = `${err.stderr ?? err.message}`.split('\n').map((l) => l.trim()).filter(Boolean);
    throw new ToolFailedError(`${what} failed: ${lines.find((l) => /error/i.test(l)) ?? lines[0] ?? 'unknown error'}`);
  }
}

/** Moves a finished build folder into place; another process may have won the race. */
function publish(work: string, dir: string, marker: string): void {
  try {
    renameSync(work, dir);
  } catch {
    if (!existsSync(marker)) throw new ToolFailedError(`could not store the build in ${dir}: check that the cache folder is writable`);
  }
}

/** Runs `jobs` with at most one per CPU core at a time (gcc is CPU-bound; dozens at once only thrash). */
async function inPool(jobs: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(jobs.length, availableParallelism()) }, worker));
}

/** Kernel builds in progress in this process, by folder: concurrent callers share one. */
const kernelBuilds = new Map<string, Promise<string[]>>();

/**
 * The kernels compiled once for the host (same flags as the runner), cached by a hash of their
 * sources, headers and flags: every model's runner links these objects.
 */
async function hostKernelObjects(gcc: string): Promise<string[]> {
  const headers = readdirSync(KERNEL_INCLUDE_DIR).sort().map((f) => resolve(KERNEL_INCLUDE_DIR, f));
  const id = createHash('sha256').update(hashFiles([...kernelSources(), ...headers])).update(HOST_CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = join(cacheDir(), 'native-host', `kernels-${id}`);
  let build = kernelBuilds.get(dir);
  if (!build) {
    build = compileHostKernels(gcc, dir, id);
    kernelBuilds.set(dir, build);
    build.catch(() => kernelBuilds.delete(dir));
  }
  return build;
}

async function compileHostKernels(gcc: string, dir: string, id: string): Promise<string[]> {
  const sources = kernelSources();
  const objects = sources.map((src) => join(dir, src.split('/').pop()!.replace(/\.c$/, '.o')));
  if (existsSync(join(dir, 'done'))) return objects;
  mkdirSync(join(cacheDir(), 'native-host'), { recursive: true });
  const work = mkdtempSync(join(cacheDir(), 'native-host', `.kernels-${id}-`));
  try {
    await inPool(
      sources.map((src) => () =>
        gccAsync(gcc, [...HOST_CFLAGS, `-I${KERNEL_INCLUDE_DIR}`, '-c', src, '-o', join(work, src.split('/').pop()!.replace(/\.c$/, '.o'))], 'compiling the kernels for the host (gcc)'),
      ),
    );
    writeFileSync(join(work, 'done'), '');
    publish(work, dir, join(dir, 'done'));
  } finally {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
  return objects;
}

/** Generates and compiles the host runner for `graph`, or reuses the cached one. */
export async function buildHostRunner(
  graph: Graph,
  opts: {
    modelBytes?: Uint8Array;
    modelLabel?: string;
    /** -DTML_TRACE: dump every tensor each op writes (ops are not fused, so every tensor exists). */
    trace?: boolean;
    /** Kernel set (default portable). The dsp set's instructions are portable C on the host. */
    kernels?: KernelSet;
    /** Flash bytes for constants, as a board would give (dsp ops beyond it keep int8 weights). */
    constBudget?: number;
  } = {},
): Promise<HostRunner> {
  const traceFlags = opts.trace ? ['-DTML_TRACE'] : [];
  const gen = generateNative(graph, { modelBytes: opts.modelBytes, modelLabel: opts.modelLabel, kernels: opts.kernels, fuse: !opts.trace, constBudget: opts.constBudget });
  const hostMain = resolve(NATIVE_TEMPLATES_DIR, 'host_main.c');
  const headers = readdirSync(KERNEL_INCLUDE_DIR).sort().map((f) => resolve(KERNEL_INCLUDE_DIR, f));
  const id = createHash('sha256')
    .update(gen.buildId)
    .update(hashFiles([...kernelSources(), ...headers, hostMain]))
    .update([...HOST_CFLAGS, ...traceFlags].join(' '))
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir(), 'native-host', id);
  const runner = join(dir, 'runner');
  const result: HostRunner = {
    dir,
    runner,
    buildId: id,
    arenaBytes: gen.arenaBytes,
    weightBytes: gen.weightBytes,
    numInputs: graph.inputs.length,
    numOutputs: graph.outputs.length,
    compiled: false,
  };
  if (existsSync(runner)) return result;

  const gcc = requireTool('gcc');
  const kernels = await hostKernelObjects(gcc);
  // Build in a private folder, then rename: concurrent builds of the same model never see a
  // half-written runner.
  const work = mkdtempSync(join(cacheDir(), 'native-host', `.build-${id}-`));
  try {
    for (const [name, text] of Object.entries(gen.files)) writeFileSync(join(work, name), text);
    await gccAsync(
      gcc,
      [...HOST_CFLAGS, ...traceFlags, `-I${work}`, `-I${KERNEL_INCLUDE_DIR}`, join(work, 'model.c'), hostMain, ...kernels, '-o', join(work, 'runner')],
      'compiling the host runner (gcc)',
    );
    publish(work, dir, runner);
  } finally {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
  result.compiled = true;
  return result;
}

/**
 * Runs the host runner on several cases at once (each from a fresh tml_model_init(), or with
 * keepState as consecutive invocations that keep the model's state tensors).
 * cases[k][i] = raw bytes of input i for case k. Returns outputs[k][j] raw bytes.
 * A sanitizer report or a crash is a MismatchError quoting its first line.
 */
export async function runHostRunner(h: HostRunner, cases: Uint8Array[][], opts: { traceDir?: string; keepState?: boolean } = {}): Promise<Uint8Array[][]> {
  const tmp = mkdtempSync(join(tmpdir(), 'tinyml-host-'));
  try {
    const files: string[] = [];
    cases.forEach((inputs, k) => {
      if (inputs.length !== h.numInputs) throw new Error(`case ${k} has ${inputs.length} inputs, the model has ${h.numInputs}`);
      inputs.forEach((bytes, i) => {
        const f = join(tmp, `case_${k}_input_${i}.bin`);
        writeFileSync(f, bytes);
        files.push(f);
      });
    });
    const env = { ...process.env, TML_TRACE_DIR: opts.traceDir ?? '', TML_KEEP_STATE: opts.keepState ? '1' : '0', ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' };
    let stderr = '';
    let failed = false;
    try {
      stderr = (await execFileAsync(h.runner, [tmp, String(cases.length), ...files], { env, maxBuffer: 64 * 1024 * 1024 })).stderr;
    } catch (e) {
      failed = true;
      stderr = (e as { stderr?: string; message: string }).stderr || (e as Error).message;
    }
    if (failed || /runtime error|AddressSanitizer|LeakSanitizer/.test(stderr)) {
      const first = stderr.split('\n').find((l) => l.trim()) ?? '';
      throw new MismatchError(`the native host runner failed (${first.trim()}): this is a tinyml bug, please report it with the model`);
    }
    return cases.map((_, k) =>
      Array.from({ length: h.numOutputs }, (_, j) => new Uint8Array(readFileSync(join(tmp, `case_${k}_output_${j}.bin`)))),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
