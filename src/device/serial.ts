/**
 * Serial ports through `serialport`, with every failure a user can hit turned into a one-line
 * DeviceError that says what to do: port not found, permission denied (dialout group), port
 * busy (another program holds it), `udevadm` missing when listing ports. The same code opens a
 * real board's port and QEMU's pty.
 *
 * Never opens a port at 1200 baud: on Arduino boards that is the "touch" that resets the board
 * into its bootloader.
 */
import { SerialPort } from 'serialport';
import { existsSync } from 'node:fs';
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

/** Opens a port for reading the report stream; resolves when it is open. */
export function openSerial(path: string, baudRate: number = DEFAULT_BAUD): Promise<SerialPort> {
  checkBaud(baudRate);
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false, lock: true });
    port.open((err) => (err ? reject(serialError(path, err)) : resolve(port)));
  });
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
