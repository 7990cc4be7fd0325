/**
 * Serial ports through `serialport`, with every failure a user can hit turned into a one-line
 * DeviceError that says what to do: port not found, permission denied (dialout group), port
 * busy (another program holds it), `udevadm` missing when listing ports. The same code opens a
 * real board's port and QEMU's pty.
 *
 * Never opens a port at 1200 baud: on Arduino boards that is the "touch" that resets the board
 * into its bootloader.
 *
 * Exclusive access: two readers of one port split its byte stream between them, so each loses
 * records at random. A port is opened only when no other process holds it (found in /proc on
 * Linux, and named in the error), with serialport's `lock` (flock: keeps out another tinyml and
 * every program that locks the port), and `watchHolders` notices a reader that opens the port
 * later. TIOCEXCL is not used: Node cannot issue it on its own descriptor, and on a pty the mode
 * would outlive this process and lock its user out of the port.
 */
import { SerialPort } from 'serialport';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DeviceError, UsageError } from '../errors.ts';

export const DEFAULT_BAUD = 115200;
/** Opening a port at this rate resets Arduino boards into the bootloader. */
export const BOOTLOADER_TOUCH_BAUD = 1200;

export interface PortInfo {
  path: string;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
  serialNumber?: string;
}

export function checkBaud(baud: number): void {
  if (!Number.isInteger(baud) || baud <= 0) throw new UsageError(`--baud ${baud} is not a baud rate: pass a positive integer such as 115200`);
  if (baud === BOOTLOADER_TOUCH_BAUD) {
    throw new UsageError('--baud 1200 would reset an Arduino board into its bootloader: use the rate the firmware prints at (115200 for tinyml firmware)');
  }
}

/** Maps an open/read error of `serialport` to the one line a user needs. */
export function serialError(path: string, err: unknown): DeviceError {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code === 'ENOENT' || /ENOENT|No such file/i.test(msg)) {
    return new DeviceError(`serial port ${path} not found: check the cable and the port name, or pass --port auto`);
  }
  if (code === 'EACCES' || /EACCES|Permission denied/i.test(msg)) {
    return new DeviceError(`permission denied on ${path}: add your user to the dialout group (sudo usermod -aG dialout $USER) and log in again`);
  }
  if (code === 'EBUSY' || /EBUSY|Cannot lock port|Resource temporarily unavailable|busy/i.test(msg)) {
    return new DeviceError(`serial port ${path} is busy: close the other program using it (serial monitor, screen, another tinyml) and retry`);
  }
  const detail = msg.split('\n')[0]!.replace(/^Error: /, '');
  return new DeviceError(`serial port ${path} failed (${detail}): check that it is the board's serial port, or pass --port auto`);
}

/** Another process that has a port open for reading. */
export interface PortHolder {
  pid: number;
  /** Its command name (/proc/<pid>/comm): untrusted text, print it escaped. */
  name: string;
}

function devicePath(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * Processes other than this one that hold `path` open for reading (Linux: /proc/<pid>/fd).
 * Processes of other users are visible only to root; elsewhere the list is empty.
 */
export function portHolders(path: string): PortHolder[] {
  if (process.platform !== 'linux') return [];
  const device = devicePath(path);
  if (device === null) return [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const holders: PortHolder[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited, or another user's process
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target !== device || writeOnly(pid, fd)) continue;
      let name = '?';
      try {
        name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        // exited meanwhile
      }
      holders.push({ pid: Number(pid), name });
      break;
    }
  }
  return holders;
}

/** A descriptor opened O_WRONLY cannot take bytes from the stream. */
function writeOnly(pid: string, fd: string): boolean {
  try {
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    return flags !== null && (parseInt(flags[1]!, 8) & 3) === 1;
  } catch {
    return false;
  }
}

/** A port that another process reads (exit code 11, like every port problem). */
export class PortHeldError extends DeviceError {
  constructor(
    message: string,
    readonly holders: PortHolder[],
  ) {
    super(message);
  }
}

/** The error for a port that another program reads: names it, says what happens and what to do. */
export function heldError(path: string, holders: PortHolder[]): PortHeldError {
  const shown = holders.slice(0, 5);
  const who = shown.map((h) => `${h.name} (pid ${h.pid})`).join(', ') + (holders.length > shown.length ? ` and ${holders.length - shown.length} more` : '');
  return new PortHeldError(
    `serial port ${path} is also open in ${who}: two readers split the stream and records are lost; close it (kill ${shown.map((h) => h.pid).join(' ')}) and retry`,
    holders,
  );
}

/** The parent pid of `pid` (/proc/<pid>/stat), or 0. */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) || 0;
  } catch {
    return 0;
  }
}

/** True when `pid` is `ancestor` or one of its descendants. */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; p = parentOf(p), hops++) if (p === ancestor) return true;
  return false;
}

export interface OpenSerialOptions {
  /**
   * The process that provides the port (an emulator that keeps its pty's other side open, as
   * Renode does): it and its children are not other readers.
   */
  provider?: number;
}

/** Opens a port for reading the report stream, exclusively; resolves when it is open. */
export async function openSerial(path: string, baudRate: number = DEFAULT_BAUD, opts: OpenSerialOptions = {}): Promise<SerialPort> {
  checkBaud(baudRate);
  const port = await new Promise<SerialPort>((resolve, reject) => {
    const p = new SerialPort({ path, baudRate, autoOpen: false, lock: true });
    p.open((err) => (err ? reject(serialError(path, err)) : resolve(p)));
  });
  // Checked once the port is open (so it is a terminal, not /dev/null): a reader that was there
  // before, or that opened it at the same time.
  const provider = opts.provider;
  const after = portHolders(path).filter((h) => provider === undefined || !descendsFrom(h.pid, provider));
  if (after.length > 0) {
    await closeSerial(port);
    throw heldError(path, after);
  }
  return port;
}

/**
 * Checks every `intervalMs` that no other process has opened the port (root is not kept out by
 * exclusive mode); calls `onIntruder` once with the holders. Returns a stop function.
 */
export function watchHolders(path: string, onIntruder: (holders: PortHolder[]) => void, intervalMs = 1000): () => void {
  if (process.platform !== 'linux') return () => {};
  const timer = setInterval(() => {
    const holders = portHolders(path);
    if (holders.length > 0) {
      clearInterval(timer);
      onIntruder(holders);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export function closeSerial(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) return resolve();
    port.close(() => resolve());
  });
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, tool)));
}

/**
 * Lists serial ports with their USB ids. On Linux `serialport` asks `udevadm`; without it
 * (containers) the list cannot know USB ids, so this says how to fix that instead of hanging.
 */
export async function listPorts(): Promise<PortInfo[]> {
  if (process.platform === 'linux' && !onPath('udevadm')) {
    throw new DeviceError('cannot detect boards: udevadm is not installed (sudo apt-get install udev), or pass --port <path>');
  }
  try {
    const ports = await SerialPort.list();
    return ports.map((p) => ({ path: p.path, vendorId: p.vendorId, productId: p.productId, manufacturer: p.manufacturer, serialNumber: p.serialNumber }));
  } catch (e) {
    throw new DeviceError(`cannot list serial ports: ${e instanceof Error ? e.message : String(e)}: pass --port <path>`);
  }
}
