/**
 * The backend table `tinyml inspect` shows is each backend's own per-op check, and it never
 * claims a backend runs an op (in its dtype) that the backend's engine then refuses: on every
 * model of the conformance corpus (../shared/golden-ops, ../shared/golden, the 16x8 field cases)
 * a backend's refusals are empty exactly when its real entry point (the int8 executor's Prepare,
 * the native lowering, the float executor, the TFLM resolver) accepts the model, and name the
 * same ops. Refusals are one line naming the op, its dtype and node, and point only at backends
 * that do run it.
 */
import { describe, expect, it } from 'vitest';
import { resolverEntries, TFLM_RESOLVER_METHODS } from '../src/arduino/tflm-ops.ts';
import { BACKENDS, getBackend, opDtype, refusalMessage, refusalsByBackend, type BackendId } from '../src/backends/support.ts';
import { lowerGraph, NATIVE_C_OPS } from '../src/codegen/native/lower.ts';
import { UnsupportedError } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import type { Graph } from '../src/ir/graph.ts';
import { planMemory } from '../src/plan/memory.ts';
import { FLOAT_REFERENCE_OPS, runFloat } from '../src/reference/float/index.ts';
import { INT8_REFERENCE_OPS, prepareInt8 } from '../src/reference/int8/index.ts';
import { conformanceCorpus } from './helpers/corpus.ts';
import { runCli } from './helpers/cli.ts';
import { sharedPath } from './helpers/shared.ts';

const sorted = (s: Iterable<string>): string[] => [...s].sort();

/** The op indices an engine's own entry point refuses (empty set: it runs the model). */
function engineRefuses(id: BackendId, graph: Graph): Set<number> {
  // "(op #3, node ..." (int8 reference, native C, TFLM) or "op 3 (ADD ..." (float engine).
  const refusedOps = (message: string) => new Set([...message.matchAll(/\(op #(\d+)|\bop (\d+) \(/g)].map((m) => Number(m[1] ?? m[2])));
  try {
    if (id === 'reference-int8') prepareInt8(graph);
    if (id === 'native-c') lowerGraph(graph, planMemory(graph));
    if (id === 'tflm') resolverEntries(graph);
    if (id === 'reference-float') runFloat(graph, []);
    return new Set();
  } catch (e) {
    if (!(e instanceof UnsupportedError)) return new Set(); // e.g. the float run's missing inputs: the ops passed
    // The int8 and float executors stop at their first refusal; the others name every op they refuse.
    return refusedOps(e.message);
  }
}

describe('backend op tables', () => {
  it('each backend\'s op types are its own exported table, and none is empty', () => {
    expect(sorted(getBackend('reference-float').opTypes)).toEqual(sorted(new Set(FLOAT_REFERENCE_OPS)));
    expect(sorted(getBackend('reference-int8').opTypes)).toEqual(sorted(INT8_REFERENCE_OPS));
    expect(sorted(getBackend('native-c').opTypes)).toEqual(sorted(NATIVE_C_OPS));
    expect(sorted(getBackend('tflm').opTypes)).toEqual(sorted(Object.keys(TFLM_RESOLVER_METHODS)));
    for (const b of BACKENDS) expect(b.opTypes.size, b.id).toBeGreaterThan(0);
  });
});

describe('per-op checks agree with the engines on the whole conformance corpus', () => {
  const corpus = conformanceCorpus();
  it('the corpus holds every golden-ops variant, the golden models and the 16x8 cases', () => {
    expect(corpus.filter((m) => m.id.startsWith('golden-ops/'))).toHaveLength(119);
    expect(corpus.filter((m) => m.id.startsWith('golden/')).length).toBeGreaterThanOrEqual(6);
    expect(corpus.filter((m) => m.id.startsWith('cases/'))).toHaveLength(2);
  });

  it('a backend refuses a model exactly when its engine does, naming the same ops', () => {
    for (const m of corpus) {
      const graph = loadModel(m.path);
      const all = refusalsByBackend(graph);
      for (const b of BACKENDS) {
        const claimed = new Set(all.get(b.id)!.keys());
        const engine = engineRefuses(b.id, graph);
        const where = `${b.id} on ${m.id}`;
        expect(engine.size === 0, `${where}: engine ${engine.size === 0 ? 'runs' : 'refuses'} it`).toBe(claimed.size === 0);
        if (b.id === 'reference-int8' || b.id === 'reference-float') {
          // Stops at the first op it cannot run: the first op the check names.
          if (claimed.size > 0) expect([...engine], where).toEqual([[...claimed][0]]);
        } else {
          expect(sorted([...engine].map(String)), where).toEqual(sorted([...claimed].map(String)));
        }
      }
    }
  });

  it('every refusal names the op, its dtype and node, and points only at backends that run it', () => {
    let checked = 0;
    for (const m of corpus) {
      const graph = loadModel(m.path);
      const all = refusalsByBackend(graph);
      for (const b of BACKENDS) {
        const msg = refusalMessage(graph, b.id, all);
        if (msg === null) continue;
        checked++;
        const first = graph.ops[[...all.get(b.id)!.keys()][0]!]!;
        expect(msg).toContain(`${b.name} cannot run ${first.type} ${opDtype(graph, first)} (op #${first.index}, node ${JSON.stringify(first.source.name)})`);
        expect(msg).not.toContain('\n');
        // The advice is the last clause: backends that run the whole model, or only this op.
        const advice = msg.slice(msg.lastIndexOf('; ') + 2);
        const wholeModel = /run(s)? every op of this model$/.test(advice);
        for (const o of BACKENDS.filter((x) => x.id !== b.id && advice.includes(x.name))) {
          if (wholeModel) expect(all.get(o.id)!.size, `${m.id}: ${msg}`).toBe(0);
          else expect(all.get(o.id)!.has(first.index), `${m.id}: ${msg}`).toBe(false);
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('16x8 models (../shared/cases/11-int16-activations)', () => {
  const model = sharedPath('cases/11-int16-activations/b-conv-16x8/model_16x8.tflite');
  const input = sharedPath('cases/11-int16-activations/b-conv-16x8/input_int16.bin');

  it('inspect shows the op with its dtype and, per backend, exactly what its check says', () => {
    const r = runCli(['inspect', model, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { opSet: { type: string; dtype: string; backends: Record<BackendId, boolean> }[]; backends: { id: BackendId; refused: { reason: string }[] }[] };
    const graph = loadModel(model);
    expect(json.opSet.map((e) => `${e.type} ${e.dtype}`)).toEqual(['CONV_2D int16']);
    for (const b of BACKENDS) {
      expect(json.opSet[0]!.backends[b.id], b.id).toBe(b.refusals(graph).size === 0);
      expect(json.backends.find((x) => x.id === b.id)!.refused.map((x) => x.reason)).toEqual([...b.refusals(graph).values()]);
    }
  });

  it('each infer engine that refuses it exits 5 with one line that never sends the user to an engine that also refuses', () => {
    const graph = loadModel(model);
    const all = refusalsByBackend(graph);
    const engines: [string, BackendId][] = [['float', 'reference-float'], ['reference', 'reference-int8'], ['native', 'native-c']];
    for (const [engine, id] of engines) {
      if (all.get(id)!.size === 0) continue;
      const r = runCli(['infer', model, '--engine', engine, '--input', input]);
      expect(r.code, `${engine}: ${r.stderr}`).toBe(5);
      const line = r.stderr.trim();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toContain('CONV_2D int16 (op #0, node "y")');
      for (const [otherEngine, other] of engines) {
        if (other !== id && all.get(other)!.size > 0) expect(line, `${engine} points at ${otherEngine}`).not.toContain(`--engine ${otherEngine}`);
      }
    }
  });
});
