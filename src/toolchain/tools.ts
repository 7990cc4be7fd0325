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

/** Runs a tool to completion; a non-zero exit is a ToolFailedError quoting its first lines. */
export function runTool(tool: string, args: string[], opts: { cwd?: string; what: string; env?: NodeJS.ProcessEnv }): ToolResult {
  const r = spawnSync(tool, args, { cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') requireTool(tool, { PATH: '' });
    throw new ToolFailedError(`${opts.what}: could not start ${tool} (${r.error.message})`);
  }
  if (r.status !== 0) {
    const lines = `${r.stderr}\n${r.stdout}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    const firstError = lines.find((l) => /error|undefined reference|overflowed/i.test(l)) ?? lines[0] ?? `exit status ${r.status}`;
    throw new ToolFailedError(`${opts.what} failed: ${firstError}`);
  }
  return { stdout: r.stdout, stderr: r.stderr };
}
