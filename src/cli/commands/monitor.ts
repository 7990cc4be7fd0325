/** `tinyml monitor`: watch a board's report stream on a serial port, with a live summary. */
import type { Command } from 'commander';
import { monitorPort, type MonitorEvent } from '../../device/monitor.ts';
import type { DecodedItem, ReportRecord } from '../../device/protocol.ts';
import { describeDeviceError, summarizeCosts } from '../../report/device-report.ts';
import { printLine, safe } from '../output.ts';
import { intOption } from './run.ts';
import { DeviceError, ExitCode, MismatchError, UsageError } from '../../errors.ts';
import { modelHashOf } from '../../run/run.ts';
import type { DeviceReport } from '../../report/device-report.ts';

function positiveNumber(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} '${v}' is not a positive number: pass e.g. ${name} 25`);
  return n;
}

interface MonitorVerdict {
  name: 'latency_ms' | 'arena' | 'stack';
  option: string;
  limit: number;
  actual: number | null;
  ok: boolean;
}

/** Budgets on a board's report: latency in ms needs DWT cycles and the clock from hello. */
function checkMonitorBudgets(rep: DeviceReport, b: { maxLatencyMs?: number; maxArena?: number; maxStack?: number }): MonitorVerdict[] {
  const out: MonitorVerdict[] = [];
  const add = (name: MonitorVerdict['name'], option: string, limit: number | undefined, actual: number | null) => {
    if (limit !== undefined) out.push({ name, option, limit, actual, ok: actual !== null && actual <= limit });
  };
  const clock = rep.hello?.clock_hz;
  const worstMs = rep.unit === 'cycles' && clock && rep.inferences.length > 0 ? (Math.max(...rep.inferences) / clock) * 1000 : null;
  add('latency_ms', '--max-latency-ms', b.maxLatencyMs, worstMs === null ? null : Number(worstMs.toFixed(3)));
  add('arena', '--max-arena', b.maxArena, rep.mem?.arena_bytes ?? rep.hello?.arena_bytes ?? null);
  add('stack', '--max-stack', b.maxStack, rep.mem?.stack_high_water_bytes ?? null);
  return out;
}

interface MonitorCliOptions {
  port?: string;
  baud?: string;
  jsonl?: string;
  reconnect: boolean;
  untilDone?: boolean;
  duration?: string;
  json?: boolean;
  model?: string;
  maxLatencyMs?: string;
  maxArena?: string;
  maxStack?: string;
}

export function register(program: Command): void {
  program
    .command('monitor')
    .description("read a board's report stream from a serial port: records decoded, device log shown, live summary")
    .option('-p, --port <path|auto>', 'serial port, or auto to find a known board by its USB VID:PID', 'auto')
    .option('--baud <n>', 'baud rate (default 115200; 1200 is refused: it resets Arduino boards into the bootloader)')
    .option('--jsonl <file>', 'append every record to this JSONL file as it arrives')
    .option('--no-reconnect', 'exit (code 11) when the port vanishes instead of waiting for it to come back')
    .option('--until-done', "exit after the firmware's done record (exit 12 when its status is error or fault)")
    .option('--duration <s>', 'stop after this many seconds')
    .option('--json', 'print each record and event as one JSON line')
    .option('--model <file>', 'the model the board should run: a different model hash in its hello is an error (exit 14)')
    .option('--max-latency-ms <ms>', 'budget (hardware, from DWT cycles and clock_hz): exit 13 if an inference takes longer')
    .option('--max-arena <bytes>', 'budget: exit 13 if the device reports a larger arena')
    .option('--max-stack <bytes>', 'budget: exit 13 if the stack high-water mark is higher')
    .action(async (opts: MonitorCliOptions) => {
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        // Options are checked before the session: a typo must not cost a whole hardware run.
        const budgets = {
          maxLatencyMs: positiveNumber('--max-latency-ms', opts.maxLatencyMs),
          maxArena: intOption('--max-arena', opts.maxArena),
          maxStack: intOption('--max-stack', opts.maxStack),
        };
        const expectedHash = opts.model ? modelHashOf(opts.model) : undefined;
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
        const verdicts = checkMonitorBudgets(r.report, budgets);
        if (opts.json) printLine(JSON.stringify({ summary: { ...summary, budgets: verdicts } }));
        else {
          printLine(`summary: ${r.decoder.records} records, ${r.decoder.rejected} rejected (CRC or schema), ${r.reconnects} reconnect(s)`);
          if (costs) printLine(`  latency ${Math.round(costs.median)} ${costs.unit}/inference (median of ${costs.runs}; min ${costs.min}, max ${costs.max})`);
          for (const v of verdicts) printLine(`  budget ${v.option} ${v.limit}: ${v.ok ? 'ok' : 'EXCEEDED'} (${v.actual ?? 'unknown'})`);
        }
        if (opts.model) {
          const expected = expectedHash;
          const seen = r.report.hello?.model_hash;
          if (seen === undefined) throw new DeviceError(`no hello record arrived, so the model on the board is unknown: reset the board while tinyml monitor runs`);
          if (seen !== expected) throw new MismatchError(`the board runs model ${seen} but ${opts.model} is ${expected}: flash the current build (tinyml flash)`);
        }
        // A session that ended in an error or a fault fails the command (exit 12), like run.
        const status = r.report.done?.['status'];
        if (r.report.done && status !== 'ok') {
          const first = r.report.errors[0];
          process.stderr.write(
            `tinyml: error: the device ended its session with status ${String(status)}${first ? `: ${describeDeviceError(first)}` : ''}: see the records above (and --jsonl); a fault's pc names the function with addr2line\n`,
          );
          process.exitCode = ExitCode.DEVICE_FAULT;
          return;
        }
        const over = verdicts.filter((v) => !v.ok);
        if (over.length > 0) {
          process.stderr.write(`tinyml: error: ${over.map((v) => `${v.name} ${v.actual ?? 'unknown'} exceeds ${v.option} ${v.limit}`).join('; ')}: shrink the model or raise the budget\n`);
          process.exitCode = ExitCode.BUDGET;
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
      return `hello: model ${safe(r.model_hash)} on ${safe(r.board)}, ${safe(r.clock_hz)} Hz, arena ${safe(r.arena_bytes)} bytes, build ${safe(r.build_id ?? '?')}`;
    case 'inference':
      return `inference ${String(r.index)}: ${cost}`;
    case 'op':
      return `  op ${String(r.index)} ${safe(r.op)}: ${cost}`;
    case 'mem':
      return `memory: arena ${String(r.arena_bytes)} bytes, stack high-water ${String(r.stack_high_water_bytes)} bytes, static RAM ${String(r.static_ram_bytes ?? '?')} bytes`;
    case 'output':
      return `output ${String(r.index)} [${String(r.offset)}..] ${String(r.hex).slice(0, 48)}${String(r.hex).length > 48 ? '...' : ''}`;
    case 'error':
      return `DEVICE ERROR: ${safe(describeDeviceError(r))}`;
    case 'done':
      return `done: ${safe(r.status)}`;
    default:
      return `${safe(r.type)}: ${safe(JSON.stringify(r))}`;
  }
}

function printItem(item: DecodedItem): void {
  if (item.kind === 'record') printLine(describe(item.record));
  else if (item.kind === 'log') printLine(safe(item.line));
  else printLine(`(rejected line: ${safe(item.reason)})`);
}

function printEvent(e: MonitorEvent): void {
  if (e.event === 'connected') printLine(`Connected to ${safe(e.port)}${e.board ? ` (${e.board})` : ''}`);
  else if (e.event === 'disconnected') printLine(`Disconnected (${safe(e.reason)})`);
  else printLine(`Reconnecting to ${safe(e.port)} ...`);
}
