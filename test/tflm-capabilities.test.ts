/**
 * The capability table of the pinned TensorFlow Lite Micro library (src/arduino/tflm-ops.ts)
 * against the library itself: every resolver method and registration is in
 * micro_mutable_op_resolver.h, every claimed dtype in the kernel's type switch, every quoted
 * refusal in the kernel's source; and against what the library does: bench/results/
 * tflm-golden.json ran every ../shared/golden and golden-ops model through it in QEMU, and the
 * table refuses exactly the models the library failed on. Then the refusal itself: before
 * anything is generated, exit 5, naming op, node and dtype, suggesting --runtime native.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TFLM_KERNELS, tflmDifferences, tflmRefusal } from '../src/arduino/tflm-ops.ts';
import { nativeRuns } from '../src/arduino/sketch-tflm.ts';
import { TFLM_LIBRARY } from '../src/arduino/profiles.ts';
import { treeHash, readLibraryProperties } from '../src/arduino/tflm-library.ts';
import { loadModel } from '../src/formats/load.ts';
import { SHARED, sharedPath } from './helpers/shared.ts';
import { TFLM_KERNELS_DIR, TFLM_LIB_ROOT, TFLM_SRC, readLibrary } from './helpers/tflm.ts';
import { runCli } from './helpers/cli.ts';
import { ExitCode } from '../src/errors.ts';

const header = readLibrary('tensorflow/lite/micro/micro_mutable_op_resolver.h');

/** Add* method -> { register, builtin } as the header defines it. */
function headerMethods(): Map<string, { register: string | null; builtin: string | null }> {
  const out = new Map<string, { register: string | null; builtin: string | null }>();
  const parts = header.split(/(?=TfLiteStatus Add\w+\()/);
  for (const p of parts) {
    const m = /^TfLiteStatus (Add\w+)\(/.exec(p);
    if (!m) continue;
    const body = p.slice(0, 600);
    out.set(m[1]!, { register: /(Register_\w+)\(/.exec(body)?.[1] ?? null, builtin: /BuiltinOperator_(\w+)/.exec(body)?.[1] ?? null });
  }
  return out;
}
const methods = headerMethods();

/** Methods of the header tinyml never registers, and why. */
const LEFT_OUT: Record<string, string> = {
  AddCustom: 'custom ops: the model names them, not the table',
  AddBuiltin: 'the generic registration the other methods call',
  AddEthosU: 'an NPU custom op',
  AddCircularBuffer: 'a custom op',
  AddDetectionPostprocess: 'a custom op',
  AddIf: 'control flow (subgraphs) is not in the IR',
  AddWhile: 'control flow (subgraphs) is not in the IR',
  AddCallOnce: 'resource variables are not in the IR',
  AddVarHandle: 'resource variables are not in the IR',
  AddReadVariable: 'resource variables are not in the IR',
  AddAssignVariable: 'resource variables are not in the IR',
};

const KTYPE: Record<string, string> = { float32: 'Float32', int8: 'Int8', int16: 'Int16', int32: 'Int32', int64: 'Int64', bool: 'Bool', uint8: 'UInt8' };

describe('the capability table against the library sources', () => {
  it('library.properties is the pinned name and version, and the sketch header exists', () => {
    const props = readLibraryProperties(TFLM_LIB_ROOT)!;
    expect(props['name']).toBe(TFLM_LIBRARY.name);
    expect(props['version']).toBe(TFLM_LIBRARY.version);
    expect(props['architectures']!.split(',')).toEqual(TFLM_LIBRARY.architectures);
    expect(existsSync(join(TFLM_SRC, TFLM_LIBRARY.header))).toBe(true);
  });

  it('every header method is in the table or left out with a reason; the issue\'s missing ones are out', () => {
    expect(methods.size).toBeGreaterThan(90);
    const inTable = new Set(Object.values(TFLM_KERNELS).map((k) => k.method));
    for (const m of methods.keys()) expect(inTable.has(m) || m in LEFT_OUT, m).toBe(true);
    for (const gone of ['AddBatchMatMul', 'AddEmbeddingLookup', 'AddReduceMin']) {
      expect(methods.has(gone)).toBe(false);
      expect(inTable.has(gone)).toBe(false);
    }
  });

  it.each(Object.entries(TFLM_KERNELS))('%s: method, registration and builtin as the header has them; kernel source defines it', (op, k) => {
    const h = methods.get(k.method);
    expect(h, `${k.method} in micro_mutable_op_resolver.h`).toBeDefined();
    expect(h!.register).toBe(k.register);
    expect(h!.builtin).toBe(op);
    const src = readFileSync(join(TFLM_KERNELS_DIR, k.kernel), 'utf8');
    expect(src).toMatch(new RegExp(`TfLiteRegistration\\s+${k.register}\\(\\)`));
  });

  it.each(Object.entries(TFLM_KERNELS).filter(([, k]) => k.dtypes !== 'any'))('%s: each claimed dtype is in the kernel\'s type checks; each quoted refusal is in its source', (_op, k) => {
    const base = k.kernel.replace(/^cmsis_nn\//, '').replace(/\.cpp$/, '');
    const texts = [k.kernel, `${base}_common.cpp`].filter((f) => existsSync(join(TFLM_KERNELS_DIR, f))).map((f) => readFileSync(join(TFLM_KERNELS_DIR, f), 'utf8'));
    const all = texts.join('\n');
    for (const d of k.dtypes as string[]) {
      // A kernel that never checks reads its tensors as the one C type it takes (logical.cpp: bool).
      const evidence = all.includes(`kTfLite${KTYPE[d]}`) || (d === 'bool' && all.includes('GetTensorData<bool>'));
      expect(evidence, `kTfLite${KTYPE[d]} in ${k.kernel}`).toBe(true);
    }
    for (const [d, said] of Object.entries(k.refuses ?? {})) {
      expect(k.dtypes).not.toContain(d);
      expect(all.replace(/"\s*\n\s*"/g, '')).toContain(said);
    }
  });
});

interface GoldenEntry {
  id: string;
  set: string;
  model: string;
  table_refusal: string | null;
  outcome: string;
  cases: number;
  cases_identical: number;
  log?: string[];
}
const bench = JSON.parse(readFileSync(resolve(import.meta.dirname, '../bench/results/tflm-golden.json'), 'utf8')) as { library: string; library_sha256: string; models: GoldenEntry[] };
const folders = ['golden', 'golden-ops'].flatMap((set) => readdirSync(join(SHARED, set), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${set}/${d.name}`));

describe('the table against what the library does (bench/results/tflm-golden.json)', () => {
  it('was measured with this library, on every golden and golden-ops model', () => {
    expect(bench.library).toBe(`${TFLM_LIBRARY.name} ${TFLM_LIBRARY.version}`);
    expect(bench.library_sha256).toBe(treeHash(TFLM_SRC));
    expect(folders.length).toBeGreaterThan(100);
    expect(bench.models.map((m) => `${m.set}/${m.id}`).sort()).toEqual([...folders].sort());
  });

  it.each(bench.models.map((m) => [m.id, m] as const))('%s: the table refuses it exactly when the library fails on it or computes it wrong', (_id, m) => {
    const graph = loadModel(sharedPath(m.model));
    const refusal = graph.ops.map((op) => tflmRefusal(graph, op)).find((r) => r !== null) ?? null;
    if (m.outcome === 'identical') {
      expect(refusal, `${m.id} runs byte-identical on TFLM`).toBeNull();
      expect(m.cases_identical).toBe(m.cases);
    } else if (m.outcome === 'differs' && refusal === null) {
      // Allowed only as a documented rounding difference, which tinyml warns about.
      expect(tflmDifferences(graph), `${m.id} differs from the goldens but the table neither refuses nor warns`).not.toEqual([]);
      expect(m.cases_identical).toBeGreaterThan(0);
    } else {
      expect(m.outcome, `${m.id}: ${m.log?.join(' / ')}`).toMatch(/invoke_failed|allocate_failed|no_kernel|differs/);
      expect(refusal, `${m.id} fails on TFLM (${m.outcome}: ${m.log?.join(' / ')}) but the table lets it through`).not.toBeNull();
    }
  });
});

describe('refusing before generating', () => {
  it('an int16 AVERAGE_POOL_2D: exit 5 naming op, node and dtype, quoting the kernel; --runtime native suggested exactly when it runs the model; nothing written', () => {
    const model = sharedPath('models/tflm-ops/i16_avgpool_2x2_valid_s2.tflite');
    const out = join(mkdtempSync(join(tmpdir(), 'tinyml-tflm-refuse-')), 'sketch');
    const r = runCli(['build', model, '--board', 'nano33ble', '--runtime', 'tflm', '--out', out]);
    expect(r.code).toBe(ExitCode.UNSUPPORTED);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tinyml: error: TensorFlow Lite Micro cannot run AVERAGE_POOL_2D int16 \(op #0, node "output"\): Chirale_TensorFLowLite 2\.0\.0's cmsis_nn\/pooling\.cpp runs float32, int8 only; its kernel says "Input type INT16 is not currently supported"; /);
    if (nativeRuns(loadModel(model))) expect(lines[0]).toMatch(/the native C backend \(tinyml build, or infer --engine native\) run[s]? every op of this model: use --runtime native$/);
    else expect(lines[0]).not.toContain('--runtime native');
    expect(existsSync(out)).toBe(false);
  });

  it('a model TFLite Micro runs but whose first op it lacks is refused the same way (unknown op)', () => {
    const graph = loadModel(sharedPath('models/tflm-hello-world/hello_world_int8.tflite'));
    const bad = { ...graph, ops: graph.ops.map((o, i) => (i === 1 ? { ...o, type: 'BATCH_MATMUL', source: { ...o.source, name: 'bmm/1' } } : o)) };
    expect(tflmRefusal(bad, bad.ops[1]!)).toBe('BATCH_MATMUL (op #1, node "bmm/1"): Chirale_TensorFLowLite 2.0.0 has no kernel (no MicroMutableOpResolver method) for it');
  });
});
