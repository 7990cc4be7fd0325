/*
 * tml_dot.h: int8 dot products, the inner loop of CONV_2D and FULLY_CONNECTED.
 *
 * a, b: int8 vectors of n elements (any alignment); acc: the running int32 sum.
 * Returns acc + sum a[i] * b[i], wrapping modulo 2^32 exactly like a plain C int32 loop on a
 * two's-complement machine, so every kernel set gives bit-identical results.
 *
 * Kernel sets:
 * - portable (default): C99, unrolled so one input load feeds two output channels.
 * - dsp (-DTML_KERNELS_DSP, Armv7E-M such as Cortex-M4/M7): four int8 pairs per 32-bit load,
 *   sign-extended two at a time with SXTB16 and accumulated with SMLAD (two multiply-adds per
 *   instruction), tml_simd.h. In a dsp build these serve the ops the dsp kernels
 *   (tml_kernels_dsp.h) do not take.
 */
#ifndef TML_DOT_H
#define TML_DOT_H

#include <stdint.h>
#include <string.h>
#include "tml_fixedpoint.h"

#if defined(TML_KERNELS_DSP)
#if !defined(__ARM_FEATURE_DSP) && defined(__arm__)
#error "the dsp kernel set needs a core with the Armv7E-M DSP extension (build with --kernels portable)"
#endif
#include "tml_simd.h"
#define tml_load4 tml_read32
#endif

/** acc + sum a[i] * b[i], i < n. */
TML_INLINE int32_t tml_dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t acc) {
  int32_t i = 0;
#if defined(TML_KERNELS_DSP)
  for (; i + 4 <= n; i += 4) {
    const uint32_t wa = tml_load4(a + i);
    const uint32_t wb = tml_load4(b + i);
    acc = tml_smlad(tml_sxtb16(wa), tml_sxtb16(wb), acc);
    acc = tml_smlad(tml_sxtb16_ror8(wa), tml_sxtb16_ror8(wb), acc);
  }
#else
  uint32_t s = (uint32_t)acc;
  for (; i + 4 <= n; i += 4) {
    s += (uint32_t)(a[i] * b[i]) + (uint32_t)(a[i + 1] * b[i + 1]) + (uint32_t)(a[i + 2] * b[i + 2]) +
         (uint32_t)(a[i + 3] * b[i + 3]);
  }
  acc = (int32_t)s;
#endif
  for (; i < n; ++i) acc = (int32_t)((uint32_t)acc + (uint32_t)(a[i] * b[i]));
  return acc;
}

/** Two dot products sharing `x`: *acc0 += x . w0, *acc1 += x . w1 (one pass over x). */
TML_INLINE void tml_dot2_s8(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n,
                            int32_t *acc0, int32_t *acc1) {
  int32_t i = 0;
#if defined(TML_KERNELS_DSP)
  int32_t s0 = *acc0, s1 = *acc1;
  for (; i + 4 <= n; i += 4) {
    const uint32_t wx = tml_load4(x + i);
    const uint32_t x02 = tml_sxtb16(wx), x13 = tml_sxtb16_ror8(wx);
    const uint32_t w0w = tml_load4(w0 + i), w1w = tml_load4(w1 + i);
    s0 = tml_smlad(x02, tml_sxtb16(w0w), s0);
    s0 = tml_smlad(x13, tml_sxtb16_ror8(w0w), s0);
    s1 = tml_smlad(x02, tml_sxtb16(w1w), s1);
    s1 = tml_smlad(x13, tml_sxtb16_ror8(w1w), s1);
  }
  for (; i < n; ++i) {
    s0 = (int32_t)((uint32_t)s0 + (uint32_t)(x[i] * w0[i]));
    s1 = (int32_t)((uint32_t)s1 + (uint32_t)(x[i] * w1[i]));
  }
  *acc0 = s0;
  *acc1 = s1;
#else
  uint32_t s0 = (uint32_t)*acc0, s1 = (uint32_t)*acc1;
  for (; i < n; ++i) {
    const int32_t xi = x[i];
    s0 += (uint32_t)(xi * w0[i]);
    s1 += (uint32_t)(xi * w1[i]);
  }
  *acc0 = (int32_t)s0;
  *acc1 = (int32_t)s1;
#endif
}

/**
 * Four dot products of two inputs with two weight rows (a 2x2 block of a matrix product):
 * acc[0] += x0 . w0, acc[1] += x0 . w1, acc[2] += x1 . w0, acc[3] += x1 . w1.
 * Each loaded value is used twice.
 */
TML_INLINE void tml_dot2x2_s8(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1,
                              int32_t n, int32_t acc[4]) {
  int32_t i = 0;
#if defined(TML_KERNELS_DSP)
  int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
  for (; i + 4 <= n; i += 4) {
    const uint32_t a = tml_load4(x0 + i), b = tml_load4(x1 + i);
    const uint32_t p = tml_load4(w0 + i), r = tml_load4(w1 + i);
    const uint32_t a02 = tml_sxtb16(a), a13 = tml_sxtb16_ror8(a);
    const uint32_t b02 = tml_sxtb16(b), b13 = tml_sxtb16_ror8(b);
    const uint32_t p02 = tml_sxtb16(p), p13 = tml_sxtb16_ror8(p);
    const uint32_t r02 = tml_sxtb16(r), r13 = tml_sxtb16_ror8(r);
    s00 = tml_smlad(a13, p13, tml_smlad(a02, p02, s00));
    s01 = tml_smlad(a13, r13, tml_smlad(a02, r02, s01));
    s10 = tml_smlad(b13, p13, tml_smlad(b02, p02, s10));
    s11 = tml_smlad(b13, r13, tml_smlad(b02, r02, s11));
  }
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
#else
  uint32_t s00 = (uint32_t)acc[0], s01 = (uint32_t)acc[1], s10 = (uint32_t)acc[2], s11 = (uint32_t)acc[3];
  for (; i < n; ++i) {
    const int32_t a = x0[i], b = x1[i], p = w0[i], r = w1[i];
    s00 += (uint32_t)(a * p);
    s01 += (uint32_t)(a * r);
    s10 += (uint32_t)(b * p);
    s11 += (uint32_t)(b * r);
  }
  acc[0] = (int32_t)s00;
  acc[1] = (int32_t)s01;
  acc[2] = (int32_t)s10;
  acc[3] = (int32_t)s11;
#endif
  for (; i < n; ++i) {
    acc[0] = (int32_t)((uint32_t)acc[0] + (uint32_t)(x0[i] * w0[i]));
    acc[1] = (int32_t)((uint32_t)acc[1] + (uint32_t)(x0[i] * w1[i]));
    acc[2] = (int32_t)((uint32_t)acc[2] + (uint32_t)(x1[i] * w0[i]));
    acc[3] = (int32_t)((uint32_t)acc[3] + (uint32_t)(x1[i] * w1[i]));
  }
}

#endif /* TML_DOT_H */
