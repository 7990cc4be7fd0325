/**
 * `tinyml monitor`: reads a board's report stream from a serial port. Finds the port by the
 * board registry's USB VID:PID (`--port auto`), decodes records and passes log lines through,
 * writes every item to the JSONL log the moment it arrives, and when the port vanishes
 * reconnects with back-off (or, with reconnect off, fails with a DeviceError). Another process
 * reading the same port (found when opening and every second after) is a DeviceError naming it.
 */
import type { SerialPort } from 'serialport';
import { DeviceError } from '../errors.ts';
import { boardMatchesUsb, loadBoards, type Board } from '../boards/registry.ts';
import { ReportDecoder, type DecodedItem, type DecoderStats } from './protocol.ts';
import { closeSerial, DEFAULT_BAUD, heldError, PortHeldError, listPorts, openSerial, checkBaud, watchHolders, type PortHolder, type PortInfo } from './serial.ts';
import { ReportCollector, type DeviceReport } from '../report/device-report.ts';
import { JsonlLog } from '../report/jsonl.ts';

export type MonitorEvent =
  | { event: 'connected'; port: string; board?: string }
  | { event: 'disconnected'; port: string; reason: string }
  | { event: 'reconnecting'; port: string; waitMs: number };

export interface MonitorOptions {
  /** A port path, or 'auto' (default) to find a known board by USB id. */
  port?: string;
  baud?: number;
  jsonl?: string;
  /** Reopen the port when it vanishes (default true). */
  reconnect?: boolean;
  /** Stop after the firmware's `done` record. */
  untilDone?: boolean;
  /** Stop after this long (ms); default: run until stopped. */
  durationMs?: number;
  /** Longest wait between reconnection attempts. */
  maxBackoffMs?: number;
  onItem?: (item: DecodedItem) => void;
  onEvent?: (e: MonitorEvent) => void;
  /** Stops the monitor (Ctrl-C). */
  signal?: AbortSignal;
}

export interface MonitorResult {
  port: string;
  board: string | null;
  report: DeviceReport;
  decoder: DecoderStats;
  reconnects: number;
  stoppedBy: 'done' | 'duration' | 'signal';
}

/** The ports whose USB VID:PID (any spelling: `2341`, `0x2341`) belongs to a board of the registry. */
export function matchBoardPorts(ports: PortInfo[], boards: Board[]): { path: string; board: Board }[] {
  const found: { path: string; board: Board }[] = [];
  for (const p of ports) {
    if (!p.vendorId || !p.productId) continue;
    const board = boards.find((b) => boardMatchesUsb(b, p.vendorId!, p.productId!));
    if (board) found.push({ path: p.path, board });
  }
  return found;
}

/** Finds the one connected port whose USB id belongs to a board in the registry. */
export async function autoDetectPort(boards: Board[] = loadBoards()): Promise<{ path: string; board: Board }> {
  const ports = await listPorts();
  const found = matchBoardPorts(ports, boards);
  if (found.length === 0) {
    throw new DeviceError(`no known board found on USB (${ports.length} serial port(s) seen): plug the board in, or pass --port <path>`);
  }
  if (found.length > 1) {
    throw new DeviceError(`${found.length} boards found (${found.map((f) => `${f.board.id} on ${f.path}`).join(', ')}): choose one with --port <path>`);
  }
  return found[0]!;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Ended = 'done' | 'duration' | 'signal' | { lost: string } | { holders: PortHolder[] };

/** Reads one connection until it closes; resolves with why it ended. */
function readUntilClosed(port: SerialPort, path: string, decoder: ReportDecoder, handle: (items: DecodedItem[]) => boolean, stop: Promise<'duration' | 'signal'>): Promise<Ended> {
  return new Promise((resolve) => {
    let finished = false;
    // A second reader (cat, screen) would silently take part of the stream: stop and name it.
    const unwatch = watchHolders(path, (holders) => finish({ holders }));
    const finish = (why: Ended) => {
      if (finished) return;
      finished = true;
      unwatch();
      resolve(why);
    };
    port.on('data', (chunk: Buffer) => {
      if (handle(decoder.push(chunk))) finish('done');
    });
    port.on('close', (err: Error | null) => {
      if (handle(decoder.end())) finish('done');
      else finish({ lost: err?.message ?? 'port closed' });
    });
    port.on('error', (err: Error) => finish({ lost: err.message }));
    void stop.then(finish);
  });
}

export async function monitorPort(opts: MonitorOptions): Promise<MonitorResult> {
  const baud = opts.baud ?? DEFAULT_BAUD;
  checkBaud(baud);
  let path = opts.port && opts.port !== 'auto' ? opts.port : '';
  let boardId: string | null = null;
  if (!path) {
    const found = await autoDetectPort();
    path = found.path;
    boardId = found.board.id;
  }
  const reconnect = opts.reconnect ?? true;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const log = opts.jsonl ? new JsonlLog(opts.jsonl) : null;
  const collector = new ReportCollector();
  const decoderStats: DecoderStats = { records: 0, rejected: 0, logLines: 0, overlongLines: 0 };
  let reconnects = 0;

  let stopReason: 'duration' | 'signal' | null = null;
  const stop = new Promise<'duration' | 'signal'>((resolve) => {
    if (opts.durationMs !== undefined) setTimeout(() => resolve('duration'), opts.durationMs).unref();
    if (opts.signal?.aborted) resolve('signal');
    opts.signal?.addEventListener('abort', () => resolve('signal'), { once: true });
  });
  void stop.then((r) => (stopReason = r));

  const handle = (items: DecodedItem[]): boolean => {
    let done = false;
    for (const item of items) {
      log?.write(item);
      collector.add(item);
      opts.onItem?.(item);
      if (item.kind === 'record' && item.record.type === 'done' && opts.untilDone) done = true;
    }
    return done;
  };
  const emit = (e: MonitorEvent) => {
    const { event, ...detail } = e;
    log?.event(event, detail);
    opts.onEvent?.(e);
  };

  try {
    let port: SerialPort = await openSerial(path, baud);
    for (;;) {
      emit({ event: 'connected', port: path, ...(boardId ? { board: boardId } : {}) });
      const decoder = new ReportDecoder();
      const why = await readUntilClosed(port, path, decoder, handle, stop);
      for (const k of Object.keys(decoderStats) as (keyof DecoderStats)[]) decoderStats[k] += decoder.stats[k];
      await closeSerial(port);
      if (typeof why === 'object' && 'holders' in why) throw heldError(path, why.holders);
      if (typeof why === 'string') {
        return { port: path, board: boardId, report: collector.report, decoder: decoderStats, reconnects, stoppedBy: why };
      }
      emit({ event: 'disconnected', port: path, reason: why.lost });
      if (!reconnect) {
        throw new DeviceError(`serial port ${path} disconnected (${why.lost}): check the cable; drop --no-reconnect to wait for the board to come back`);
      }
      // Back-off: 250 ms, doubling, capped; the port usually returns after a reset or re-plug.
      let wait = 250;
      for (;;) {
        if (stopReason) return { port: path, board: boardId, report: collector.report, decoder: decoderStats, reconnects, stoppedBy: stopReason };
        emit({ event: 'reconnecting', port: path, waitMs: wait });
        await Promise.race([sleep(wait), stop]);
        if (stopReason) continue;
        try {
          port = await openSerial(path, baud);
          reconnects++;
          break;
        } catch (e) {
          if (e instanceof PortHeldError) throw e;
          wait = Math.min(wait * 2, maxBackoff);
        }
      }
    }
  } finally {
    log?.close();
  }
}
