/**
 * Loads calibration (and eval) samples for a float model's inputs.
 *
 * Accepted sources (samples in the SOURCE model's layout, e.g. NCHW for ONNX; they are
 * transposed here to the IR's NHWC via GraphInput.sourceLayout):
 *   - x.npy       one array: one sample of the input's shape, or N samples stacked on a new
 *                 leading axis, or N rows of the flattened input ([N, elements]).
 *   - x.npz       one array per model input, named after the input; a single-input model
 *                 also takes the only array, or the one named `inputs`/`input`/`x`/`data`.
 *   - x.bin       raw little-endian float32, a whole number of samples (single-input models).
 *   - folder/     .npy and/or .bin files, one or more samples each, in file-name order.
 *   - x.json      an array of samples (each a nested or flat array of numbers), or one
 *                 sample, or an object {inputName: [samples...]} for several inputs.
 *   - x.pb        an ONNX TensorProto, read as a .npy is.
 *   - folder/     an ONNX test data set (input_0.pb .. input_K.pb: one sample, every input),
 *                 or a folder of test_data_set_N folders (one sample each).
 * Data must be float (float32, or float64 which is narrowed); integer arrays are refused
 * because a float model never takes them (already-quantized data belongs to the int8 model).
 * Every value must be finite.
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join, basename } from 'node:path';
import { DataError, FileError, UnsupportedError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import { elementCount } from '../ir/graph.ts';
import { parseNpy, parseNpz, readDataFile } from '../data/npy.ts';
import { parseTensorProto } from '../data/tensor-proto.ts';
import type { TensorValue } from '../reference/tensor-value.ts';

export interface InputSpec {
  name: string;
  /** IR tensor index. */
  tensor: number;
  /** Shape a sample has in the source model's layout (what users supply). */
  sourceShape: number[];
  /** IR (NHWC) shape. */
  irShape: number[];
  /** irShape[i] = sourceShape[perm[i]]; absent when the layouts agree. */
  perm?: number[];
}

export interface SampleSet {
  inputs: InputSpec[];
  /** samples[k][i]: sample k of input i, float32 in the IR layout. */
  samples: Float32Array[][];
  /** Where the data came from, for messages and summaries. */
  source: string;
}

export function inputSpecs(g: Graph): InputSpec[] {
  return g.inputs.map((gi) => {
    const t = g.tensors[gi.tensor]!;
    const spec: InputSpec = { name: t.name, tensor: gi.tensor, sourceShape: [...(gi.sourceLayout?.shape ?? t.shape)], irShape: [...t.shape] };
    if (gi.sourceLayout) spec.perm = [...gi.sourceLayout.perm];
    return spec;
  });
}

const shapeText = (s: readonly number[]): string => `[${s.join(',')}]`;

/** Transposes one sample from the source layout to the IR layout. */
export function toIrLayout(values: Float32Array, spec: InputSpec): Float32Array {
  const perm = spec.perm;
  if (!perm || perm.every((p, i) => p === i)) return values;
  const src = spec.sourceShape;
  const srcStrides = new Array<number>(src.length).fill(1);
  for (let i = src.length - 2; i >= 0; i--) srcStrides[i] = srcStrides[i + 1]! * src[i + 1]!;
  const dst = spec.irShape;
  const out = new Float32Array(values.length);
  const idx = new Array<number>(dst.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let s = 0;
    for (let d = 0; d < dst.length; d++) s += idx[d]! * srcStrides[perm[d]!]!;
    out[o] = values[s]!;
    for (let d = dst.length - 1; d >= 0; d--) {
      if (++idx[d]! < dst[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Splits an array into samples of `spec`, checking shape, dtype and values. */
function samplesFromArray(v: TensorValue, spec: InputSpec, what: string, firstIndex: number): Float32Array[] {
  if (v.dtype !== 'float32' && v.dtype !== 'float64') {
    throw new DataError(
      `${what} holds ${v.dtype} values but input '${spec.name}' of the float model takes float32: convert it (numpy: arr.astype(np.float32)) and pass real, unquantized values`,
    );
  }
  const per = elementCount(spec.sourceShape);
  const s = v.shape;
  const noBatch = spec.sourceShape[0] === 1 ? spec.sourceShape.slice(1) : spec.sourceShape;
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  let count: number;
  if (same(s, spec.sourceShape) || (s.length === spec.sourceShape.length - 1 && same(s, noBatch))) count = 1;
  else if (s.length >= 1 && (same(s.slice(1), spec.sourceShape) || same(s.slice(1), noBatch) || same(s.slice(1), [per]))) count = s[0]!;
  else if (s.length === 1 && s[0] === per) count = 1;
  else {
    throw new DataError(
      `${what} has shape ${shapeText(s)} but input '${spec.name}' takes samples of shape ${shapeText(spec.sourceShape)}: save N samples as ${shapeText(['N' as unknown as number, ...noBatch])} (or [N,${per}])`,
    );
  }
  const out: Float32Array[] = [];
  for (let k = 0; k < count; k++) {
    const sample = new Float32Array(per);
    for (let e = 0; e < per; e++) {
      const x = Number(v.data[k * per + e]!);
      if (!Number.isFinite(x)) {
        throw new DataError(
          `${what} sample ${firstIndex + k} element ${e} is ${x} (input '${spec.name}'): calibration data must be finite; fix or drop that sample`,
        );
      }
      sample[e] = x;
    }
    out.push(toIrLayout(sample, spec));
  }
  return out;
}

function rawFloatSamples(bytes: Uint8Array, spec: InputSpec, what: string, firstIndex: number): Float32Array[] {
  const per = elementCount(spec.sourceShape);
  if (bytes.length === 0 || bytes.length % (per * 4) !== 0) {
    throw new DataError(
      `${what} is ${bytes.length} bytes, not a whole number of samples of input '${spec.name}' (${shapeText(spec.sourceShape)} float32 = ${per * 4} bytes each): write raw little-endian float32 samples`,
    );
  }
  const copy = new Uint8Array(bytes); // aligned copy for the Float32Array view
  const f = new Float32Array(copy.buffer, 0, bytes.length / 4);
  return samplesFromArray({ dtype: 'float32', shape: [f.length / per, per], data: f }, spec, what, firstIndex);
}

function single(specs: InputSpec[], what: string): InputSpec {
  if (specs.length !== 1) {
    throw new UnsupportedError(`${what}: a model with ${specs.length} inputs takes its samples from a .npz or .json named by input (${specs.map((s) => s.name).join(', ')})`);
  }
  return specs[0]!;
}

function fromNpz(arrays: Map<string, TensorValue>, specs: InputSpec[], what: string): Float32Array[][] {
  const names = [...arrays.keys()];
  const pick = (spec: InputSpec): [string, TensorValue] => {
    const exact = arrays.get(spec.name) ?? arrays.get(`${spec.name}.npy`);
    if (exact) return [spec.name, exact];
    if (specs.length === 1) {
      for (const n of ['inputs', 'input', 'x', 'data']) if (arrays.has(n)) return [n, arrays.get(n)!];
      if (names.length === 1) return [names[0]!, arrays.get(names[0]!)!];
    }
    throw new DataError(`${what} has no array for input '${spec.name}' (it holds ${names.join(', ')}): save one array per input, named after the input`);
  };
  const perInput = specs.map((spec) => {
    const [name, v] = pick(spec);
    return samplesFromArray(v, spec, `${what} array '${name}'`, 0);
  });
  return zipInputs(perInput, specs, what);
}

function zipInputs(perInput: Float32Array[][], specs: InputSpec[], what: string): Float32Array[][] {
  const n = perInput[0]!.length;
  perInput.forEach((list, i) => {
    if (list.length !== n) {
      throw new DataError(`${what} holds ${n} samples for input '${specs[0]!.name}' but ${list.length} for '${specs[i]!.name}': give every input the same number of samples`);
    }
  });
  return Array.from({ length: n }, (_, k) => perInput.map((list) => list[k]!));
}

function flattenJson(x: unknown, out: number[], what: string): void {
  if (Array.isArray(x)) for (const y of x) flattenJson(y, out, what);
  else if (typeof x === 'number') out.push(x);
  else if (x === null) out.push(NaN); // JSON has no NaN: json.dumps writes NaN, parsers give null here
  else throw new DataError(`${what} holds ${JSON.stringify(x)?.slice(0, 40)} where a number belongs: store numbers only`);
}

function jsonSamples(x: unknown, spec: InputSpec, what: string): Float32Array[] {
  const per = elementCount(spec.sourceShape);
  const flat: number[] = [];
  flattenJson(x, flat, what);
  // One sample, or an array of samples each of the input's element count.
  let items: unknown[];
  if (flat.length === per) items = [x];
  else if (Array.isArray(x)) items = x;
  else throw new DataError(`${what} is not an array of samples: store [[...sample 1...], [...sample 2...]]`);
  return items.map((item, k) => {
    const vals: number[] = [];
    flattenJson(item, vals, what);
    if (vals.length !== per) {
      throw new DataError(`${what} sample ${k} has ${vals.length} numbers but input '${spec.name}' takes ${per} (${shapeText(spec.sourceShape)}): give each sample exactly ${per} values`);
    }
    return samplesFromArray({ dtype: 'float32', shape: [1, per], data: Float32Array.from(vals) }, spec, what, k)[0]!;
  });
}

function parseJson(path: string): unknown {
  const text = Buffer.from(readDataFile(path)).toString('utf8');
  try {
    // NaN and Infinity are not JSON, but Python's json.dumps writes them: read them as such so
    // the value check below names the sample instead of a parse error.
    return JSON.parse(text.replace(/\b-?Infinity\b|\bNaN\b/g, (m) => `"${m}"`), (_k, v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v));
  } catch (e) {
    throw new DataError(`${path} is not valid JSON (${(e as Error).message}): store an array of samples`);
  }
}

function fromJson(path: string, specs: InputSpec[]): Float32Array[][] {
  const doc = parseJson(path);
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const obj = doc as Record<string, unknown>;
    const perInput = specs.map((spec) => {
      if (!(spec.name in obj)) throw new DataError(`${path} has no entry for input '${spec.name}' (keys: ${Object.keys(obj).join(', ')}): name each input's samples by the input`);
      return jsonSamples(obj[spec.name], spec, `${path} input '${spec.name}'`);
    });
    return zipInputs(perInput, specs, path);
  }
  const spec = single(specs, path);
  return jsonSamples(doc, spec, path).map((s) => [s]);
}

function fromFile(path: string, specs: InputSpec[], firstIndex: number): Float32Array[][] {
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case '.npy': {
      const spec = single(specs, path);
      return samplesFromArray(parseNpy(readDataFile(path), path), spec, path, firstIndex).map((s) => [s]);
    }
    case '.npz':
      return fromNpz(parseNpz(readDataFile(path), path), specs, path);
    case '.bin':
    case '.raw':
      return rawFloatSamples(readDataFile(path), single(specs, path), path, firstIndex).map((s) => [s]);
    case '.json':
      return fromJson(path, specs);
    case '.pb': {
      const spec = single(specs, path);
      return samplesFromArray(parseTensorProto(readDataFile(path), path), spec, path, firstIndex).map((s) => [s]);
    }
    default:
      throw new DataError(`${path}: unknown data file type '${ext}': pass .npy, .npz, .bin (raw float32), .json, an ONNX TensorProto .pb or a folder of them`);
  }
}

/**
 * One sample from an ONNX test data set folder: input_K.pb is input K (output_K.pb files are
 * the expected results and are not read).
 */
function onnxDataSet(dir: string, specs: InputSpec[]): Float32Array[] {
  return specs.map((spec, k) => {
    const f = join(dir, `input_${k}.pb`);
    let bytes: Uint8Array;
    try {
      bytes = readDataFile(f);
    } catch {
      throw new DataError(`${dir} has no input_${k}.pb for input '${spec.name}' (an ONNX test data set holds input_0.pb .. input_${specs.length - 1}.pb): add it`);
    }
    const list = samplesFromArray(parseTensorProto(bytes, f), spec, f, 0);
    if (list.length !== 1) throw new DataError(`${f} holds ${list.length} samples but a test data set gives one per input: save a single sample`);
    return list[0]!;
  });
}

/** Loads every sample at `path` for graph `g`'s inputs. `limit` keeps the first N. */
export function loadSamples(path: string, g: Graph, opts: { limit?: number } = {}): SampleSet {
  const specs = inputSpecs(g);
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new FileError(`data ${path} not found: check the path`);
  }
  let samples: Float32Array[][];
  if (st.isDirectory()) {
    const entries = readdirSync(path).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const dataSets = entries.filter((f) => /^test_data_set_\d+$/.test(f) && statSync(join(path, f)).isDirectory());
    if (entries.some((f) => /^input_\d+\.pb$/.test(f))) samples = [onnxDataSet(path, specs)];
    else if (dataSets.length > 0) samples = dataSets.map((d) => onnxDataSet(join(path, d), specs));
    else {
      const files = entries.filter((f) => ['.npy', '.bin', '.raw', '.pb'].includes(extname(f).toLowerCase()));
      if (files.length === 0) {
        throw new DataError(`folder ${path} holds no .npy, .bin or .pb files: put calibration samples in it (one .npy, raw float32 .bin or TensorProto .pb per sample)`);
      }
      samples = [];
      for (const f of files) samples.push(...fromFile(join(path, f), specs, samples.length));
    }
  } else {
    samples = fromFile(path, specs, 0);
  }
  if (samples.length === 0) throw new DataError(`${path} holds no samples: give at least one`);
  if (opts.limit !== undefined && samples.length > opts.limit) samples = samples.slice(0, opts.limit);
  return { inputs: specs, samples, source: st.isDirectory() ? `${basename(path)}/ (${samples.length} samples)` : `${basename(path)} (${samples.length} samples)` };
}
