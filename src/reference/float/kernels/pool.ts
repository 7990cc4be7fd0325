/**
 * 2-D max and average pooling, NHWC.
 *
 *   x    [N, H, W, C]  ->  out [N, OH, OW, C],
 *        OH = floor((H + top + bottom - ((filterH - 1) * dilationH + 1)) / strideH) + 1
 *
 * Max ignores padded positions. Average divides by the number of real (unpadded) positions in
 * the window (TFLite, ONNX count_include_pad=0) or, with countIncludePad, by the window's taps
 * inside the input padded by `countedPads` (ONNX count_include_pad=1: explicit pads are counted,
 * the extra end positions of ceil_mode are not; `countedPads` defaults to `pads`). Dilation
 * (ONNX only) spaces the taps of the window. Semantics: ONNX MaxPool/AveragePool, TFLite pooling.
 */
import type { FloatArray } from '../values.ts';
import { convOutputSize } from './conv.ts';

export interface PoolGeometry {
  filterH: number;
  filterW: number;
  strideH: number;
  strideW: number;
  /** [top, left, bottom, right] */
  pads: number[];
  countIncludePad: boolean;
  countedPads?: number[];
  dilationH?: number;
  dilationW?: number;
}

export function pool2d(x: FloatArray, g: PoolGeometry, kind: 'max' | 'average'): FloatArray {
  const [N, H, W, C] = x.shape as [number, number, number, number];
  const [top, left, bottom, right] = g.pads as [number, number, number, number];
  const dh = g.dilationH ?? 1;
  const dw = g.dilationW ?? 1;
  const OH = convOutputSize(H, g.filterH, g.strideH, dh, top, bottom);
  const OW = convOutputSize(W, g.filterW, g.strideW, dw, left, right);
  const counted = g.countedPads ?? g.pads;
  const out = new Float64Array(N * OH * OW * C);
  const xd = x.data;
  // Taps of each window along one axis that fall inside [lo, hi).
  const taps = (start: number, k: number, d: number, lo: number, hi: number): number[] => {
    const list: number[] = [];
    for (let t = 0; t < k; t++) {
      const i = start + t * d;
      if (i >= lo && i < hi) list.push(i);
    }
    return list;
  };
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * g.strideH - top;
      const ys = taps(y0, g.filterH, dh, 0, H);
      const yCount = taps(y0, g.filterH, dh, -counted[0]!, H + counted[2]!).length;
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * g.strideW - left;
        const xs = taps(x0, g.filterW, dw, 0, W);
        const divisor = g.countIncludePad ? yCount * taps(x0, g.filterW, dw, -counted[1]!, W + counted[3]!).length : ys.length * xs.length;
        for (let c = 0; c < C; c++) {
          let acc = kind === 'max' ? -Infinity : 0;
          for (const iy of ys) {
            for (const ix of xs) {
              const v = xd[((n * H + iy) * W + ix) * C + c]!;
              if (kind === 'max') {
                if (v > acc) acc = v;
              } else acc += v;
            }
          }
          if (kind === 'average') acc /= divisor;
          out[o++] = acc;
        }
      }
    }
  }
  return { shape: [N, OH, OW, C], data: out };
}
