/*
 * transpose_conv.c: TRANSPOSE_CONV, int8 activations, int8 per-channel weights, int32 bias
 * (TFLite's reference_integer_ops::TransposeConv).
 *
 * The reference scatters every input element into an int32 buffer the size of the output;
 * this kernel gathers instead: output (oy, ox) sums input (iy, ix) through tap (fy, fx)
 * exactly when iy * stride_h - pad_top + fy == oy (and the same along x). The set of terms is
 * the same and int32 sums do not depend on their order, so the results are identical, with no
 * scratch memory.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

void tml_transpose_conv_s8(const tml_window_dims *d, const tml_requant *q, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output) {
  int32_t b, oy, ox, oc, fy, fx, ic;
  for (b = 0; b < d->batches; ++b) {
    for (oy = 0; oy < d->out_h; ++oy) {
      for (ox = 0; ox < d->out_w; ++ox) {
        int8_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * d->out_c;
        for (oc = 0; oc < d->out_c; ++oc) {
          const int32_t i = q->per_channel ? oc : 0;
          int32_t acc = 0;
          for (fy = 0; fy < d->k_h; ++fy) {
            const int32_t ty = oy + d->pad_top - fy;
            int32_t iy;
            if (ty < 0 || ty % d->stride_h != 0) continue;
            iy = ty / d->stride_h;
            if (iy >= d->in_h) continue;
            for (fx = 0; fx < d->k_w; ++fx) {
              const int32_t tx = ox + d->pad_left - fx;
              const int8_t *x;
              const int8_t *w;
              int32_t ix;
              if (tx < 0 || tx % d->stride_w != 0) continue;
              ix = tx / d->stride_w;
              if (ix >= d->in_w) continue;
              x = input + ((b * d->in_h + iy) * d->in_w + ix) * d->in_c;
              w = filter + ((oc * d->k_h + fy) * d->k_w + fx) * d->in_c;
              for (ic = 0; ic < d->in_c; ++ic) acc += ((int32_t)x[ic] + q->input_offset) * (int32_t)w[ic];
            }
          }
          if (bias) acc += bias[oc];
          acc = tml_mbqm(acc, q->multiplier[i], q->shift[i]) + q->output_offset;
          out[oc] = (int8_t)tml_clamp(acc, q->act_min, q->act_max);
        }
      }
    }
  }
}
