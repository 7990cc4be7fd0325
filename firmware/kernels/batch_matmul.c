/*
 * batch_matmul.c: BATCH_MATMUL, int8 (int32 accumulator) and int16 (int64 accumulator), TFLite
 * Micro batch_matmul.cc with the reference batch_matmul.h. Layout: tml_kernels_shape.h.
 */
#include <stddef.h>

#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/*
 * TFLite's MultiplyByQuantizedMultiplier for an int64 accumulator: the Q31 multiplier reduced to
 * Q15 with rounding, one rounding right shift by 15 - shift (shift in [-31, 7]).
 */
static int32_t mbqm64(int64_t x, int32_t multiplier, int32_t shift) {
  const int32_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int32_t total_shift = 15 - shift;
  const int64_t round = (int64_t)1 << (total_shift - 1);
  return (int32_t)((x * reduced + round) >> total_shift);
}

void tml_batch_matmul_s8(const tml_batch_matmul_params *p, const int8_t *a, const int8_t *b, int8_t *output) {
  int32_t t, i, j, k;
  for (t = 0; t < p->batches; ++t) {
    const int8_t *am = a + p->a_offsets[t];
    const int8_t *bm = b + p->b_offsets[t];
    for (i = 0; i < p->rows; ++i) {
      const int8_t *arow = am + (ptrdiff_t)i * p->a_row_step;
      for (j = 0; j < p->cols; ++j) {
        const int8_t *bcol = bm + (ptrdiff_t)j * p->b_col_step;
        int32_t acc = 0;
        for (k = 0; k < p->depth; ++k) {
          acc += ((int32_t)arow[(ptrdiff_t)k * p->a_depth_step] + p->a_offset) *
                 ((int32_t)bcol[(ptrdiff_t)k * p->b_depth_step] + p->b_offset);
        }
        *output++ = (int8_t)tml_clamp(tml_mbqm(acc, p->multiplier, p->shift) + p->output_offset, p->act_min, p->act_max);
      }
    }
  }
}

void tml_batch_matmul_s16(const tml_batch_matmul_params *p, const int16_t *a, const int16_t *b, int16_t *output) {
  int32_t t, i, j, k;
  for (t = 0; t < p->batches; ++t) {
    const int16_t *am = a + p->a_offsets[t];
    const int16_t *bm = b + p->b_offsets[t];
    for (i = 0; i < p->rows; ++i) {
      const int16_t *arow = am + (ptrdiff_t)i * p->a_row_step;
      for (j = 0; j < p->cols; ++j) {
        const int16_t *bcol = bm + (ptrdiff_t)j * p->b_col_step;
        int64_t acc = 0;
        for (k = 0; k < p->depth; ++k) {
          acc += (int64_t)((int32_t)arow[(ptrdiff_t)k * p->a_depth_step] + p->a_offset) *
                 ((int32_t)bcol[(ptrdiff_t)k * p->b_depth_step] + p->b_offset);
        }
        *output++ = (int16_t)tml_clamp(mbqm64(acc, p->multiplier, p->shift) + p->output_offset, p->act_min, p->act_max);
      }
    }
  }
}
