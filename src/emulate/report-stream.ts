/**
 * Reads the report stream of an emulated firmware from its UART pty until the `done` record,
 * for every emulator (QEMU, Renode): the same decoder and the same rules as a real board's port.
 *
 * The read ends at `done` (resolves true), when the emulator exits (resolves false, or rejects
 * with ToolFailedError on a non-zero exit), at the wall-clock timeout (TimeoutError), when no
 * hello arrives within HELLO_TIMEOUT_MS (DeviceError: not a tinyml firmware, or it died at
 * boot), or AFTER_ERROR_GRACE_MS after an `error` record (a second fault can lock the core up
 * before `done`). Every decoded item is handed to `onItem` as it arrives.
 */
import type { ChildProcess } from 'node:child_process';
import type { SerialPort } from 'serialport';
import { DeviceError, TimeoutError, ToolFailedError } from '../errors.ts';
import { ReportDecoder, type DecodedItem, type DecoderStats } from '../device/protocol.ts';

/** The firmware's hello comes a few thousand instructions after reset; without one by then it is not a tinyml firmware (or it died at boot). */
export const HELLO_TIMEOUT_MS = 15_000;
/** After an `error` record the firmware sends `done`; if a second fault locks the core up, stop anyway. */
export const AFTER_ERROR_GRACE_MS = 2_000;

export interface ReportStreamOptions {
  port: SerialPort;
  /** The emulator process: its exit ends the read. */
  child: ChildProcess;
  /** Wall-clock budget left for the read, in ms. */
  remainingMs: number;
  /** The whole run's limit, for the timeout message. */
  timeoutMs: number;
  /** "QEMU mps2-an386", "Renode platforms/boards/...": names the emulator in messages. */
  where: string;
  /** The emulator's name for a failed exit ("qemu-system-arm", "Renode"). */
  tool: string;
  /** The emulator's last output line, quoted when it exits with an error. */
  lastLine: () => string;
  onItem?: (item: DecodedItem) => void;
  /** Called once the listeners are in place: starts the guest (QEMU `cont`, Renode `start`). */
  start: () => void;
}

export interface ReportStreamResult {
  items: DecodedItem[];
  stats: DecoderStats;
  /** True when the firmware sent its `done` record. */
  done: boolean;
}

export async function readReportUntilDone(opts: ReportStreamOptions): Promise<ReportStreamResult> {
  const decoder = new ReportDecoder();
  const items: DecodedItem[] = [];
  const timers: NodeJS.Timeout[] = [];
  const clearTimers = () => timers.forEach((t) => clearTimeout(t));
  let onData: ((chunk: Buffer) => void) | null = null;
  let onExit: ((code: number | null) => void) | null = null;
  try {
    const done = await new Promise<boolean>((resolve, reject) => {
      const remaining = Math.max(1, opts.remainingMs);
      timers.push(
        setTimeout(() => {
          reject(new TimeoutError(`the firmware sent no 'done' record within ${Math.round(opts.timeoutMs / 1000)} s in ${opts.where}: raise --timeout, or lower --runs`));
        }, remaining),
      );
      let sawHello = false;
      timers.push(
        setTimeout(() => {
          if (!sawHello) reject(new DeviceError(`the firmware sent no hello record within ${HELLO_TIMEOUT_MS / 1000} s in ${opts.where}: is it a tinyml firmware built for this board?`));
        }, Math.min(HELLO_TIMEOUT_MS, remaining)),
      );
      const handle = (decoded: DecodedItem[]) => {
        for (const item of decoded) {
          items.push(item);
          opts.onItem?.(item);
          if (item.kind !== 'record') continue;
          if (item.record.type === 'hello') sawHello = true;
          if (item.record.type === 'error') {
            timers.push(
              setTimeout(() => {
                clearTimers();
                resolve(false);
              }, AFTER_ERROR_GRACE_MS),
            );
          }
          if (item.record.type === 'done') {
            clearTimers();
            resolve(true);
            return;
          }
        }
      };
      onData = (chunk: Buffer) => handle(decoder.push(chunk));
      onExit = (code: number | null) => {
        clearTimers();
        handle(decoder.end());
        if (code !== 0 && code !== null) reject(new ToolFailedError(`${opts.tool} stopped with code ${code}: ${opts.lastLine()}`));
        else resolve(false);
      };
      opts.port.on('data', onData);
      opts.child.once('exit', onExit);
      opts.start();
    });
    return { items, stats: { ...decoder.stats }, done };
  } finally {
    clearTimers();
    if (onData) opts.port.off('data', onData);
    if (onExit) opts.child.off('exit', onExit);
  }
}
