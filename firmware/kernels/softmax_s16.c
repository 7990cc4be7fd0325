/*
 * softmax_s16.c: SOFTMAX int16 -> int16 (TFLite's reference SoftmaxInt16).
 *
 * Per row: e[c] = exp table at clamp16(mbqm(x[c] - max) + 32767) (Q0.15), sum in int32; the
 * sum normalised to [1, 2) indexes the 1/(1+x) table; y[c] = e[c] * reciprocal rounded down
 * by 31 - clz(sum) bits, clamped to [0, 32767]. The exponentials are kept in the output row
 * between the two passes, as the reference does, so no scratch memory is needed.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/* Leading zeros of a positive int32 (TFLite's CountLeadingZeros). */
TML_INLINE int clz32(uint32_t x) {
#if defined(__GNUC__)
  return __builtin_clz(x);
#else
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
#endif
}

/* TFLite's LUTLookup for int16: 9 index bits, 7 bits of linear interpolation. */
TML_INLINE int16_t lut_lookup(int32_t value, const int16_t *lut) {
  const int32_t index = 256 + (value >> 7);
  const int32_t offset = value & 0x7f;
  const int16_t base = lut[index];
  const int16_t slope = (int16_t)(lut[index + 1] - base);
  const int32_t delta = (slope * offset + 64) >> 7;
  return (int16_t)(base + delta);
}

void tml_softmax_s16(const tml_softmax_s16_params *p, const int16_t *input, int16_t *output) {
  int32_t r, c;
  for (r = 0; r < p->outer; ++r) {
    const int16_t *x = input + r * p->depth;
    int16_t *y = output + r * p->depth;
    int32_t max_in_row = -32768;
    int32_t sum = 0;
    int headroom_plus_one, right_shift;
    int32_t shifted, reciprocal;
    for (c = 0; c < p->depth; ++c) {
      if (x[c] > max_in_row) max_in_row = x[c];
    }
    for (c = 0; c < p->depth; ++c) {
      const int32_t scaled = tml_mbqm(x[c] - max_in_row, p->input_multiplier, p->input_shift) + 32767;
      y[c] = lut_lookup(tml_clamp(scaled, -32768, 32767), p->exp_lut);
      sum += y[c];
    }
    /* sum >= e(0) > 0, so clz is in [1, 31]. */
    headroom_plus_one = clz32((uint32_t)sum);
    shifted = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    reciprocal = lut_lookup(tml_clamp(shifted - (32768 + 65536), -32768, 32767), p->one_over_one_plus_x_lut);
    right_shift = 31 - headroom_plus_one;
    for (c = 0; c < p->depth; ++c) {
      const int64_t v = ((int64_t)y[c] * reciprocal + ((int64_t)1 << (right_shift - 1))) >> right_shift;
      y[c] = (int16_t)tml_clamp((int32_t)v, 0, 32767);
    }
  }
}
