/**
 * `.tflite` -> graph IR. Reads subgraph 0 of a TFLite schema-v3 flatbuffer through the
 * bounds-checked reader (every offset and length is checked; a bad file is an
 * InvalidModelError, never a crash), then normalises each op's options into the attribute
 * keys of src/ir/ops.ts. Tensor and op indices are kept exactly as in the file, so the IR's
 * tensor i is the file's tensor i.
 */
import { InvalidModelError, UnsupportedError } from '../../errors.ts';
import { dtypeSize, elementCount, type AttrValue, type Graph, type Op, type Quantization, type Tensor } from '../../ir/graph.ts';
import { FbTable, FlatbufferReader } from './flatbuffer-reader.ts';
import { normaliseAttrs, readRawOptions, type RawOptions } from './options.ts';
import { BuiltinOptionsUnion } from './schema-tables.ts';
import { builtinName, CUSTOM_CODE, dtypeOfTensorType } from './tables.ts';

/** Largest tensor we accept: beyond this no microcontroller (nor this process) can hold it. */
export const MAX_TENSOR_ELEMENTS = 2 ** 31;
const FIX = 're-export or re-download the model';

// Field ids of the schema tables read here (order of declaration in schema.fbs).
const MODEL = { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4 } as const;
const OPCODE = { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 } as const;
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 } as const;
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, isVariable: 5, sparsity: 6, shapeSignature: 7, externalBuffer: 10 } as const;
const QUANT = { min: 0, max: 1, scale: 2, zeroPoint: 3, detailsType: 4, quantizedDimension: 6 } as const;
const OPERATOR = { opcodeIndex: 0, inputs: 1, outputs: 2, optionsType: 3, options: 4, customOptions: 5, largeCustomOffset: 9, largeCustomSize: 10 } as const;
const BUFFER = { data: 0, offset: 1, size: 2 } as const;

interface OpCode {
  code: number;
  custom?: string;
  version: number;
}

export function importTflite(bytes: Uint8Array, name: string): Graph {
  if (bytes.length < 8) throw new InvalidModelError(`${name} is too short (${bytes.length} bytes) to be a TFLite model; ${FIX}`);
  const r = new FlatbufferReader(bytes, name);
  if (r.identifier() === 'TFL3') return readModel(r, name, []);
  // TFLite Micro reads the root table without looking at the file identifier; so does tinyml,
  // but a file that does not parse then is most likely not a TFLite model at all.
  try {
    return readModel(r, name, [`${name} has no TFL3 file identifier; read as a TFLite model, as TFLite Micro does`]);
  } catch (e) {
    if (!(e instanceof InvalidModelError)) throw e;
    throw new InvalidModelError(`${name} is not a TFLite model: the file identifier is not TFL3 and the bytes do not parse as one; pass a .tflite flatbuffer (schema v3) or an .onnx model`);
  }
}

function readModel(r: FlatbufferReader, name: string, warnings: string[]): Graph {
  const model = r.root();
  const schemaVersion = model.u32(MODEL.version);
  if (schemaVersion !== 3) warnings.push(`${name} declares TFLite schema version ${schemaVersion}, not 3; read as version 3`);

  const opcodes = readOpCodes(r, model);
  const buffers = model.tables(MODEL.buffers);
  const subgraphs = model.tables(MODEL.subgraphs);
  if (subgraphs.length === 0) r.corrupt('it has no subgraphs');
  if (subgraphs.length > 1) warnings.push(`${name} has ${subgraphs.length} subgraphs; only subgraph 0 (the main graph) is imported`);
  const sg = subgraphs.at(0);

  const bufferData = new Map<number, Uint8Array | undefined>();
  const readBuffer = (index: number): Uint8Array | undefined => {
    if (!bufferData.has(index)) bufferData.set(index, readBufferData(r, buffers.at(index)));
    return bufferData.get(index);
  };

  const tensorTables = sg.tables(SUBGRAPH.tensors);
  const tensors: Tensor[] = [];
  const lenient = new LenientReads();
  let dynamicBatch = 0;
  for (let i = 0; i < tensorTables.length; i++) {
    const t = readTensor(r, tensorTables.at(i), i, buffers.length, readBuffer, lenient);
    if (t.dynamicBatch) dynamicBatch++;
    tensors.push(t.tensor);
  }
  if (dynamicBatch > 0) warnings.push(`${name}: dynamic batch dimension (-1) fixed to 1 on ${dynamicBatch} tensor(s)`);
  warnings.push(...lenient.warnings(name));

  const checkTensorIndex = (idx: number, where: string, optional: boolean): number => {
    if (optional && idx === -1) return idx;
    if (!Number.isInteger(idx) || idx < 0 || idx >= tensors.length) r.corrupt(`${where} refers to tensor ${idx}, but the subgraph has ${tensors.length} tensors`);
    return idx;
  };

  const inputs = (sg.numbers(SUBGRAPH.inputs, 'int') ?? []).map((t) => ({ tensor: checkTensorIndex(t, 'a subgraph input', false) }));
  const outputs = (sg.numbers(SUBGRAPH.outputs, 'int') ?? []).map((t) => ({ tensor: checkTensorIndex(t, 'a subgraph output', false) }));

  const opTables = sg.tables(SUBGRAPH.operators);
  const ops: Op[] = [];
  for (let i = 0; i < opTables.length; i++) {
    const ot = opTables.at(i);
    const opcodeIndex = ot.u32(OPERATOR.opcodeIndex);
    const opcode = opcodes[opcodeIndex];
    if (!opcode) r.corrupt(`operator ${i} uses operator code ${opcodeIndex}, but the model has ${opcodes.length}`);
    const opInputs = (ot.numbers(OPERATOR.inputs, 'int') ?? []).map((t) => checkTensorIndex(t, `operator ${i}'s input`, true));
    const opOutputs = (ot.numbers(OPERATOR.outputs, 'int') ?? []).map((t) => checkTensorIndex(t, `operator ${i}'s output`, false));
    const firstOut = opOutputs.length > 0 ? tensors[opOutputs[0]!]!.name : '';
    const sourceName = firstOut !== '' ? firstOut : `operator ${i}`;

    let type: string;
    let attrs: Record<string, AttrValue>;
    let domain = '';
    if (opcode.code === CUSTOM_CODE) {
      type = opcode.custom ?? '';
      if (type === '') r.corrupt(`operator ${i} is a custom op without a custom code name`);
      domain = 'custom';
      const custom = readCustomOptions(r, ot, i);
      attrs = custom ? { customOptions: Array.from(custom) } : {};
    } else {
      type = builtinName(opcode.code) ?? `BUILTIN_${opcode.code}`;
      const raw = readOpOptions(r, ot, i, type, warnings);
      attrs = normaliseAttrs({ type, index: i, raw, inputs: opInputs, outputs: opOutputs, tensors, fileName: name, warnings });
    }
    ops.push({
      index: i,
      type,
      version: opcode.version,
      inputs: opInputs,
      outputs: opOutputs,
      attrs,
      source: { format: 'tflite', opType: type, name: sourceName, ...(domain ? { domain } : {}) },
    });
  }

  const description = model.string(MODEL.description);
  const sgName = sg.string(SUBGRAPH.name);
  const meta: Record<string, string | number> = { schemaVersion, subgraphs: subgraphs.length, operatorCodes: opcodes.length, buffers: buffers.length };
  if (description) meta.description = description;
  if (sgName) meta.subgraphName = sgName;
  return { format: 'tflite', tensors, ops, inputs, outputs, meta, warnings };
}

function readOpCodes(r: FlatbufferReader, model: FbTable): OpCode[] {
  const list = model.tables(MODEL.operatorCodes);
  const out: OpCode[] = [];
  for (let i = 0; i < list.length; i++) {
    const t = list.at(i);
    // TFLite takes the larger of the two code fields: old files only set the int8 one,
    // new files set both (the int8 one saturated at 127 for codes above it).
    const code = Math.max(t.i8(OPCODE.deprecatedBuiltinCode), t.i32(OPCODE.builtinCode));
    if (code < 0) r.corrupt(`operator code ${i} has a negative builtin code (${code})`);
    const version = t.i32(OPCODE.version, 1);
    const custom = t.string(OPCODE.customCode);
    out.push({ code, version, ...(custom !== null ? { custom } : {}) });
  }
  return out;
}

/** A buffer's bytes (a private copy), or undefined for an empty buffer. */
function readBufferData(r: FlatbufferReader, buf: FbTable): Uint8Array | undefined {
  const offset = buf.u64(BUFFER.offset);
  if (offset > 1) {
    // Models over 2 GB keep buffers after the flatbuffer, addressed from the file start.
    const size = buf.u64(BUFFER.size);
    r.need(offset, size);
    r.spend(size, 'a buffer');
    return size > 0 ? r.bytes.slice(offset, offset + size) : undefined;
  }
  const data = buf.bytes(BUFFER.data);
  if (!data || data.length === 0) return undefined;
  // Counted against the decode budget: many buffer entries may point at one data vector.
  r.spend(data.length, 'a buffer');
  return data.slice();
}

/**
 * Fields TFLite Micro ignores, or reads more loosely than the schema describes; tinyml reads
 * them the same way and reports each kind once (with the tensors concerned) in graph.warnings.
 */
class LenientReads {
  /** quantized_dimension outside the shape, or naming a dimension the scale count does not fit. */
  readonly axis: { label: string; declared: number; rank: number; read: number | null }[] = [];
  /** More than one zero point, but not one per scale: TFLite Micro uses the first for all. */
  readonly zeroPoints: string[] = [];
  /** Scales without zero points: TFLite Micro then leaves the tensor unquantized. */
  readonly noZeroPoints: string[] = [];
  /** Custom or blockwise quantization details: TFLite Micro reads only scale and zero point. */
  readonly details: string[] = [];
  /** Constant data longer than the shape needs: TFLite Micro reads the first bytes. */
  readonly longData: string[] = [];

  warnings(file: string): string[] {
    const out: string[] = [];
    // Tensors are named by index (names can be long); the first one also by name.
    const list = (labels: string[]) => {
      const ids = labels.map((l) => l.split(' ')[1]!);
      const shown = ids.length <= 8 ? ids.join(', ') : `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more`;
      return ids.length === 1 ? labels[0]! : `tensors ${shown}`;
    };
    if (this.axis.length > 0) {
      const a = this.axis[0]!;
      const where = a.read === null ? 'no dimension fits its scale count, so only kernels that ignore per-channel scales can use it' : `read along dimension ${a.read}`;
      const example = this.axis.length > 1 ? `${a.label}: ` : '';
      out.push(`${file}: ${list(this.axis.map((x) => x.label))} declare${this.axis.length > 1 ? '' : 's'} a quantized_dimension that does not fit the shape (${example}dimension ${a.declared} of a rank-${a.rank} tensor, ${where}); TFLite Micro ignores the field, so does tinyml`);
    }
    if (this.zeroPoints.length > 0) out.push(`${file}: ${list(this.zeroPoints)} have neither one zero point nor one per scale; the first is used for every channel, as TFLite Micro does`);
    if (this.noZeroPoints.length > 0) out.push(`${file}: ${list(this.noZeroPoints)} have scales but no zero points; read with zero point 0 (TFLite Micro leaves such tensors unquantized)`);
    if (this.details.length > 0) out.push(`${file}: ${list(this.details)} carry custom quantization details, which TFLite Micro ignores; only their scale and zero point are read`);
    if (this.longData.length > 0) out.push(`${file}: ${list(this.longData)} hold more constant bytes than their shape needs; the first bytes are read, as TFLite Micro does`);
    return out;
  }
}

function readTensor(
  r: FlatbufferReader,
  t: FbTable,
  index: number,
  bufferCount: number,
  readBuffer: (i: number) => Uint8Array | undefined,
  lenient: LenientReads,
): { tensor: Tensor; dynamicBatch: boolean } {
  const name = t.string(TENSOR.name) ?? '';
  // Names are untrusted text: quoted with control characters escaped, and cut short.
  const label = `tensor ${index}${name ? ` ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name)}` : ''}`;
  const typeCode = t.i8(TENSOR.type);
  const dtype = dtypeOfTensorType(typeCode);
  if (dtype === undefined) r.corrupt(`${label} has an unknown element type (${typeCode})`);

  const shape = t.numbers(TENSOR.shape, 'int') ?? [];
  const signature = t.numbers(TENSOR.shapeSignature, 'int');
  let dynamicBatch = false;
  for (let d = 0; d < shape.length; d++) {
    const dim = shape[d]!;
    const sig = signature?.[d];
    if (d === 0 && (dim === -1 || sig === -1)) {
      if (dim === -1 || dim === 1) {
        shape[0] = 1;
        dynamicBatch = true;
        continue;
      }
    }
    if (dim === -1) {
      throw new UnsupportedError(`${r.fileName}: ${label} has an unknown size in dimension ${d}; re-export the model with a fixed input shape`);
    }
    if (dim < 0) r.corrupt(`${label} has a negative dimension (${dim})`);
  }
  const count = elementCount(shape);
  const bytesPerElement = Math.max(dtypeSize(dtype), 1);
  if (count > MAX_TENSOR_ELEMENTS || count * bytesPerElement > MAX_TENSOR_ELEMENTS) {
    throw new InvalidModelError(`${r.fileName}: ${label} claims shape [${shape.join(',')}] (${count} elements), more than memory can hold; ${FIX}`);
  }

  if (t.u32(TENSOR.externalBuffer) !== 0) {
    throw new UnsupportedError(`${r.fileName}: ${label} keeps its data in an external file, which tinyml does not read; re-export the model with the weights embedded`);
  }
  if (t.has(TENSOR.sparsity)) {
    throw new UnsupportedError(`${r.fileName}: ${label} is a sparse tensor, which tinyml does not support; re-export the model without sparsity`);
  }

  const tensor: Tensor = { index, name, shape, dtype };
  const bufferIndex = t.u32(TENSOR.buffer);
  if (bufferIndex !== 0) {
    if (bufferIndex >= bufferCount) r.corrupt(`${label} uses buffer ${bufferIndex}, but the model has ${bufferCount} buffers`);
    const data = readBuffer(bufferIndex);
    if (data) {
      // A buffer shorter than the shape is read past its end by TFLite Micro: refused. A longer
      // one is read from its start, as TFLite Micro does.
      const expected = expectedBytes(dtype, count);
      if (expected !== undefined && data.length < expected) {
        throw new InvalidModelError(`${r.fileName}: ${label} has ${data.length} bytes of data, but shape [${shape.join(',')}] of ${dtype} needs ${expected}; ${FIX}`);
      }
      if (expected !== undefined && data.length > expected) lenient.longData.push(label);
      tensor.data = expected !== undefined && data.length > expected ? data.slice(0, expected) : data;
    }
  }
  const quant = t.table(TENSOR.quantization);
  if (quant) {
    const q = readQuantization(quant, label, shape, lenient);
    if (q) tensor.quant = q;
  }
  if (t.bool(TENSOR.isVariable)) tensor.variable = true;
  return { tensor, dynamicBatch };
}

/** Bytes a dense constant of `count` elements must have, or undefined when not fixed (strings). */
function expectedBytes(dtype: Tensor['dtype'], count: number): number | undefined {
  if (dtype === 'int4') return Math.ceil(count / 2);
  const size = dtypeSize(dtype);
  return size > 0 ? count * size : undefined;
}

/**
 * A tensor's quantization, read as TFLite Micro's allocator reads it (micro_allocator.cc,
 * InitializeTfLiteTensorFromFlatbuffer): scale and zero point vectors; one zero point, or the
 * first of a list that is not one per scale, serves every channel; `quantized_dimension` is
 * copied without a check (the conv/depthwise/fully-connected kernels take their channel counts
 * from the shapes, and a per-channel bias's field is never read). tinyml keeps the declared
 * dimension when it fits the shape and otherwise the first dimension the scale count fits.
 * The `details` union (custom, blockwise) is not read by TFLite Micro either.
 */
function readQuantization(q: FbTable, label: string, shape: number[], lenient: LenientReads): Quantization | undefined {
  if (q.u8(QUANT.detailsType) !== 0) lenient.details.push(label);
  const scale = q.numbers(QUANT.scale, 'float') ?? [];
  if (scale.length === 0) return undefined;
  let zeroPoint = q.numbers(QUANT.zeroPoint, 'long') ?? [];
  if (zeroPoint.length === 0) {
    lenient.noZeroPoints.push(label);
    zeroPoint = scale.map(() => 0);
  } else if (zeroPoint.length !== scale.length) {
    if (zeroPoint.length > 1) lenient.zeroPoints.push(label);
    zeroPoint = scale.map(() => zeroPoint[0]!);
  }
  const declared = q.i32(QUANT.quantizedDimension);
  let axis = 0;
  if (scale.length > 1) {
    const fits = (d: number) => d >= 0 && d < shape.length && shape[d] === scale.length;
    if (fits(declared)) axis = declared;
    else {
      const found = shape.findIndex((_, d) => fits(d));
      axis = found >= 0 ? found : declared >= 0 && declared < shape.length ? declared : 0;
      lenient.axis.push({ label, declared, rank: shape.length, read: found >= 0 ? found : null });
    }
  }
  const quant: Quantization = { scale, zeroPoint, axis };
  const min = q.numbers(QUANT.min, 'float');
  const max = q.numbers(QUANT.max, 'float');
  if (min && min.length > 0) quant.min = min;
  if (max && max.length > 0) quant.max = max;
  return quant;
}

function readOpOptions(r: FlatbufferReader, ot: FbTable, index: number, type: string, warnings: string[]): RawOptions | null {
  const unionType = ot.u8(OPERATOR.optionsType);
  if (unionType === 0) return null;
  const tableName = BuiltinOptionsUnion[unionType];
  if (tableName === undefined) {
    warnings.push(`operator ${index} (${type}) has options of an unknown kind (${unionType}); they were ignored`);
    return null;
  }
  const table = ot.table(OPERATOR.options);
  if (!table) return null;
  return readRawOptions(r, table, tableName);
}

function readCustomOptions(r: FlatbufferReader, ot: FbTable, index: number): Uint8Array | undefined {
  const offset = ot.u64(OPERATOR.largeCustomOffset);
  if (offset > 1) {
    const size = ot.u64(OPERATOR.largeCustomSize);
    r.need(offset, size);
    r.spend(size, `operator ${index}'s custom options`);
    return r.bytes.slice(offset, offset + size);
  }
  const data = ot.bytes(OPERATOR.customOptions);
  if (!data || data.length === 0) return undefined;
  r.spend(data.length, `operator ${index}'s custom options`);
  return data;
}
