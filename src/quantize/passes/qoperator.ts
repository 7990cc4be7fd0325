/**
 * Pass: ONNX QOperator models (onnxruntime's quantize_static with QuantFormat.QOperator: QLinearConv,
 * QLinearMatMul between QuantizeLinear and DequantizeLinear) become the QDQ form the rest of
 * `convert` reads: each QLINEAR_CONV / QLINEAR_MATMUL with constant weights and parameters is
 * rewritten as DEQUANTIZE (its input) -> float CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED with the
 * weights and bias dequantized -> QUANTIZE (its output, the model's scale and zero point). The
 * QUANTIZE -> DEQUANTIZE pairs this leaves between ops are then taken by strip-qdq.ts, so every
 * activation keeps the model's own parameters (uint8 moved to int8) and the weights are
 * re-quantized per channel as TFLite int8 wants them. Runs before every other pass.
 */
import type { Graph, Op, Tensor } from '../../ir/graph.ts';
import { isConstant } from '../../ir/graph.ts';
import { addTensor, constFloats, float32Bytes } from '../graph-edit.ts';

/** A QLINEAR op this pass can rewrite: constant weights and parameters on x, w and y. */
export function rewritableQOperator(g: Graph, op: Op): boolean {
  if (op.type !== 'QLINEAR_CONV' && op.type !== 'QLINEAR_MATMUL') return false;
  const t = (k: number): Tensor | undefined => (op.inputs[k] !== undefined && op.inputs[k]! >= 0 ? g.tensors[op.inputs[k]!] : undefined);
  const x = t(0), w = t(3), y = g.tensors[op.outputs[0]!];
  if (!x?.quant || !w?.quant || !y?.quant || !isConstant(w)) return false;
  if (op.type === 'QLINEAR_MATMUL' && w.shape.length !== 2) return false;
  const bias = t(8);
  return op.type === 'QLINEAR_MATMUL' || !bias || isConstant(bias);
}

function floatTensor(g: Graph, name: string, shape: number[], values?: Float32Array): number {
  return addTensor(g, { name, shape, dtype: 'float32', ...(values ? { data: float32Bytes(values) } : {}) });
}

export function qoperatorToQdq(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const ops: Op[] = [];
  for (const op of g.ops) {
    if (!rewritableQOperator(g, op)) {
      ops.push(op);
      continue;
    }
    const x = g.tensors[op.inputs[0]!]!;
    const w = g.tensors[op.inputs[3]!]!;
    const y = g.tensors[op.outputs[0]!]!;
    const base = { version: 1, source: op.source };
    const xf = floatTensor(g, `${x.name}_float`, [...x.shape]);
    const yf = floatTensor(g, `${y.name}_float`, [...y.shape]);
    ops.push({ ...base, index: 0, type: 'DEQUANTIZE', inputs: [x.index], outputs: [xf], attrs: { rounding: 'HALF_EVEN', axis: 0 } });
    const wReal = constFloats(w); // dequantized with w's (per-channel) parameters
    if (op.type === 'QLINEAR_CONV') {
      const [cout, kh, kw, cinG] = w.shape as [number, number, number, number];
      const cin = x.shape[3]!;
      const groups = Number(op.attrs.groups ?? 1);
      let biasT = -1;
      const b = op.inputs[8];
      if (b !== undefined && b >= 0) {
        const raw = constFloats({ ...g.tensors[b]!, quant: undefined });
        const xs = x.quant!.scale[0]!;
        const ws = w.quant!.scale;
        biasT = floatTensor(g, `${g.tensors[b]!.name}_float`, [cout], Float32Array.from(raw, (v, c) => v * xs * ws[ws.length > 1 ? c : 0]!));
      }
      const geom = { strideH: op.attrs.strideH!, strideW: op.attrs.strideW!, dilationH: op.attrs.dilationH!, dilationW: op.attrs.dilationW!, padding: op.attrs.padding!, pads: op.attrs.pads!, fusedActivation: 'NONE' };
      if (groups === cin && cinG === 1 && groups > 1) {
        // Depthwise: [Cout, KH, KW, 1] -> [1, KH, KW, Cout].
        const dw = new Float32Array(wReal.length);
        for (let o = 0; o < cout; o++) for (let k = 0; k < kh * kw; k++) dw[k * cout + o] = wReal[o * kh * kw + k]!;
        const filter = floatTensor(g, `${w.name}_float`, [1, kh, kw, cout], dw);
        ops.push({ ...base, index: 0, type: 'DEPTHWISE_CONV_2D', inputs: [xf, filter, biasT], outputs: [yf], attrs: { ...geom, depthMultiplier: cout / cin } });
      } else {
        const filter = floatTensor(g, `${w.name}_float`, [cout, kh, kw, cinG], wReal);
        ops.push({ ...base, index: 0, type: 'CONV_2D', inputs: [xf, filter, biasT], outputs: [yf], attrs: { ...geom, groups } });
      }
    } else {
      // b [K, N] -> FULLY_CONNECTED weights [N, K].
      const [k, n] = w.shape as [number, number];
      const t = new Float32Array(n * k);
      for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) t[r * k + j] = wReal[j * n + r]!;
      const filter = floatTensor(g, `${w.name}_float`, [n, k], t);
      ops.push({ ...base, index: 0, type: 'FULLY_CONNECTED', inputs: [xf, filter, -1], outputs: [yf], attrs: { fusedActivation: 'NONE', keepNumDims: x.shape.length > 2 } });
    }
    ops.push({ ...base, index: 0, type: 'QUANTIZE', inputs: [yf], outputs: [y.index], attrs: { rounding: 'HALF_EVEN', axis: 0 } });
    log.push(`${op.source.opType} '${op.source.name}' (QOperator) as DEQUANTIZE, float ${op.type === 'QLINEAR_CONV' ? 'convolution' : 'FULLY_CONNECTED'}, QUANTIZE with the model's parameters`);
  }
  if (log.length) g.ops = ops.map((o, index) => ({ ...o, index }));
  return { graph: g, log };
}
