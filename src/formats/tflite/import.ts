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
  if (r.identifier() !== 'TFL3') {
    throw new InvalidModelError(`${name} is not a TFLite model: the file identifier is not TFL3; pass a .tflite flatbuffer (schema v3) or an .onnx model`);
  }
  const model = r.root();
  const schemaVersion = model.u32(MODEL.version);
  const warnings: string[] = [];
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
  let dynamicBatch = 0;
  for (let i = 0; i < tensorTables.length; i++) {
    const t = readTensor(r, tensorTables.at(i), i, buffers.length, readBuffer);
    if (t.dynamicBatch) dynamicBatch++;
    tensors.push(t.tensor);
  }
  if (dynamicBatch > 0) warnings.push(`${name}: dynamic batch dimension (-1) fixed to 1 on ${dynamicBatch} tensor(s)`);

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
      attrs = normaliseAttrs({ type, index: i, raw, inputs: opInputs, outputs: opOutputs, tensors, fileName: name });
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

function readTensor(
  r: FlatbufferReader,
  t: FbTable,
  index: number,
  bufferCount: number,
  readBuffer: (i: number) => Uint8Array | undefined,
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
      const expected = expectedBytes(dtype, count);
      if (expected !== undefined && data.length !== expected) {
        throw new InvalidModelError(`${r.fileName}: ${label} has ${data.length} bytes of data, but shape [${shape.join(',')}] of ${dtype} needs ${expected}; ${FIX}`);
      }
      tensor.data = data;
    }
  }
  const quant = t.table(TENSOR.quantization);
  if (quant) {
    const q = readQuantization(r, quant, label, shape);
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

function readQuantization(r: FlatbufferReader, q: FbTable, label: string, shape: number[]): Quantization | undefined {
  if (q.u8(QUANT.detailsType) !== 0) {
    throw new UnsupportedError(`${r.fileName}: ${label} uses custom or blockwise quantization, which tinyml does not support; re-export with per-tensor or per-channel int8 quantization`);
  }
  const scale = q.numbers(QUANT.scale, 'float') ?? [];
  if (scale.length === 0) return undefined;
  let zeroPoint = q.numbers(QUANT.zeroPoint, 'long') ?? [];
  if (zeroPoint.length === 0) zeroPoint = scale.map(() => 0);
  if (zeroPoint.length !== scale.length) r.corrupt(`${label} has ${scale.length} quantization scales but ${zeroPoint.length} zero points`);
  const axis = q.i32(QUANT.quantizedDimension);
  if (scale.length > 1) {
    if (axis < 0 || axis >= shape.length) r.corrupt(`${label} is quantized along dimension ${axis}, but has rank ${shape.length}`);
    if (shape[axis] !== scale.length) r.corrupt(`${label} has ${scale.length} scales for dimension ${axis} of size ${shape[axis]}`);
  }
  const quant: Quantization = { scale, zeroPoint, axis: scale.length > 1 ? axis : 0 };
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
