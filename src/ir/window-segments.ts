/**
 * Pooling windows along one axis, grouped: a pool over `len` inputs with window `k`, `stride` and
 * `before` leading pad elements reads, for output o, inputs [o * stride - before, + k) clipped to
 * [0, len). Runs of outputs whose clipped windows have one length and advance by `stride` form one
 * segment. Shared by convert (an average pool excluding pads written as VALID pools over slices)
 * and the native generator (which merges those pools back into one).
 */

/** One run of outputs along an axis whose clipped windows are equal and stride-regular. */
export interface Segment {
  /** First input index read, window length, number of outputs. */
  start: number;
  window: number;
  count: number;
}

/** The segments of an axis, or undefined when some output's window is empty (all padding). */
export function windowSegments(len: number, out: number, k: number, stride: number, before: number): Segment[] | undefined {
  const segs: Segment[] = [];
  for (let o = 0; o < out; o++) {
    const s0 = o * stride - before;
    const lo = Math.max(0, s0), hi = Math.min(len, s0 + k);
    if (hi <= lo) return undefined;
    const last = segs[segs.length - 1];
    if (last && last.window === hi - lo && lo === last.start + last.count * stride) last.count++;
    else segs.push({ start: lo, window: hi - lo, count: 1 });
  }
  return segs;
}
