/**
 * ONNX -> graph IR. Decodes and validates the ModelProto (decode.ts), turns initializers and
 * Constant nodes into constants, fixes graph input shapes (a dynamic batch becomes 1), decides
 * whether the graph is an image graph (converted to NHWC), and lowers every node in order
 * (lower.ts). See docs/onnx.md for the supported ops and the layout rules.
 */
import { InvalidModelError, UnsupportedError } from '../../errors.ts';
import type { DType, Graph, GraphInput, GraphOutput } from '../../ir/graph.ts';
import { NodeAttributes } from './attributes.ts';
import { GraphBuilder, type Value } from './builder.ts';
import { decodeModel, normalDomain, type GraphProto, type NodeProto, type ValueInfoProto } from './decode.ts';
import { float32Bytes, hasChannelsLast, int64Bytes, NCHW_TO_NHWC } from './layout.ts';
import { IMAGE_OPS, lowerNode, type Declared, type NodeContext } from './lower.ts';
import { int64ToNumber, onnxDataTypeToDType, tensorFromProto, type LongLike } from './tensor.ts';
import { topologicalOrder } from './toposort.ts';

interface Dim {
  value?: number;
  param?: string;
}

function dimsOf(vi: ValueInfoProto): Dim[] | undefined {
  const shape = vi.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => {
    const has = Object.prototype.hasOwnProperty.call(d, 'dimValue');
    const value = has ? int64ToNumber(d.dimValue as number | LongLike) : undefined;
    return value !== undefined && value > 0 ? { value } : { param: d.dimParam || '?' };
  });
}

/** Declared static shapes and types of values (value_info, graph outputs). */
function declaredValues(graph: GraphProto): Map<string, Declared> {
  const out = new Map<string, Declared>();
  for (const vi of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    if (!vi.name) continue;
    const dims = dimsOf(vi);
    const elem = vi.type?.tensorType?.elemType;
    const d: Declared = {};
    if (dims && dims.every((x) => x.value !== undefined)) d.shape = dims.map((x) => x.value!);
    if (elem) d.dtype = onnxDataTypeToDType(elem);
    out.set(vi.name, d);
  }
  return out;
}

function constantFromNode(attrs: NodeAttributes, label: string): { shape: number[]; dtype: DType; data: Uint8Array } {
  const t = attrs.tensor('value');
  if (t) {
    const d = tensorFromProto(t, `${label} value`);
    return { shape: d.shape, dtype: d.dtype, data: d.data };
  }
  if (attrs.has('value_float')) return { shape: [], dtype: 'float32', data: float32Bytes([attrs.float('value_float', 0)]) };
  if (attrs.has('value_floats')) {
    const v = attrs.floats('value_floats')!;
    return { shape: [v.length], dtype: 'float32', data: float32Bytes(v) };
  }
  if (attrs.has('value_int')) return { shape: [], dtype: 'int64', data: int64Bytes([attrs.int('value_int', 0)]) };
  if (attrs.has('value_ints')) {
    const v = attrs.ints('value_ints')!;
    return { shape: [v.length], dtype: 'int64', data: int64Bytes(v) };
  }
  if (attrs.has('sparse_value') || attrs.has('value_string') || attrs.has('value_strings')) {
    throw new UnsupportedError(`${label}: sparse or string constants are not supported: use a dense numeric initializer`);
  }
  throw new InvalidModelError(`${label} has no value: the model is corrupt, re-export it`);
}

/** ONNX ops that carry an image layout through unchanged (elementwise, quantization, padding). */
const LAYOUT_TRANSPARENT = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'Clip', 'Elu', 'HardSigmoid', 'HardSwish', 'Add', 'Sub', 'Mul', 'Div',
  'Identity', 'Dropout', 'Pad', 'QuantizeLinear', 'DequantizeLinear', 'Unsqueeze', 'Reshape',
]);

/**
 * Whether a 3-D or 4-D graph input of an image graph is an image in the ONNX layout (NCW /
 * NCHW), to be held channels-last. A 4-D input is, unless the model itself transposes it from
 * NHWC (Keras/tf2onnx exports start with Transpose perm [0,3,1,2]); a 3-D input is when it
 * reaches an image op (a 1-D Conv, pooling, BatchNormalization) through elementwise ops or an
 * Unsqueeze, so a sequence fed to MatMul keeps its layout.
 */
function channelsLastInput(name: string, rank: number, nodes: readonly NodeProto[], readers: Map<string, number[]>): boolean {
  const direct = readers.get(name) ?? [];
  if (rank === 4) {
    const fromNhwc = (i: number): boolean => {
      const n = nodes[i]!;
      const perm = (n.attribute ?? []).find((a) => a.name === 'perm')?.ints?.map((p) => int64ToNumber(p));
      return n.opType === 'Transpose' && normalDomain(n.domain) === '' && !!perm && perm.join(',') === '0,3,1,2';
    };
    return !(direct.length > 0 && direct.every(fromNhwc));
  }
  const seen = new Set<string>([name]);
  const queue = [name];
  while (queue.length > 0) {
    for (const r of readers.get(queue.shift()!) ?? []) {
      const n = nodes[r]!;
      if (normalDomain(n.domain) !== '') continue;
      if (IMAGE_OPS.has(n.opType!)) return true;
      if (!LAYOUT_TRANSPARENT.has(n.opType!)) continue;
      for (const o of n.output ?? []) {
        if (o && !seen.has(o)) {
          seen.add(o);
          queue.push(o);
        }
      }
    }
  }
  return false;
}

export function importOnnx(bytes: Uint8Array, name: string): Graph {
  const { model, graph, opsets } = decodeModel(bytes, name);
  const b = new GraphBuilder(name);
  const initializerNames = new Set<string>();

  if ((graph.sparseInitializer ?? []).length > 0) {
    throw new UnsupportedError(`${name} has sparse initializers: convert them to dense initializers (onnx.numpy_helper.to_array) and save the model again`);
  }
  for (const t of graph.initializer ?? []) {
    const tName = typeof t.name === 'string' ? t.name : '';
    if (!tName) throw new InvalidModelError(`${name} has an initializer without a name: the model is corrupt, re-export it`);
    const d = tensorFromProto(t, `initializer '${tName}'`);
    b.define(b.constant(tName, d.shape, d.dtype, d.data));
    initializerNames.add(tName);
  }

  // Nodes in execution order (exporters do not always list them so); names default to the
  // node's position in the file.
  const available = new Set([...initializerNames, ...(graph.input ?? []).map((vi) => vi.name ?? '')]);
  const order = topologicalOrder(graph.node ?? [], available, name);
  const nodes = order.map((i) => graph.node![i]!);

  // Readers of each value, graph outputs, and the image-graph test.
  const readers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const inp of n.input ?? []) {
      if (!inp) continue;
      // Appended in place: a constant read by every node must not make this quadratic.
      const list = readers.get(inp);
      if (list) list.push(i);
      else readers.set(inp, [i]);
    }
  });
  for (const o of graph.output ?? []) b.graphOutputs.add(o.name!);
  const imageGraph = nodes.some((n) => normalDomain(n.domain) === '' && IMAGE_OPS.has(n.opType!));

  // Graph inputs (those that are not initializers, whose declared values are defaults).
  const inputs: GraphInput[] = [];
  for (const vi of graph.input ?? []) {
    const inName = vi.name!;
    if (initializerNames.has(inName)) continue;
    const tt = vi.type?.tensorType;
    if (!tt) throw new UnsupportedError(`${name}: input '${inName}' is not a tensor (sequence, map or optional): tinyml takes tensor inputs only`);
    const dtype = onnxDataTypeToDType(tt.elemType ?? 0);
    if (dtype === 'unknown' || dtype === 'string') throw new UnsupportedError(`${name}: input '${inName}' has element type ${tt.elemType}: use a numeric input type`);
    const dims = dimsOf(vi);
    if (!dims) throw new UnsupportedError(`${name}: input '${inName}' has no declared shape: export the model with a fixed input shape`);
    const shape = dims.map((d, axis) => {
      if (d.value !== undefined) return d.value;
      if (axis === 0 && dims.length > 1) {
        b.warnings.push(`input '${inName}': dynamic batch dimension '${d.param}' fixed to 1`);
        return 1;
      }
      throw new UnsupportedError(
        `${name}: input '${inName}' has a dynamic dimension '${d.param}' at axis ${axis}: export the model with a fixed input shape (or fix it with onnxruntime's make_dynamic_shape_fixed)`,
      );
    });
    const nhwc = imageGraph && hasChannelsLast(shape.length) && channelsLastInput(inName, shape.length, nodes, readers);
    const gi: GraphInput = { tensor: -1 };
    if (nhwc && shape.length === 3) {
      // NCW: the input tensor is [N, W, C]; a RESHAPE (no data movement) gives the conv view.
      const [n, c, w] = shape as [number, number, number];
      const t = b.addTensor(inName, [n, w, c], dtype);
      const v = b.activation(`${inName}_nhwc`, shape, dtype, true);
      b.addOp('RESHAPE', [t], [v.tensor], { newShape: [n, 1, w, c] }, { format: 'onnx', opType: 'input', name: inName }, opsets.get('') ?? 1);
      b.define({ ...v, name: inName });
      gi.tensor = t;
      gi.sourceLayout = { shape: [...shape], perm: [0, 2, 1] };
    } else {
      const v = b.activation(inName, shape, dtype, nhwc);
      b.define(v);
      gi.tensor = v.tensor;
      if (nhwc) gi.sourceLayout = { shape: [...shape], perm: [...NCHW_TO_NHWC] };
    }
    inputs.push(gi);
  }

  const declared = declaredValues(graph);
  const absorbed = new Set<number>();
  for (let i = 0; i < nodes.length; i++) {
    if (absorbed.has(i)) continue;
    const node = nodes[i]!;
    const opType = node.opType!;
    const domain = normalDomain(node.domain);
    const nodeName = node.name || `${opType}_${order[i]}`;
    const label = `${opType} node '${nodeName}'`;
    const attrs = new NodeAttributes(node, label);
    const outputs = (node.output ?? []).map((o) => o ?? '');
    if (domain === '' && opType === 'Constant') {
      const c = constantFromNode(attrs, label);
      b.define(b.constant(outputs[0]!, c.shape, c.dtype, c.data));
      continue;
    }
    const ins = (node.input ?? []).map((inp) => {
      if (!inp) return undefined;
      const v = b.value(inp);
      if (!v) {
        throw new InvalidModelError(
          `${name}: ${label} reads '${inp}', which no input, initializer or node produces: the model is corrupt, re-export it`,
        );
      }
      return v;
    });
    const ctx: NodeContext = {
      b,
      node,
      index: i,
      opType,
      label,
      attrs,
      inputs: ins,
      outputs,
      source: { format: 'onnx', opType, name: nodeName, domain },
      version: opsets.get(domain) ?? 1,
      imageGraph,
      declared,
      nodes,
      readers,
      absorbed,
    };
    lowerNode(ctx);
  }

  const outputs: GraphOutput[] = [];
  const inputTensors = new Set(inputs.map((i) => i.tensor));
  for (const o of graph.output ?? []) {
    const v: Value | undefined = b.value(o.name!);
    if (!v) throw new InvalidModelError(`${name}: graph output '${o.name}' is not produced by any node: the model is corrupt, re-export it`);
    let tensor = b.tensorOf(v);
    let sourceLayout: GraphOutput['sourceLayout'];
    if (v.nhwc && v.shape.length === 3) {
      // [N, 1, W, C] -> [N, W, C] (no data movement); the user gets NCW back by the perm.
      const [n, c, w] = v.shape as [number, number, number];
      if (!inputTensors.has(tensor)) b.rename(tensor, `${o.name}_nhwc`);
      const t = b.addTensor(o.name!, [n, w, c], v.dtype);
      const src = v.producer !== undefined ? b.ops[v.producer]!.source : { format: 'onnx' as const, opType: 'output', name: o.name! };
      b.addOp('RESHAPE', [tensor], [t], { newShape: [n, w, c] }, src, opsets.get('') ?? 1);
      tensor = t;
      sourceLayout = { shape: [...v.shape], perm: [0, 2, 1] };
    } else if (v.nhwc) {
      sourceLayout = { shape: [...v.shape], perm: [...NCHW_TO_NHWC] };
    }
    if (!inputTensors.has(tensor)) b.rename(tensor, o.name!);
    const go: GraphOutput = { tensor };
    if (sourceLayout) go.sourceLayout = sourceLayout;
    outputs.push(go);
    const d = declared.get(o.name!);
    if (d?.shape && (d.shape.length !== v.shape.length || d.shape.some((x, k) => x !== v.shape[k]))) {
      b.warnings.push(`output '${o.name}': the model declares shape [${d.shape.join(',')}] but the graph computes [${v.shape.join(',')}]`);
    }
  }

  const meta: Record<string, string | number> = {
    irVersion: int64ToNumber(model.irVersion),
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(),
    layout: imageGraph ? 'NHWC (converted from NCHW)' : 'as in the model',
  };
  for (const [domain, version] of opsets) meta[`opset${domain ? `:${domain}` : ''}`] = version;
  if (model.graph?.name) meta.graphName = model.graph.name;

  return { format: 'onnx', tensors: b.tensors, ops: b.ops, inputs, outputs, meta, warnings: b.warnings };
}
