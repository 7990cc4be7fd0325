/**
 * The graph IR: the only thing stages after import see.
 *
 * - Layout is NHWC for 4-D activations (TFLite's). ONNX NCHW graphs are converted at import:
 *   weights are permuted there, and `GraphInput.sourceLayout` records how a user-supplied
 *   input in the source model's layout maps onto the IR input.
 * - Op types are canonical upper-snake names (TFLite builtin names where TFLite has the op,
 *   see src/ir/ops.ts); attributes are normalised per type so executors and code generators
 *   never look at the source format.
 * - Quantized tensors follow the TFLite int8 spec: real = scale * (q - zeroPoint).
 */

export type DType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string'
  | 'complex64'
  | 'complex128'
  | 'int4'
  | 'bfloat16'
  | 'unknown';

/** Bytes per element, or 0 where the size is not fixed (string) or not byte-aligned (int4). */
export function dtypeSize(dtype: DType): number {
  switch (dtype) {
    case 'int8':
    case 'uint8':
    case 'bool':
      return 1;
    case 'int16':
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return 2;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 4;
    case 'int64':
    case 'uint64':
    case 'float64':
    case 'complex64':
      return 8;
    case 'complex128':
      return 16;
    default:
      return 0;
  }
}

/** Per-tensor (one scale) or per-axis (one scale per index of `axis`) affine quantization. */
export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  /** Quantized dimension for per-axis parameters (TFLite `quantized_dimension`); 0 for per-tensor. */
  axis: number;
  /** Calibration range where the source recorded one (TFLite min/max). */
  min?: number[];
  max?: number[];
}

export interface Tensor {
  /** Position in Graph.tensors (TFLite tensor index for .tflite models). */
  index: number;
  /** Name from the model file. Untrusted text: never paste it into code unescaped. */
  name: string;
  shape: number[];
  dtype: DType;
  quant?: Quantization;
  /** Constant contents: raw little-endian bytes, row-major in `shape`. Absent for activations. */
  data?: Uint8Array;
  /** A state tensor that persists across invocations (TFLite `is_variable`, e.g. SVDF state). */
  variable?: boolean;
}

export type AttrValue = number | string | boolean | number[] | string[] | null;

export interface Op {
  /** Position in Graph.ops, which is execution order. */
  index: number;
  /** Canonical op type (src/ir/ops.ts), or the source's own op name when we do not know the op. */
  type: string;
  /** Operator version (TFLite opcode version; ONNX: the opset version of the op's domain). */
  version: number;
  /** Tensor indices; -1 marks an optional input that is absent. */
  inputs: number[];
  outputs: number[];
  /** Normalised attributes; see src/ir/ops.ts for the keys of each known type. */
  attrs: Record<string, AttrValue>;
  /** Where the op came from, for messages: source op type and node name. */
  source: OpSource;
}

export interface OpSource {
  format: ModelFormat;
  /** Op type as the source names it: `CONV_2D`, `Conv`, a custom op's code. */
  opType: string;
  /** Node name (ONNX) or output tensor name (TFLite, whose ops have no names). */
  name: string;
  /** ONNX domain or 'custom' for TFLite custom ops; '' for the default set. */
  domain?: string;
}

export type ModelFormat = 'tflite' | 'onnx';

export interface GraphInput {
  tensor: number;
  /**
   * Set when the source model declares this input in another layout (ONNX NCHW): the source
   * shape, and `perm` such that irShape[i] = sourceShape[perm[i]].
   */
  sourceLayout?: { shape: number[]; perm: number[] };
}

export interface GraphOutput {
  tensor: number;
  /** As GraphInput.sourceLayout, for outputs the source declares in another layout. */
  sourceLayout?: { shape: number[]; perm: number[] };
}

export interface Graph {
  format: ModelFormat;
  tensors: Tensor[];
  ops: Op[];
  inputs: GraphInput[];
  outputs: GraphOutput[];
  /** Producer, versions, opsets: informative only. */
  meta: Record<string, string | number>;
  /** Things the importer changed or assumed (dynamic batch fixed to 1, ...), shown to the user. */
  warnings: string[];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes of a tensor's elements (0 for variable-size dtypes). */
export function tensorBytes(t: Tensor): number {
  return elementCount(t.shape) * dtypeSize(t.dtype);
}

export function isConstant(t: Tensor): boolean {
  return t.data !== undefined && !t.variable;
}
