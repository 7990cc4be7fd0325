/**
 * The command-line face of the Arduino deploy path, shared by `tinyml flash <model>` and
 * `tinyml deploy <model> --board <arduino board>`: progress lines on stderr for the long steps,
 * device log lines as they arrive, then the final report (or --json), the JUnit file and the
 * budget exit code, as `tinyml run` does. src/arduino/deploy.ts does the work and returns data.
 */
import { getBoard } from '../boards/registry.ts';
import { UsageError } from '../errors.ts';
import { formatTable, printJson, printLine, safe } from './output.ts';
import { deployArduino, type DeployArduinoResult, type Progress } from '../arduino/deploy.ts';
import { parseArenaChoice } from '../arduino/tflm-arena-plan.ts';
import { budgetsFrom, failOnBudgets, kernelSet, optLevel, withJunit } from './commands/run.ts';

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
  junit?: string;
  kernels?: string;
  opt?: string;
  profile?: boolean;
  budgets?: string;
  maxInstructions?: string;
  maxArena?: string;
  maxFlash?: string;
  maxStack?: string;
  renode?: string;
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
  if (opts.renode !== undefined) throw new UsageError(`--renode is for --emulator renode: add --emulator renode to run ${opts.board} in Renode, or drop --renode to upload to the board`);
  const budgets = budgetsFrom(opts, model);
  const runtime = runtimeOption(opts.runtime);
  if (runtime === 'native' && opts.arena !== undefined) throw new UsageError('--arena sizes the TFLite Micro arena: the native runtime plans its arena exactly, drop --arena');
  const r = await withJunit(opts.junit, `${model} on ${opts.board}`, () =>
    deployArduino(model, {
      board: opts.board,
      runtime,
      arenaChoice: runtime === 'tflm' ? parseArenaChoice(opts.arena) : undefined,
      libPath: opts.tflmLib,
      kernels: kernelSet(opts.kernels),
      optimize: optLevel(opts.opt),
      profile: opts.profile,
      budgets,
      outDir: opts.out,
      calib: opts.calib,
      inputs: opts.input,
      runs,
      port: opts.port,
      timeoutSeconds: positive('--timeout', opts.timeout),
      jsonl: opts.jsonl,
      onProgress: progressPrinter,
      onItem: opts.json ? undefined : (item) => (item.kind === 'log' ? printLine(`device: ${safe(item.line)}`) : undefined),
    }),
  );
  if (opts.json) printJson(deployJson(r));
  else printDeployReport(model, r);
  failOnBudgets(r);
}

/** The --json document: the sketch, the upload, the board's report (outputs as hex) and the verdicts. */
function deployJson(r: DeployArduinoResult): unknown {
  const rep = r.monitor.report;
  const sk = r.sketch;
  return {
    // The sketch as the user sees it (the board's registry entry is `tinyml boards --json`'s).
    sketch: {
      dir: sk.dir,
      name: sk.name,
      runtime: sk.runtime,
      board: sk.config.board.id,
      fqbn: sk.config.fqbn,
      profile: sk.config.profile,
      kernels: sk.runtime === 'native' ? sk.config.kernels : null,
      reportSerial: sk.config.reportSerial,
      modelHash: sk.modelHash,
      buildId: sk.buildId,
      quantizedWithCalib: sk.quantized,
      arenaBytes: sk.arenaBytes,
      plannedArenaBytes: sk.plannedArenaBytes,
      files: sk.written,
    },
    flash: r.flash,
    report: { ...rep, outputs: rep.outputs.map((o) => Buffer.from(o).toString('hex')) },
    latency: r.latency,
    arenaBytes: r.arenaBytes,
    stackHighWaterBytes: r.stackHighWaterBytes,
    flashBytes: r.flashBytes,
    ops: rep.ops,
    budgets: r.budgets,
  };
}

function printDeployReport(model: string, r: DeployArduinoResult): void {
  const rep = r.monitor.report;
  printLine(`deployed ${safe(model)} to ${r.flash.board} on ${safe(r.flash.port)} (${r.sketch.runtime} runtime${r.sketch.runtime === 'native' ? `, ${r.sketch.config.kernels} kernels` : ''}, sketch ${safe(r.sketch.dir)})`);
  if (r.flash.compile.flashBytes !== null) printLine(`flash: ${r.flash.compile.flashBytes} bytes, static RAM: ${r.flash.compile.ramBytes ?? '?'} bytes (arduino-cli)`);
  const timer = typeof rep.hello?.['timer'] === 'string' ? ` (${safe(rep.hello['timer'])})` : '';
  if (r.latency) {
    const l = r.latency;
    const hz = Number(rep.hello?.['clock_hz'] ?? 0);
    const ms = hz > 0 && l.unit === 'cycles' ? `, ${((l.median / hz) * 1000).toFixed(3)} ms median` : '';
    printLine(`latency: min ${l.min} / median ${l.median} / max ${l.max} ${l.unit}${timer}${ms}`);
  }
  if (rep.mem) {
    const m = rep.mem as unknown as Record<string, unknown>;
    const used = m['arena_used_bytes'] !== undefined ? `, TFLite Micro used ${String(m['arena_used_bytes'])}` : '';
    printLine(`arena: ${String(m['arena_bytes'])} bytes (planned ${String(m['planned_arena_bytes'] ?? m['arena_bytes'])}${used})`);
  }
  if (r.stackHighWaterBytes !== null) printLine(`stack: ${r.stackHighWaterBytes} bytes high-water mark`);
  rep.outputs.forEach((o, i) => printLine(`output ${i} (int8): ${Array.from(new Int8Array(o.buffer, o.byteOffset, o.length)).join(' ')}`));
  if (rep.ops.length > 0) {
    printLine('');
    printLine(formatTable(['#', 'op', rep.unit ?? 'cycles'], rep.ops.map((o) => [String(o.index), safe(o.op), String(o.cost)])));
  }
  for (const b of r.budgets) printLine(`budget ${b.option} ${b.limit}: ${b.ok ? 'ok' : 'EXCEEDED'} (${b.actual ?? 'not measured'})`);
}
