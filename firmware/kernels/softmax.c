/*
 * softmax.c: SOFTMAX with an int8 input, int8 or int16 output.
 *
 * Reproduces TFLite's reference int8 softmax bit for bit: input differences from the row
 * maximum are rescaled to Q5.26, exponentiated with gemmlowp's fixed-point exp (a Taylor
 * polynomial on [-1/4, 0) plus a barrel shifter of exp(-2^k) constants), summed in Q12.19,
 * and each exponential is multiplied by the Newton-Raphson reciprocal of the sum.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/* Saturating x * 2^exponent for a small positive exponent (gemmlowp's SaturatingRoundingMultiplyByPOT). */
TML_INLINE int32_t sat_shl(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return tml_shl_wrap(x, exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_quarter_interval(int32_t a) {
  const int32_t constant_term = 1895147668;     /* exp(-1/8) in Q0.31 */
  const int32_t constant_1_over_3 = 715827883;  /* 1/3 in Q0.31 */
  const int32_t x = a + (1 << 28);              /* a + 1/8 */
  const int32_t x2 = tml_srdhm(x, x);
  const int32_t x3 = tml_srdhm(x2, x);
  const int32_t x4 = tml_srdhm(x2, x2);
  const int32_t x4_over_4 = tml_rdbypot(x4, 2);
  const int32_t poly = tml_rdbypot(tml_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
  return constant_term + tml_srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; result in Q0.31. */
static int32_t exp_negative_q5_26(int32_t a) {
  const int32_t one_quarter = 1 << 24;
  const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
  int32_t result = exp_quarter_interval(sat_shl(a_mod_quarter_minus_quarter, 5));
  const int32_t remainder = a_mod_quarter_minus_quarter - a;
  /* exp(-2^k) for k = -2..4, Q0.31; bit 26 + k of the remainder selects each factor. */
  static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                     39332535,   720401,     242};
  int k;
  for (k = 0; k < 7; ++k) {
    if (remainder & ((int32_t)1 << (24 + k))) result = tml_srdhm(result, factors[k]);
  }
  return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out (Newton-Raphson, three steps). */
static int32_t one_over_one_plus_x(int32_t a) {
  const int64_t sum = (int64_t)a + INT32_MAX;
  const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int32_t one_q2_29 = 1 << 29;
  int32_t x = 1515870810 + tml_srdhm(half_denominator, -1010580540); /* 48/17 - 32/17 d, Q2.29 */
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t one_minus_dx = one_q2_29 - tml_srdhm(half_denominator, x);
    x = x + sat_shl(tml_srdhm(x, one_minus_dx), 2);
  }
  return sat_shl(x, 1);
}

static int count_leading_zeros(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* One row: writes out_bits-wide results (8 into out8, or 16 into out16). */
static void softmax_row(const tml_softmax_params *p, const int8_t *in, int out_bits,
                        int8_t *out8, int16_t *out16) {
  const int32_t out_min = out_bits == 8 ? -128 : -32768;
  const int32_t out_max = out_bits == 8 ? 127 : 32767;
  int32_t max_in = -128;
  int32_t sum = 0; /* Q12.19 */
  int32_t c;
  int headroom, bits_over_unit;
  int32_t scale;
  for (c = 0; c < p->depth; ++c) if (in[c] > max_in) max_in = in[c];
  for (c = 0; c < p->depth; ++c) {
    const int32_t diff = (int32_t)in[c] - max_in;
    if (diff >= p->diff_min) {
      const int32_t scaled = tml_srdhm(tml_shl_wrap(diff, (int)p->input_left_shift), p->input_multiplier);
      sum += tml_rdbypot(exp_negative_q5_26(scaled), 12);
    }
  }
  headroom = count_leading_zeros((uint32_t)sum);
  bits_over_unit = 12 - headroom;
  scale = one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - ((uint32_t)1 << 31)));
  for (c = 0; c < p->depth; ++c) {
    const int32_t diff = (int32_t)in[c] - max_in;
    int32_t v = out_min;
    if (diff >= p->diff_min) {
      const int32_t scaled = tml_srdhm(tml_shl_wrap(diff, (int)p->input_left_shift), p->input_multiplier);
      const int32_t e = exp_negative_q5_26(scaled);
      v = tml_rdbypot(tml_srdhm(scale, e), bits_over_unit + 31 - out_bits) + out_min;
      v = tml_clamp(v, out_min, out_max);
    }
    if (out_bits == 8) out8[c] = (int8_t)v;
    else out16[c] = (int16_t)v;
  }
}

void tml_softmax_s8(const tml_softmax_params *p, const int8_t *input, int8_t *output) {
  int32_t r;
  for (r = 0; r < p->outer; ++r) softmax_row(p, input + r * p->depth, 8, output + r * p->depth, 0);
}

void tml_softmax_s8_s16(const tml_softmax_params *p, const int8_t *input, int16_t *output) {
  int32_t r;
  for (r = 0; r < p->outer; ++r) softmax_row(p, input + r * p->depth, 16, 0, output + r * p->depth);
}
