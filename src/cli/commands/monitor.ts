/** `tinyml monitor`: watch a board's report stream on a serial port, with a live summary. */
import type { Command } from 'commander';
import { monitorPort, type MonitorEvent } from '../../device/monitor.ts';
import type { DecodedItem, ReportRecord } from '../../device/protocol.ts';
import { describeDeviceError, summarizeCosts } from '../../report/device-report.ts';
import { printLine } from '../output.ts';
import { intOption } from './run.ts';

interface MonitorCliOptions {
  port?: string;
  baud?: string;
  jsonl?: string;
  reconnect: boolean;
  untilDone?: boolean;
  duration?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('monitor')
    .description("read a board's report stream from a serial port: records decoded, device log shown, live summary")
    .option('-p, --port <path|auto>', 'serial port, or auto to find a known board by its USB VID:PID', 'auto')
    .option('--baud <n>', 'baud rate (default 115200; 1200 is refused: it resets Arduino boards into the bootloader)')
    .option('--jsonl <file>', 'append every record to this JSONL file as it arrives')
    .option('--no-reconnect', 'exit (code 11) when the port vanishes instead of waiting for it to come back')
    .option('--until-done', "exit after the firmware's done record")
    .option('--duration <s>', 'stop after this many seconds')
    .option('--json', 'print each record and event as one JSON line')
    .action(async (opts: MonitorCliOptions) => {
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        const r = await monitorPort({
          port: opts.port,
          baud: intOption('--baud', opts.baud),
          jsonl: opts.jsonl,
          reconnect: opts.reconnect,
          untilDone: opts.untilDone,
          durationMs: opts.duration !== undefined ? intOption('--duration', opts.duration)! * 1000 : undefined,
          signal: controller.signal,
          onItem: (item) => (opts.json ? printItemJson(item) : printItem(item)),
          onEvent: (e) => (opts.json ? printLine(JSON.stringify(e)) : printEvent(e)),
        });
        const costs = summarizeCosts(r.report.inferences, r.report.unit ?? 'instructions');
        const summary = {
          port: r.port,
          board: r.board,
          stoppedBy: r.stoppedBy,
          reconnects: r.reconnects,
          records: r.decoder.records,
          rejected: r.decoder.rejected,
          latency: costs,
        };
        if (opts.json) printLine(JSON.stringify({ summary }));
        else {
          printLine(`summary: ${r.decoder.records} records, ${r.decoder.rejected} rejected (CRC), ${r.reconnects} reconnect(s)`);
          if (costs) printLine(`  latency ${Math.round(costs.median)} ${costs.unit}/inference (median of ${costs.runs}; min ${costs.min}, max ${costs.max})`);
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}

function printItemJson(item: DecodedItem): void {
  if (item.kind === 'record') printLine(JSON.stringify({ record: item.record }));
  else if (item.kind === 'log') printLine(JSON.stringify({ log: item.line }));
  else printLine(JSON.stringify({ rejected: item.line, reason: item.reason }));
}

function describe(r: ReportRecord): string {
  const cost = r.instructions !== undefined ? `${String(r.instructions)} instructions` : r.cycles !== undefined ? `${String(r.cycles)} cycles` : '';
  switch (r.type) {
    case 'hello':
      return `hello: model ${String(r.model_hash)} on ${String(r.board)}, ${String(r.clock_hz)} Hz, arena ${String(r.arena_bytes)} bytes, build ${String(r.build_id ?? '?')}`;
    case 'inference':
      return `inference ${String(r.index)}: ${cost}`;
    case 'op':
      return `  op ${String(r.index)} ${String(r.op)}: ${cost}`;
    case 'mem':
      return `memory: arena ${String(r.arena_bytes)} bytes, stack high-water ${String(r.stack_high_water_bytes)} bytes, static RAM ${String(r.static_ram_bytes ?? '?')} bytes`;
    case 'output':
      return `output ${String(r.index)} [${String(r.offset)}..] ${String(r.hex).slice(0, 48)}${String(r.hex).length > 48 ? '...' : ''}`;
    case 'error':
      return `DEVICE ERROR: ${describeDeviceError(r)}`;
    case 'done':
      return `done: ${String(r.status)}`;
    default:
      return `${r.type}: ${JSON.stringify(r)}`;
  }
}

function printItem(item: DecodedItem): void {
  if (item.kind === 'record') printLine(describe(item.record));
  else if (item.kind === 'log') printLine(item.line);
  else printLine(`(rejected line: ${item.reason})`);
}

function printEvent(e: MonitorEvent): void {
  if (e.event === 'connected') printLine(`Connected to ${e.port}${e.board ? ` (${e.board})` : ''}`);
  else if (e.event === 'disconnected') printLine(`Disconnected (${e.reason})`);
  else printLine(`Reconnecting to ${e.port} ...`);
}
