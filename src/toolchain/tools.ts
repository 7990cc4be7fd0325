/**
 * Finding and running the external compilers. A missing tool is a MissingToolError carrying
 * the exact install line; a tool that runs and fails is a ToolFailedError with its first error
 * lines (never a stack trace).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingToolError, ToolFailedError } from '../errors.ts';

/** How to install each tool on Debian/Ubuntu (the project's documented platform). */
export const INSTALL_HINT: Record<string, string> = {
  gcc: 'sudo apt-get install gcc',
  'arm-none-eabi-gcc': 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'arm-none-eabi-g++': 'sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib',
  'arm-none-eabi-ar': 'sudo apt-get install binutils-arm-none-eabi',
  'arm-none-eabi-size': 'sudo apt-get install binutils-arm-none-eabi',
  'arm-none-eabi-nm': 'sudo apt-get install binutils-arm-none-eabi',
  'arm-none-eabi-objcopy': 'sudo apt-get install binutils-arm-none-eabi',
};

/** Absolute path of `name` on PATH (or `name` itself if it is a path), or undefined. */
export function whichTool(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  if (name.includes('/')) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      return undefined;
    }
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The tool's path, or a MissingToolError with the install line. */
export function requireTool(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const found = whichTool(name, env['PATH'] ?? '');
  if (found) return found;
  const hint = INSTALL_HINT[name] ?? `install ${name}`;
  throw new MissingToolError(`${name} not found on PATH: install it with \`${hint}\``);
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** Default address-space limit of a compiler run (MiB); `TINYML_COMPILER_MEMORY_MB` overrides it. */
export const DEFAULT_COMPILER_MEMORY_MB = 4096;

/** The compiler memory limit in bytes (environment override, else the default). */
export function compilerMemoryLimit(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env['TINYML_COMPILER_MEMORY_MB']);
  return (Number.isFinite(v) && v > 0 ? Math.floor(v) : DEFAULT_COMPILER_MEMORY_MB) * 1024 * 1024;
}

/**
 * The command that runs `tool` under an address-space limit (RLIMIT_AS, inherited by the
 * compiler's own children: cc1, as, ld): `prlimit` from util-linux, or the shell's `ulimit -v`.
 */
function limited(tool: string, args: string[], bytes: number): { file: string; args: string[] } {
  if (process.platform !== 'linux') return { file: tool, args };
  const prlimit = whichTool('prlimit');
  if (prlimit) return { file: prlimit, args: [`--as=${bytes}`, '--', tool, ...args] };
  return { file: '/bin/sh', args: ['-c', `ulimit -v ${Math.floor(bytes / 1024)} && exec "$0" "$@"`, tool, ...args] };
}

/** What a compiler says when the address-space limit stops it. */
const OUT_OF_MEMORY = /out of memory|virtual memory exhausted|cannot allocate memory|std::bad_alloc|memory exhausted|signal terminated program/i;

/**
 * Runs a tool to completion; a non-zero exit is a ToolFailedError quoting its first lines.
 * With `memoryLimitBytes` the tool runs under that address-space limit, and running out of it
 * is a ToolFailedError that says so (never a machine brought to its knees by a huge model).
 */
export function runTool(tool: string, args: string[], opts: { cwd?: string; what: string; env?: NodeJS.ProcessEnv; memoryLimitBytes?: number }): ToolResult {
  const cmd = opts.memoryLimitBytes ? limited(tool, args, opts.memoryLimitBytes) : { file: tool, args };
  const r = spawnSync(cmd.file, cmd.args, { cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') requireTool(tool, { PATH: '' });
    throw new ToolFailedError(`${opts.what}: could not start ${tool} (${r.error.message})`);
  }
  if (r.status !== 0) {
    const lines = `${r.stderr}\n${r.stdout}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    if (opts.memoryLimitBytes && (lines.some((l) => OUT_OF_MEMORY.test(l)) || r.signal === 'SIGKILL' || r.signal === 'SIGSEGV')) {
      const mib = Math.round(opts.memoryLimitBytes / (1024 * 1024));
      const said = lines.find((l) => OUT_OF_MEMORY.test(l)) ?? `killed by ${r.signal ?? `exit status ${r.status}`}`;
      throw new ToolFailedError(
        `${opts.what} failed: the compiler ran out of memory (limit ${mib} MiB; ${said}): the generated code is too large to compile, use a smaller model or raise the limit with TINYML_COMPILER_MEMORY_MB`,
      );
    }
    const firstError = lines.find((l) => /error|undefined reference|overflowed/i.test(l)) ?? lines[0] ?? `exit status ${r.status ?? r.signal}`;
    throw new ToolFailedError(`${opts.what} failed: ${firstError}`);
  }
  return { stdout: r.stdout, stderr: r.stderr };
}
