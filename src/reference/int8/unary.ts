/**
 * Element-wise unary ops (activations): each family's Prepare returns a function of one
 * quantized value, and this module turns it into the kernel's Eval step (one call per element,
 * input and output of the same shape). The same element function gives code generators the
 * op's full int8 table: every int8 input value mapped once, so generated C can run any int8
 * activation as a 256-entry lookup that equals this reference by construction.
 */
import type { DType, Op } from '../../ir/graph.ts';
import { elements, input, output, read, requireDtype, unsupported, type EvalFn, type PrepareContext, type PrepareFn } from './common.ts';

/** Quantized input value -> quantized output value (already clamped to the output dtype). */
export type ElementFn = (q: number) => number;

/** A unary family's Prepare: checks and constants, then the element function. */
export type UnaryPrepare = (op: Op, ctx: PrepareContext) => ElementFn;

/** The common checks of an element-wise op: one input, same dtype and element count out. */
export function unaryTensors(op: Op, ctx: PrepareContext, ...dtypes: DType[]) {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  requireDtype(op, x, ...dtypes);
  requireDtype(op, y, x.dtype);
  if (elements(x) !== elements(y)) throw unsupported(op, `maps ${elements(x)} input values to ${elements(y)} outputs`);
  return { x, y };
}

/** The Eval step of a unary op from its element function. */
export function unaryKernel(prepare: UnaryPrepare): PrepareFn {
  return (op, ctx): EvalFn => {
    const f = prepare(op, ctx);
    const xi = op.inputs[0]!;
    const yi = op.outputs[0]!;
    const n = elements(output(op, ctx));
    return (values) => {
      const inp = read(values, xi) as Int8Array | Int16Array;
      const out = read(values, yi) as Int8Array | Int16Array;
      for (let k = 0; k < n; k++) out[k] = f(inp[k]!);
    };
  };
}

/** The 256-entry table of an int8 element function, indexed by the input's byte (q & 0xff). */
export function int8Table(f: ElementFn): Int8Array {
  const table = new Int8Array(256);
  for (let q = -128; q <= 127; q++) table[q & 0xff] = f(q);
  return table;
}
