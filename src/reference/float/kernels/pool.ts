/**
 * 2-D max and average pooling, NHWC.
 *
 *   x    [N, H, W, C]  ->  out [N, OH, OW, C], OH = floor((H + top + bottom - filterH) / strideH) + 1
 *
 * Max ignores padded positions. Average divides by the number of real (unpadded) positions in
 * the window (TFLite, ONNX count_include_pad=0) or by filterH*filterW with padding counted as
 * zeros (ONNX count_include_pad=1).
 */
import type { FloatArray } from '../values.ts';
import { convOutputSize } from './conv.ts';

export interface PoolGeometry {
  filterH: number;
  filterW: number;
  strideH: number;
  strideW: number;
  pads: number[];
  countIncludePad: boolean;
}

export function pool2d(x: FloatArray, g: PoolGeometry, kind: 'max' | 'average'): FloatArray {
  const [N, H, W, C] = x.shape as [number, number, number, number];
  const [top, left, bottom, right] = g.pads as [number, number, number, number];
  const OH = convOutputSize(H, g.filterH, g.strideH, 1, top, bottom);
  const OW = convOutputSize(W, g.filterW, g.strideW, 1, left, right);
  const out = new Float64Array(N * OH * OW * C);
  const xd = x.data;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * g.strideH - top;
      const ys = Math.max(y0, 0);
      const ye = Math.min(y0 + g.filterH, H);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * g.strideW - left;
        const xs = Math.max(x0, 0);
        const xe = Math.min(x0 + g.filterW, W);
        for (let c = 0; c < C; c++) {
          let acc = kind === 'max' ? -Infinity : 0;
          for (let iy = ys; iy < ye; iy++) {
            for (let ix = xs; ix < xe; ix++) {
              const v = xd[((n * H + iy) * W + ix) * C + c]!;
              if (kind === 'max') {
                if (v > acc) acc = v;
              } else acc += v;
            }
          }
          if (kind === 'average') acc /= g.countIncludePad ? g.filterH * g.filterW : (ye - ys) * (xe - xs);
          out[o++] = acc;
        }
      }
    }
  }
  return { shape: [N, OH, OW, C], data: out };
}
