/*
 * tml_requant.h: TFLite's double-rounding requantization in five instructions per value, for
 * the dsp kernel set. Exact: same result as tml_mbqm() (tml_fixedpoint.h) for every input the
 * generator allows (see below).
 *
 * The reference computes, for an int32 accumulator acc, a multiplier M in [2^30, 2^31) and a
 * right shift e >= 1:  y = RDBYPOT(SRDHM(acc, M), e) + zp.
 * With P = acc * M + 2^30, SRDHM(acc, M) = floor(P / 2^31) (the reference's sign-dependent nudge
 * and truncating division give exactly this), and RDBYPOT(t, e) = floor((t + 2^(e-1) - [t < 0]) / 2^e).
 * Nesting the floors: y = floor((2 acc M + 2^31 + 2^32 (2^(e-1) + zp 2^e - [acc < 0])) / 2^(32+e))
 * ([acc < 0] may stand for [t < 0]: they differ only for acc = -1, M = 2^30, where both give zp).
 * So, with acc2 = 2 acc (the dsp kernels get it for free: their int16 weights and biases are
 * stored doubled) and k = 2^(e-1) + zp 2^e:
 *     hi = SMMLAR(acc2, M, k + (acc2 >> 31))     -- high word of (Ra << 32) + acc2 * M + 2^31
 *     y  = hi >> e
 * The generator uses this only when every intermediate fits int32: |acc| < 2^30 for every
 * possible input, and |acc| + 2 + 2^(e-1) + |zp| 2^e < 2^31; otherwise it emits the portable
 * kernel for that op.
 */
#ifndef TML_REQUANT_H
#define TML_REQUANT_H

#include <stdint.h>
#include "tml_simd.h"

/** Fast requantization of one output channel (or of a whole tensor). */
typedef struct {
  int32_t multiplier; /* M, in [2^30, 2^31) */
  int32_t k;          /* 2^(e-1) + zero_point * 2^e */
  int32_t shift;      /* e, in [1, 30] */
} tml_rq;

/** y = RDBYPOT(SRDHM(acc2 / 2, m), e) + zp, unclamped, for acc2 = 2 * acc (see above). */
TML_INLINE int32_t tml_rq_apply(int32_t acc2, int32_t m, int32_t k, int32_t e) {
  int32_t hi = k + (acc2 >> 31);
#if TML_SIMD_NATIVE
  __asm__("smmlar %0, %1, %2, %0" : "+r"(hi) : "r"(acc2), "r"(m));
#else
  {
    const int64_t v = (int64_t)acc2 * (int64_t)m + (int64_t)hi * 4294967296LL + 2147483648LL;
    /* v >> 32 rounds toward minus infinity (gcc shifts signed values arithmetically). */
    hi = (int32_t)(v >> 32);
  }
#endif
  return hi >> e;
}

/** The same for a table entry. */
TML_INLINE int32_t tml_rq_one(int32_t acc2, const tml_rq *q) { return tml_rq_apply(acc2, q->multiplier, q->k, q->shift); }

#endif /* TML_REQUANT_H */
