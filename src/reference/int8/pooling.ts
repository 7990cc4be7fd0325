/**
 * AVERAGE_POOL_2D and MAX_POOL_2D on int8 or int16 NHWC tensors (TFLite Micro reference
 * integer pooling). Input and output share scale and zero point, so no requantization.
 *
 * The window is clipped to the image (padding never counts). Average: the int32 sum divided by
 * the number of points inside the image, rounded half away from zero as
 * (sum +/- count/2) / count with C truncating division. Max: starts at the dtype minimum.
 * Both clamp to the fused activation range. Only the top/left pads matter.
 */
import type { Op } from '../../ir/graph.ts';
import { activationRangeQuantized } from '../fixedpoint.ts';
import {
  dtypeRange,
  fusedActivation,
  input,
  numberArrayAttr,
  numberAttr,
  output,
  read,
  requireDtype,
  scaleOf,
  unsupported,
  zeroPointOf,
  type EvalFn,
  type PrepareContext,
} from './common.ts';

function preparePool(op: Op, ctx: PrepareContext, kind: 'avg' | 'max'): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  requireDtype(op, x, 'int8', 'int16');
  requireDtype(op, y, x.dtype);
  if (x.shape.length !== 4 || y.shape.length !== 4) throw unsupported(op, 'needs 4-D NHWC input and output');
  const [batches, inH, inW, depth] = x.shape as [number, number, number, number];
  const outH = y.shape[1]!;
  const outW = y.shape[2]!;
  const filterH = numberAttr(op, 'filterH');
  const filterW = numberAttr(op, 'filterW');
  const strideH = numberAttr(op, 'strideH', 1);
  const strideW = numberAttr(op, 'strideW', 1);
  const pads = numberArrayAttr(op, 'pads');
  const padTop = pads[0] ?? 0;
  const padLeft = pads[1] ?? 0;
  if (op.attrs['countIncludePad'] === true && kind === 'avg' && pads.some((p) => p !== 0)) {
    throw unsupported(op, 'counts padding in the average (ONNX count_include_pad), which TFLite int8 does not');
  }
  const range = dtypeRange(y.dtype);
  const act = activationRangeQuantized(fusedActivation(op), scaleOf(op, y), zeroPointOf(y), range.min, range.max);
  const xi = x.index;
  const yi = y.index;

  return (values) => {
    const inp = read(values, xi) as Int8Array | Int16Array;
    const out = read(values, yi) as Int8Array | Int16Array;
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        const inYOrigin = oy * strideH - padTop;
        const fyStart = Math.max(0, -inYOrigin);
        const fyEnd = Math.min(filterH, inH - inYOrigin);
        for (let ox = 0; ox < outW; ox++) {
          const inXOrigin = ox * strideW - padLeft;
          const fxStart = Math.max(0, -inXOrigin);
          const fxEnd = Math.min(filterW, inW - inXOrigin);
          const outBase = ((b * outH + oy) * outW + ox) * depth;
          for (let c = 0; c < depth; c++) {
            let v: number;
            if (kind === 'avg') {
              let acc = 0;
              let count = 0;
              for (let fy = fyStart; fy < fyEnd; fy++) {
                for (let fx = fxStart; fx < fxEnd; fx++) {
                  acc += inp[((b * inH + inYOrigin + fy) * inW + inXOrigin + fx) * depth + c]!;
                  count++;
                }
              }
              if (count === 0) throw unsupported(op, 'has an output window entirely inside the padding');
              const half = Math.trunc(count / 2);
              v = acc > 0 ? Math.trunc((acc + half) / count) : Math.trunc((acc - half) / count);
            } else {
              v = range.min;
              for (let fy = fyStart; fy < fyEnd; fy++) {
                for (let fx = fxStart; fx < fxEnd; fx++) {
                  const s = inp[((b * inH + inYOrigin + fy) * inW + inXOrigin + fx) * depth + c]!;
                  if (s > v) v = s;
                }
              }
            }
            out[outBase + c] = v < act.min ? act.min : v > act.max ? act.max : v;
          }
        }
      }
    }
  };
}

export function prepareAveragePool2d(op: Op, ctx: PrepareContext): EvalFn {
  return preparePool(op, ctx, 'avg');
}

export function prepareMaxPool2d(op: Op, ctx: PrepareContext): EvalFn {
  return preparePool(op, ctx, 'max');
}
