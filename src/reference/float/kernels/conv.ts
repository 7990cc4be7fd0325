/**
 * 2-D convolution, NHWC, float64 accumulation.
 *
 *   x       [N, H, W, Cin]                   real values (or integers minus their zero point)
 *   filter  [Cout, KH, KW, Cin / groups]     output channel o reads input channels
 *                                            [g*Cin/groups, (g+1)*Cin/groups), g = floor(o / (Cout/groups))
 *   bias    [Cout] or absent
 *   out     [N, OH, OW, Cout], OH = floor((H + top + bottom - ((KH-1)*dilationH + 1)) / strideH) + 1
 *
 * Padded positions contribute nothing (zero padding). Depthwise convolution is the grouped case
 * groups = Cin with the filter re-laid out by `depthwiseAsGrouped`.
 */
import type { FloatArray } from '../values.ts';

export interface ConvGeometry {
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  /** [top, left, bottom, right] */
  pads: number[];
  groups: number;
}

export function convOutputSize(inSize: number, k: number, stride: number, dilation: number, before: number, after: number): number {
  return Math.floor((inSize + before + after - ((k - 1) * dilation + 1)) / stride) + 1;
}

export function conv2d(x: FloatArray, filter: FloatArray, bias: ArrayLike<number> | undefined, g: ConvGeometry): FloatArray {
  const [N, H, W, Cin] = x.shape as [number, number, number, number];
  const [Cout, KH, KW, CinG] = filter.shape as [number, number, number, number];
  const [top, left, bottom, right] = g.pads as [number, number, number, number];
  const OH = convOutputSize(H, KH, g.strideH, g.dilationH, top, bottom);
  const OW = convOutputSize(W, KW, g.strideW, g.dilationW, left, right);
  const coutPerGroup = Cout / g.groups;
  const xd = x.data;
  const wd = filter.data;
  const out = new Float64Array(N * OH * OW * Cout);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let oc = 0; oc < Cout; oc++) {
          const icBase = Math.floor(oc / coutPerGroup) * CinG;
          let acc = bias ? bias[oc]! : 0;
          for (let ky = 0; ky < KH; ky++) {
            const iy = oy * g.strideH - top + ky * g.dilationH;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < KW; kx++) {
              const ix = ox * g.strideW - left + kx * g.dilationW;
              if (ix < 0 || ix >= W) continue;
              const xOff = ((n * H + iy) * W + ix) * Cin + icBase;
              const wOff = ((oc * KH + ky) * KW + kx) * CinG;
              for (let ic = 0; ic < CinG; ic++) acc += xd[xOff + ic]! * wd[wOff + ic]!;
            }
          }
          out[o++] = acc;
        }
      }
    }
  }
  return { shape: [N, OH, OW, Cout], data: out };
}

/** Depthwise filter [1, KH, KW, Cout] -> grouped filter [Cout, KH, KW, 1] (groups = Cin). */
export function depthwiseAsGrouped(filter: FloatArray): FloatArray {
  const [, KH, KW, Cout] = filter.shape as [number, number, number, number];
  const out = new Float64Array(Cout * KH * KW);
  for (let oc = 0; oc < Cout; oc++) {
    for (let k = 0; k < KH * KW; k++) out[oc * KH * KW + k] = filter.data[k * Cout + oc]!;
  }
  return { shape: [Cout, KH, KW, 1], data: out };
}
