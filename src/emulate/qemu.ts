/**
 * Runs a firmware ELF in QEMU with its UART behind a pty, read with `serialport` exactly like a
 * board's port:
 *
 *   qemu-system-arm -M <machine> -nographic -S -icount shift=0,align=off,sleep=off
 *                   -serial pty -monitor stdio -kernel <elf>
 *
 * `-icount shift=0` makes every guest instruction take 1 ns of virtual time (deterministic
 * instruction counts through SysTick). QEMU starts paused (`-S`): it drops UART output while no
 * one holds the pty open, so the host opens the pty first and then resumes the guest with the
 * monitor's `cont`. The run ends at the `done` record, at QEMU's exit, or at the timeout.
 * Every decoded item is handed to `onItem` as it arrives (the JSONL log is written there); the
 * reading rules are shared with Renode (./report-stream.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import type { SerialPort } from 'serialport';
import { FileError, MissingToolError, TimeoutError, ToolFailedError } from '../errors.ts';
import type { DecodedItem, DecoderStats } from '../device/protocol.ts';
import { closeSerial, openSerial } from '../device/serial.ts';
import { readReportUntilDone } from './report-stream.ts';

export { AFTER_ERROR_GRACE_MS, HELLO_TIMEOUT_MS } from './report-stream.ts';

export const QEMU_BINARY = 'qemu-system-arm';
export const QEMU_INSTALL_HINT = 'sudo apt-get install qemu-system-arm';

/** Refuses files that QEMU would load as a raw image and run as garbage. */
export function checkArmElf(path: string): void {
  const head = Buffer.alloc(20);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new FileError(`cannot read firmware ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}): check the path and its permissions`);
  }
  try {
    readSync(fd, head, 0, 20, 0);
  } catch (e) {
    // EISDIR surfaces here: a folder opens fine on Linux and fails on read.
    const what = (e as NodeJS.ErrnoException).code === 'EISDIR' ? 'is a folder' : 'cannot be read';
    throw new FileError(`firmware ${path} ${what}: pass the firmware.elf file that tinyml build wrote`);
  } finally {
    closeSync(fd);
  }
  const isElf = head.readUInt32BE(0) === 0x7f454c46;
  if (!isElf || head[4] !== 1 || head.readUInt16LE(18) !== 40) {
    throw new FileError(`${path} is not a 32-bit Arm ELF firmware: pass the firmware.elf that tinyml build wrote`);
  }
}

export interface QemuRunOptions {
  elfPath: string;
  /** QEMU machine, from the board registry's emulation.qemu (mps2-an386, netduinoplus2). */
  machine: string;
  /** Wall-clock limit for the whole run. */
  timeoutMs?: number;
  onItem?: (item: DecodedItem) => void;
}

export interface QemuRunResult {
  items: DecodedItem[];
  stats: DecoderStats;
  /** True when the firmware sent its `done` record. */
  done: boolean;
  wallMs: number;
  ptyPath: string;
}

let qemuChecked = false;

/** Throws MissingToolError with the install line when qemu-system-arm is not installed. */
export function checkQemu(): void {
  if (qemuChecked) return;
  const r = spawnSync(QEMU_BINARY, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new MissingToolError(`${QEMU_BINARY} not found: install it with \`${QEMU_INSTALL_HINT}\``);
  qemuChecked = true;
}

export function qemuArgs(machine: string, elfPath: string): string[] {
  return ['-M', machine, '-nographic', '-S', '-icount', 'shift=0,align=off,sleep=off', '-serial', 'pty', '-monitor', 'stdio', '-kernel', elfPath];
}

const PTY_LINE = /char device redirected to (\/dev\/pts\/\d+)/;

function waitForPty(child: ChildProcess, timeoutMs: number, output: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new TimeoutError(`${QEMU_BINARY} did not create its serial pty within ${timeoutMs} ms: check that QEMU runs (${QEMU_BINARY} --version)`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output.text += chunk.toString('utf8');
      const m = PTY_LINE.exec(output.text);
      if (m) finish(m[1]!);
    };
    const onExit = (code: number | null) => fail(new ToolFailedError(`${QEMU_BINARY} exited (code ${code}) before starting: ${lastLine(output.text)}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    const finish = (path: string) => {
      cleanup();
      resolve(path);
    };
    const fail = (e: Error) => {
      cleanup();
      reject(e);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/^\(qemu\)\s*/, '').trim()).filter(Boolean);
  return lines[lines.length - 1] ?? 'no output';
}

function stopQemu(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function runQemu(opts: QemuRunOptions): Promise<QemuRunResult> {
  if (!existsSync(opts.elfPath)) throw new FileError(`firmware ${opts.elfPath} not found: build it first (tinyml build)`);
  checkArmElf(opts.elfPath);
  checkQemu();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const started = Date.now();
  const child = spawn(QEMU_BINARY, qemuArgs(opts.machine, opts.elfPath), { stdio: ['pipe', 'pipe', 'pipe'] });
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new MissingToolError(`${QEMU_BINARY} could not start (${e.message}): install it with \`${QEMU_INSTALL_HINT}\``))));
  spawnError.catch(() => {});
  const qemuOutput = { text: '' };
  let port: SerialPort | null = null;
  try {
    const ptyPath = await Promise.race([waitForPty(child, Math.min(timeoutMs, 20_000), qemuOutput), spawnError]);
    child.stdout?.on('data', (c: Buffer) => (qemuOutput.text += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (qemuOutput.text += c.toString('utf8')));
    port = await openSerial(ptyPath);
    const read = await readReportUntilDone({
      port,
      child,
      remainingMs: timeoutMs - (Date.now() - started),
      timeoutMs,
      where: `QEMU ${opts.machine}`,
      tool: QEMU_BINARY,
      lastLine: () => lastLine(qemuOutput.text),
      onItem: opts.onItem,
      start: () => child.stdin?.write('cont\n'),
    });
    return { ...read, wallMs: Date.now() - started, ptyPath };
  } finally {
    if (port) await closeSerial(port);
    await stopQemu(child);
  }
}
