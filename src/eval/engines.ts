/**
 * The engines `tinyml eval` compares. Each takes the same float samples (IR layout) and returns
 * real-valued outputs and, when it can, real-valued intermediate tensors by name. The float
 * model is the reference column; int8-reference is the TS int8 executor. The device column
 * (--device, an emulated board) is asynchronous and runs only the first samples, so it lives in
 * device.ts and is added to the same report, keyed by its column id 'device:<board>'.
 */
import type { Graph } from '../ir/graph.ts';
import { elementCount } from '../ir/graph.ts';
import type { TensorValue } from '../reference/tensor-value.ts';
import { int8Runner, runFloatGraph } from '../quantize/engines.ts';
import type { RunResult } from '../reference/tensor-value.ts';
import { quantizeToInt16, quantizeToInt8 } from '../quantize/params.ts';
import { DataError } from '../errors.ts';

export interface EngineRun {
  /** One real-valued array per graph output, IR layout. */
  outputs: Float32Array[];
  /** Real-valued intermediates by tensor name (absent when the engine cannot expose them). */
  layers?: Map<string, Float32Array>;
}

export interface Engine {
  /** Column id: 'float', 'int8-reference'. */
  id: string;
  /** The model file or description the engine runs. */
  model: string;
  graph: Graph;
  run(inputs: Float32Array[], keepLayers: boolean): EngineRun;
}

/** Real values of a tensor value: dequantized with `quant` for integer tensors. */
export function realOf(v: TensorValue, g: Graph, tensor: number): Float32Array {
  if (v.data instanceof Float32Array) return v.data;
  const q = g.tensors[tensor]!.quant;
  const out = new Float32Array(v.data.length);
  const scale = q?.scale[0] ?? 1;
  const zp = q?.zeroPoint[0] ?? 0;
  for (let i = 0; i < out.length; i++) out[i] = scale * (Number(v.data[i]!) - zp);
  return out;
}

/** Feeds float samples to a graph input: as-is when it is float, quantized when it is int8. */
export function feed(g: Graph, values: Float32Array[], what: string): TensorValue[] {
  return g.inputs.map((gi, i) => {
    const t = g.tensors[gi.tensor]!;
    const v = values[i];
    if (!v) throw new DataError(`${what} has ${g.inputs.length} inputs but the data has ${values.length} per sample: give one array per input`);
    if (v.length !== elementCount(t.shape)) {
      throw new DataError(`${what} input '${t.name}' takes ${elementCount(t.shape)} values ([${t.shape.join(',')}]) but a sample has ${v.length}: use data for this model`);
    }
    if (t.dtype === 'float32') return { dtype: 'float32', shape: [...t.shape], data: v };
    if (t.dtype === 'int8' && t.quant) return { dtype: 'int8', shape: [...t.shape], data: quantizeToInt8(v, t.quant.scale[0]!, t.quant.zeroPoint[0]!) };
    if (t.dtype === 'int16' && t.quant) return { dtype: 'int16', shape: [...t.shape], data: quantizeToInt16(v, t.quant.scale[0]!, t.quant.zeroPoint[0]!) };
    throw new DataError(`${what} input '${t.name}' is ${t.dtype}${t.quant ? '' : ' without quantization parameters'}: eval feeds float, int8 or int16 (quantized) inputs only`);
  });
}

type Runner = (inputs: TensorValue[], keepIntermediates: boolean) => RunResult;

function makeEngine(id: string, model: string, g: Graph, run: Runner): Engine {
  return {
    id,
    model,
    graph: g,
    run(inputs, keepLayers) {
      const r = run(feed(g, inputs, model), keepLayers);
      const outputs = r.outputs.map((v, k) => realOf(v, g, g.outputs[k]!.tensor));
      if (!keepLayers || !r.tensors) return { outputs };
      const layers = new Map<string, Float32Array>();
      for (const [t, v] of r.tensors) {
        const tensor = g.tensors[t]!;
        if (tensor.data && !tensor.variable) continue;
        layers.set(tensor.name, realOf(v, g, t));
      }
      return { outputs, layers };
    },
  };
}

export function floatEngine(model: string, g: Graph): Engine {
  return makeEngine('float', model, g, (inputs, keep) => runFloatGraph(g, inputs, keep));
}

export function int8ReferenceEngine(model: string, g: Graph): Engine {
  return makeEngine('int8-reference', model, g, int8Runner(g));
}
