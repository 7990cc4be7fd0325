/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM, integer form as the TFLite converter emits it: int8 activations
 * and hidden state, int8 per-tensor symmetric weights, int32 gate biases, int16 cell state
 * (TFLite Micro's lstm_eval.h/.cc and lstm_eval_common.cc, "8x8_16").
 *
 * Tensors (TFLite's 24 inputs; the converter's 5 intermediates carry no data TFLM uses):
 *   0 x [B,T,I] (or [T,B,I] when timeMajor) int8;  1-4 input weights [S,I] for the input,
 *   forget, cell and output gates;  5-8 recurrent weights [S,S];  12-15 gate biases [S] int32;
 *   18 hidden state [B,S] int8 variable;  19 cell state [B,S] int16 variable (scale 2^-k).
 *   Peephole (9-11), projection (16-17) and layer norm (20-23) inputs must be absent, and the
 *   input gate present (no CIFG), as TFLM requires. Output [B,T,S] (or [T,B,S]) int8.
 *
 * One step (a batch row at a time for batch-major input, every batch row at once when
 * timeMajor), all integer:
 *   gate pre-activation (Q3.12 int16) = sat16(fc(x, Wx, bias) + fc(h, Wh)), where
 *     fc(v, W, b)[j] = clamp16(mbqm(sum_k W[j,k] * (v[k] - v_zp) + b[j], M))   with
 *     M = quantizeMultiplier(double(float(v_scale * W_scale)) / 2^-12)  (TFLM's FC Prepare)
 *   forget, input, output gates = int16 sigmoid (Q0.15) of their pre-activation;
 *   cell gate = int16 tanh (input scale 2^-12) of its pre-activation;
 *   c = sat16(clamp16(mbqm(f * c, 2^-15)) + clamp16(mbqm(i * g, 2^-15 * 2^-15 / c_scale))),
 *     then clipped to +-quantize(cellClip) when cellClip > 0;
 *   h = clamp8(mbqm(o * tanh(c), 2^-15 * 2^-15 / h_scale) + h_zp); the step's output is h.
 * (mbqm = multiplyByQuantizedMultiplier; the int16 sigmoid/tanh are TFLite's interpolated
 * table, sigmoid-s16.ts.) The hidden and cell states persist across invocations.
 */
import type { Op, Tensor } from '../../ir/graph.ts';
import { multiplyByQuantizedMultiplier, quantizeMultiplier, roundHalfAwayFromZero, type QuantizedMultiplier } from '../fixedpoint.ts';
import { fullyConnectedPerTensorMultiplier } from './params.ts';
import { logisticS16, tanhS16 } from './sigmoid-s16.ts';
import { elements, optionalInput, output, read, scaleOf, unsupported, zeroPointOf, type EvalFn, type PrepareContext } from './common.ts';

/** The fixed scale of every gate pre-activation (Q3.12) and of every gate output (Q0.15). */
const GATE_INPUT_SCALE = 2 ** -12;
const GATE_OUTPUT_SCALE = 2 ** -15;

/** Input index of each gate's tensors, in TFLM's evaluation order (forget, input, cell, output). */
export const LSTM_GATES = [
  { name: 'forget', inputWeights: 2, recurrentWeights: 6, bias: 13 },
  { name: 'input', inputWeights: 1, recurrentWeights: 5, bias: 12 },
  { name: 'cell', inputWeights: 3, recurrentWeights: 7, bias: 14 },
  { name: 'output', inputWeights: 4, recurrentWeights: 8, bias: 15 },
] as const;

export interface LstmGatePlan {
  inputWeights: Int8Array; // [S, I]
  recurrentWeights: Int8Array; // [S, S]
  bias: Int32Array; // [S]
  inputMultiplier: QuantizedMultiplier; // x * Wx -> Q3.12
  recurrentMultiplier: QuantizedMultiplier; // h * Wh -> Q3.12
}

export interface LstmPlan {
  batches: number;
  timeSteps: number;
  inputSize: number;
  units: number; // S
  timeMajor: boolean;
  x: Tensor;
  hidden: Tensor;
  cell: Tensor;
  y: Tensor;
  inputZeroPoint: number;
  hiddenZeroPoint: number;
  /** forget, input, cell, output (LSTM_GATES order). */
  gates: LstmGatePlan[];
  forgetCellMul: QuantizedMultiplier; // f * c -> c
  inputCellMul: QuantizedMultiplier; // i * g -> c
  hiddenMul: QuantizedMultiplier; // o * tanh(c) -> h
  /** int16 tanh of the cell state: TFLite's (multiplier, shift) pair for its scale 2^cellScalePower. */
  cellTanhMultiplier: number;
  cellTanhShift: number;
  /** 0: no clipping. */
  quantizedCellClip: number;
}

/**
 * Everything TFLM's Prepare computes for an integer LSTM, with the checks it makes. `fail`
 * throws the caller's refusal (the reference's UnsupportedError, the code generator's).
 */
export function planIntegerLstm(op: Op, ctx: PrepareContext, fail: (what: string) => never): LstmPlan {
  if (op.inputs.length !== 24) fail(`has ${op.inputs.length} inputs; TFLite's LSTM has 24`);
  const t = (i: number) => optionalInput(op, ctx, i);
  const x = t(0);
  const hidden = t(18);
  const cell = t(19);
  const y = output(op, ctx);
  if (x === undefined || hidden === undefined || cell === undefined) fail('lacks its input, hidden state or cell state');
  if (x.dtype !== 'int8') {
    fail(`has ${x.dtype} activations; the integer LSTM kernel runs int8 activations with an int16 cell state (float models run on --engine float)`);
  }
  if (hidden.dtype !== 'int8' || y.dtype !== 'int8') fail(`has a ${hidden.dtype} hidden state and ${y.dtype} output (needs int8 like the input)`);
  if (cell.dtype !== 'int16') fail(`has a ${cell.dtype} cell state (the integer LSTM keeps it in int16)`);
  if (!hidden.variable || !cell.variable) fail('has a hidden or cell state that is not a variable tensor');
  const absent = (range: number[], what: string) => {
    if (range.some((i) => t(i) !== undefined)) fail(`uses ${what}, which TFLite Micro's LSTM does not support`);
  };
  absent([9, 10, 11], 'peephole connections');
  absent([16, 17], 'a projection layer');
  absent([20, 21, 22, 23], 'layer normalization');
  if (t(1) === undefined || t(5) === undefined) fail('couples the input and forget gates (CIFG), which TFLite Micro\'s LSTM does not support');
  const activation = typeof op.attrs['fusedActivation'] === 'string' ? op.attrs['fusedActivation'] : 'TANH';
  if (activation !== 'TANH') fail(`has cell activation ${activation}; TFLite Micro's integer LSTM runs TANH`);
  const cellClip = Math.fround(typeof op.attrs['cellClip'] === 'number' ? op.attrs['cellClip'] : 0);
  if (cellClip < 0) fail(`has a negative cell clip ${cellClip}`);
  const projClip = typeof op.attrs['projClip'] === 'number' ? op.attrs['projClip'] : 0;
  if (projClip !== 0) fail('clips a projection it does not have (proj_clip)');

  const timeMajor = op.attrs['timeMajor'] === true;
  if (x.shape.length !== 3) fail(`has input shape [${x.shape}]; it needs [batch, time, features]`);
  const batches = timeMajor ? x.shape[1]! : x.shape[0]!;
  const timeSteps = timeMajor ? x.shape[0]! : x.shape[1]!;
  const inputSize = x.shape[2]!;
  const units = hidden.shape[hidden.shape.length - 1]!;
  if (elements(hidden) !== batches * units || elements(cell) !== batches * units) {
    fail(`has states [${hidden.shape}] / [${cell.shape}] that do not hold ${batches} x ${units} values`);
  }
  if (y.shape.length !== 3 || y.shape[0] !== x.shape[0] || y.shape[1] !== x.shape[1] || y.shape[2] !== units) {
    fail(`has output shape [${y.shape}]; expected [${x.shape[0]}, ${x.shape[1]}, ${units}]`);
  }

  const xScale = scaleOf(op, x);
  const hScale = scaleOf(op, hidden);
  const gates = LSTM_GATES.map((g): LstmGatePlan => {
    const wx = t(g.inputWeights);
    const wh = t(g.recurrentWeights);
    const b = t(g.bias);
    if (wx === undefined || wh === undefined || b === undefined) fail(`lacks the ${g.name} gate's weights or bias`);
    for (const w of [wx, wh]) {
      if (w.dtype !== 'int8' || w.data === undefined) fail(`has ${g.name} gate weights '${w.name}' that are not constant int8`);
      if ((w.quant?.scale.length ?? 0) !== 1) fail(`has ${g.name} gate weights '${w.name}' that are not quantized per tensor`);
    }
    if (wx.shape.join() !== `${units},${inputSize}` || wh.shape.join() !== `${units},${units}`) {
      fail(`has ${g.name} gate weights [${wx.shape}] / [${wh.shape}]; expected [${units},${inputSize}] / [${units},${units}]`);
    }
    if (b.dtype !== 'int32' || b.data === undefined || elements(b) !== units) fail(`has a ${g.name} gate bias that is not a constant int32 [${units}]`);
    const wzp = (w: Tensor) => w.quant?.zeroPoint[0] ?? 0;
    if (wzp(wx) !== 0 || wzp(wh) !== 0) fail(`has ${g.name} gate weights with a non-zero zero point (int8 weights are symmetric)`);
    return {
      inputWeights: ctx.constant(wx.index) as Int8Array,
      recurrentWeights: ctx.constant(wh.index) as Int8Array,
      bias: ctx.constant(b.index) as Int32Array,
      inputMultiplier: fullyConnectedPerTensorMultiplier(xScale, wx.quant!.scale[0]!, GATE_INPUT_SCALE),
      recurrentMultiplier: fullyConnectedPerTensorMultiplier(hScale, wh.quant!.scale[0]!, GATE_INPUT_SCALE),
    };
  });

  const cellScale = scaleOf(op, cell);
  // TFLM's CheckedLog2: float log2, rounded (the converter always uses a power of two).
  const cellScalePower = roundHalfAwayFromZero(Math.fround(Math.fround(Math.log(cellScale)) * Math.fround(1 / Math.fround(Math.log(2)))));
  let cellTanhShift = 15 + cellScalePower - 3;
  let cellTanhMultiplier = 0;
  if (cellTanhShift < 0) {
    cellTanhShift = -cellTanhShift;
    cellTanhMultiplier = 3;
  }
  const quantizedCellClip = cellClip > 0 ? Math.trunc(Math.min(Math.max(cellClip / cellScale, -32768), 32767)) : 0;
  return {
    batches,
    timeSteps,
    inputSize,
    units,
    timeMajor,
    x,
    hidden,
    cell,
    y,
    inputZeroPoint: zeroPointOf(x),
    hiddenZeroPoint: zeroPointOf(hidden),
    gates,
    forgetCellMul: quantizeMultiplier((GATE_OUTPUT_SCALE * cellScale) / cellScale),
    inputCellMul: quantizeMultiplier((GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE) / cellScale),
    hiddenMul: quantizeMultiplier((GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE) / hScale),
    cellTanhMultiplier,
    cellTanhShift,
    quantizedCellClip,
  };
}

const sat16 = (v: number) => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);

/** fc(v, W, b): rows x units int16 outputs of an int8 x int8 product requantized to Q3.12. */
function gateFc(
  v: Int8Array, vBase: number, vOffset: number, rows: number, depth: number,
  w: Int8Array, bias: Int32Array | undefined, m: QuantizedMultiplier, units: number, out: Int16Array,
): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < units; j++) {
      let acc = 0;
      for (let k = 0; k < depth; k++) acc = (acc + w[j * depth + k]! * (v[vBase + r * depth + k]! + vOffset)) | 0;
      if (bias !== undefined) acc = (acc + bias[j]!) | 0;
      out[r * units + j] = sat16(multiplyByQuantizedMultiplier(acc, m.multiplier, m.shift));
    }
  }
}

export function prepareUnidirectionalSequenceLstm(op: Op, ctx: PrepareContext): EvalFn {
  const p = planIntegerLstm(op, ctx, (what) => {
    throw unsupported(op, what);
  });
  const { batches, timeSteps, inputSize: I, units: S, timeMajor } = p;
  const rows = timeMajor ? batches : 1; // batch rows computed together in one step
  const n = rows * S;
  const gateOut = [new Int16Array(n), new Int16Array(n), new Int16Array(n), new Int16Array(n)];
  const fcTemp = new Int16Array(n);
  const xi = p.x.index;
  const hi = p.hidden.index;
  const ci = p.cell.index;
  const yi = p.y.index;

  /** One step: rows of x at xBase, states at stateBase, outputs at yBase. */
  const step = (x: Int8Array, h: Int8Array, c: Int16Array, y: Int8Array, xBase: number, stateBase: number, yBase: number) => {
    p.gates.forEach((g, k) => {
      const out = gateOut[k]!;
      gateFc(x, xBase, -p.inputZeroPoint, rows, I, g.inputWeights, g.bias, g.inputMultiplier, S, out);
      gateFc(h, stateBase, -p.hiddenZeroPoint, rows, S, g.recurrentWeights, undefined, g.recurrentMultiplier, S, fcTemp);
      for (let e = 0; e < n; e++) {
        const pre = sat16(out[e]! + fcTemp[e]!);
        out[e] = k === 2 ? tanhS16(pre, 0, 0) : logisticS16(pre, 0, 0);
      }
    });
    const [f, i, g, o] = gateOut as [Int16Array, Int16Array, Int16Array, Int16Array];
    for (let e = 0; e < n; e++) {
      const s = stateBase + e;
      const kept = sat16(multiplyByQuantizedMultiplier(f[e]! * c[s]!, p.forgetCellMul.multiplier, p.forgetCellMul.shift));
      const added = sat16(multiplyByQuantizedMultiplier(i[e]! * g[e]!, p.inputCellMul.multiplier, p.inputCellMul.shift));
      let cv = sat16(kept + added);
      if (p.quantizedCellClip > 0) cv = Math.min(Math.max(cv, -p.quantizedCellClip), p.quantizedCellClip);
      c[s] = cv;
    }
    for (let e = 0; e < n; e++) {
      const s = stateBase + e;
      const t = tanhS16(c[s]!, p.cellTanhMultiplier, p.cellTanhShift);
      const v = multiplyByQuantizedMultiplier(t * o[e]!, p.hiddenMul.multiplier, p.hiddenMul.shift) + p.hiddenZeroPoint;
      h[s] = v < -128 ? -128 : v > 127 ? 127 : v;
    }
    y.set(h.subarray(stateBase, stateBase + n), yBase);
  };

  return (values) => {
    const x = read(values, xi) as Int8Array;
    const h = read(values, hi) as Int8Array;
    const c = read(values, ci) as Int16Array;
    const y = read(values, yi) as Int8Array;
    if (timeMajor) {
      for (let t = 0; t < timeSteps; t++) step(x, h, c, y, t * batches * I, 0, t * batches * S);
    } else {
      for (let b = 0; b < batches; b++) {
        for (let t = 0; t < timeSteps; t++) step(x, h, c, y, (b * timeSteps + t) * I, b * S, (b * timeSteps + t) * S);
      }
    }
  };
}
