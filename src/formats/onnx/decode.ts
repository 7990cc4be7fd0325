/**
 * Decodes and validates an ONNX ModelProto.
 *
 * Protobuf has no magic number: random bytes, a truncated file or a TensorProto often decode
 * "successfully" into nonsense. Every structural fact the importer relies on is checked here,
 * so later stages can trust the message and users get one line saying what is wrong.
 */
import onnxProto from 'onnx-proto';
import { InvalidModelError, UnsupportedError } from '../../errors.ts';
import { int64ToNumber } from './tensor.ts';

const { onnx } = onnxProto;

export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** Oldest opset of the default domain we import (older attributes such as `consumed_inputs`). */
export const MIN_OPSET = 6;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOMAIN = /^[A-Za-z0-9_.-]*$/;

export interface DecodedModel {
  model: ModelProto;
  graph: GraphProto;
  /** Opset version per domain ('' for ai.onnx). */
  opsets: Map<string, number>;
}

/** Normalises the default-domain aliases ('' and 'ai.onnx') to ''. */
export function normalDomain(domain: string | null | undefined): string {
  return !domain || domain === 'ai.onnx' ? '' : domain;
}

function looksLikeTensorProto(bytes: Uint8Array): boolean {
  try {
    const t = onnx.TensorProto.decode(bytes);
    if (!t.dataType || t.dataType > 16) return false;
    const count = t.dims.reduce<number>((a, d) => a * int64ToNumber(d), 1);
    const stored =
      (t.rawData?.length ?? 0) +
      t.floatData.length + t.int32Data.length + t.int64Data.length + t.doubleData.length + t.uint64Data.length + t.stringData.length;
    return stored > 0 && Number.isFinite(count) && count >= 0;
  } catch {
    return false;
  }
}

export function decodeModel(bytes: Uint8Array, name: string): DecodedModel {
  const notModel = (why: string): InvalidModelError => {
    if (looksLikeTensorProto(bytes)) {
      return new InvalidModelError(
        `${name} is an ONNX TensorProto (a tensor such as a test input_0.pb), not a model: pass the model.onnx file`,
      );
    }
    return new InvalidModelError(`${name} is not a valid ONNX model (${why}): re-export or re-download it`);
  };
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw notModel(`protobuf decoding failed: ${(e as Error).message}`);
  }
  const irVersion = int64ToNumber(model.irVersion);
  if (!Number.isSafeInteger(irVersion) || irVersion < 1 || irVersion > 100) throw notModel(`ir_version ${irVersion} is missing or out of range`);
  const graph = model.graph;
  if (!graph) throw notModel('it has no graph');

  const opsets = new Map<string, number>();
  for (const o of model.opsetImport ?? []) {
    const domain = o.domain ?? '';
    if (typeof domain !== 'string' || !DOMAIN.test(domain)) throw notModel('an opset_import has a malformed domain');
    const v = int64ToNumber(o.version);
    if (!Number.isSafeInteger(v) || v < 1 || v > 1000) throw notModel(`opset_import of domain '${domain}' has version ${v}`);
    opsets.set(normalDomain(domain), v);
  }
  if (opsets.size === 0) {
    // IR version < 3 predates opset_import; such models are older than anything we import.
    if (irVersion < 3) throw new UnsupportedError(`${name} uses ONNX IR version ${irVersion} (before opsets existed): convert it to opset ${MIN_OPSET + 1} or newer with onnx.version_converter`);
    throw notModel('it declares no opset_import');
  }
  const defaultOpset = opsets.get('');
  if (defaultOpset !== undefined && defaultOpset < MIN_OPSET) {
    throw new UnsupportedError(
      `${name} uses ONNX opset ${defaultOpset}; tinyml imports opset ${MIN_OPSET} and newer: convert it with onnx.version_converter.convert_version(model, 13)`,
    );
  }

  const nodes = graph.node ?? [];
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (typeof n.opType !== 'string' || !IDENTIFIER.test(n.opType)) throw notModel(`node ${i} has no valid op type`);
    if (typeof (n.domain ?? '') !== 'string' || !DOMAIN.test(n.domain ?? '')) throw notModel(`node ${i} (${n.opType}) has a malformed domain`);
    const domain = normalDomain(n.domain);
    if (!opsets.has(domain)) {
      if (domain === '') throw notModel(`node ${i} (${n.opType}) uses the default domain, which the model does not import`);
      // Custom domains without an opset_import are tolerated: they import as unknown ops.
    }
    for (const s of [...(n.input ?? []), ...(n.output ?? [])]) {
      if (typeof s !== 'string') throw notModel(`node ${i} (${n.opType}) has a malformed input or output name`);
    }
    if ((n.output ?? []).length === 0) throw notModel(`node ${i} (${n.opType}) has no outputs`);
  }
  if ((graph.output ?? []).length === 0) throw notModel('its graph declares no outputs');
  for (const vi of [...(graph.input ?? []), ...(graph.output ?? [])]) {
    if (typeof vi.name !== 'string' || vi.name === '') throw notModel('a graph input or output has no name');
  }
  if (nodes.length === 0 && (graph.output ?? []).every((o) => !(graph.input ?? []).some((i) => i.name === o.name) && !(graph.initializer ?? []).some((t) => t.name === o.name))) {
    throw notModel('its graph has no nodes and its outputs come from nowhere');
  }
  return { model, graph, opsets };
}
