/**
 * Error statistics between a reference signal (the float model) and a candidate (int8
 * reference, later a device), accumulated over many samples so that one number per output
 * or layer summarises a whole data set.
 */

export interface ErrorMetrics {
  /** Elements compared. */
  count: number;
  maxAbsError: number;
  rmse: number;
  /** 10 log10(sum ref^2 / sum (ref - x)^2); Infinity when identical, -Infinity when ref is all zero. */
  snrDb: number;
}

export class ErrorAccumulator {
  private count = 0;
  private maxAbs = 0;
  private sumSqErr = 0;
  private sumSqRef = 0;

  add(ref: ArrayLike<number>, x: ArrayLike<number>): void {
    const n = Math.min(ref.length, x.length);
    for (let i = 0; i < n; i++) {
      const r = ref[i]!;
      const d = r - x[i]!;
      const a = Math.abs(d);
      if (a > this.maxAbs) this.maxAbs = a;
      this.sumSqErr += d * d;
      this.sumSqRef += r * r;
    }
    this.count += n;
  }

  result(): ErrorMetrics {
    const rmse = this.count ? Math.sqrt(this.sumSqErr / this.count) : 0;
    let snrDb: number;
    if (this.sumSqErr === 0) snrDb = Infinity;
    else if (this.sumSqRef === 0) snrDb = -Infinity;
    else snrDb = 10 * Math.log10(this.sumSqRef / this.sumSqErr);
    return { count: this.count, maxAbsError: this.maxAbs, rmse, snrDb };
  }
}

/** Index of the largest value (first one on ties). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

/** JSON has no Infinity: SNR is written as a string "inf" / "-inf" there. */
export function jsonNumber(x: number): number | string {
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return x;
}
