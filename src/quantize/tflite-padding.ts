/**
 * Padding of every kind, as TFLite expresses it. TFLite's conv and pool ops know only SAME and
 * VALID; ONNX models carry explicit pads (PyTorch's `padding=1` with stride 2 on an even input,
 * causal 1-D convolutions, auto_pad SAME_LOWER, ceil_mode pooling). In the int8 graph each op
 * whose pads are neither SAME nor VALID becomes, as the TFLite converter writes it:
 *
 *   CONV_2D / DEPTHWISE_CONV_2D   PAD (value: the input zero point, real 0) -> the op, VALID
 *   MAX_POOL_2D                   PADV2 (value: the int8 minimum, never the maximum of a window
 *                                 with a real tap) -> the op, VALID
 *   AVERAGE_POOL_2D counting pads PAD (zero point) -> the op, VALID (divides by the window size)
 *
 * The pads are trimmed to what the output reads (a trailing pad row that no window reaches is
 * dropped), the PAD shares the input's quantization (TFLite's PAD kernels copy bytes), and the
 * native backend folds it back into the op's own padding (src/codegen/native/fold-pad.ts).
 * What TFLite cannot express (an average that excludes pads that are not SAME, dilated
 * pooling) is refused naming the user's node, with a fix for the export.
 */
import { UnsupportedError } from '../errors.ts';
import type { Graph, Op, Tensor } from '../ir/graph.ts';
import { cloneGraph } from './graph-edit.ts';

/** What a conv/pool op's geometry looks like along H and W. */
interface Window {
  k: [number, number];
  stride: [number, number];
  dilation: [number, number];
  /** [top, left, bottom, right] */
  pads: number[];
}

function windowOf(op: Op, g: Graph): Window {
  const a = op.attrs;
  const num = (key: string, d: number): number => (typeof a[key] === 'number' ? (a[key] as number) : d);
  const pads = Array.isArray(a.pads) ? (a.pads as number[]) : [0, 0, 0, 0];
  if (op.type === 'CONV_2D' || op.type === 'DEPTHWISE_CONV_2D') {
    const w = g.tensors[op.inputs[1]!]!;
    return { k: [w.shape[1]!, w.shape[2]!], stride: [num('strideH', 1), num('strideW', 1)], dilation: [num('dilationH', 1), num('dilationW', 1)], pads };
  }
  return { k: [num('filterH', 1), num('filterW', 1)], stride: [num('strideH', 1), num('strideW', 1)], dilation: [num('dilationH', 1), num('dilationW', 1)], pads };
}

/** True when TFLite's SAME padding gives exactly these pads and output size. */
function isSame(x: Tensor, y: Tensor, w: Window): boolean {
  for (let i = 0; i < 2; i++) {
    const inLen = x.shape[1 + i]!, out = y.shape[1 + i]!, s = w.stride[i]!;
    const dk = (w.k[i]! - 1) * w.dilation[i]! + 1;
    const o = Math.ceil(inLen / s);
    const total = Math.max(0, (o - 1) * s + dk - inLen);
    if (o !== out || w.pads[i] !== Math.floor(total / 2)) return false;
  }
  return true;
}

/**
 * PADV2 as TFLite stores it: inputs [x, paddings int32 [rank, 2], constant_values (x's dtype and
 * quantization)], no options (TFLite's form, as the engines read it). Output: op.outputs[0].
 */
function padV2(g: Graph, op: Op, x: Tensor, pads: number[], value: number): Op {
  const rank = x.shape.length;
  const paddings = g.tensors.length;
  g.tensors.push({ index: paddings, name: `${op.source.name}/paddings`, shape: [rank, 2], dtype: 'int32', data: new Uint8Array(Int32Array.from(pads).buffer) });
  const v = g.tensors.length;
  const data = x.dtype === 'int16' ? new Uint8Array(Int16Array.of(value).buffer) : new Uint8Array(Int8Array.of(value).buffer);
  g.tensors.push({ index: v, name: `${op.source.name}/constant_values`, shape: [], dtype: x.dtype, data, ...(x.quant ? { quant: { ...x.quant } } : {}) });
  return { index: 0, type: 'PADV2', version: 1, inputs: [x.index, paddings, v], outputs: [op.outputs[0]!], attrs: {}, source: op.source };
}

/** "Conv node 'conv1'": the user's op and node. */
function userNode(op: Op): string {
  return `${op.source.format === 'onnx' ? 'ONNX ' : ''}${op.source.opType} node '${op.source.name}'`;
}

/**
 * Rewrites every conv/pool op of an int8 graph whose pads TFLite cannot express into PAD/PADV2
 * + VALID op (see the module comment). Returns the new graph and a log line per rewrite; throws
 * UnsupportedError naming the user's node for the forms TFLite has no expression of.
 */
export function expressPadding(input: Graph): { graph: Graph; log: string[] } {
  const g = cloneGraph(input);
  const log: string[] = [];
  const ops: Op[] = [];
  for (const op of g.ops) {
    if (op.type === 'PAD' && typeof op.attrs.constantValue === 'number' && Array.isArray(op.attrs.pads)) {
      // TFLite's PAD pads with real 0; any other value (an ONNX Pad with -inf before a max pool)
      // is PADV2 with the value as a tensor of the input's type and quantization.
      const x = g.tensors[op.inputs[0]!]!;
      const zero = x.dtype === 'float32' ? 0 : (x.quant?.zeroPoint[0] ?? 0);
      if (op.attrs.constantValue !== zero && (x.dtype === 'int8' || x.dtype === 'int16')) {
        ops.push(padV2(g, op, x, op.attrs.pads as number[], op.attrs.constantValue));
        log.push(`${userNode(op)}: pads with quantized value ${op.attrs.constantValue} (not real 0) as PADV2`);
        continue;
      }
    }
    const isConv = op.type === 'CONV_2D' || op.type === 'DEPTHWISE_CONV_2D';
    const isPool = op.type === 'MAX_POOL_2D' || op.type === 'AVERAGE_POOL_2D';
    if (!isConv && !isPool) {
      ops.push(op);
      continue;
    }
    const x = g.tensors[op.inputs[0]!]!;
    const y = g.tensors[op.outputs[0]!]!;
    const w = windowOf(op, g);
    if (isPool && (w.dilation[0] !== 1 || w.dilation[1] !== 1)) {
      throw new UnsupportedError(
        `${userNode(op)} pools with dilations [${w.dilation.join(',')}], which TFLite pooling cannot express, so the model cannot be quantized: use a pooling layer without dilation (PyTorch: dilation=1) or deploy the float model`,
      );
    }
    const countsPads = op.type === 'AVERAGE_POOL_2D' && op.attrs.countIncludePad === true;
    if (Array.isArray(op.attrs.countedPads)) {
      throw new UnsupportedError(
        `${userNode(op)} averages with ceil_mode=1 and count_include_pad=1 (the explicit pads counted, the ceil positions not), which TFLite cannot express, so the model cannot be quantized: export with ceil_mode=False, or count_include_pad=False`,
      );
    }
    const none = w.pads.every((p) => p === 0);
    if (none || (!countsPads && isSame(x, y, w))) {
      ops.push(op);
      continue;
    }
    if (op.type === 'AVERAGE_POOL_2D' && !countsPads) {
      throw new UnsupportedError(
        `${userNode(op)} averages over windows clipped by pads [${w.pads.join(',')}] that are not TFLite's SAME padding for input ${x.shape[1]}x${x.shape[2]}, which TFLite cannot express, so the model cannot be quantized: export with count_include_pad=True (PyTorch nn.AvgPool2d(..., count_include_pad=True), ceil_mode=False) or with padding that keeps the output size ceil(input / stride)`,
      );
    }
    // Trailing pads only as far as the last window reaches.
    const needEnd = (i: number): number => {
      const dk = (w.k[i]! - 1) * w.dilation[i]! + 1;
      return Math.max(0, (y.shape[1 + i]! - 1) * w.stride[i]! + dk - (x.shape[1 + i]! + w.pads[i]!));
    };
    const [top, left] = [w.pads[0]!, w.pads[1]!];
    const [bottom, right] = [needEnd(0), needEnd(1)];
    const padded = [x.shape[0]!, x.shape[1]! + top + bottom, x.shape[2]! + left + right, x.shape[3]!];
    const p = g.tensors.length;
    g.tensors.push({ index: p, name: `${x.name}_padded`, shape: padded, dtype: x.dtype, ...(x.quant ? { quant: { ...x.quant } } : {}) });
    const pads = [0, 0, top, bottom, left, right, 0, 0];
    const zp = x.quant?.zeroPoint[0] ?? 0;
    const maxPool = op.type === 'MAX_POOL_2D';
    const value = maxPool ? (x.dtype === 'int16' ? -32768 : -128) : zp;
    const source = { ...op.source };
    if (maxPool) {
      ops.push(padV2(g, { ...op, outputs: [p], source }, x, pads, value));
    } else {
      ops.push({ index: 0, type: 'PAD', version: 2, inputs: [x.index], outputs: [p], attrs: { mode: 'CONSTANT', pads, constantValue: value }, source });
    }
    ops.push({ ...op, inputs: [p, ...op.inputs.slice(1)], attrs: { ...op.attrs, padding: 'VALID', pads: [0, 0, 0, 0] } });
    log.push(`${userNode(op)}: pads [${w.pads.join(',')}] as ${maxPool ? 'PADV2 (int8 minimum)' : 'PAD'} [${top},${bottom},${left},${right}] + VALID ${op.type}`);
  }
  g.ops = ops.map((o, index) => ({ ...o, index }));
  return { graph: g, log };
}
