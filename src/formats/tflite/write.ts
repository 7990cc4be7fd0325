/**
 * Graph IR -> TFLite schema-v3 flatbuffer (file identifier TFL3) that TFLite Micro can load:
 * operator codes with both code fields, buffer 0 as the empty sentinel, one buffer per
 * constant tensor (16-byte aligned), quantization with quantized_dimension, builtin options
 * from the normalised attributes, subgraph 0 inputs/outputs and a description.
 *
 * What TFLite cannot express is refused with UnsupportedError naming the op, never written
 * approximately: explicit pads that are neither SAME nor VALID for the static shapes, pooling
 * that counts padding, softmax over a non-last axis, non-constant padding modes, ONNX-only ops.
 * Ops whose parameters TFLite keeps in tensors (PAD paddings, MEAN axes, TRANSPOSE perm) get an
 * int32 constant synthesised from the attributes when the graph has none (ONNX graphs).
 */
import { Builder } from 'flatbuffers';
import { UnsupportedError } from '../../errors.ts';
import { dtypeSize, elementCount, type AttrValue, type Graph, type Op, type Tensor } from '../../ir/graph.ts';
import { resolvePads } from './options.ts';
import { ActivationFunctionType, MirrorPadMode, OptionTables, Padding } from './schema-tables.ts';
import { builtinCode, CUSTOM_CODE, optionsTableOf, optionsUnionType, PLACEHOLDER_FOR_GREATER_OP_CODES, tensorTypeOfDtype } from './tables.ts';
import { tfliteOpVersion } from './versions.ts';

/**
 * Operator versions for graphs that did not come from a .tflite file (their op.version is an
 * ONNX opset): the version TFLite's converter assigns to the int8 kernel of each op, 1 for float.
 */
interface OpPlan {
  code: number;
  custom?: string;
  version: number;
  inputs: number[];
  outputs: number[];
  optionsTable?: string;
  optionValues?: Record<string, AttrValue>;
  customOptions?: Uint8Array;
}

export function writeTflite(graph: Graph, description = `tinyml (from ${graph.format})`): Uint8Array {
  // Synthesised parameter tensors are appended after the graph's own tensors.
  const tensors: Tensor[] = [...graph.tensors];
  const plans = graph.ops.map((op) => planOp(op, tensors));

  const b = new Builder(1024 + tensors.reduce((n, t) => n + (t.data?.length ?? 0), 0));

  // Operator codes, deduplicated by (code, custom code, version).
  const codeKeys: string[] = [];
  const codeIndex = plans.map((p) => {
    const key = `${p.code}|${p.custom ?? ''}|${p.version}`;
    let i = codeKeys.indexOf(key);
    if (i < 0) i = codeKeys.push(key) - 1;
    return i;
  });
  const codeOffsets = codeKeys.map((key) => {
    const [code, custom, version] = key.split('|');
    const customName = custom ? b.createString(custom) : 0;
    b.startObject(4);
    b.addFieldInt8(0, Math.min(Number(code), PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
    if (customName) b.addFieldOffset(1, customName, 0);
    b.addFieldInt32(2, Number(version), 1);
    b.addFieldInt32(3, Number(code), 0);
    return b.endObject();
  });

  // Buffers: 0 is the empty sentinel, then one per tensor holding data.
  const bufferOf = new Map<number, number>();
  const bufferOffsets: number[] = [];
  b.startObject(3);
  bufferOffsets.push(b.endObject());
  for (const t of tensors) {
    if (!t.data) continue;
    checkData(t);
    const data = alignedBytes(b, t.data, 16);
    b.startObject(3);
    b.addFieldOffset(0, data, 0);
    bufferOf.set(t.index, bufferOffsets.length);
    bufferOffsets.push(b.endObject());
  }

  const tensorOffsets = tensors.map((t) => writeTensor(b, t, bufferOf.get(t.index) ?? 0));

  const opOffsets = plans.map((p, i) => {
    const inputs = intVector(b, p.inputs);
    const outputs = intVector(b, p.outputs);
    const options = p.optionsTable ? writeOptionsTable(b, p.optionsTable, p.optionValues ?? {}) : 0;
    const custom = p.customOptions ? alignedBytes(b, p.customOptions, 1) : 0;
    b.startObject(7);
    b.addFieldInt32(0, codeIndex[i]!, 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    if (options) {
      b.addFieldInt8(3, optionsUnionType(p.optionsTable!), 0);
      b.addFieldOffset(4, options, 0);
    }
    if (custom) b.addFieldOffset(5, custom, 0);
    return b.endObject();
  });

  const sgTensors = offsetVector(b, tensorOffsets);
  const sgInputs = intVector(b, graph.inputs.map((x) => x.tensor));
  const sgOutputs = intVector(b, graph.outputs.map((x) => x.tensor));
  const sgOps = offsetVector(b, opOffsets);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, sgTensors, 0);
  b.addFieldOffset(1, sgInputs, 0);
  b.addFieldOffset(2, sgOutputs, 0);
  b.addFieldOffset(3, sgOps, 0);
  b.addFieldOffset(4, sgName, 0);
  const subgraph = b.endObject();

  const codes = offsetVector(b, codeOffsets);
  const subgraphs = offsetVector(b, [subgraph]);
  const desc = b.createString(description);
  const buffers = offsetVector(b, bufferOffsets);
  b.startObject(5);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, codes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(3, desc, 0);
  b.addFieldOffset(4, buffers, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

function unsupported(op: Op, what: string, fix: string): never {
  throw new UnsupportedError(`op ${op.index} (${op.type} "${op.source.name}") ${what}, which TFLite cannot express; ${fix}`);
}

function planOp(op: Op, tensors: Tensor[]): OpPlan {
  const base = { inputs: [...op.inputs], outputs: [...op.outputs] };
  if (op.source.domain === 'custom') {
    const bytes = op.attrs.customOptions;
    return {
      ...base,
      code: CUSTOM_CODE,
      custom: op.type,
      version: op.version,
      ...(Array.isArray(bytes) ? { customOptions: Uint8Array.from(bytes as number[]) } : {}),
    };
  }
  const clip = op.type === 'CLIP' ? clipAsActivation(op) : undefined;
  if (clip) return planOp({ ...op, type: clip, attrs: {} }, tensors);
  const code = builtinCode(op.type);
  if (code === undefined || code === CUSTOM_CODE) {
    unsupported(op, 'is not a TFLite builtin op', 'replace it in the source model or register it as a custom op');
  }
  const fromTflite = op.source.format === 'tflite';
  const firstInput = tensors[op.inputs[0] ?? -1];
  const version = fromTflite ? op.version : tfliteOpVersion(op.type, firstInput?.dtype);
  const table = optionsTableOf(op.type);
  const plan: OpPlan = { ...base, code, version, ...(table ? { optionsTable: table } : {}) };
  plan.optionValues = optionValues(op, plan, tensors);
  if (!plan.optionsTable && Object.keys(plan.optionValues).length > 0) {
    unsupported(op, 'has options tinyml does not know how to store', 'report this op to the tinyml maintainers');
  }
  return plan;
}

/** Options-table field values (schema names) for an op, from its normalised attributes. */
function optionValues(op: Op, plan: OpPlan, tensors: Tensor[]): Record<string, AttrValue> {
  const a = op.attrs;
  const act = () => activationCode(op, a.fusedActivation);
  switch (op.type) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      const w = tensors[op.inputs[1]!]!;
      // Grouped CONV_2D needs no attribute in TFLite: groups = input channels / filter channels.
      const groups = Number(a.groups ?? 1);
      const x = tensors[op.inputs[0]!]!;
      if (op.type === 'CONV_2D' && groups > 1 && x.shape[3] !== groups * w.shape[3]!) {
        unsupported(op, `has groups ${groups} that do not match its filter [${w.shape}] and input [${x.shape}]`, 'check the source model');
      }
      const padding = tflitePadding(op, tensors, w.shape[1]!, w.shape[2]!, Number(a.dilationH), Number(a.dilationW));
      const v: Record<string, AttrValue> = {
        padding, stride_w: a.strideW!, stride_h: a.strideH!, fused_activation_function: act(),
        dilation_w_factor: a.dilationW!, dilation_h_factor: a.dilationH!,
      };
      if (op.type === 'DEPTHWISE_CONV_2D') v.depth_multiplier = a.depthMultiplier ?? 1;
      return v;
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      const padding = tflitePadding(op, tensors, Number(a.filterH), Number(a.filterW), 1, 1);
      const pads = a.pads as number[];
      if (a.countIncludePad === true && op.type === 'AVERAGE_POOL_2D' && pads.some((p) => p !== 0)) {
        unsupported(op, 'averages over padding (count_include_pad)', 'export the model with count_include_pad=0 or without padding');
      }
      return { padding, stride_w: a.strideW!, stride_h: a.strideH!, filter_width: a.filterW!, filter_height: a.filterH!, fused_activation_function: act() };
    }
    case 'FULLY_CONNECTED':
      return { fused_activation_function: act(), keep_num_dims: Boolean(a.keepNumDims) };
    case 'ADD':
    case 'SUB':
    case 'MUL':
    case 'DIV':
      return { fused_activation_function: act() };
    case 'CONCATENATION':
      return { axis: a.axis!, fused_activation_function: act() };
    case 'RESHAPE':
      return { new_shape: a.newShape! };
    case 'SOFTMAX': {
      const rank = tensors[op.inputs[0]!]!.shape.length;
      if (Number(a.axis) !== rank - 1) unsupported(op, `normalises along axis ${a.axis} of a rank-${rank} tensor`, 'transpose so the softmax runs over the last axis');
      return { beta: a.beta ?? 1 };
    }
    case 'PAD': {
      if (a.pads === null || a.constantValue === null) {
        unsupported(op, 'takes its paddings or pad value from a runtime input', 'make them constants in the source model');
      }
      if (a.mode !== 'CONSTANT') {
        if (a.mode === 'REFLECT' || a.mode === 'SYMMETRIC') {
          plan.code = builtinCode('MIRROR_PAD')!;
          plan.optionsTable = 'MirrorPadOptions';
          const mode = Number(Object.entries(MirrorPadMode).find(([, n]) => n === a.mode)![0]);
          paramTensor(op, plan, tensors, a.pads as number[], [(a.pads as number[]).length / 2, 2], 'paddings');
          return { mode };
        }
        unsupported(op, `pads in ${a.mode} mode`, 'use constant, reflect or symmetric padding');
      }
      const out = tensors[op.outputs[0]!]!;
      const zero = out.quant && out.dtype !== 'float32' ? (out.quant.zeroPoint[0] ?? 0) : 0;
      if (Number(a.constantValue ?? 0) !== zero) {
        unsupported(op, `pads with the value ${a.constantValue} instead of real 0`, 'pad with zeros in the source model');
      }
      paramTensor(op, plan, tensors, a.pads as number[], [(a.pads as number[]).length / 2, 2], 'paddings');
      return {};
    }
    case 'MEAN': {
      const axes = a.axes as number[];
      paramTensor(op, plan, tensors, axes, [axes.length], 'axis');
      return { keep_dims: Boolean(a.keepDims) };
    }
    case 'TRANSPOSE': {
      const perm = a.perm as number[];
      paramTensor(op, plan, tensors, perm, [perm.length], 'perm');
      return {};
    }
    case 'LEAKY_RELU':
      return { alpha: a.alpha! };
    case 'BATCH_MATMUL':
      return { adj_x: Boolean(a.adjX), adj_y: Boolean(a.adjY) };
    case 'SVDF':
      return { rank: a.rank!, fused_activation_function: act(), asymmetric_quantize_inputs: Boolean(a.asymmetricQuantizeInputs) };
    case 'TRANSPOSE_CONV': {
      const padding = Object.entries(Padding).find(([, n]) => n === a.padding)?.[0];
      if (padding === undefined) unsupported(op, `has ${String(a.padding)} padding`, 'use SAME or VALID padding');
      return { padding: Number(padding), stride_w: a.strideW!, stride_h: a.strideH!, fused_activation_function: act() };
    }
    case 'UNIDIRECTIONAL_SEQUENCE_LSTM':
      return {
        fused_activation_function: act(), cell_clip: a.cellClip ?? 0, proj_clip: a.projClip ?? 0, time_major: Boolean(a.timeMajor),
        asymmetric_quantize_inputs: Boolean(a.asymmetricQuantizeInputs), diagonal_recurrent_tensors: Boolean(a.diagonalRecurrentTensors),
      };
    case 'QUANTIZE':
    case 'DEQUANTIZE':
      if (op.inputs.length > 1) unsupported(op, 'takes its scale and zero point from runtime inputs', 'make them constants in the source model');
      return {};
    case 'LOGISTIC':
    case 'TANH':
    case 'RELU':
    case 'RELU6':
    case 'HARD_SWISH':
    case 'PRELU':
    case 'MAXIMUM':
    case 'MINIMUM':
    case 'SQUARED_DIFFERENCE':
      return {};
    case 'ELU':
      if (Number(a.alpha ?? 1) !== 1) unsupported(op, `has alpha ${a.alpha}, and TFLite's ELU is alpha 1`, 'export the ELU with alpha=1.0');
      return {};
    case 'L2_NORMALIZATION':
      return { fused_activation_function: act() };
    case 'HARD_SIGMOID':
    case 'RESIZE':
    case 'CONV_INTEGER':
    case 'MATMUL_INTEGER':
      return unsupported(op, 'is an ONNX op with no TFLite builtin', 'quantize the model to int8 TFLite ops first (tinyml convert)');
    case 'CLIP':
      return unsupported(op, `clips to [${op.attrs.min}, ${op.attrs.max}]`, 'only Clip(0,6), Clip(-1,1) and Clip(0,inf) map to TFLite activations; fuse it into the producer (tinyml convert) or change the range');
    case 'QLINEAR_CONV':
    case 'QLINEAR_MATMUL':
      return unsupported(op, 'is an ONNX op with no TFLite builtin', 'quantize the model to int8 TFLite ops first (tinyml convert)');
    default:
      // Builtins the IR does not know: their attributes are the raw option fields.
      return { ...a };
  }
}

/** ONNX Clip ranges TFLite has an activation op for; anything else cannot be written. */
function clipAsActivation(op: Op): string | undefined {
  const min = op.attrs.min, max = op.attrs.max;
  if (op.inputs.length > 1 && op.inputs.slice(1).some((i) => i >= 0)) return undefined;
  const unbounded = (v: AttrValue | undefined) => typeof v === 'number' && v >= 3.4e38;
  if (min === 0 && max === 6) return 'RELU6';
  if (min === -1 && max === 1) return 'RELU_N1_TO_1';
  if (min === 0 && unbounded(max)) return 'RELU';
  return undefined;
}

function activationCode(op: Op, name: AttrValue | undefined): number {
  const n = name ?? 'NONE';
  const entry = Object.entries(ActivationFunctionType).find(([, v]) => v === n);
  if (!entry) unsupported(op, `has the fused activation ${String(n)}`, 'use NONE, RELU, RELU_N1_TO_1, RELU6, TANH or SIGN_BIT');
  return Number(entry[0]);
}

/**
 * TFLite padding kind (Padding enum value) for a conv/pool: SAME or VALID as given, or the one
 * whose pads and output size equal the explicit pads for these static shapes.
 */
function tflitePadding(op: Op, tensors: Tensor[], kH: number, kW: number, dilationH: number, dilationW: number): number {
  const a = op.attrs;
  const code = (name: string) => Number(Object.entries(Padding).find(([, v]) => v === name)![0]);
  if (a.padding === 'SAME' || a.padding === 'VALID') return code(a.padding);
  const x = tensors[op.inputs[0]!]!.shape;
  const y = tensors[op.outputs[0]!]!.shape;
  const pads = a.pads as number[];
  const sH = Number(a.strideH), sW = Number(a.strideW);
  for (const kind of ['SAME', 'VALID']) {
    const p = resolvePads(kind, x[1]!, x[2]!, kH, kW, sH, sW, dilationH, dilationW);
    const outH = kind === 'SAME' ? Math.ceil(x[1]! / sH) : Math.ceil((x[1]! - (kH - 1) * dilationH) / sH);
    const outW = kind === 'SAME' ? Math.ceil(x[2]! / sW) : Math.ceil((x[2]! - (kW - 1) * dilationW) / sW);
    if (p.every((v, i) => v === pads[i]) && outH === y[1] && outW === y[2]) return code(kind);
  }
  return unsupported(op, `has explicit pads [${pads.join(',')}] that are neither SAME nor VALID for input ${x[1]}x${x[2]}`, 'use SAME or VALID padding in the source model, or an explicit Pad op before it');
}

/**
 * Makes input 1 of a PAD/MEAN/TRANSPOSE an int32 constant holding `values`: keeps the graph's
 * own tensor when it already is one, otherwise appends a new tensor.
 */
function paramTensor(op: Op, plan: OpPlan, tensors: Tensor[], values: number[], shape: number[], what: string): void {
  const data = new Uint8Array(values.length * 4);
  const view = new DataView(data.buffer);
  values.forEach((v, i) => view.setInt32(i * 4, v, true));
  const current = tensors[op.inputs[1] ?? -1];
  if (current && current.dtype === 'int32' && current.data && bytesEqual(current.data, data)) return;
  const index = tensors.length;
  tensors.push({ index, name: `${op.source.name}/${what}`, shape, dtype: 'int32', data });
  plan.inputs = [op.inputs[0]!, index];
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkData(t: Tensor): void {
  const size = dtypeSize(t.dtype);
  const expected = t.dtype === 'int4' ? Math.ceil(elementCount(t.shape) / 2) : elementCount(t.shape) * size;
  if ((size > 0 || t.dtype === 'int4') && t.data!.length !== expected) {
    throw new Error(`writeTflite: tensor ${t.index} "${t.name}" has ${t.data!.length} bytes for shape [${t.shape}] of ${t.dtype} (expected ${expected})`);
  }
}

function writeTensor(b: Builder, t: Tensor, buffer: number): number {
  const type = tensorTypeOfDtype(t.dtype);
  if (type === undefined) throw new UnsupportedError(`tensor ${t.index} "${t.name}" has dtype ${t.dtype}, which TFLite cannot store; convert it to a supported type`);
  const shape = intVector(b, t.shape);
  const name = b.createString(t.name);
  let quant = 0;
  if (t.quant) {
    const q = t.quant;
    const scale = floatVector(b, q.scale);
    const zp = longVector(b, q.zeroPoint);
    const min = q.min ? floatVector(b, q.min) : 0;
    const max = q.max ? floatVector(b, q.max) : 0;
    b.startObject(7);
    if (min) b.addFieldOffset(0, min, 0);
    if (max) b.addFieldOffset(1, max, 0);
    b.addFieldOffset(2, scale, 0);
    b.addFieldOffset(3, zp, 0);
    b.addFieldInt32(6, q.axis, 0);
    quant = b.endObject();
  }
  b.startObject(9);
  b.addFieldOffset(0, shape, 0);
  b.addFieldInt8(1, type, 0);
  b.addFieldInt32(2, buffer, 0);
  b.addFieldOffset(3, name, 0);
  if (quant) b.addFieldOffset(4, quant, 0);
  b.addFieldInt8(5, t.variable ? 1 : 0, 0);
  // has_rank: the shape is exact (a scalar has rank 0, not an unknown rank).
  b.addFieldInt8(8, 1, 0);
  return b.endObject();
}

/** An options table written generically from the schema's field list; defaults are elided. */
function writeOptionsTable(b: Builder, table: string, values: Record<string, AttrValue>): number {
  const fields = OptionTables[table] ?? [];
  // Vectors and strings must be built before the table is started.
  const offsets = new Map<string, number>();
  for (const f of fields) {
    const v = values[f.name];
    if (v === undefined || v === null || f.deprecated) continue;
    if (f.type === 'string' && typeof v === 'string') offsets.set(f.name, b.createString(v));
    else if (f.type.startsWith('[') && Array.isArray(v)) offsets.set(f.name, scalarVector(b, f.type.slice(1, -1), v as number[]));
  }
  const maxId = fields.reduce((m, f) => Math.max(m, f.id), -1);
  b.startObject(maxId + 1);
  for (const f of fields) {
    const v = values[f.name];
    if (v === undefined || v === null || f.deprecated) continue;
    const off = offsets.get(f.name);
    if (off !== undefined) {
      b.addFieldOffset(f.id, off, 0);
      continue;
    }
    if (typeof v !== 'number' && typeof v !== 'boolean') continue;
    const x = Number(v);
    const d = Number(f.default ?? 0);
    switch (f.type) {
      case 'bool': case 'byte': case 'ubyte': b.addFieldInt8(f.id, x, d); break;
      case 'short': case 'ushort': b.addFieldInt16(f.id, x, d); break;
      case 'int': case 'uint': b.addFieldInt32(f.id, x, d); break;
      case 'long': case 'ulong': b.addFieldInt64(f.id, BigInt(Math.trunc(x)), BigInt(Math.trunc(d))); break;
      case 'float': b.addFieldFloat32(f.id, x, d); break;
      case 'double': b.addFieldFloat64(f.id, x, d); break;
    }
  }
  return b.endObject();
}

function alignedBytes(b: Builder, data: Uint8Array, alignment: number): number {
  b.startVector(1, data.length, alignment);
  for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]!);
  return b.endVector();
}

function intVector(b: Builder, values: readonly number[]): number {
  return scalarVector(b, 'int', values);
}

function floatVector(b: Builder, values: readonly number[]): number {
  return scalarVector(b, 'float', values);
}

function longVector(b: Builder, values: readonly number[]): number {
  return scalarVector(b, 'long', values);
}

function scalarVector(b: Builder, type: string, values: readonly number[]): number {
  const size = type === 'long' || type === 'ulong' || type === 'double' ? 8 : type === 'short' || type === 'ushort' ? 2 : type === 'int' || type === 'uint' || type === 'float' ? 4 : 1;
  b.startVector(size, values.length, size);
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i]!;
    switch (type) {
      case 'long': case 'ulong': b.addInt64(BigInt(Math.trunc(v))); break;
      case 'double': b.addFloat64(v); break;
      case 'float': b.addFloat32(v); break;
      case 'int': case 'uint': b.addInt32(v); break;
      case 'short': case 'ushort': b.addInt16(v); break;
      default: b.addInt8(v);
    }
  }
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}
