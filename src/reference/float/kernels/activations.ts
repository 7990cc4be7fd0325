/**
 * Activation functions with parameters, float64 per element (results rounded to float32 by the
 * executor). Semantics from the ONNX operator definitions (which the TFLite builtins of the same
 * name share where TFLite has them):
 *
 *   PRELU         y = x < 0 ? slope * x : x, slope broadcast against x (numpy rules)
 *   HARD_SWISH    y = x * max(0, min(1, x / 6 + 1/2))
 *   HARD_SIGMOID  y = max(0, min(1, alpha * x + beta))
 *   ELU           y = x < 0 ? alpha * (exp(x) - 1) : x
 */
import type { FloatArray } from '../values.ts';
import { binary } from './elementwise.ts';

export function prelu(x: FloatArray, slope: FloatArray): FloatArray {
  return binary(x, slope, (v, s) => (v < 0 ? s * v : v));
}

export function hardSwish(v: number): number {
  return v * Math.max(0, Math.min(1, v / 6 + 0.5));
}

export function hardSigmoid(alpha: number, beta: number): (v: number) => number {
  // float32 products and sums as onnxruntime computes them.
  return (v) => Math.max(0, Math.min(1, Math.fround(Math.fround(alpha * v) + beta)));
}

export function elu(alpha: number): (v: number) => number {
  return (v) => (v < 0 ? alpha * Math.expm1(v) : v);
}
