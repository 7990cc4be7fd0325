/**
 * Passes that map float ops an ONNX export contains onto the TFLite ops that have int8 kernels,
 * as the TFLite converter maps the same layers:
 *
 *   hard-swish     x * relu6(x + 3) / 6 (PyTorch before opset 14, Keras), x * relu6(x + 3) * (1/6),
 *                  x * (relu6(x + 3) / 6) and x * HardSigmoid(x) -> HARD_SWISH: one int8 op
 *                  instead of four requantizations (TFLite's converter fuses the same pattern).
 *   Div by a constant   DIV(x, c) -> MUL(x, 1/c).
 *   HardSigmoid    clip(alpha * x + beta, 0, 1) = relu6(6 alpha x + 6 beta) / 6 ->
 *                  MUL(x, 6 alpha), ADD(6 beta) with RELU6 fused, MUL(1/6).
 *   Clip(lo, hi)   bounds that are not a TFLite activation -> MAXIMUM(x, lo), MINIMUM(hi)
 *                  (the int8 kernels compare raw values: the bounds share x's parameters).
 *   Resize         RESIZE (ONNX arithmetic) -> RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR with the
 *                  align_corners / half_pixel_centers flags that compute the same; a coordinate
 *                  mode TFLite has no flags for is refused naming the node.
 *   AveragePool    an average that excludes pads which are not TFLite's SAME (ceil_mode, PyTorch's
 *                  count_include_pad=False with padding) -> one VALID AVERAGE_POOL_2D per region
 *                  of equal clipped windows (a STRIDED_SLICE of the input each), joined by
 *                  CONCATENATION: TFLite's ops computing exactly ONNX's average (each window's sum
 *                  over its taps inside the image, divided by their count, rounded once); the
 *                  native C merges them back into one pool (codegen/native/merge-pool-regions.ts).
 *                  ceil_mode with count_include_pad (PyTorch's AvgPool2d(ceil_mode=True)): the
 *                  explicit pads, which are counted, as a PAD; the ceil positions excluded.
 *   ConvTranspose  TRANSPOSE_CONV with pads that are not SAME/VALID -> a VALID TRANSPOSE_CONV
 *                  (the full output) and a STRIDED_SLICE cropping it (PyTorch's padding=p);
 *                  dilations -> a filter with zeros between the taps; groups -> SPLIT, one
 *                  TRANSPOSE_CONV per group, CONCATENATION (transposeConvGroups).
 *   Softmax        TFLite's runs over the last axis: an opset < 13 softmax over the trailing
 *                  dims (coerce2d) becomes RESHAPE to 2-D, SOFTMAX, RESHAPE back; a softmax
 *                  over another axis becomes TRANSPOSE, SOFTMAX, TRANSPOSE back.
 *
 * Every new op keeps the source node of the op it replaces, so messages name the user's node.
 */
import type { Graph, Op } from '../../ir/graph.ts';
import { isConstant } from '../../ir/graph.ts';
import { UnsupportedError } from '../../errors.ts';
import { tfliteResizeFlags } from '../../formats/onnx/lower/resize.ts';
import { activationOf } from './fuse-activation.ts';
import { addTensor, compact, constFloats, consumers, float32Bytes, isGraphOutput, producers } from '../graph-edit.ts';
import { windowSegments } from '../../ir/window-segments.ts';

/** The value of a float constant whose elements are all equal, else undefined. */
function scalarOf(g: Graph, i: number | undefined): number | undefined {
  if (i === undefined || i < 0) return undefined;
  const t = g.tensors[i]!;
  if (!isConstant(t) || t.dtype !== 'float32') return undefined;
  const v = constFloats(t);
  if (v.length === 0 || v.some((x) => x !== v[0])) return undefined;
  return v[0]!;
}

const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

function scalarTensor(g: Graph, name: string, value: number): number {
  return addTensor(g, { name, shape: [], dtype: 'float32', data: float32Bytes(Float32Array.of(value)) });
}

/** Fuses the hard-swish decompositions into HARD_SWISH. */
export function fuseHardSwish(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const removed = new Set<Op>();
  const made = producers(g);
  const readers = consumers(g);
  /** The producer of tensor t when t is read only by its one consumer (safe to remove). */
  const inner = (t: number, type: (op: Op) => boolean): Op | undefined => {
    const p = made.get(t);
    if (!p || removed.has(p) || !type(p) || (readers.get(t) ?? []).length !== 1 || isGraphOutput(g, t)) return undefined;
    return p;
  };
  /** relu6(x + 3) -> [x, ops] */
  const relu6Plus3 = (t: number): [number, Op[]] | undefined => {
    const r = inner(t, (o) => activationOf(o, g) === 'RELU6' && o.inputs.filter((i) => i >= 0).length >= 1);
    if (!r) return undefined;
    const add = inner(r.inputs[0]!, (o) => o.type === 'ADD' && (o.attrs.fusedActivation ?? 'NONE') === 'NONE');
    if (!add) return undefined;
    for (const k of [0, 1]) if (near(scalarOf(g, add.inputs[1 - k]), 3)) return [add.inputs[k]!, [add, r]];
    return undefined;
  };
  /** v / 6 or v * (1/6) -> [v, op] */
  const sixth = (t: number): [number, Op] | undefined => {
    const d = inner(t, (o) => (o.type === 'DIV' || o.type === 'MUL') && (o.attrs.fusedActivation ?? 'NONE') === 'NONE');
    if (!d) return undefined;
    if (d.type === 'DIV' && near(scalarOf(g, d.inputs[1]), 6)) return [d.inputs[0]!, d];
    if (d.type === 'MUL') for (const k of [0, 1]) if (near(scalarOf(g, d.inputs[1 - k]), 1 / 6)) return [d.inputs[k]!, d];
    return undefined;
  };
  const replace = (last: Op, x: number, gone: Op[]): void => {
    for (const o of gone) removed.add(o);
    last.type = 'HARD_SWISH';
    last.inputs = [x];
    last.attrs = {};
    log.push(`fused x * relu6(x + 3) / 6 ending at ${last.source.opType} '${last.source.name}' into HARD_SWISH`);
  };
  for (const op of g.ops) {
    if (removed.has(op) || (op.type !== 'MUL' && op.type !== 'DIV') || (op.attrs.fusedActivation ?? 'NONE') !== 'NONE') continue;
    // (x * relu6(x + 3)) / 6
    const outer = op.type === 'DIV' ? (near(scalarOf(g, op.inputs[1]), 6) ? op.inputs[0] : undefined) : [0, 1].map((k) => (near(scalarOf(g, op.inputs[1 - k]), 1 / 6) ? op.inputs[k] : undefined)).find((v) => v !== undefined);
    if (outer !== undefined) {
      const m = inner(outer, (o) => o.type === 'MUL' && (o.attrs.fusedActivation ?? 'NONE') === 'NONE');
      if (m) {
        const hit = [0, 1].map((k) => {
          const r = relu6Plus3(m.inputs[k]!);
          return r && r[0] === m.inputs[1 - k] ? r : undefined;
        }).find((r) => r);
        if (hit) {
          replace(op, hit[0], [m, ...hit[1]]);
          continue;
        }
      }
    }
    if (op.type !== 'MUL') continue;
    // x * (relu6(x + 3) / 6) and x * HardSigmoid(x)
    for (const k of [0, 1]) {
      const h = op.inputs[k]!;
      const x = op.inputs[1 - k]!;
      const hs = inner(h, (o) => o.type === 'HARD_SIGMOID' && near(Number(o.attrs.alpha), 1 / 6) && near(Number(o.attrs.beta), 0.5));
      if (hs && hs.inputs[0] === x) {
        replace(op, x, [hs]);
        break;
      }
      const s = sixth(h);
      const r = s && relu6Plus3(s[0]);
      if (s && r && r[0] === x) {
        replace(op, x, [s[1], ...r[1]]);
        break;
      }
    }
  }
  return { graph: removed.size ? compact(g, removed) : g, log };
}

/** DIV by a float constant -> MUL by its reciprocal. */
export function divByConstant(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  for (const op of g.ops) {
    if (op.type !== 'DIV') continue;
    const c = g.tensors[op.inputs[1]!]!;
    if (!isConstant(c) || c.dtype !== 'float32' || g.tensors[op.inputs[0]!]!.dtype !== 'float32') continue;
    const inv = Float32Array.from(constFloats(c), (v) => 1 / v);
    op.inputs[1] = addTensor(g, { name: `${c.name}_reciprocal`, shape: [...c.shape], dtype: 'float32', data: float32Bytes(inv) });
    op.type = 'MUL';
    log.push(`${op.source.opType} '${op.source.name}': division by a constant as MUL by its reciprocal`);
  }
  return { graph: log.length ? compact(g) : g, log };
}

/** HARD_SIGMOID -> MUL(6 alpha), ADD(6 beta) + RELU6, MUL(1/6). */
export function decomposeHardSigmoid(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const ops: Op[] = [];
  for (const op of g.ops) {
    if (op.type !== 'HARD_SIGMOID') {
      ops.push(op);
      continue;
    }
    const alpha = Number(op.attrs.alpha ?? 0.2), beta = Number(op.attrs.beta ?? 0.5);
    const x = g.tensors[op.inputs[0]!]!;
    const mk = (suffix: string): number => addTensor(g, { name: `${x.name}_${op.source.name}_${suffix}`, shape: [...x.shape], dtype: 'float32' });
    const scaled = mk('scaled');
    const clipped = mk('relu6');
    const base = { version: 1, source: op.source };
    ops.push(
      { ...base, index: 0, type: 'MUL', inputs: [x.index, scalarTensor(g, `${op.source.name}/6alpha`, 6 * alpha)], outputs: [scaled], attrs: { fusedActivation: 'NONE' } },
      { ...base, index: 0, type: 'ADD', inputs: [scaled, scalarTensor(g, `${op.source.name}/6beta`, 6 * beta)], outputs: [clipped], attrs: { fusedActivation: 'RELU6' } },
      { ...base, index: 0, type: 'MUL', inputs: [clipped, scalarTensor(g, `${op.source.name}/sixth`, 1 / 6)], outputs: [...op.outputs], attrs: { fusedActivation: 'NONE' } },
    );
    log.push(`HardSigmoid '${op.source.name}' as relu6(${6 * alpha} x + ${6 * beta}) / 6 (MUL, ADD+RELU6, MUL)`);
  }
  if (log.length) g.ops = ops.map((o, index) => ({ ...o, index }));
  return { graph: g, log };
}

/** A CLIP whose constant bounds are no TFLite activation -> MAXIMUM / MINIMUM with constants. */
export function clipAsMinMax(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const ops: Op[] = [];
  const bound = (op: Op, key: 'min' | 'max', input: number): number | undefined => {
    const a = op.attrs[key];
    if (typeof a === 'number') return a;
    const i = op.inputs[input];
    if (i === undefined || i < 0) return key === 'min' ? -Infinity : Infinity;
    return scalarOf(g, i);
  };
  for (const op of g.ops) {
    if (op.type !== 'CLIP' || activationOf(op, g) !== undefined) {
      ops.push(op);
      continue;
    }
    const lo = bound(op, 'min', 1), hi = bound(op, 'max', 2);
    if (lo === undefined || hi === undefined) {
      ops.push(op); // runtime bounds: left for the int8 support check to name
      continue;
    }
    const x = g.tensors[op.inputs[0]!]!;
    let cur = x.index;
    const steps: [string, number][] = [];
    if (Math.abs(lo) < 3.4e38) steps.push(['MAXIMUM', lo]);
    if (Math.abs(hi) < 3.4e38) steps.push(['MINIMUM', hi]);
    if (steps.length === 0) steps.push(['MAXIMUM', -3.4e38]);
    steps.forEach(([type, v], k) => {
      const out = k === steps.length - 1 ? op.outputs[0]! : addTensor(g, { name: `${x.name}_${op.source.name}_min`, shape: [...x.shape], dtype: 'float32' });
      // A lower bound of 0 is RELU, which fuses into the op before it.
      if (type === 'MAXIMUM' && v === 0) ops.push({ index: 0, type: 'RELU', version: 1, inputs: [cur], outputs: [out], attrs: {}, source: op.source });
      else ops.push({ index: 0, type, version: 1, inputs: [cur, scalarTensor(g, `${op.source.name}/${type === 'MAXIMUM' ? 'min' : 'max'}`, v)], outputs: [out], attrs: {}, source: op.source });
      cur = out;
    });
    log.push(`Clip '${op.source.name}' to [${lo}, ${hi}] as ${steps.map(([t, v]) => (t === 'MAXIMUM' && v === 0 ? 'RELU' : t)).join(' + ')}`);
  }
  if (log.length) g.ops = ops.map((o, index) => ({ ...o, index }));
  return { graph: g, log };
}


/** SOFTMAX over the last axis only (see the module comment). */
export function softmaxLastAxis(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const ops: Op[] = [];
  for (const op of g.ops) {
    const x = g.tensors[op.inputs[0]!]!;
    const rank = x.shape.length;
    const axis = typeof op.attrs.axis === 'number' ? op.attrs.axis : rank - 1;
    if (op.type !== 'SOFTMAX' || rank === 0 || (axis === rank - 1 && op.attrs.coerce2d !== true)) {
      ops.push(op);
      continue;
    }
    const base = { version: 1, source: op.source };
    const y = op.outputs[0]!;
    const mk = (suffix: string, shape: number[]): number => addTensor(g, { name: `${x.name}_${op.source.name}_${suffix}`, shape, dtype: x.dtype });
    if (op.attrs.coerce2d === true) {
      const inner = x.shape.slice(axis).reduce((a, b) => a * b, 1);
      const flat = [x.shape.slice(0, axis).reduce((a, b) => a * b, 1), inner];
      const a = mk('2d', flat);
      const b = mk('softmax2d', flat);
      ops.push(
        { ...base, index: 0, type: 'RESHAPE', inputs: [x.index], outputs: [a], attrs: { newShape: flat } },
        { ...base, index: 0, type: 'SOFTMAX', inputs: [a], outputs: [b], attrs: { beta: op.attrs.beta ?? 1, axis: 1, coerce2d: false } },
        { ...base, index: 0, type: 'RESHAPE', inputs: [b], outputs: [y], attrs: { newShape: [...x.shape] } },
      );
      log.push(`Softmax '${op.source.name}' over the trailing ${rank - axis} axes as RESHAPE, SOFTMAX, RESHAPE`);
    } else {
      const perm = [...Array(rank).keys()].filter((a) => a !== axis).concat(axis);
      const inv = perm.map((_, i) => perm.indexOf(i));
      const shape = perm.map((p) => x.shape[p]!);
      const a = mk('last', shape);
      const b = mk('softmax_last', shape);
      ops.push(
        { ...base, index: 0, type: 'TRANSPOSE', inputs: [x.index], outputs: [a], attrs: { perm } },
        { ...base, index: 0, type: 'SOFTMAX', inputs: [a], outputs: [b], attrs: { beta: op.attrs.beta ?? 1, axis: rank - 1, coerce2d: false } },
        { ...base, index: 0, type: 'TRANSPOSE', inputs: [b], outputs: [y], attrs: { perm: inv } },
      );
      log.push(`Softmax '${op.source.name}' over axis ${axis} as TRANSPOSE, SOFTMAX, TRANSPOSE`);
    }
  }
  if (log.length) g.ops = ops.map((o, index) => ({ ...o, index }));
  return { graph: g, log };
}

/** RESIZE -> TFLite's RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (see the module comment). */
export function resizeToTflite(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  for (const op of g.ops) {
    if (op.type !== 'RESIZE') continue;
    const y = g.tensors[op.outputs[0]!]!;
    const mode = String(op.attrs.mode);
    const coordinate = String(op.attrs.coordinateMode);
    const nearest = String(op.attrs.nearestMode);
    const flags = op.attrs.scales === undefined ? tfliteResizeFlags(mode, coordinate, nearest, [y.shape[1]!, y.shape[2]!]) : undefined;
    if (!flags) {
      const why = op.attrs.scales !== undefined ? `scales [${(op.attrs.scales as number[]).join(',')}] that are not output / input sizes` : `coordinate_transformation_mode '${coordinate}'${mode === 'nearest' ? ` with nearest_mode '${nearest}'` : ''}`;
      throw new UnsupportedError(
        `ONNX ${op.source.opType} node '${op.source.name}' resizes with ${why}, which TFLite's resize ops cannot express, so the model cannot be quantized: export with ${mode === 'nearest' ? "mode='nearest' (PyTorch F.interpolate(scale_factor=k, mode='nearest'))" : "mode='bilinear' and align_corners=True or False (PyTorch F.interpolate)"} and an integer scale factor`,
      );
    }
    op.type = mode === 'nearest' ? 'RESIZE_NEAREST_NEIGHBOR' : 'RESIZE_BILINEAR';
    op.attrs = { align_corners: flags.alignCorners, half_pixel_centers: flags.halfPixelCenters };
    log.push(`${op.source.opType} '${op.source.name}' as ${op.type}${flags.alignCorners ? ' (align_corners)' : flags.halfPixelCenters ? ' (half_pixel_centers)' : ''}`);
  }
  return { graph: g, log };
}

/**
 * ConvTranspose with groups or dilations, which TFLite's TRANSPOSE_CONV lacks, in ops it has:
 * dilations by a filter with zeros between the taps (a dilated tap at ky * d is the plain tap
 * ky * d of a (KH - 1) * d + 1 filter; zero weights quantize to exactly 0, so the sums are the
 * same), groups by SPLIT of the input channels, one TRANSPOSE_CONV per group (its rows of the
 * filter and bias) and CONCATENATION of the outputs (PyTorch nn.ConvTranspose2d(groups=g,
 * dilation=d)). Constant filters only (others are refused as runtime weights before this).
 */
export function transposeConvGroups(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const ops: Op[] = [];
  for (const op of g.ops) {
    const a = op.attrs;
    const groups = Number(a.groups ?? 1), dh = Number(a.dilationH ?? 1), dw = Number(a.dilationW ?? 1);
    const wT = g.tensors[op.inputs[1] ?? -1];
    if (op.type !== 'TRANSPOSE_CONV' || (groups === 1 && dh === 1 && dw === 1) || !wT || !isConstant(wT) || wT.dtype !== 'float32') {
      ops.push(op);
      continue;
    }
    const [cout, kh, kw, cinG] = wT.shape as [number, number, number, number];
    const w = constFloats(wT);
    // Dilations: taps spread over a larger filter, zeros between them.
    const [KH, KW] = [(kh - 1) * dh + 1, (kw - 1) * dw + 1];
    const spread = new Float32Array(cout * KH * KW * cinG);
    for (let o = 0; o < cout; o++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
      spread.set(w.subarray(((o * kh + y) * kw + x) * cinG, ((o * kh + y) * kw + x + 1) * cinG), ((o * KH + y * dh) * KW + x * dw) * cinG);
    }
    const xT = g.tensors[op.inputs[2]!]!, yT = g.tensors[op.outputs[0]!]!;
    const bias = op.inputs[3] !== undefined && op.inputs[3] >= 0 ? g.tensors[op.inputs[3]]! : undefined;
    const b = bias ? constFloats(bias) : undefined;
    const og = cout / groups;
    const base = { ...op, attrs: { ...a, groups: 1, dilationH: 1, dilationW: 1 } };
    const filter = (k: number): number => addTensor(g, { name: `${wT.name}/group${k}`, shape: [og, KH, KW, cinG], dtype: 'float32', data: float32Bytes(spread.slice(k * og * KH * KW * cinG, (k + 1) * og * KH * KW * cinG)) });
    const biasOf = (k: number): number => (b ? addTensor(g, { name: `${bias!.name}/group${k}`, shape: [og], dtype: 'float32', data: float32Bytes(b.slice(k * og, (k + 1) * og)) }) : -1);
    if (groups === 1) {
      ops.push({ ...base, inputs: [op.inputs[0]!, filter(0), op.inputs[2]!, biasOf(0)] });
    } else {
      const axis = addTensor(g, { name: `${op.source.name}/group_axis`, shape: [], dtype: 'int32', data: new Uint8Array(Int32Array.of(3).buffer) });
      const parts = Array.from({ length: groups }, (_, k) => addTensor(g, { name: `${xT.name}/group${k}`, shape: [...xT.shape.slice(0, 3), cinG], dtype: xT.dtype }));
      const outs = Array.from({ length: groups }, (_, k) => addTensor(g, { name: `${yT.name}/group${k}`, shape: [...yT.shape.slice(0, 3), og], dtype: yT.dtype }));
      const shapeOf = (k: number): number => addTensor(g, { name: `${op.source.name}/output_shape${k}`, shape: [4], dtype: 'int32', data: new Uint8Array(Int32Array.from([...yT.shape.slice(0, 3), og]).buffer) });
      ops.push({ index: 0, type: 'SPLIT', version: 1, source: op.source, inputs: [axis, op.inputs[2]!], outputs: parts, attrs: { num_splits: groups } });
      for (let k = 0; k < groups; k++) ops.push({ ...base, inputs: [shapeOf(k), filter(k), parts[k]!, biasOf(k)], outputs: [outs[k]!] });
      ops.push({ index: 0, type: 'CONCATENATION', version: 1, source: op.source, inputs: outs, outputs: [...op.outputs], attrs: { axis: 3, fusedActivation: 'NONE' } });
    }
    log.push(`${op.source.opType} '${op.source.name}': ${groups > 1 ? `groups ${groups} as SPLIT, ${groups} TRANSPOSE_CONV, CONCATENATION` : ''}${groups > 1 && (dh > 1 || dw > 1) ? '; ' : ''}${dh > 1 || dw > 1 ? `dilations [${dh},${dw}] as a ${KH}x${KW} filter with zeros between the taps` : ''}`);
  }
  if (log.length) g.ops = ops.map((o, index) => ({ ...o, index }));
  return { graph: g, log };
}

/** TRANSPOSE_CONV in a form TFLite's op has (see the module comment). */
export function transposeConvToTflite(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const ops: Op[] = [];
  for (const op of g.ops) {
    if (op.type !== 'TRANSPOSE_CONV') {
      ops.push(op);
      continue;
    }
    const a = op.attrs;
    const node = `ONNX ${op.source.opType} node '${op.source.name}'`;
    if (Number(a.groups ?? 1) !== 1 || Number(a.dilationH ?? 1) !== 1 || Number(a.dilationW ?? 1) !== 1) {
      // transposeConvGroups takes every constant filter: what is left has runtime weights.
      throw new UnsupportedError(`${node} has groups ${a.groups ?? 1} and dilations [${a.dilationH ?? 1},${a.dilationW ?? 1}] on weights computed at run time, which TFLite's TRANSPOSE_CONV cannot express, so the model cannot be quantized: make the weights a constant (an initializer)`);
    }
    if (a.padding !== 'EXPLICIT') {
      ops.push(op);
      continue;
    }
    const x = g.tensors[op.inputs[2]!]!, w = g.tensors[op.inputs[1]!]!, y = g.tensors[op.outputs[0]!]!;
    const [n, outH, outW, m] = y.shape as [number, number, number, number];
    const fullH = (x.shape[1]! - 1) * Number(a.strideH) + w.shape[1]!;
    const fullW = (x.shape[2]! - 1) * Number(a.strideW) + w.shape[2]!;
    const [top, left] = a.pads as number[];
    if (top! + outH > fullH || left! + outW > fullW) {
      throw new UnsupportedError(`${node} has an output_padding that grows the output past the full transposed convolution, which TFLite cannot express, so the model cannot be quantized: export it with output_padding=0`);
    }
    const fullShape = [n, fullH, fullW, m];
    const full = addTensor(g, { name: `${y.name}_full`, shape: fullShape, dtype: y.dtype });
    const shapeT = addTensor(g, { name: `${op.source.name}/output_shape`, shape: [4], dtype: 'int32', data: new Uint8Array(Int32Array.from(fullShape).buffer) });
    const vec = (what: string, v: number[]): number => addTensor(g, { name: `${op.source.name}/${what}`, shape: [4], dtype: 'int32', data: new Uint8Array(Int32Array.from(v).buffer) });
    ops.push(
      { ...op, inputs: [shapeT, ...op.inputs.slice(1)], outputs: [full], attrs: { ...a, padding: 'VALID', pads: [0, 0, fullH - outH, fullW - outW], fusedActivation: a.fusedActivation ?? 'NONE' } },
      {
        index: 0, type: 'STRIDED_SLICE', version: 1, source: op.source,
        inputs: [full, vec('begin', [0, top!, left!, 0]), vec('end', [n, top! + outH, left! + outW, m]), vec('strides', [1, 1, 1, 1])],
        outputs: [...op.outputs],
        attrs: { begin_mask: 0, end_mask: 0, ellipsis_mask: 0, new_axis_mask: 0, shrink_axis_mask: 0, offset: false },
      },
    );
    log.push(`${op.source.opType} '${op.source.name}': pads [${(a.pads as number[]).join(',')}] as a VALID TRANSPOSE_CONV and a STRIDED_SLICE crop`);
  }
  if (log.length) g.ops = ops.map((o, index) => ({ ...o, index }));
  return { graph: g, log };
}

/** AVERAGE_POOL_2D excluding pads that are not SAME -> slices, VALID pools, concatenations. */
export function averagePoolRegions(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const ops: Op[] = [];
  for (const original of g.ops) {
    let op = original;
    // ceil_mode with count_include_pad (PyTorch's AvgPool2d(ceil_mode=True) default): the
    // explicit pads are counted, the ceil positions not. Counted pads are real zeros, a PAD;
    // what is left excludes its pads.
    const counted = Array.isArray(op.attrs.countedPads) ? (op.attrs.countedPads as number[]) : undefined;
    if (op.type === 'AVERAGE_POOL_2D' && counted) {
      const { countedPads: _, ...rest } = op.attrs;
      const pads = (op.attrs.pads as number[]).map((p, i) => p - counted[i]!);
      op = { ...op, attrs: { ...rest, pads, countIncludePad: false } };
      if (counted.some((p) => p !== 0)) {
        const x = g.tensors[op.inputs[0]!]!;
        const [top, left, bottom, right] = counted as [number, number, number, number];
        const padded = addTensor(g, { name: `${x.name}_${op.source.name}_counted`, shape: [x.shape[0]!, x.shape[1]! + top + bottom, x.shape[2]! + left + right, x.shape[3]!], dtype: x.dtype });
        ops.push({ index: 0, version: 1, source: op.source, type: 'PAD', inputs: [x.index], outputs: [padded], attrs: { mode: 'CONSTANT', pads: [0, 0, top, bottom, left, right, 0, 0], constantValue: 0 } });
        op = { ...op, inputs: [padded] };
      }
      log.push(`${op.source.opType} '${op.source.name}': ceil_mode with count_include_pad as ${counted.some((p) => p !== 0) ? 'a PAD of the counted pads and ' : ''}an average excluding the ceil positions`);
    }
    const a = op.attrs;
    const pads = Array.isArray(a.pads) ? (a.pads as number[]) : [0, 0, 0, 0];
    if (op.type !== 'AVERAGE_POOL_2D' || a.countIncludePad === true || a.padding === 'SAME' || pads.every((p) => p === 0)) {
      ops.push(op);
      continue;
    }
    const x = g.tensors[op.inputs[0]!]!, y = g.tensors[op.outputs[0]!]!;
    if (x.shape.length !== 4 || Number(a.dilationH ?? 1) !== 1 || Number(a.dilationW ?? 1) !== 1) {
      ops.push(op);
      continue;
    }
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const rows = windowSegments(h, y.shape[1]!, Number(a.filterH), Number(a.strideH), pads[0]!);
    const cols = windowSegments(w, y.shape[2]!, Number(a.filterW), Number(a.strideW), pads[1]!);
    if (!rows || !cols) {
      ops.push(op);
      continue;
    }
    const base = { version: 1, source: op.source };
    const vec = (name: string, v: number[]): number => addTensor(g, { name, shape: [4], dtype: 'int32', data: new Uint8Array(Int32Array.from(v).buffer) });
    const rowOutputs: number[] = [];
    rows.forEach((r, ri) => {
      const pieces: number[] = [];
      cols.forEach((q, ci) => {
        const tag = `${op.source.name}_r${ri}c${ci}`;
        const inH = (r.count - 1) * Number(a.strideH) + r.window, inW = (q.count - 1) * Number(a.strideW) + q.window;
        const sliced = addTensor(g, { name: `${x.name}_${tag}`, shape: [n, inH, inW, c], dtype: x.dtype });
        ops.push({
          ...base, index: 0, type: 'STRIDED_SLICE',
          inputs: [x.index, vec(`${tag}/begin`, [0, r.start, q.start, 0]), vec(`${tag}/end`, [n, r.start + inH, q.start + inW, c]), vec(`${tag}/strides`, [1, 1, 1, 1])],
          outputs: [sliced], attrs: { begin_mask: 0, end_mask: 0, ellipsis_mask: 0, new_axis_mask: 0, shrink_axis_mask: 0, offset: false },
        });
        const last = rows.length === 1 && cols.length === 1;
        const pooled = last ? y.index : addTensor(g, { name: `${y.name}_${tag}`, shape: [n, r.count, q.count, c], dtype: y.dtype });
        ops.push({
          ...base, index: 0, type: 'AVERAGE_POOL_2D', inputs: [sliced], outputs: [pooled],
          attrs: { filterH: r.window, filterW: q.window, strideH: a.strideH!, strideW: a.strideW!, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: a.fusedActivation ?? 'NONE', countIncludePad: false },
        });
        pieces.push(pooled);
      });
      if (pieces.length === 1) rowOutputs.push(pieces[0]!);
      else {
        const joined = rows.length === 1 ? y.index : addTensor(g, { name: `${y.name}_${op.source.name}_r${ri}`, shape: [n, r.count, y.shape[2]!, c], dtype: y.dtype });
        ops.push({ ...base, index: 0, type: 'CONCATENATION', inputs: pieces, outputs: [joined], attrs: { axis: 2, fusedActivation: 'NONE' } });
        rowOutputs.push(joined);
      }
    });
    if (rowOutputs.length > 1) ops.push({ ...base, index: 0, type: 'CONCATENATION', inputs: rowOutputs, outputs: [y.index], attrs: { axis: 1, fusedActivation: 'NONE' } });
    log.push(`${op.source.opType} '${op.source.name}': windows clipped by pads [${pads.join(',')}] as ${rows.length * cols.length} VALID AVERAGE_POOL_2D over slices, concatenated`);
  }
  if (log.length) g.ops = ops.map((o, index) => ({ ...o, index }));
  return { graph: g, log };
}
