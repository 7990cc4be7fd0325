/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM in float (TFLite's float LSTM, lstm_eval.cc: the same as
 * TFLite Micro's for its supported forms).
 *
 * x [B,T,I] (or [T,B,I] when timeMajor); per step, for the gates input (i), forget (f),
 * cell (g) and output (o), with W [S,I], R [S,S], b [S] and optional peephole vectors p [S]:
 *   i = sigmoid(W_i x + R_i h + p_i . c + b_i)     (CIFG, no input gate: i = 1 - f)
 *   f = sigmoid(W_f x + R_f h + p_f . c + b_f)
 *   g = act(W_g x + R_g h + b_g)
 *   c = f . c + i . g, clipped to [-cellClip, cellClip] when cellClip > 0
 *   o = sigmoid(W_o x + R_o h + p_o . c + b_o)      (c: the updated cell)
 *   h = o . act(c); the step's output is h.
 * act is the op's fused activation (TANH in practice). Projection and layer normalization are
 * not implemented (refused by the caller). Everything is float64; the states start from the
 * given values and the final states are returned.
 */
import type { FloatArray } from '../values.ts';
import { applyActivation } from './elementwise.ts';

export interface LstmWeights {
  /** Input weights [S, I] per gate; input gate absent for CIFG. */
  inputToInput?: FloatArray;
  inputToForget: FloatArray;
  inputToCell: FloatArray;
  inputToOutput: FloatArray;
  recurrentToInput?: FloatArray;
  recurrentToForget: FloatArray;
  recurrentToCell: FloatArray;
  recurrentToOutput: FloatArray;
  /** Peephole vectors [S]. */
  cellToInput?: ArrayLike<number>;
  cellToForget?: ArrayLike<number>;
  cellToOutput?: ArrayLike<number>;
  inputBias?: ArrayLike<number>;
  forgetBias: ArrayLike<number>;
  cellBias: ArrayLike<number>;
  outputBias: ArrayLike<number>;
}

export interface LstmOptions {
  timeMajor: boolean;
  activation: string;
  cellClip: number;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Runs the sequence; returns the output [.., .., S] and the final hidden and cell states [B, S]. */
export function lstm(x: FloatArray, w: LstmWeights, hidden: ArrayLike<number>, cell: ArrayLike<number>, opts: LstmOptions): { output: FloatArray; hidden: Float64Array; cell: Float64Array } {
  const [d0, d1, I] = x.shape as [number, number, number];
  const B = opts.timeMajor ? d1 : d0;
  const T = opts.timeMajor ? d0 : d1;
  const S = w.inputToForget.shape[0]!;
  const h = Float64Array.from(hidden);
  const c = Float64Array.from(cell);
  const out = new Float64Array(B * T * S);
  const gate = (W: FloatArray, R: FloatArray, bias: ArrayLike<number> | undefined, xo: number, ho: number, j: number) => {
    let acc = bias ? bias[j]! : 0;
    for (let k = 0; k < I; k++) acc += W.data[j * I + k]! * x.data[xo + k]!;
    for (let k = 0; k < S; k++) acc += R.data[j * S + k]! * h[ho + k]!;
    return acc;
  };
  const pre = new Float64Array(4 * S);
  const cellAct = new Float64Array(S);
  const newH = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = opts.timeMajor ? t * B + b : b * T + t;
      const xo = row * I;
      const so = b * S;
      for (let j = 0; j < S; j++) {
        const cOld = c[so + j]!;
        const fPre = gate(w.inputToForget, w.recurrentToForget, w.forgetBias, xo, so, j) + (w.cellToForget ? w.cellToForget[j]! * cOld : 0);
        pre[j] = fPre;
        pre[S + j] = w.inputToInput && w.recurrentToInput
          ? gate(w.inputToInput, w.recurrentToInput, w.inputBias, xo, so, j) + (w.cellToInput ? w.cellToInput[j]! * cOld : 0)
          : Number.NaN; // CIFG
        pre[2 * S + j] = gate(w.inputToCell, w.recurrentToCell, w.cellBias, xo, so, j);
        pre[3 * S + j] = gate(w.inputToOutput, w.recurrentToOutput, w.outputBias, xo, so, j);
      }
      const g = pre.subarray(2 * S, 3 * S);
      applyActivation(g, opts.activation);
      for (let j = 0; j < S; j++) {
        const f = sigmoid(pre[j]!);
        const i = Number.isNaN(pre[S + j]!) ? 1 - f : sigmoid(pre[S + j]!);
        let cv = f * c[so + j]! + i * g[j]!;
        if (opts.cellClip > 0) cv = Math.min(Math.max(cv, -opts.cellClip), opts.cellClip);
        c[so + j] = cv;
        cellAct[j] = cv;
      }
      applyActivation(cellAct, opts.activation);
      for (let j = 0; j < S; j++) {
        const o = sigmoid(pre[3 * S + j]! + (w.cellToOutput ? w.cellToOutput[j]! * c[so + j]! : 0));
        newH[j] = o * cellAct[j]!;
      }
      h.set(newH, so);
      out.set(newH, row * S);
    }
  }
  return { output: { shape: [d0, d1, S], data: out }, hidden: h, cell: c };
}
