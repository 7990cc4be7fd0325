/** `tinyml inspect <model> [--json] [--board <id>]`: ops, shapes, quantization, MACs, bytes, fit. */
import type { Command } from 'commander';
import { inspectModel, type InspectReport, type MemoryFit, type TensorInfo } from '../../inspect/inspect.ts';
import { formatTable, printJson, printLine, safe, truncate, warn } from '../output.ts';

const n = (x: number) => x.toLocaleString('en-US');

function shape(t: TensorInfo): string {
  return `[${t.shape.join(',')}] ${t.dtype}`;
}

function tensorLine(t: TensorInfo): string {
  const q = t.quant ? ` (${t.quant})` : '';
  // The declared shape is what data must have; the IR layout is shown beside it.
  if (t.declared) return `${safe(t.name) || `#${t.index}`} [${t.declared.shape.join(',')}] ${t.dtype} ${t.declared.layout}${q} (runs ${t.declared.irLayout} [${t.shape.join(',')}])`;
  return `${safe(t.name) || `#${t.index}`} ${shape(t)}${q}`;
}

function fitLine(label: string, what: string, f: MemoryFit): string {
  const verdict = f.fits ? 'fits' : `DOES NOT FIT: ${n(f.excessBytes)} bytes over`;
  return `  ${label}: ${what} ${n(f.usedBytes)} of ${n(f.availableBytes)} bytes (${f.percent}%): ${verdict}`;
}

function printReport(r: InspectReport): void {
  const size = r.model.fileBytes !== null ? `, ${n(r.model.fileBytes)} bytes` : '';
  printLine(`model: ${safe(r.model.path)} (${r.model.format}${size}), ${r.totals.ops} ops`);
  for (const t of r.inputs) printLine(`input:  ${tensorLine(t)}`);
  for (const t of r.outputs) printLine(`output: ${tensorLine(t)}`);
  for (const w of r.model.warnings) warn(w);
  printLine();

  const rows = r.ops.map((op) => {
    const data = op.inputs.filter((t): t is TensorInfo => t !== null && !t.constant).map(shape);
    const consts = op.inputs.filter((t): t is TensorInfo => t !== null && t.constant).map((t) => `const ${shape(t)}`);
    // Output parameters, plus the weights' per-channel count (the filter; the bias repeats it).
    const perChannel = op.inputs.find((t): t is TensorInfo => t !== null && t.constant && t.quant !== null && t.quant.startsWith('per-channel'));
    const quant = [...op.outputs.filter((t) => t.quant).map((t) => `out ${t.quant}`), ...(perChannel ? [`w ${perChannel.quant}`] : [])];
    return [
      String(op.index),
      op.known ? op.type : `${safe(op.type)} (unknown)`,
      truncate(safe(op.sourceName), 48),
      [...data, ...consts].join('; '),
      op.outputs.map(shape).join('; '),
      quant.join('; ') || '-',
      op.macs ? n(op.macs) : '-',
      op.weightBytes ? n(op.weightBytes) : '-',
    ];
  });
  printLine(formatTable(['#', 'op', 'name', 'inputs', 'outputs', 'quantization', 'MACs', 'weight bytes'], rows));
  printLine();

  const t = r.totals;
  printLine(`parameters:  ${n(t.parameters)} (constant elements)`);
  printLine(`MACs:        ${n(t.macs)}`);
  printLine(`weights:     ${n(t.weightBytes)} bytes (constant tensors)`);
  printLine(`activations: ${n(t.activationBytes)} bytes estimated peak${t.activationPeakOp >= 0 ? ` (at op ${t.activationPeakOp})` : ''}`);
  printLine();

  const backendIds = r.backends.map((b) => b.id);
  const setRows = r.opSet.map((e) => [safe(e.type) + (e.known ? '' : ' (unknown)'), e.dtype, String(e.count), ...backendIds.map((id) => (e.backends[id] ? 'yes' : 'no'))]);
  printLine(formatTable(['op set', 'dtype', 'count', ...backendIds], setRows));
  if (r.unknownOps.length > 0) printLine(`ops tinyml's graph IR does not know (kept as read; only a backend marked yes runs them): ${r.unknownOps.map(safe).join(', ')}`);
  for (const b of r.backends) {
    if (b.refused.length === 0) {
      printLine(`${b.id}: runs every op`);
      continue;
    }
    // One reason per op type and dtype: the first op of each, as the backend words it.
    const seen = new Set<string>();
    const reasons = b.refused.filter((x) => !seen.has(`${x.type} ${x.dtype}`) && seen.add(`${x.type} ${x.dtype}`));
    const shown = reasons.slice(0, 6).map((x) => `${x.type} ${x.dtype} (op #${x.op}: ${truncate(x.reason, 100)})`);
    printLine(`${b.id}: cannot run ${shown.join('; ')}${reasons.length > 6 ? `; and ${reasons.length - 6} more (--json lists every op)` : ''}`);
  }

  if (r.fit) {
    printLine();
    printLine(`board ${r.fit.board.id} (${r.fit.board.name}): ${r.fit.fits ? 'the model fits' : 'THE MODEL DOES NOT FIT'}`);
    printLine(fitLine('flash', 'weights', r.fit.flash));
    printLine(fitLine('RAM  ', 'activations', r.fit.ram));
    printLine(`  (${r.fit.note})`);
  }
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show a model\'s ops, shapes, quantization, MACs, weight bytes and activation memory; --board checks the fit')
    .argument('<model>', '.tflite or .onnx model file')
    .option('--json', 'print the report as JSON')
    .option('-b, --board <id>', 'check the model against this board\'s flash and RAM (see `tinyml boards`)')
    .action((model: string, opts: { json?: boolean; board?: string }) => {
      const report = inspectModel(model, { boardId: opts.board });
      if (opts.json) printJson(report);
      else printReport(report);
    });
}
