/**
 * Operator conformance: every variant in ../shared/golden-ops (one-op TFLite models, int8 and
 * 16x8, with outputs of the real TFLite Micro reference kernels) through the int8 reference and
 * through the native C compiled for the host under ASan+UBSan, with each kernel set (portable,
 * and dsp with its instructions as portable C): every output byte of every case equals TFLM's. No variant is skipped: the folder must hold the variants this file knows, and a
 * variant an engine does not run yet is listed below by name and must be refused with an
 * UnsupportedError (so the list can only shrink, never hide a wrong answer).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { UnsupportedError } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import type { Graph } from '../src/ir/graph.ts';
import { elementCount } from '../src/ir/graph.ts';
import { decodeBytes } from '../src/reference/int8/common.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';
import { byteDiff, GOLDEN_OP_IDS, goldenOp } from './helpers/golden-ops.ts';
import { KERNEL_SETS } from '../src/codegen/native/dsp.ts';

process.env['TINYML_CACHE'] = mkdtempSync(join(tmpdir(), 'tinyml-golden-ops-cache-'));

/** Variants the int8 reference does not run yet (each must be refused, not answered). */
const PENDING_REFERENCE = new Set<string>([
]);

/** Variants the native C does not generate yet (each must be refused before compiling). */
const PENDING_NATIVE = new Set<string>([
  ...PENDING_REFERENCE,
]);

function inputsOf(graph: Graph, bytes: Uint8Array[]): TensorValue[] {
  return graph.inputs.map((gi, k) => {
    const t = graph.tensors[gi.tensor]!;
    return { dtype: t.dtype, shape: [...t.shape], data: decodeBytes(t.dtype, bytes[k]!, elementCount(t.shape)) } as TensorValue;
  });
}

function bytesOf(v: TensorValue): Uint8Array {
  return new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
}

it('the folder holds the 119 variants, and every pending name is a real variant', () => {
  expect(GOLDEN_OP_IDS).toHaveLength(119);
  for (const id of [...PENDING_REFERENCE, ...PENDING_NATIVE]) expect(GOLDEN_OP_IDS).toContain(id);
});

describe.each(GOLDEN_OP_IDS)('%s', (id) => {
  const g = goldenOp(id);
  const graph = (): Graph => loadModel(g.modelPath);

  if (PENDING_REFERENCE.has(id)) {
    it('int8 reference: refused with a typed error (pending)', () => {
      expect(() => prepareInt8(graph())).toThrow(UnsupportedError);
    });
  } else {
    it('int8 reference: every output byte of every case equals TFLite Micro', () => {
      const gr = graph();
      const program = prepareInt8(gr);
      g.cases.forEach((c, k) => {
        program.resetState();
        const out = program.run(inputsOf(gr, c.inputs)).outputs;
        expect(out).toHaveLength(c.outputs.length);
        c.outputs.forEach((want, j) => expect(byteDiff(bytesOf(out[j]!), want), `case ${k} output ${j}`).toEqual([]));
      });
    });
  }

  if (PENDING_NATIVE.has(id)) {
    it('native C: refused before compiling (pending)', async () => {
      await expect(buildHostRunner(graph())).rejects.toThrow(UnsupportedError);
    });
  } else {
    it.each(KERNEL_SETS)('native C (host, ASan+UBSan, %s kernels): every output byte of every case equals TFLite Micro', async (kernels) => {
      const runner = await buildHostRunner(graph(), { kernels });
      const outs = await runHostRunner(runner, g.cases.map((c) => c.inputs));
      g.cases.forEach((c, k) => c.outputs.forEach((want, j) => expect(byteDiff(outs[k]![j]!, want), `case ${k} output ${j}`).toEqual([])));
    });
  }
});
