/**
 * RESHAPE (element copy), CONCATENATION and PAD / PADV2 on quantized tensors (TFLite Micro
 * reference kernels concatenation.cc and pad.cc). Neither requantizes:
 * - CONCATENATION copies each input's blocks; TFLM requires every input to carry the output's
 *   scale and zero point (the converter inserts a QUANTIZE before an input that differs).
 * - PAD fills with the output zero point for int8 and with 0 for every other dtype; PADV2 with
 *   its constant_values element (a quantized value with the output's parameters). TFLM copies
 *   the input bytes whatever their quantization, and so does this kernel.
 * Geometry and checks: src/reference/movement.ts, src/reference/shape-params.ts.
 */
import type { Op, Tensor } from '../../ir/graph.ts';
import { concatInto, padSourceIndex } from '../movement.ts';
import { concatSpec, padSpec } from '../shape-params.ts';
import { elements, input, output, read, requireDtype, unsupported, type EvalFn, type PrepareContext } from './common.ts';
import { failFor, MOVABLE, source } from './movement.ts';

function requireSameQuantization(op: Op, a: Tensor, b: Tensor): void {
  if (a.quant === undefined && b.quant === undefined) return;
  const sa = a.quant?.scale[0];
  const sb = b.quant?.scale[0];
  if (sa === undefined || sb === undefined || Math.fround(sa) !== Math.fround(sb) || (a.quant?.zeroPoint[0] ?? 0) !== (b.quant?.zeroPoint[0] ?? 0)) {
    throw unsupported(op, `mixes quantization of '${a.name}' and '${b.name}' (TFLite Micro requires identical scale and zero point)`);
  }
}

export function prepareReshape(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  if (x.dtype !== y.dtype || elements(x) !== elements(y)) throw unsupported(op, 'changes dtype or element count');
  const get = source(ctx, x);
  const yi = y.index;
  return (values) => {
    (read(values, yi) as unknown as { set(a: ArrayLike<unknown>): void }).set(get(values) as unknown as ArrayLike<unknown>);
  };
}

export function prepareConcatenation(op: Op, ctx: PrepareContext): EvalFn {
  const { inputs, y, plan } = concatSpec(ctx.graph, op, failFor(op));
  requireDtype(op, y, ...MOVABLE);
  for (const t of inputs) requireSameQuantization(op, t, y);
  const getters = inputs.map((t) => source(ctx, t));
  const yi = y.index;
  return (values) => concatInto(plan, getters.map((g) => g(values)), read(values, yi) as unknown as { [i: number]: unknown });
}

/** PAD and PADV2 (constant mode). */
export function preparePad(op: Op, ctx: PrepareContext): EvalFn {
  const spec = padSpec(ctx.graph, op, failFor(op));
  requireDtype(op, spec.x, ...MOVABLE);
  const map = padSourceIndex(spec.x.shape, spec.before, spec.after);
  const get = source(ctx, spec.x);
  const getValue = spec.valueTensor ? source(ctx, spec.valueTensor) : undefined;
  const big = spec.x.dtype === 'int64';
  const yi = spec.y.index;
  return (values) => {
    const src = get(values);
    const out = read(values, yi) as unknown as { [i: number]: unknown };
    const v = getValue ? getValue(values)[0] : big ? BigInt(spec.value ?? 0) : spec.value;
    for (let o = 0; o < map.length; o++) {
      const at = map[o]!;
      out[o] = at < 0 ? v : src[at];
    }
  };
}
