/**
 * The fixture of TFLite Micro's person-detection defect, made from a shared model with the
 * project's own TFLite writer: MLPerf Tiny KWS (a DS-CNN, like person detection a stack of
 * depthwise-separable convolutions) whose per-channel depthwise biases declare
 * quantized_dimension 3, the depthwise filter's channel dimension, on a rank-1 tensor. TFLite
 * Micro ignores the field and runs the model; full TFLite refuses it ("quantized_dimension
 * must be in range [0, 1). Was 3.").
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/formats/load.ts';
import { writeTflite } from '../../src/formats/tflite/write.ts';
import { sharedPath } from './shared.ts';

export const KWS_MODEL = sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite');

/** Writes the fixture into a fresh temporary folder; returns its path and the biases changed. */
export function writeMismatchedQdimModel(): { path: string; biases: number[] } {
  const graph = loadModel(KWS_MODEL);
  const biases: number[] = [];
  for (const op of graph.ops) {
    if (op.type !== 'DEPTHWISE_CONV_2D') continue;
    const bias = graph.tensors[op.inputs[2]!]!;
    if (bias.quant === undefined || bias.quant.scale.length < 2) continue;
    bias.quant.axis = 3;
    biases.push(bias.index);
  }
  if (biases.length === 0) throw new Error('the shared KWS model has no per-channel depthwise bias to change');
  const path = join(mkdtempSync(join(tmpdir(), 'tinyml-qdim-')), 'kws_bias_qdim3.tflite');
  writeFileSync(path, writeTflite(graph, 'tinyml test fixture: depthwise biases with quantized_dimension 3'));
  return { path, biases };
}
