/**
 * The 'native' inference engine: the generated C of the native backend, compiled for the host
 * with gcc under ASan/UBSan (src/build/host.ts, cached by build id) and run on the inputs.
 * It answers through the same `tinyml infer` as the reference, so any difference between the
 * C and the TS int8 reference shows up with one flag.
 */
import { UnsupportedError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { RunResult, TensorValue, TypedArray } from '../reference/tensor-value.ts';
import { bytesOfTyped, typedFromBytes, isNpyDType } from '../data/npy.ts';
import { assertBackendRuns, floatModelRefusal } from '../backends/support.ts';
import { buildHostRunner, runHostRunner } from '../build/host.ts';
import { isFloatGraph } from '../build/firmware.ts';

export const nativeEngine = {
  id: 'native',
  summary: 'the native backend\'s generated C, compiled for this host with gcc (ASan/UBSan) and run (int8 models)',
  check(graph: Graph): void {
    if (isFloatGraph(graph)) throw floatModelRefusal('native', graph);
    assertBackendRuns(graph, 'native-c');
  },
  async run(graph: Graph, inputs: TensorValue[]): Promise<RunResult> {
    const runner = await buildHostRunner(graph);
    const [outs] = await runHostRunner(runner, [inputs.map((v) => bytesOfTyped(v.data))]);
    return {
      outputs: graph.outputs.map((o, j) => {
        const t = graph.tensors[o.tensor]!;
        if (!isNpyDType(t.dtype)) throw new UnsupportedError(`output ${j} has dtype ${t.dtype}, which the native engine cannot return`);
        const data: TypedArray = typedFromBytes(t.dtype, outs![j]!, `native output ${j}`);
        return { dtype: t.dtype, shape: [...t.shape], data };
      }),
    };
  },
};
