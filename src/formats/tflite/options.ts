/**
 * TFLite builtin options <-> normalised IR attributes (src/ir/ops.ts).
 *
 * Reading is in two steps: every field of the options table is decoded generically from the
 * generated schema field list (readRawOptions), then known ops are mapped to the IR's keys
 * (normaliseAttrs), with SAME/VALID padding resolved to explicit pads from the static shapes.
 * Ops the IR does not know keep their raw fields under the schema's snake_case names, so the
 * writer can put them back unchanged.
 */
import { InvalidModelError, UnsupportedError } from '../../errors.ts';
import { dtypeSize, type AttrValue, type Tensor } from '../../ir/graph.ts';
import { isKnownOp, TFLITE_FORM_OPS } from '../../ir/ops.ts';
import type { FbTable, FlatbufferReader } from './flatbuffer-reader.ts';
import { ActivationFunctionType, OptionTables, Padding, type SchemaField } from './schema-tables.ts';
import { optionsTableOf } from './tables.ts';

export interface RawOptions {
  table: string;
  values: Record<string, AttrValue>;
}

export function readRawOptions(r: FlatbufferReader, table: FbTable, tableName: string): RawOptions {
  const fields = OptionTables[tableName] ?? [];
  const values: Record<string, AttrValue> = {};
  for (const f of fields) {
    if (f.deprecated) continue;
    // Scalars absent from the file take their schema default; absent vectors stay absent.
    if (!table.has(f.id)) {
      if (typeof f.default === 'number' || typeof f.default === 'boolean') values[f.name] = f.default;
      continue;
    }
    const v = readField(table, f);
    if (v !== undefined) values[f.name] = v;
  }
  return { table: tableName, values };
}

function readField(table: FbTable, f: SchemaField): AttrValue | undefined {
  if (f.type === 'string') return table.string(f.id);
  if (f.type.startsWith('[')) {
    const elem = f.type.slice(1, -1);
    if (elem === 'string' || elem === 'table' || elem === 'union') return undefined;
    return table.numbers(f.id, elem);
  }
  if (f.type === 'table' || f.type === 'union') return undefined;
  return table.scalar(f.id, f.type, f.default ?? 0);
}

/** The scalar defaults of an options table: what an op without the table means. */
function defaultOptions(table: string): Record<string, AttrValue> {
  const values: Record<string, AttrValue> = {};
  for (const f of OptionTables[table] ?? []) {
    if (!f.deprecated && (typeof f.default === 'number' || typeof f.default === 'boolean')) values[f.name] = f.default;
  }
  return values;
}

export interface OpContext {
  type: string;
  index: number;
  raw: RawOptions | null;
  inputs: number[];
  outputs: number[];
  tensors: Tensor[];
  fileName: string;
  /** Where readings TFLite Micro also tolerates are reported (graph.warnings). */
  warnings?: string[];
}

/** IR attributes for an op read from a .tflite file. */
export function normaliseAttrs(ctx: OpContext): Record<string, AttrValue> {
  const { type } = ctx;
  let { raw } = ctx;
  const expected = optionsTableOf(type);
  if (!isKnownOp(type) || TFLITE_FORM_OPS.has(type)) return raw ? { ...raw.values } : expected ? defaultOptions(expected) : {};
  if (raw && expected && raw.table !== expected) {
    // TFLite Micro's parser asks for the expected table, gets nothing, and keeps its defaults.
    ctx.warnings?.push(`${ctx.fileName}: operator ${ctx.index} (${type}) carries ${raw.table} instead of ${expected}; its options were ignored, as TFLite Micro does`);
    raw = null;
  }

  // A field's value, or its schema default when the file leaves it out.
  const opt = (name: string): number | boolean => {
    const v = raw?.values[name];
    if (typeof v === 'number' || typeof v === 'boolean') return v;
    const f = expected ? OptionTables[expected]?.find((x) => x.name === name) : undefined;
    const d = f?.default;
    return typeof d === 'number' || typeof d === 'boolean' ? d : 0;
  };
  const num = (name: string): number => Number(opt(name));
  const act = (): string => {
    const code = num('fused_activation_function');
    const name = ActivationFunctionType[code];
    if (name !== undefined) return name;
    // TFLite Micro's ConvertActivation maps codes it does not know to no activation.
    ctx.warnings?.push(`${ctx.fileName}: operator ${ctx.index} (${type}) has an unknown fused activation (${code}); read as NONE, as TFLite Micro does`);
    return 'NONE';
  };
  const padding = (): string => {
    const code = num('padding');
    const name = Padding[code];
    if (name === undefined) bad(ctx, `has an unknown padding kind (${code})`);
    return name;
  };
  const positive = (name: string): number => {
    const v = num(name);
    if (!Number.isInteger(v) || v < 1) bad(ctx, `has ${name} = ${v}; it must be at least 1`);
    return v;
  };

  switch (type) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      const strideH = positive('stride_h');
      const strideW = positive('stride_w');
      const dilationH = positive('dilation_h_factor');
      const dilationW = positive('dilation_w_factor');
      const pad = padding();
      const x = shapeOf(ctx, 0, 4);
      const w = shapeOf(ctx, 1, 4);
      const pads = resolvePads(pad, x[1]!, x[2]!, w[1]!, w[2]!, strideH, strideW, dilationH, dilationW);
      const attrs: Record<string, AttrValue> = { strideH, strideW, dilationH, dilationW, padding: pad, pads, fusedActivation: act() };
      if (type === 'DEPTHWISE_CONV_2D') attrs.depthMultiplier = num('depth_multiplier');
      // TFLite infers grouped convolution from the shapes: the filter holds Cin/groups channels.
      if (type === 'CONV_2D' && w[3]! > 0 && x[3] !== w[3]) {
        const groups = x[3]! / w[3]!;
        if (!Number.isInteger(groups) || w[0]! % groups !== 0) bad(ctx, `has filter [${w.join(',')}] that does not divide input channels ${x[3]}`);
        attrs.groups = groups;
      }
      return attrs;
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      const filterH = positive('filter_height');
      const filterW = positive('filter_width');
      const strideH = positive('stride_h');
      const strideW = positive('stride_w');
      const pad = padding();
      const x = shapeOf(ctx, 0, 4);
      const pads = resolvePads(pad, x[1]!, x[2]!, filterH, filterW, strideH, strideW, 1, 1);
      return { filterH, filterW, strideH, strideW, padding: pad, pads, fusedActivation: act(), countIncludePad: false };
    }
    case 'FULLY_CONNECTED': {
      if (num('weights_format') !== 0) {
        throw new UnsupportedError(`${ctx.fileName}: operator ${ctx.index} (FULLY_CONNECTED) uses shuffled weights, which tinyml does not support; convert the model without the shuffled-weights option`);
      }
      return { fusedActivation: act(), keepNumDims: Boolean(opt('keep_num_dims')) };
    }
    case 'ADD':
    case 'SUB':
      return { fusedActivation: act() };
    case 'MUL':
    case 'DIV':
      return { fusedActivation: act() };
    case 'CONCATENATION': {
      const rank = shapeOf(ctx, -1).length;
      return { axis: normaliseAxis(ctx, num('axis'), rank), fusedActivation: act() };
    }
    case 'RESHAPE':
      return { newShape: [...shapeOf(ctx, -1)] };
    case 'SOFTMAX': {
      const rank = shapeOf(ctx, 0).length;
      return { beta: num('beta'), axis: Math.max(rank - 1, 0), coerce2d: false };
    }
    case 'PAD': {
      const x = shapeOf(ctx, 0);
      const pads = constInts(ctx, 1, 'paddings', 2 * x.length);
      if (pads.length !== 2 * x.length) bad(ctx, `has ${pads.length} padding values for an input of rank ${x.length}`);
      if (pads.some((p) => p < 0)) bad(ctx, 'has negative paddings');
      const out = ctx.tensors[ctx.outputs[0] ?? -1];
      // TFLite pads with real 0: the zero point for quantized tensors.
      const constantValue = out?.quant && out.dtype !== 'float32' ? (out.quant.zeroPoint[0] ?? 0) : 0;
      return { mode: 'CONSTANT', pads, constantValue };
    }
    case 'MEAN': {
      const rank = shapeOf(ctx, 0).length;
      const axes = constInts(ctx, 1, 'axis', rank).map((a) => normaliseAxis(ctx, a, rank));
      return { axes, keepDims: Boolean(opt('keep_dims')) };
    }
    case 'TRANSPOSE': {
      const rank = shapeOf(ctx, 0).length;
      const perm = constInts(ctx, 1, 'perm', rank).map((a) => normaliseAxis(ctx, a, rank));
      return { perm };
    }
    case 'LEAKY_RELU':
      return { alpha: num('alpha') };
    case 'L2_NORMALIZATION':
      return { fusedActivation: act() };
    case 'BATCH_MATMUL':
      return { adjX: Boolean(opt('adj_x')), adjY: Boolean(opt('adj_y')) };
    case 'SVDF':
      return { rank: positive('rank'), fusedActivation: act(), asymmetricQuantizeInputs: Boolean(opt('asymmetric_quantize_inputs')) };
    case 'TRANSPOSE_CONV': {
      const strideH = positive('stride_h');
      const strideW = positive('stride_w');
      const pad = padding();
      // TFLite pads a transposed convolution like the forward convolution from the output back
      // to the input: the pads come from the output size (input 0 holds it), filter and stride.
      const y = shapeOf(ctx, -1, 4);
      const w = shapeOf(ctx, 1, 4);
      return { strideH, strideW, padding: pad, pads: resolvePads(pad, y[1]!, y[2]!, w[1]!, w[2]!, strideH, strideW, 1, 1), fusedActivation: act() };
    }
    case 'UNIDIRECTIONAL_SEQUENCE_LSTM':
      return {
        fusedActivation: act(),
        cellClip: num('cell_clip'),
        projClip: num('proj_clip'),
        timeMajor: Boolean(opt('time_major')),
        asymmetricQuantizeInputs: Boolean(opt('asymmetric_quantize_inputs')),
        diagonalRecurrentTensors: Boolean(opt('diagonal_recurrent_tensors')),
      };
    case 'QUANTIZE':
    case 'DEQUANTIZE':
      return { rounding: 'HALF_AWAY' };
    default:
      return {};
  }
}

function bad(ctx: OpContext, what: string): never {
  throw new InvalidModelError(`${ctx.fileName}: operator ${ctx.index} (${ctx.type}) ${what}; re-export or re-download the model`);
}

/** Shape of input `i` (or of output 0 when i is -1), optionally required to have `rank`. */
function shapeOf(ctx: OpContext, i: number, rank?: number): number[] {
  const idx = i === -1 ? ctx.outputs[0] : ctx.inputs[i];
  const t = idx === undefined || idx < 0 ? undefined : ctx.tensors[idx];
  const what = i === -1 ? 'output' : `input ${i}`;
  if (!t) bad(ctx, `has no ${what}`);
  if (rank !== undefined && t.shape.length !== rank) bad(ctx, `has ${what} of rank ${t.shape.length}; expected ${rank}`);
  return t.shape;
}

function normaliseAxis(ctx: OpContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) bad(ctx, `has axis ${axis} for rank ${rank}`);
  return a;
}

/** Values of a constant int32/int64 input, for ops whose parameters TFLite stores as tensors. */
function constInts(ctx: OpContext, i: number, what: string, maxCount: number): number[] {
  const idx = ctx.inputs[i];
  const t = idx === undefined || idx < 0 ? undefined : ctx.tensors[idx];
  if (!t) bad(ctx, `has no ${what} input`);
  if (!t.data) {
    throw new UnsupportedError(`${ctx.fileName}: operator ${ctx.index} (${ctx.type}) takes its ${what} from a computed tensor; tinyml needs it constant: re-export the model with a fixed ${what}`);
  }
  // One entry per dimension at most: checked before decoding, the tensor may be shared by many ops.
  const count = t.data.length / Math.max(dtypeSize(t.dtype), 1);
  if (count > maxCount) bad(ctx, `has ${count} ${what} values for an input of rank ${shapeOf(ctx, 0).length}`);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out: number[] = [];
  if (t.dtype === 'int32') for (let k = 0; k + 4 <= t.data.length; k += 4) out.push(view.getInt32(k, true));
  else if (t.dtype === 'int64') for (let k = 0; k + 8 <= t.data.length; k += 8) out.push(Number(view.getBigInt64(k, true)));
  else bad(ctx, `has ${what} of type ${t.dtype}; expected int32 or int64`);
  return out;
}

/**
 * Explicit pads [top, left, bottom, right] for SAME/VALID, as TFLite computes them: output size
 * from the padding kind, total = max((out-1)*stride + (k-1)*dilation + 1 - in, 0), the odd pixel
 * going to the bottom/right.
 */
export function resolvePads(
  padding: string, inH: number, inW: number, kH: number, kW: number, strideH: number, strideW: number, dilationH: number, dilationW: number,
): number[] {
  const [top, bottom] = padAlong(padding, inH, kH, strideH, dilationH);
  const [left, right] = padAlong(padding, inW, kW, strideW, dilationW);
  return [top, left, bottom, right];
}

function padAlong(padding: string, size: number, k: number, stride: number, dilation: number): [number, number] {
  const effective = (k - 1) * dilation + 1;
  const out = padding === 'SAME' ? Math.ceil(size / stride) : Math.ceil((size - effective + 1) / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}
