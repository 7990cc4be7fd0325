/**
 * The command-line face of the Arduino deploy path, shared by `tinyml flash <model>` and
 * `tinyml deploy <model> --board <arduino board>`: progress lines on stderr for the long steps,
 * device log lines as they arrive, then the final report (or --json).
 */
import { getBoard } from '../boards/registry.ts';
import { UsageError } from '../errors.ts';
import { printJson, printLine, safe } from '../cli/output.ts';
import { deployArduino, type Progress } from './deploy.ts';
import { parseArenaChoice } from './tflm-arena-plan.ts';

/** True for boards that only a real Arduino board can run (an FQBN and no QEMU machine). */
export function isArduinoTarget(boardId: string): boolean {
  const b = getBoard(boardId);
  return b.fqbn !== null && b.emulation.qemu === null;
}

/** Progress lines for the long steps, on stderr so --json output stays clean. */
export const progressPrinter: Progress = (step, message) => void process.stderr.write(`tinyml: [${step}] ${safe(message)}\n`);

export interface ArduinoDeployCliOptions {
  board: string;
  runtime?: string;
  port?: string;
  out?: string;
  calib?: string;
  input?: string[];
  runs?: string;
  timeout?: string;
  jsonl?: string;
  json?: boolean;
  arena?: string;
  tflmLib?: string;
}

export function runtimeOption(v: string | undefined): 'tflm' | 'native' {
  if (v === undefined) return 'tflm';
  if (v !== 'tflm' && v !== 'native') throw new UsageError(`--runtime must be tflm or native, not '${v}'`);
  return v;
}

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`${name} '${v}' is not a positive number`);
  return n;
}

export async function runArduinoDeploy(model: string, opts: ArduinoDeployCliOptions): Promise<void> {
  const runs = positive('--runs', opts.runs);
  if (runs !== undefined && !Number.isInteger(runs)) throw new UsageError(`--runs '${opts.runs}' is not a whole number`);
  const runtime = runtimeOption(opts.runtime);
  if (runtime === 'native' && opts.arena !== undefined) throw new UsageError('--arena sizes the TFLite Micro arena: the native runtime plans its arena exactly, drop --arena');
  const r = await deployArduino(model, {
    board: opts.board,
    runtime,
    arenaChoice: runtime === 'tflm' ? parseArenaChoice(opts.arena) : undefined,
    libPath: opts.tflmLib,
    outDir: opts.out,
    calib: opts.calib,
    inputs: opts.input,
    runs,
    port: opts.port,
    timeoutSeconds: positive('--timeout', opts.timeout),
    jsonl: opts.jsonl,
    onProgress: progressPrinter,
    onItem: opts.json ? undefined : (item) => (item.kind === 'log' ? printLine(`device: ${safe(item.line)}`) : undefined),
  });
  const rep = r.monitor.report;
  if (opts.json) {
    printJson({ sketch: r.sketch, flash: r.flash, report: { ...rep, outputs: rep.outputs.map((o) => Buffer.from(o).toString('hex')) } });
    return;
  }
  printLine(`deployed ${model} to ${r.flash.board} on ${r.flash.port} (${r.sketch.runtime} runtime, sketch ${r.sketch.dir})`);
  if (r.flash.compile.flashBytes !== null) printLine(`flash: ${r.flash.compile.flashBytes} bytes, static RAM: ${r.flash.compile.ramBytes ?? '?'} bytes (arduino-cli)`);
  const timer = typeof rep.hello?.['timer'] === 'string' ? ` (${String(rep.hello['timer'])})` : '';
  if (rep.inferences.length > 0) {
    const sorted = [...rep.inferences].sort((a, b) => a - b);
    const hz = Number(rep.hello?.['clock_hz'] ?? 0);
    const ms = hz > 0 ? `, ${((sorted[Math.floor(sorted.length / 2)]! / hz) * 1000).toFixed(3)} ms median` : '';
    printLine(`latency: min ${sorted[0]} / median ${sorted[Math.floor(sorted.length / 2)]} / max ${sorted[sorted.length - 1]} ${rep.unit ?? 'cycles'}${timer}${ms}`);
  }
  if (rep.mem) {
    const m = rep.mem as unknown as Record<string, unknown>;
    const used = m['arena_used_bytes'] !== undefined ? `, TFLite Micro used ${String(m['arena_used_bytes'])}` : '';
    printLine(`arena: ${String(m['arena_bytes'])} bytes (planned ${String(m['planned_arena_bytes'] ?? m['arena_bytes'])}${used})`);
  }
  rep.outputs.forEach((o, i) => printLine(`output ${i} (int8): ${Array.from(new Int8Array(o.buffer, o.byteOffset, o.length)).join(' ')}`));
}
