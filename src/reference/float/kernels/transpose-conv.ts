/**
 * Transposed (fractionally strided) 2-D convolution, NHWC, float64 accumulation. Semantics of
 * ONNX ConvTranspose and TFLite TRANSPOSE_CONV:
 *
 *   x       [N, H, W, Cin]
 *   filter  [Cout, KH, KW, Cin / groups]   output channel o (group g = floor(o / (Cout/groups)))
 *                                          receives input channels [g*Cin/groups, (g+1)*Cin/groups)
 *   bias    [Cout] or absent
 *   out     [N, OH, OW, Cout]: input pixel (iy, ix) adds x * w[ky, kx] at
 *           (iy * strideH + ky * dilationH - padTop, ix * strideW + kx * dilationW - padLeft);
 *           positions outside [0, OH) x [0, OW) are dropped (the pads and output size crop).
 */
import type { FloatArray } from '../values.ts';

export interface TransposeConvGeometry {
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  groups: number;
  outH: number;
  outW: number;
}

export function transposeConv2d(x: FloatArray, filter: FloatArray, bias: ArrayLike<number> | undefined, g: TransposeConvGeometry): FloatArray {
  const [N, H, W, Cin] = x.shape as [number, number, number, number];
  const [Cout, KH, KW, CinG] = filter.shape as [number, number, number, number];
  const coutG = Cout / g.groups;
  const { outH: OH, outW: OW } = g;
  const out = new Float64Array(N * OH * OW * Cout);
  if (bias) for (let i = 0; i < out.length; i++) out[i] = bias[i % Cout]!;
  const xd = x.data;
  const wd = filter.data;
  for (let n = 0; n < N; n++) {
    for (let iy = 0; iy < H; iy++) {
      for (let ix = 0; ix < W; ix++) {
        for (let ky = 0; ky < KH; ky++) {
          const oy = iy * g.strideH + ky * g.dilationH - g.padTop;
          if (oy < 0 || oy >= OH) continue;
          for (let kx = 0; kx < KW; kx++) {
            const ox = ix * g.strideW + kx * g.dilationW - g.padLeft;
            if (ox < 0 || ox >= OW) continue;
            const oBase = ((n * OH + oy) * OW + ox) * Cout;
            for (let oc = 0; oc < Cout; oc++) {
              const icBase = Math.floor(oc / coutG) * CinG;
              const xOff = ((n * H + iy) * W + ix) * Cin + icBase;
              const wOff = ((oc * KH + ky) * KW + kx) * CinG;
              let acc = 0;
              for (let ic = 0; ic < CinG; ic++) acc += xd[xOff + ic]! * wd[wOff + ic]!;
              out[oBase + oc]! += acc;
            }
          }
        }
      }
    }
  }
  return { shape: [N, OH, OW, Cout], data: out };
}
