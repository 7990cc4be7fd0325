/**
 * Softmax along one axis: out = exp(beta * (x - max)) / sum(exp(beta * (x - max))).
 * `coerce2d` (ONNX opset < 13) normalises over every dim from `axis` to the end at once.
 */
import type { FloatArray } from '../values.ts';

export function softmax(x: FloatArray, axis: number, beta: number, coerce2d: boolean): FloatArray {
  const shape = x.shape;
  const inner = coerce2d ? 1 : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const len = coerce2d ? shape.slice(axis).reduce((a, b) => a * b, 1) : shape[axis]!;
  const outer = x.data.length / (len * inner);
  const out = new Float64Array(x.data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let max = -Infinity;
      for (let k = 0; k < len; k++) max = Math.max(max, x.data[base + k * inner]!);
      let sum = 0;
      for (let k = 0; k < len; k++) {
        const e = Math.exp(beta * (x.data[base + k * inner]! - max));
        out[base + k * inner] = e;
        sum += e;
      }
      for (let k = 0; k < len; k++) out[base + k * inner]! /= sum;
    }
  }
  return { shape: [...shape], data: out };
}
