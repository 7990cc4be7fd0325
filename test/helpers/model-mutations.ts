/**
 * Deterministic mutations of a model file, shared by the import fuzz test (test/fuzz-import.test.ts)
 * and the robustness benchmark (bench/robustness.ts): bit flips, truncation, a duplicated range,
 * an interesting 32-bit word (sizes and offsets at their edges), random bytes.
 */

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING_WORDS = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0xffff, 0x10000, 4, 8, 0x40000000];

/** One mutant of `src`, drawing its choices from `rand`; `how` says what was done. */
export function mutateWith(src: Uint8Array, rand: () => number): { bytes: Uint8Array; how: string } {
  const int = (n: number) => Math.floor(rand() * n);
  const kind = int(5);
  if (kind === 0) {
    const out = src.slice();
    const flips = 1 + int(8);
    for (let k = 0; k < flips; k++) out[int(out.length)]! ^= 1 << int(8);
    return { bytes: out, how: `bit flips x${flips}` };
  }
  if (kind === 1) {
    const len = int(src.length);
    return { bytes: src.slice(0, len), how: `truncated to ${len}` };
  }
  if (kind === 2) {
    const start = int(src.length);
    const len = 1 + int(Math.min(256, src.length - start));
    const at = int(src.length);
    const out = new Uint8Array(src.length + len);
    out.set(src.subarray(0, at), 0);
    out.set(src.subarray(start, start + len), at);
    out.set(src.subarray(at), at + len);
    return { bytes: out, how: `duplicated [${start},+${len}) at ${at}` };
  }
  if (kind === 3) {
    const out = src.slice();
    const at = Math.min(int(Math.max(1, out.length - 3)) & ~3, out.length - 4);
    const word = INTERESTING_WORDS[int(INTERESTING_WORDS.length)]!;
    new DataView(out.buffer).setUint32(at, word, true);
    return { bytes: out, how: `word at ${at} = 0x${word.toString(16)}` };
  }
  const out = src.slice();
  const at = int(out.length);
  const len = Math.min(out.length - at, 1 + int(64));
  for (let k = 0; k < len; k++) out[at + k] = int(256);
  return { bytes: out, how: `random bytes [${at},+${len})` };
}
