/*
 * l2norm.c: L2_NORMALIZATION, int8, over the last axis (TFLM l2norm.cc,
 * reference_integer_ops::L2Normalization; 1/sqrt by GetInvSqrtQuantizedMultiplierExp's
 * Newton-Raphson iteration in Q3 fixed point). Output in units of 1/128, zero point 0.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/* gemmlowp SaturatingRoundingMultiplyByPOT for a left shift: x * 2^e, saturated to int32. */
TML_INLINE int32_t sat_shl(int32_t x, int e) {
  const int32_t threshold = (int32_t)(((int64_t)1 << (31 - e)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return tml_shl_wrap(x, e);
}

static int32_t clz32(uint32_t x) {
  int32_t n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* 1 / sqrt(acc) as a multiplier and a shift (positive = left), acc >= 0 (TFLM semantics). */
static void inv_sqrt(int32_t acc, int32_t *multiplier, int32_t *shift) {
  int32_t s = 11, pairs, half_input, r, i;
  if (acc <= 1) {
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  while (acc >= (1 << 29)) {
    acc /= 4;
    ++s;
  }
  pairs = (clz32((uint32_t)acc) - 1) / 2 - 1;
  s -= pairs;
  acc <<= 2 * pairs;
  half_input = tml_rdbypot(acc >> 1, 1); /* input / 2 in Q3 */
  r = 1 << 28;                           /* 1.0 in Q3 */
  for (i = 0; i < 5; ++i) {
    const int32_t r3 = sat_shl(tml_srdhm(tml_srdhm(r, r), r), 6);
    const uint32_t diff = (uint32_t)tml_srdhm((1 << 28) + (1 << 27), r) - (uint32_t)tml_srdhm(half_input, r3);
    r = sat_shl((int32_t)diff, 3); /* 1.5 r - (input / 2) r^3, Q6 -> Q3 */
  }
  r = tml_srdhm(r, 1518500250); /* times sqrt(2) / 2 */
  if (s < 0) {
    r = tml_shl_wrap(r, (int)-s);
    s = 0;
  }
  *multiplier = r;
  *shift = -s;
}

void tml_l2_normalization_s8(int32_t rows, int32_t depth, int32_t input_zero_point,
                             const int8_t *input, int8_t *output) {
  int32_t row, k;
  for (row = 0; row < rows; ++row) {
    const int8_t *in = input + row * depth;
    int8_t *out = output + row * depth;
    uint32_t acc = 0; /* wraps like the reference's int32 sum */
    int32_t multiplier, shift;
    for (k = 0; k < depth; ++k) {
      const int32_t c = in[k] - input_zero_point;
      acc += (uint32_t)(c * c);
    }
    inv_sqrt((int32_t)acc, &multiplier, &shift);
    for (k = 0; k < depth; ++k)
      out[k] = (int8_t)tml_clamp(tml_mbqm(in[k] - input_zero_point, multiplier, shift + 7), -128, 127);
  }
}
