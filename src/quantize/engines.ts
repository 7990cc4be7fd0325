/**
 * The one place quantize/ and eval/ call the reference executors: the float executor for
 * calibration and constant folding, the int8 executor for checks and eval, and the op set the
 * int8 executor implements (what `convert` may emit).
 */
import type { Graph } from '../ir/graph.ts';
import type { RunResult, TensorValue } from '../reference/tensor-value.ts';
import { runFloat } from '../reference/float/index.ts';
import { INT8_REFERENCE_OPS, prepareInt8 } from '../reference/int8/index.ts';

export function runFloatGraph(g: Graph, inputs: TensorValue[], keepIntermediates = false): RunResult {
  return runFloat(g, inputs, { keepIntermediates });
}

/** A prepared int8 graph for many runs (multipliers computed once); state reset before each run. */
export function int8Runner(g: Graph): (inputs: TensorValue[], keepIntermediates: boolean) => RunResult {
  const program = prepareInt8(g);
  return (inputs, keepIntermediates) => {
    program.resetState();
    return program.run(inputs, { keepIntermediates });
  };
}

/** Runs a graph without inputs (constant folding) and returns its outputs. */
export function runFloatOnce(g: Graph): TensorValue[] {
  return runFloat(g, [], {}).outputs;
}

/** Op types the int8 reference executor implements: what convert may emit. */
export function int8OpSet(): ReadonlySet<string> {
  return INT8_REFERENCE_OPS;
}
