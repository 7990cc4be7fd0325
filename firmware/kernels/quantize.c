/*
 * quantize.c: QUANTIZE (float -> int, and int -> int requantization) and DEQUANTIZE.
 * Integer requantization is TFLite's Requantize; float rounding is done without libm.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

#define TML_DEFINE_REQUANTIZE(name, in_t, out_t, lo, hi)                                   \
  void name(const tml_requantize_params *p, const in_t *input, out_t *output) {           \
    int32_t i;                                                                             \
    for (i = 0; i < p->count; ++i) {                                                       \
      const int32_t v = tml_mbqm((int32_t)input[i] - p->input_zero_point, p->multiplier,   \
                                 p->shift);                                                \
      /* The zero point is added in 64 bits so an int32 output cannot overflow. */          \
      const int64_t o = (int64_t)v + p->output_zero_point;                                 \
      output[i] = (out_t)(o < (lo) ? (lo) : (o > (hi) ? (hi) : o));                        \
    }                                                                                      \
  }

TML_DEFINE_REQUANTIZE(tml_requantize_s16_s8, int16_t, int8_t, -128, 127)
TML_DEFINE_REQUANTIZE(tml_requantize_s8_s8, int8_t, int8_t, -128, 127)
TML_DEFINE_REQUANTIZE(tml_requantize_s8_s16, int8_t, int16_t, -32768, 32767)
TML_DEFINE_REQUANTIZE(tml_requantize_s16_s16, int16_t, int16_t, -32768, 32767)
TML_DEFINE_REQUANTIZE(tml_requantize_s8_s32, int8_t, int32_t, INT32_MIN, INT32_MAX)
TML_DEFINE_REQUANTIZE(tml_requantize_s16_s32, int16_t, int32_t, INT32_MIN, INT32_MAX)

/* Rounds to an integer-valued float, halves away from zero (as C's roundf) or to even. */
static float round_float(float v, int32_t half_even) {
  float t, diff;
  if (!(v > -8388608.0f && v < 8388608.0f)) return v; /* already integral (or NaN) */
  t = (float)(int32_t)v; /* truncation toward zero */
  diff = v - t;          /* exact */
  if (diff > 0.5f || (diff == 0.5f && (!half_even || ((int32_t)t & 1)))) t += 1.0f;
  else if (diff < -0.5f || (diff == -0.5f && (!half_even || ((int32_t)t & 1)))) t -= 1.0f;
  return t;
}

static int32_t quantize_one(float x, float scale, int32_t zero_point, int32_t half_even,
                            int32_t lo, int32_t hi) {
  const float r = round_float(x / scale, half_even);
  if (r != r) return tml_clamp(zero_point, lo, hi); /* NaN */
  if (r <= (float)lo - (float)zero_point) return lo;
  if (r >= (float)hi - (float)zero_point) return hi;
  return tml_clamp((int32_t)r + zero_point, lo, hi);
}

void tml_quantize_f32_s8(int32_t count, float scale, int32_t zero_point, int32_t round_half_even,
                         const float *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < count; ++i)
    output[i] = (int8_t)quantize_one(input[i], scale, zero_point, round_half_even, -128, 127);
}

void tml_quantize_f32_s16(int32_t count, float scale, int32_t zero_point, int32_t round_half_even,
                          const float *input, int16_t *output) {
  int32_t i;
  for (i = 0; i < count; ++i)
    output[i] = (int16_t)quantize_one(input[i], scale, zero_point, round_half_even, -32768, 32767);
}

void tml_dequantize_s8_f32(int32_t count, float scale, int32_t zero_point, const int8_t *input,
                           float *output) {
  int32_t i;
  /* One float multiply of exact operands rounds like TFLite's double multiply cast to float. */
  for (i = 0; i < count; ++i) output[i] = scale * (float)((int32_t)input[i] - zero_point);
}

void tml_dequantize_s16_f32(int32_t count, float scale, int32_t zero_point, const int16_t *input,
                            float *output) {
  int32_t i;
  for (i = 0; i < count; ++i) output[i] = scale * (float)((int32_t)input[i] - zero_point);
}
