/*
 * add.c: ADD for int8 (TFLite's quantized add: both inputs are shifted left by left_shift,
 * rescaled to a common scale, summed, and the sum is rescaled to the output).
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

TML_INLINE int8_t add_one(const tml_add_params *p, int32_t a, int32_t b) {
  const int32_t x1 = tml_shl_wrap(a + p->input1_offset, (int)p->left_shift);
  const int32_t x2 = tml_shl_wrap(b + p->input2_offset, (int)p->left_shift);
  const int32_t s1 = tml_mbqm(x1, p->input1_multiplier, p->input1_shift);
  const int32_t s2 = tml_mbqm(x2, p->input2_multiplier, p->input2_shift);
  const int32_t out = tml_mbqm(s1 + s2, p->output_multiplier, p->output_shift) + p->output_offset;
  return (int8_t)tml_clamp(out, p->act_min, p->act_max);
}

void tml_add_s8(const tml_add_params *p, const int8_t *input1, const int8_t *input2,
                int8_t *output) {
  if (!p->broadcast) {
    const int32_t n = p->out_shape[0] * p->out_shape[1] * p->out_shape[2] * p->out_shape[3];
    int32_t i;
    for (i = 0; i < n; ++i) output[i] = add_one(p, input1[i], input2[i]);
  } else {
    int32_t i0, i1, i2, i3;
    int8_t *out = output;
    for (i0 = 0; i0 < p->out_shape[0]; ++i0)
      for (i1 = 0; i1 < p->out_shape[1]; ++i1)
        for (i2 = 0; i2 < p->out_shape[2]; ++i2)
          for (i3 = 0; i3 < p->out_shape[3]; ++i3) {
            const int32_t a = i0 * p->in1_strides[0] + i1 * p->in1_strides[1] +
                              i2 * p->in1_strides[2] + i3 * p->in1_strides[3];
            const int32_t b = i0 * p->in2_strides[0] + i1 * p->in2_strides[1] +
                              i2 * p->in2_strides[2] + i3 * p->in2_strides[3];
            *out++ = add_one(p, input1[a], input2[b]);
          }
  }
}
