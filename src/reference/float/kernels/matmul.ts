/**
 * Matrix products, float64 accumulation.
 *
 * fullyConnected: x [..., K] viewed as [B, K] with B = size / K, weights [units, K],
 *   bias [units] -> [B, units] (or [..., units] with keepNumDims).
 * batchMatmul: numpy matmul of a [..., M, K] and b [..., K, N] (adjX / adjY transpose the last
 *   two dims of a / b first); batch dims broadcast; rank-1 operands are not handled here
 *   (the importer reshapes them).
 */
import type { FloatArray } from '../values.ts';
import { broadcastShapes } from './elementwise.ts';

export function fullyConnected(x: FloatArray, w: FloatArray, bias: ArrayLike<number> | undefined, keepNumDims: boolean): FloatArray {
  const [units, K] = w.shape as [number, number];
  const B = x.data.length / K;
  const out = new Float64Array(B * units);
  for (let b = 0; b < B; b++) {
    for (let u = 0; u < units; u++) {
      let acc = bias ? bias[u]! : 0;
      const xo = b * K;
      const wo = u * K;
      for (let k = 0; k < K; k++) acc += x.data[xo + k]! * w.data[wo + k]!;
      out[b * units + u] = acc;
    }
  }
  const shape = keepNumDims ? [...x.shape.slice(0, -1), units] : [B, units];
  return { shape, data: out };
}

export function batchMatmul(a: FloatArray, b: FloatArray, adjX: boolean, adjY: boolean): FloatArray {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = adjX ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = adjX ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = adjY ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShapes(batchA, batchB);
  const batchCount = batch.reduce((p, d) => p * d, 1);
  const out = new Float64Array(batchCount * M * N);
  const offA = batchOffsets(batchA, batch, M * K);
  const offB = batchOffsets(batchB, batch, K * N);
  // Element (i, k) of a and (k, j) of b after the optional transposes.
  const aStrideI = adjX ? 1 : K;
  const aStrideK = adjX ? M : 1;
  const bStrideK = adjY ? 1 : N;
  const bStrideJ = adjY ? K : 1;
  for (let t = 0; t < batchCount; t++) {
    const ao = offA[t]!;
    const bo = offB[t]!;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a.data[ao + i * aStrideI + k * aStrideK]! * b.data[bo + k * bStrideK + j * bStrideJ]!;
        out[(t * M + i) * N + j] = acc;
      }
    }
  }
  return { shape: [...batch, M, N], data: out };
}

/** For each index of the broadcast batch shape, the element offset of the matching matrix of an operand. */
function batchOffsets(own: number[], batch: number[], matrixSize: number): number[] {
  const count = batch.reduce((p, d) => p * d, 1);
  const padded = [...new Array<number>(batch.length - own.length).fill(1), ...own];
  const offsets = new Array<number>(count);
  for (let t = 0; t < count; t++) {
    let rem = t;
    let off = 0;
    let stride = 1;
    for (let d = batch.length - 1; d >= 0; d--) {
      const idx = rem % batch[d]!;
      rem = Math.floor(rem / batch[d]!);
      if (padded[d]! !== 1) off += idx * stride;
      stride *= padded[d]!;
    }
    offsets[t] = off * matrixSize;
  }
  return offsets;
}
