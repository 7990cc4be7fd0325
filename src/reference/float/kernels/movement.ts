/**
 * Float semantics of the data-movement, reduction and resize ops the int8 engines run
 * (PADV2, STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, SQUEEZE, EXPAND_DIMS, PACK, UNPACK, GATHER, SUM,
 * REDUCE_MAX, ARG_MAX, ARG_MIN, RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR), as TFLite's float
 * reference kernels define them. Parameters are read by src/reference/shape-params.ts and the
 * index geometry comes from src/reference/movement.ts, shared with the int8 reference and the
 * native C, so the engines agree on every index; only the value arithmetic is float here.
 *
 * Pure movement works on tensors of any dtype (float, int, quantized: values are copied). SUM
 * and REDUCE_MAX accumulate in float64, RESIZE_BILINEAR interpolates in float64 with TFLite's
 * ComputeInterpolationValues (float32 in TFLite: the difference is below float32 rounding).
 */
import { UnsupportedError } from '../../../errors.ts';
import type { Graph, Op } from '../../../ir/graph.ts';
import { sameKind } from '../../layout.ts';
import { concatInto, copyView, gatherInto, nearestIndices, product, reducePlan, viewOffsets } from '../../movement.ts';
import {
  argSpec,
  concatSpec,
  gatherSpec,
  padSpec,
  reduceSpec,
  reshapeSpec,
  resizeSpec,
  sliceSpec,
  splitSpec,
  type Fail,
} from '../../shape-params.ts';
import type { TensorValue } from '../../tensor-value.ts';
import { asNumbers, toDType } from '../values.ts';

/** Op types this module runs. */
export const FLOAT_SHAPE_OPS: readonly string[] = [
  'ARG_MAX',
  'ARG_MIN',
  'EXPAND_DIMS',
  'GATHER',
  'PACK',
  'PADV2',
  'REDUCE_MAX',
  'RESIZE_BILINEAR',
  'RESIZE_NEAREST_NEIGHBOR',
  'SLICE',
  'SPLIT',
  'SPLIT_V',
  'SQUEEZE',
  'STRIDED_SLICE',
  'SUM',
  'UNPACK',
];

/** Of those, the ones that only move (or compare) values and so run on any dtype. */
export const FLOAT_SHAPE_ANY_DTYPE_OPS: readonly string[] = FLOAT_SHAPE_OPS.filter((t) => !['SUM', 'REDUCE_MAX', 'RESIZE_BILINEAR'].includes(t));

type Elements = { [i: number]: unknown; length: number };

/** Runs one op of FLOAT_SHAPE_OPS; returns one value per op output. */
export function runShapeOp(op: Op, graph: Graph, get: (index: number) => TensorValue): TensorValue[] {
  const fail: Fail = (what) => {
    throw new UnsupportedError(`op ${op.index} (${op.type} '${op.source.name}') ${what}`);
  };
  const like = (x: TensorValue, shape: number[]): TensorValue => ({ dtype: x.dtype, shape, data: sameKind(x.data, product(shape)) });
  switch (op.type) {
    case 'SQUEEZE':
    case 'EXPAND_DIMS': {
      const { x, y } = reshapeSpec(graph, op, fail);
      const v = get(x.index);
      return [{ dtype: v.dtype, shape: [...y.shape], data: v.data }];
    }
    case 'STRIDED_SLICE':
    case 'SLICE': {
      const { x, y, view } = sliceSpec(graph, op, fail);
      const out = like(get(x.index), [...y.shape]);
      copyView(view, get(x.index).data as unknown as Elements, out.data as unknown as Elements);
      return [out];
    }
    case 'SPLIT':
    case 'SPLIT_V':
    case 'UNPACK': {
      const { x, outputs, views } = splitSpec(graph, op, fail);
      const v = get(x.index);
      return views.map((view, k) => {
        const out = like(v, [...outputs[k]!.shape]);
        copyView(view, v.data as unknown as Elements, out.data as unknown as Elements);
        return out;
      });
    }
    case 'PACK': {
      const { inputs, y, plan } = concatSpec(graph, op, fail);
      const parts = inputs.map((t) => get(t.index));
      const out = like(parts[0]!, [...y.shape]);
      concatInto(plan, parts.map((p) => p.data as unknown as Elements), out.data as unknown as Elements);
      return [out];
    }
    case 'PADV2': {
      const s = padSpec(graph, op, fail);
      const v = get(s.x.index);
      const value = s.valueTensor ? asNumbers(get(s.valueTensor.index))[0]! : (s.value ?? 0);
      const shape = s.x.shape.map((n, d) => n + s.before[d]! + s.after[d]!);
      const out = like(v, shape);
      const fill = out.data instanceof BigInt64Array || out.data instanceof BigUint64Array ? BigInt(value) : value;
      (out.data as unknown as { fill(v: unknown): void }).fill(fill);
      // Copy the input rows into the interior (a view of the output, walked with the input's order).
      const outStrides = shape.map((_, d) => product(shape.slice(d + 1)));
      const offsets = viewOffsets({ shape: [...s.x.shape], step: outStrides, offset: s.before.reduce((acc, b, d) => acc + b * outStrides[d]!, 0) });
      const src = v.data as unknown as Elements;
      const dst = out.data as unknown as Elements;
      offsets.forEach((at, i) => (dst[at] = src[i]));
      return [out];
    }
    case 'GATHER': {
      const { x, coords, y, plan } = gatherSpec(graph, op, fail);
      const out = like(get(x.index), [...y.shape]);
      const bad = gatherInto(plan, get(x.index).data as unknown as ArrayLike<unknown>, get(coords.index).data as ArrayLike<number | bigint>, out.data as unknown as Elements);
      if (bad !== undefined) fail(`got coordinate ${bad} for an axis of size ${plan.axisSize}`);
      return [out];
    }
    case 'SUM':
    case 'REDUCE_MAX': {
      const { x, y, axes } = reduceSpec(graph, op, fail);
      const src = asNumbers(get(x.index));
      const plan = reducePlan(x.shape, axes);
      const base = viewOffsets(plan.kept);
      const inner = viewOffsets(plan.reduced);
      const out = new Float64Array(base.length);
      const isMax = op.type === 'REDUCE_MAX';
      base.forEach((b, o) => {
        let acc = isMax ? -Infinity : 0;
        for (const k of inner) acc = isMax ? Math.max(acc, src[b + k]!) : acc + src[b + k]!;
        out[o] = acc;
      });
      return [toDType(y.dtype, [...y.shape], out)];
    }
    case 'ARG_MAX':
    case 'ARG_MIN': {
      const { x, y, outer, axisSize, inner } = argSpec(graph, op, fail);
      const src = asNumbers(get(x.index));
      const out = new Float64Array(outer * inner);
      const isMax = op.type === 'ARG_MAX';
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * axisSize * inner + i;
          let best = src[base]!;
          let at = 0;
          for (let k = 1; k < axisSize; k++) {
            const v = src[base + k * inner]!;
            if (isMax ? v > best : v < best) {
              best = v;
              at = k;
            }
          }
          out[o * inner + i] = at;
        }
      }
      return [toDType(y.dtype, [...y.shape], out)];
    }
    case 'RESIZE_NEAREST_NEIGHBOR': {
      const s = resizeSpec(graph, op, fail);
      const v = get(s.x.index);
      const ys = nearestIndices(s.inH, s.outH, s.alignCorners, s.halfPixelCenters);
      const xs = nearestIndices(s.inW, s.outW, s.alignCorners, s.halfPixelCenters);
      const out = like(v, [...s.y.shape]);
      const src = v.data as unknown as Elements;
      const dst = out.data as unknown as Elements;
      let o = 0;
      for (let b = 0; b < s.batches; b++)
        for (let y = 0; y < s.outH; y++)
          for (let x = 0; x < s.outW; x++) {
            const from = ((b * s.inH + ys[y]!) * s.inW + xs[x]!) * s.depth;
            for (let c = 0; c < s.depth; c++) dst[o++] = src[from + c];
          }
      return [out];
    }
    case 'RESIZE_BILINEAR': {
      const s = resizeSpec(graph, op, fail);
      const src = asNumbers(get(s.x.index));
      const axis = (inSize: number, outSize: number) => {
        const scale = s.alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
        return Array.from({ length: outSize }, (_, o) => {
          const p = s.halfPixelCenters ? (o + 0.5) * scale - 0.5 : o * scale;
          const lo = Math.max(Math.floor(p), 0);
          const hi = Math.min(Math.ceil(p), inSize - 1);
          return { lo, hi, frac: p - lo };
        });
      };
      const rows = axis(s.inH, s.outH);
      const cols = axis(s.inW, s.outW);
      const out = new Float64Array(product(s.y.shape));
      let o = 0;
      const at = (b: number, y: number, x: number, c: number) => src[((b * s.inH + y) * s.inW + x) * s.depth + c]!;
      for (let b = 0; b < s.batches; b++)
        for (const r of rows)
          for (const k of cols)
            for (let c = 0; c < s.depth; c++) {
              out[o++] =
                at(b, r.lo, k.lo, c) * (1 - r.frac) * (1 - k.frac) +
                at(b, r.hi, k.lo, c) * r.frac * (1 - k.frac) +
                at(b, r.lo, k.hi, c) * (1 - r.frac) * k.frac +
                at(b, r.hi, k.hi, c) * r.frac * k.frac;
            }
      return [toDType(s.y.dtype, [...s.y.shape], out)];
    }
    default:
      return fail('is not a data-movement op');
  }
}
