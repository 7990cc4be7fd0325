/**
 * The graph passes run before calibration, in order. Each returns a new graph (or mutates a
 * clone) and a log line per change, which `tinyml convert` prints in its summary.
 */
import type { Graph } from '../../ir/graph.ts';
import { cloneGraph } from '../graph-edit.ts';
import { dequantizeWeights } from './dequantize-weights.ts';
import { qoperatorToQdq } from './qoperator.ts';
import { dynamicToFloat } from './dynamic-quant.ts';
import { foldConstants } from './fold-constants.ts';
import { foldBatchNorm } from './fold-batchnorm.ts';
import { foldBiasAdd } from './fold-bias-add.ts';
import { fuseActivations } from './fuse-activation.ts';
import { averagePoolRegions, clipAsMinMax, decomposeHardSigmoid, divByConstant, fuseHardSwish, resizeToTflite, softmaxLastAxis, transposeConvGroups, transposeConvToTflite } from './onnx-forms.ts';
import { stripQdq } from './strip-qdq.ts';

export function runPasses(input: Graph): { graph: Graph; log: string[] } {
  let g = cloneGraph(input);
  // A float tensor's `quant` is the pipeline's marker for QDQ-given params (strip-qdq.ts):
  // start from none.
  for (const t of g.tensors) if (t.dtype === 'float32' && !t.data) t.quant = undefined;
  // QOperator ops (QLinearConv, QLinearMatMul) first: they become QDQ around float ops.
  const qop = qoperatorToQdq(g);
  // onnxruntime's dynamic quantization (ConvInteger / MatMulInteger chains): back to float ops.
  const dyn = dynamicToFloat(qop.graph);
  g = dyn.graph;
  const log: string[] = [...qop.log, ...dyn.log, ...dequantizeWeights(g)];
  for (const pass of [foldConstants, stripQdq, foldBatchNorm, fuseHardSwish, divByConstant, decomposeHardSigmoid, clipAsMinMax, softmaxLastAxis, resizeToTflite, transposeConvGroups, transposeConvToTflite, averagePoolRegions, foldBiasAdd, fuseActivations]) {
    const r = pass(g);
    g = r.graph;
    log.push(...r.log);
  }
  return { graph: g, log };
}
