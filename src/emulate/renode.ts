/**
 * Runs a firmware ELF in Renode (Antmicro's emulator: the nRF52840 of the Nano 33 BLE, STM32
 * parts QEMU lacks) with the board's report UART behind a host pty, read with `serialport`
 * exactly like QEMU's pty and a board's port:
 *
 *   renode --disable-xwt --console --plain       (monitor commands on standard input)
 *     $elf=@<elf>; include @<machine.resc>         renodeScript(): the lines below
 *     mach create "<board>"
 *     machine LoadPlatformDescription @platforms/boards/<board>.repl
 *     sysbus.cpu PerformanceInMips 1000            virtual time: 1 ns per executed instruction
 *     sysbus.nvic Frequency <f_cpu>                SysTick on the board's core clock
 *     sysbus LoadELF @<elf>
 *     sysbus.cpu VectorTableOffset <vector table>  what a bootloader does on the board
 *     emulation CreateUartPtyTerminal "tml_uart" "<pty>" true
 *     connector Connect <uart> tml_uart
 *     start                                        once the host holds the pty open
 *     ... `done` record ...
 *     sysbus.cpu ExecutedInstructions              the exact count, kept in the result
 *     quit
 *
 * Costs: Renode's virtual time is the executed instruction count divided by PerformanceInMips,
 * so at 1000 MIPS every instruction is 1 ns, exactly as QEMU's `-icount shift=0`: the firmware's
 * SysTick fallback (firmware/runtime/tml_timer.h) turns ticks back into instructions. Same ELF,
 * same count, every run. They are instructions, never cycles or time.
 *
 * The pty stays open until Renode has exited: closing it while the machine runs can crash Renode.
 * Renode is found from --renode, $RENODE, PATH, or ../shared/tools/renode beside the project
 * (tests); a Mono-based Renode needs Mono (Debian: mono-runtime and a few libraries).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { SerialPort } from 'serialport';
import { FileError, MissingToolError, TimeoutError, ToolFailedError } from '../errors.ts';
import type { DecodedItem, DecoderStats } from '../device/protocol.ts';
import { closeSerial, openSerial } from '../device/serial.ts';
import { PROJECT_ROOT } from '../build/paths.ts';
import { whichTool } from '../toolchain/tools.ts';
import { checkArmElf } from './qemu.ts';
import { readReportUntilDone } from './report-stream.ts';

export const RENODE_INSTALL_HINT =
  'install Renode 1.15 or newer (an official release from https://github.com/renode/renode/releases, e.g. `sudo apt-get install ./renode_1.15.3_amd64.deb`), then put `renode` on PATH, set RENODE=<path>, or pass --renode <path>';
/** Debian packages that run a Mono build of Renode headless (scripts/setup.sh installs the same). */
export const MONO_PACKAGES = [
  'mono-runtime',
  'libmono-microsoft-csharp4.0-cil',
  'libmono-posix4.0-cil',
  'libmono-system-drawing4.0-cil',
  'libmono-system-dynamic4.0-cil',
  'libmono-system-io-compression4.0-cil',
  'libmono-system-net4.0-cil',
  'libmono-system-runtime-serialization4.0-cil',
  'libmono-system-xml-linq4.0-cil',
  'libmono-system-xml-serialization4.0-cil',
];
export const MONO_INSTALL_HINT = `sudo apt-get install ${MONO_PACKAGES.join(' ')} (or mono-complete)`;

/** Renode's virtual clock: 1000 MIPS makes one executed instruction exactly 1 ns. */
export const RENODE_MIPS = 1000;
/** Mono and Renode take a few seconds to start and load a platform. */
export const RENODE_START_TIMEOUT_MS = 60_000;

export interface RenodeTarget {
  /** Platform file, relative to Renode's root: platforms/boards/arduino_nano_33_ble.repl. */
  platform: string;
  /** The report UART's peripheral: sysbus.uart0, sysbus.usart2. */
  uart: string;
  /** Core clock in Hz: SysTick counts it, as the firmware assumes. */
  cpuHz: number;
  /** Machine name shown in Renode's logs (the board id). */
  name: string;
}

export interface RenodeRunOptions extends RenodeTarget {
  elfPath: string;
  /** A .resc written by renodeScript (tinyml ci robot) to run instead of a fresh one. */
  rescPath?: string;
  /** Renode launcher or its folder (--renode); default: $RENODE, PATH, ../shared/tools/renode. */
  renodePath?: string;
  timeoutMs?: number;
  onItem?: (item: DecodedItem) => void;
}

export interface RenodeRunResult {
  items: DecodedItem[];
  stats: DecoderStats;
  done: boolean;
  wallMs: number;
  ptyPath: string;
  /** `sysbus.cpu ExecutedInstructions` after the `done` record (null when the run did not finish). */
  executedInstructions: number | null;
}

export interface RenodeInstall {
  /** The launcher to execute. */
  launcher: string;
  /** Its real folder: Renode resolves `@platforms/...` from there. */
  root: string;
  /** True when this Renode runs on Mono (a launcher script starting Renode.exe). */
  needsMono: boolean;
  /** Where it was found: --renode, RENODE, PATH or ../shared/tools/renode. */
  source: string;
}

function launcherIn(path: string): string {
  try {
    return statSync(path).isDirectory() ? join(path, 'renode') : path;
  } catch {
    return path;
  }
}

function usesMono(launcher: string, root: string): boolean {
  if (existsSync(join(root, 'output', 'bin', 'Release', 'Renode.exe')) || existsSync(join(root, 'bin', 'Renode.exe'))) return true;
  try {
    const head = readFileSync(launcher).subarray(0, 4096).toString('latin1');
    return head.startsWith('#!') && /\bmono\b|Renode\.exe/.test(head);
  } catch {
    return false;
  }
}

/**
 * Finds Renode: --renode <path> (the launcher or its folder), $RENODE, `renode` on PATH, then
 * ../shared/tools/renode beside the project. Throws MissingToolError (exit 9) with the install
 * line when none is there, or when it needs Mono and Mono is missing.
 */
export function findRenode(explicit?: string, env: NodeJS.ProcessEnv = process.env): RenodeInstall {
  const candidates: { path: string; source: string; required: boolean }[] = [];
  if (explicit) candidates.push({ path: launcherIn(resolve(explicit)), source: '--renode', required: true });
  else if (env['RENODE']) candidates.push({ path: launcherIn(resolve(env['RENODE'])), source: 'RENODE', required: true });
  else {
    const onPath = whichTool('renode', env['PATH'] ?? '');
    if (onPath) candidates.push({ path: onPath, source: 'PATH', required: false });
    candidates.push({ path: resolve(PROJECT_ROOT, '..', 'shared', 'tools', 'renode', 'renode'), source: '../shared/tools/renode', required: false });
  }
  for (const c of candidates) {
    if (whichTool(c.path) === undefined) {
      if (c.required) throw new MissingToolError(`Renode not found at ${c.path} (from ${c.source}): ${RENODE_INSTALL_HINT}`);
      continue;
    }
    const real = realpathSync(c.path);
    const root = dirname(real);
    const needsMono = usesMono(real, root);
    if (needsMono && whichTool('mono', env['PATH'] ?? '') === undefined) {
      throw new MissingToolError(`Renode at ${c.path} needs Mono, which is not installed: ${MONO_INSTALL_HINT}`);
    }
    return { launcher: c.path, root, needsMono, source: c.source };
  }
  throw new MissingToolError(`Renode not found (no --renode, RENODE, \`renode\` on PATH or ../shared/tools/renode): ${RENODE_INSTALL_HINT}`);
}

/** Lowest load address of the ELF's executable segment: where the vector table is. */
export function vectorTableAddress(elfPath: string): number {
  const elf = readFileSync(elfPath);
  const phoff = elf.readUInt32LE(0x1c);
  const phentsize = elf.readUInt16LE(0x2a);
  const phnum = elf.readUInt16LE(0x2c);
  let best: number | null = null;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 32 > elf.length) break;
    const type = elf.readUInt32LE(o);
    const vaddr = elf.readUInt32LE(o + 8);
    const filesz = elf.readUInt32LE(o + 16);
    const flags = elf.readUInt32LE(o + 24);
    if (type === 1 && (flags & 1) !== 0 && filesz > 0 && (best === null || vaddr < best)) best = vaddr;
  }
  if (best === null) throw new FileError(`${elfPath} has no executable segment: pass the firmware.elf that tinyml build wrote`);
  return best;
}

const hex = (v: number) => `0x${v.toString(16).toUpperCase()}`;

/**
 * The Renode script (.resc) that creates the board's machine, sets the instruction-exact clock
 * and loads the ELF named by the `$elf` variable: everything but the host pty and `start`. The
 * runner includes it after setting `$elf`; `tinyml ci robot` writes the same text for
 * renode-test, where the .robot file sets `$elf` and starts the emulation.
 */
export function renodeScript(target: RenodeTarget, vectorTable: number, opts: { title?: string; defaultElf?: string } = {}): string {
  return [
    `:name: ${opts.title ?? `tinyml firmware on ${target.name}`}`,
    `:description: Runs a tinyml firmware ELF on ${target.name}; its report records (docs/protocol.md) come out of ${target.uart}.`,
    '',
    `$elf?=${opts.defaultElf ?? '@firmware.elf'}`,
    '',
    `mach create "${target.name}"`,
    `machine LoadPlatformDescription @${target.platform}`,
    `# Virtual time: ${RENODE_MIPS} MIPS makes one executed instruction 1 ns; SysTick counts the`,
    '# board clock on it, so the firmware turns SysTick ticks into exact instruction counts.',
    `sysbus.cpu PerformanceInMips ${RENODE_MIPS}`,
    `sysbus.nvic Frequency ${target.cpuHz}`,
    'sysbus LoadELF $elf',
    '# The vector table of the image (a bootloader points VTOR there on the board).',
    `sysbus.cpu VectorTableOffset ${hex(vectorTable)}`,
    '',
  ].join('\n');
}

/** Quotes a host path for a Renode command (`@path` does not allow spaces or quotes). */
function renodePath(p: string): string {
  if (/[\s"'`$;]/.test(p)) throw new FileError(`the path ${p} has spaces or quotes, which Renode's monitor cannot take: move the firmware to a plain path`);
  return `@${p}`;
}

const ERROR_LINE = /There was an error executing command '([^']*)'/;
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The monitor's output, with what follows each "There was an error executing command" line. */
export function renodeCommandError(output: string): { command: string; message: string } | null {
  const lines = output.replace(ANSI, '').split(/\r?\n/);
  const i = lines.findIndex((l) => ERROR_LINE.test(l));
  if (i < 0) return null;
  const command = ERROR_LINE.exec(lines[i]!)![1]!;
  const message = lines
    .slice(i + 1, i + 4)
    .filter((l) => l.trim() !== '' && !/^\(\w[\w-]*\)/.test(l))
    .map((l) => l.trim())
    .join(' ');
  return { command, message: message || 'no message' };
}

function lastLine(text: string): string {
  const lines = text
    .replace(ANSI, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^\(\w[\w-]*\)\s*$/.test(l));
  return lines[lines.length - 1] ?? 'no output';
}

/** Sends `echo <marker>` and waits for it on the monitor's output: every command before it has run. */
function sync(child: ChildProcess, output: { text: string }, marker: string, timeoutMs: number): Promise<void> {
  return new Promise((resolveSync, reject) => {
    const started = output.text.length;
    const timer = setTimeout(() => finish(new TimeoutError(`Renode did not answer within ${Math.round(timeoutMs / 1000)} s (it may still be starting Mono): raise --timeout`)), timeoutMs);
    const onData = () => {
      if (output.text.indexOf(`\n${marker}`, started) >= 0 || output.text.indexOf(`${marker}\r`, started) >= 0) finish(null);
    };
    const onExit = (code: number | null) => finish(new ToolFailedError(`Renode exited (code ${code}) before the machine started: ${lastLine(output.text)}`));
    const finish = (e: Error | null) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolveSync();
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.stdin?.write(`echo "${marker}"\n`);
  });
}

function stopRenode(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
    const term = setTimeout(() => child.kill('SIGTERM'), graceMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs + 3000);
    child.once('exit', () => {
      clearTimeout(term);
      clearTimeout(kill);
      resolveStop();
    });
    if (child.stdin?.writable) child.stdin.write('quit\n');
    else child.kill('SIGTERM');
  });
}

/** Reads `sysbus.cpu ExecutedInstructions` (printed in hex) from the monitor. */
async function executedInstructions(child: ChildProcess, output: { text: string }): Promise<number | null> {
  const from = output.text.length;
  child.stdin?.write('sysbus.cpu ExecutedInstructions\n');
  try {
    await sync(child, output, 'tml-counted', 10_000);
  } catch {
    return null;
  }
  const m = /\b0x([0-9A-Fa-f]+)\b/.exec(output.text.slice(from));
  return m ? Number.parseInt(m[1]!, 16) : null;
}

export async function runRenode(opts: RenodeRunOptions): Promise<RenodeRunResult> {
  if (!existsSync(opts.elfPath)) throw new FileError(`firmware ${opts.elfPath} not found: build it first (tinyml build)`);
  checkArmElf(opts.elfPath);
  const elfPath = resolve(opts.elfPath);
  const install = findRenode(opts.renodePath);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'tinyml-renode-'));
  const ptyPath = join(work, 'uart');
  const where = `Renode ${opts.platform}`;
  const child = spawn(install.launcher, ['--disable-xwt', '--console', '--plain'], { cwd: install.root, stdio: ['pipe', 'pipe', 'pipe'] });
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new MissingToolError(`Renode could not start (${e.message}): ${RENODE_INSTALL_HINT}`))));
  spawnError.catch(() => {});
  const output = { text: '' };
  child.stdout?.on('data', (c: Buffer) => (output.text += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (output.text += c.toString('utf8')));
  let port: SerialPort | null = null;
  let finished = false;
  try {
    const resc = opts.rescPath ? resolve(opts.rescPath) : join(work, 'machine.resc');
    if (!opts.rescPath) writeFileSync(resc, renodeScript(opts, vectorTableAddress(elfPath)));
    else if (!existsSync(resc)) throw new FileError(`Renode script ${resc} not found: write it with tinyml ci robot`);
    const commands = [
      `$elf=${renodePath(elfPath)}`,
      `include ${renodePath(resc)}`,
      `emulation CreateUartPtyTerminal "tml_uart" "${ptyPath}" true`,
      `connector Connect ${opts.uart} tml_uart`,
    ];
    child.stdin?.write(commands.map((c) => `${c}\n`).join(''));
    await Promise.race([sync(child, output, 'tml-ready', Math.min(timeoutMs, RENODE_START_TIMEOUT_MS)), spawnError]);
    const failed = renodeCommandError(output.text);
    if (failed) {
      if (/mono/i.test(failed.message)) throw new MissingToolError(`Renode cannot run: ${failed.message}: ${MONO_INSTALL_HINT}`);
      throw new ToolFailedError(`Renode failed on \`${failed.command}\`: ${failed.message}`);
    }
    if (!existsSync(ptyPath)) throw new ToolFailedError(`Renode did not create the UART pty ${ptyPath}: ${lastLine(output.text)}`);
    // Renode keeps the pty's other side open itself: it is the port's provider, not a second reader.
    port = await openSerial(ptyPath, undefined, { provider: child.pid });
    const read = await readReportUntilDone({
      port,
      child,
      remainingMs: timeoutMs - (Date.now() - started),
      timeoutMs,
      where,
      tool: 'Renode',
      lastLine: () => lastLine(output.text),
      onItem: opts.onItem,
      start: () => child.stdin?.write('start\n'),
    });
    finished = read.done;
    const count = read.done && child.exitCode === null ? await executedInstructions(child, output) : null;
    return { ...read, wallMs: Date.now() - started, ptyPath, executedInstructions: count };
  } catch (e) {
    if (e instanceof ToolFailedError && /mono not found|requires Mono/i.test(output.text)) {
      throw new MissingToolError(`Renode needs Mono, which is not installed: ${MONO_INSTALL_HINT}`);
    }
    throw e;
  } finally {
    // Renode quits first (`quit` pauses and disposes the machine), then the pty is closed.
    await stopRenode(child, finished ? 10_000 : 2_000);
    if (port) await closeSerial(port);
    rmSync(work, { recursive: true, force: true });
  }
}
