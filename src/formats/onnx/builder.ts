/**
 * The IR graph under construction while an ONNX graph is imported, and the layout bookkeeping.
 *
 * Every ONNX value maps to a `Value`: its ONNX (logical) shape, and the IR tensor that holds it.
 * In image graphs 4-D activations are held NHWC (`nhwc: true`); everything else keeps the ONNX
 * layout. Constants keep their ONNX bytes and get an IR tensor only when an op consumes them, in
 * the layout that op needs (weights are permuted here, at import, never at run time).
 */
import { InvalidModelError } from '../../errors.ts';
import { dtypeSize, elementCount, type AttrValue, type DType, type Op, type OpSource, type Quantization, type Tensor } from '../../ir/graph.ts';
import { channelsLastPerm, channelsLastShape, hasChannelsLast, NCHW_TO_NHWC, NHWC_TO_NCHW, permute, transposeBytes } from './layout.ts';

/** Largest activation or constant the IR accepts (elements); far beyond any MCU. */
const MAX_ELEMENTS = 1 << 26;

export interface Value {
  name: string;
  /** ONNX shape (NCHW for image tensors). */
  shape: number[];
  dtype: DType;
  /** The IR tensor holds this value channels-last: NHWC for 4-D, [N, 1, W, C] for 3-D (NCW). */
  nhwc: boolean;
  /** IR tensor in the value's own layout; -1 for a constant not yet materialised. */
  tensor: number;
  /** Constant contents in the ONNX layout. */
  data?: Uint8Array;
  /**
   * Set on the 2-D result of flattening an NHWC tensor directly (no transpose back to NCHW):
   * element j of a row is NCHW-flattened element order[j]. Only FULLY_CONNECTED consumers with
   * constant weights may use it (they permute the weight rows).
   */
  flatOrder?: number[];
  /** Cached IR tensors of this value in another layout. */
  asNhwc?: number;
  asNchw?: number;
  /** Index of the IR op that produced it (for folding into that op). */
  producer?: number;
  /**
   * DequantizeLinear of a constant (QDQ weights): the DEQUANTIZE op is emitted only when a
   * consumer needs the value, from the quantized constant permuted into the layout that
   * consumer needs, so QDQ weights are permuted at import like float ones.
   */
  dequant?: DequantizedConstant;
}

export interface DequantizedConstant {
  /** The quantized constant, ONNX layout. */
  source: Value;
  /** Its quantization, `axis` in the ONNX layout. */
  quant: Quantization;
  /** The DequantizeLinear node, for the op's source and version. */
  op: { source: OpSource; version: number };
}

export class GraphBuilder {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  readonly warnings: string[] = [];
  private readonly values = new Map<string, Value>();
  private readonly usedNames = new Set<string>();

  constructor(readonly modelName: string) {}

  value(name: string): Value | undefined {
    return this.values.get(name);
  }

  define(v: Value): void {
    this.values.set(v.name, v);
  }

  /** A unique tensor name derived from `base`. */
  private uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  checkShape(shape: readonly number[], what: string): void {
    for (const d of shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new InvalidModelError(`${what} gets dimension ${d}: the model is corrupt or its attributes are wrong, re-export it`);
    }
    if (elementCount(shape) > MAX_ELEMENTS) {
      throw new InvalidModelError(`${what} has shape [${shape.join(',')}], more elements than memory can hold: the model is corrupt or not for a microcontroller`);
    }
  }

  addTensor(name: string, shape: number[], dtype: DType, data?: Uint8Array, quant?: Quantization): number {
    this.checkShape(shape, `tensor '${name}'`);
    const t: Tensor = { index: this.tensors.length, name: this.uniqueName(name), shape, dtype };
    if (data) t.data = data;
    if (quant) t.quant = quant;
    this.tensors.push(t);
    return t.index;
  }

  /** Renames an IR tensor to the ONNX name of a value it now stands for (after folding). */
  rename(tensor: number, name: string): void {
    const t = this.tensors[tensor]!;
    if (t.name === name) return;
    this.usedNames.delete(t.name);
    t.name = this.uniqueName(name);
  }

  addOp(type: string, inputs: number[], outputs: number[], attrs: Record<string, AttrValue>, source: OpSource, version: number): Op {
    const op: Op = { index: this.ops.length, type, version, inputs, outputs, attrs, source };
    this.ops.push(op);
    return op;
  }

  /** A new activation value with its IR tensor (shape given in ONNX terms). */
  activation(name: string, shape: number[], dtype: DType, nhwc: boolean): Value {
    if (nhwc && !hasChannelsLast(shape.length)) throw new Error(`internal: channels-last value ${name} must be 3-D or 4-D`);
    this.checkShape(shape, `tensor '${name}'`);
    const irShape = nhwc ? channelsLastShape(shape) : [...shape];
    const v: Value = { name, shape, dtype, nhwc, tensor: this.addTensor(name, irShape, dtype) };
    return v;
  }

  constant(name: string, shape: number[], dtype: DType, data: Uint8Array): Value {
    this.checkShape(shape, `constant '${name}'`);
    return { name, shape, dtype, nhwc: false, tensor: -1, data };
  }

  /** The IR tensor of a value in its own layout (materialising a constant as-is). */
  tensorOf(v: Value): number {
    if (v.tensor < 0) {
      v.tensor = v.dequant
        ? this.dequantized(v, [...Array(v.shape.length).keys()], v.name)
        : this.addTensor(v.name, [...v.shape], v.dtype, v.data);
    }
    return v.tensor;
  }

  /**
   * Emits DEQUANTIZE of a dequantized constant transposed by `perm` (out.shape[i] = shape[perm[i]])
   * and returns the float tensor.
   */
  dequantized(v: Value, perm: number[], name: string): number {
    const d = v.dequant!;
    const src = d.source;
    const shape = permute(src.shape, perm);
    const quant: Quantization = { ...d.quant, axis: d.quant.scale.length > 1 ? perm.indexOf(d.quant.axis) : 0 };
    const q = this.addTensor(`${name}_quantized`, shape, src.dtype, transposeBytes(src.data!, src.shape, perm, dtypeSize(src.dtype)), quant);
    const out = this.addTensor(name, shape, v.dtype);
    this.addOp('DEQUANTIZE', [q], [out], { rounding: 'HALF_EVEN', axis: quant.axis }, d.op.source, d.op.version);
    return out;
  }

  /**
   * The IR tensor of a 3-D or 4-D value in the channels-last layout (NHWC; [N, 1, W, C] for NCW):
   * constants are permuted, runtime values in the ONNX layout transposed.
   */
  nhwcTensorOf(v: Value, source: OpSource, version: number): number {
    const rank = v.shape.length;
    if (!hasChannelsLast(rank)) throw new Error(`internal: ${v.name} is not 3-D or 4-D`);
    if (v.nhwc) return v.tensor;
    if (v.asNhwc !== undefined) return v.asNhwc;
    const irShape = channelsLastShape(v.shape);
    const perm = channelsLastPerm(rank);
    if (v.data) {
      v.asNhwc = this.addTensor(`${v.name}_nhwc`, irShape, v.dtype, transposeBytes(v.data, v.shape, perm, dtypeSize(v.dtype)));
    } else if (v.dequant && v.tensor < 0) {
      const t = this.dequantized(v, perm, `${v.name}_nhwc`);
      if (rank === 4) v.asNhwc = t;
      else {
        v.asNhwc = this.addTensor(`${v.name}_nhwc4`, irShape, v.dtype);
        this.addOp('RESHAPE', [t], [v.asNhwc], { newShape: irShape }, source, version);
      }
    } else {
      let from = this.tensorOf(v);
      if (rank === 3) {
        // [N, C, W] -> [N, C, 1, W] (same bytes), then the 4-D transpose.
        const [n, c, w] = v.shape as [number, number, number];
        const r = this.addTensor(`${v.name}_nchw`, [n, c, 1, w], v.dtype);
        this.addOp('RESHAPE', [from], [r], { newShape: [n, c, 1, w] }, source, version);
        from = r;
      }
      v.asNhwc = this.addTensor(`${v.name}_nhwc`, irShape, v.dtype);
      this.addOp('TRANSPOSE', [from], [v.asNhwc], { perm: NCHW_TO_NHWC }, source, version);
    }
    return v.asNhwc;
  }

  /** The IR tensor of a value in the ONNX layout: channels-last activations get a TRANSPOSE back. */
  nchwTensorOf(v: Value, source: OpSource, version: number): number {
    if (v.flatOrder) throw new Error(`internal: ${v.name} was flattened in NHWC order`);
    if (!v.nhwc) return this.tensorOf(v);
    if (v.asNchw !== undefined) return v.asNchw;
    const rank = v.shape.length;
    if (rank === 4) {
      v.asNchw = this.addTensor(`${v.name}_nchw`, [...v.shape], v.dtype);
      this.addOp('TRANSPOSE', [v.tensor], [v.asNchw], { perm: NHWC_TO_NCHW }, source, version);
      return v.asNchw;
    }
    // [N, 1, W, C] -> [N, C, 1, W] -> [N, C, W] (the reshape moves no bytes).
    const [n, c, w] = v.shape as [number, number, number];
    const t = this.addTensor(`${v.name}_nc1w`, [n, c, 1, w], v.dtype);
    this.addOp('TRANSPOSE', [v.tensor], [t], { perm: NHWC_TO_NCHW }, source, version);
    v.asNchw = this.addTensor(`${v.name}_nchw`, [...v.shape], v.dtype);
    this.addOp('RESHAPE', [t], [v.asNchw], { newShape: [...v.shape] }, source, version);
    return v.asNchw;
  }

  /**
   * The IR tensor of an elementwise operand broadcast against a channels-last result of rank
   * `rank` (3 or 4): lower-rank operands are first aligned (numpy rules, leading 1s) and then
   * laid out channels-last.
   */
  nhwcOperandOf(v: Value, rank: number, source: OpSource, version: number): number {
    if (v.nhwc && v.shape.length === rank) return v.tensor;
    if (v.shape.length > rank) throw new InvalidModelError(`'${v.name}' has rank ${v.shape.length} but is combined with a ${rank}-D image tensor: the model is inconsistent`);
    const shapeR = [...new Array<number>(rank - v.shape.length).fill(1), ...v.shape];
    if (v.data) {
      const data = transposeBytes(v.data, shapeR, channelsLastPerm(rank), dtypeSize(v.dtype));
      return this.addTensor(`${v.name}_nhwc`, channelsLastShape(shapeR), v.dtype, data);
    }
    if (v.shape.length === rank) return this.nhwcTensorOf(v, source, version);
    const reshaped = this.addTensor(`${v.name}_${rank}d`, shapeR, v.dtype);
    this.addOp('RESHAPE', [this.nchwTensorOf(v, source, version)], [reshaped], { newShape: shapeR }, source, version);
    const plain: Value = { name: `${v.name}_${rank}d`, shape: shapeR, dtype: v.dtype, nhwc: false, tensor: reshaped };
    return this.nhwcTensorOf(plain, source, version);
  }

  /** ONNX values the model lists as graph outputs (set by the importer before lowering). */
  readonly graphOutputs = new Set<string>();
}
