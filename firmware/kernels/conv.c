/*
 * conv.c: CONV_2D for int8 activations and int8 per-channel weights.
 *
 * Same results as TFLite Micro's reference ConvPerChannel; faster because the input offset is
 * folded into the bias at generation time (the inner loop is a plain int8 dot product) and,
 * for windows entirely inside the image with no dilation, each filter row is one contiguous
 * run of k_w * in_c values in both the input and the filter.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/** Requantizes one accumulator for output channel c and stores it. */
TML_INLINE int8_t conv_requant(const tml_requant *q, int32_t c, int32_t acc) {
  const int32_t i = q->per_channel ? c : 0;
  acc = tml_mbqm(acc, q->multiplier[i], q->shift[i]) + q->output_offset;
  return (int8_t)tml_clamp(acc, q->act_min, q->act_max);
}

void tml_conv2d_s8(const tml_window_dims *d, const tml_requant *q, const int8_t *input,
                   const int8_t *filter, const int32_t *bias, int8_t *output) {
  const int32_t in_row = d->in_w * d->in_c;
  const int32_t filter_per_out = d->k_h * d->k_w * d->in_c;
  const int32_t run = d->k_w * d->in_c; /* contiguous values per filter row (no dilation) */
  int32_t b, oy, ox, oc, ky, kx, ic;
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        const int inside = iy0 >= 0 && ix0 >= 0 &&
                           iy0 + (d->k_h - 1) * d->dil_h < d->in_h &&
                           ix0 + (d->k_w - 1) * d->dil_w < d->in_w;
        for (oc = 0; oc < d->out_c; ++oc) {
          const int8_t *f = filter + oc * filter_per_out;
          int32_t acc = bias[oc];
          if (inside && d->dil_w == 1) {
            for (ky = 0; ky < d->k_h; ++ky) {
              const int8_t *x = in_b + (iy0 + ky * d->dil_h) * in_row + ix0 * d->in_c;
              const int8_t *w = f + ky * run;
              int32_t i;
              for (i = 0; i < run; ++i) acc += (int32_t)x[i] * (int32_t)w[i];
            }
          } else {
            /* Border window: taps in the padding would add w * (zero_point + input_offset) = 0
               in the reference; the folded bias counted them, so take them back out. */
            for (ky = 0; ky < d->k_h; ++ky) {
              const int32_t iy = iy0 + ky * d->dil_h;
              for (kx = 0; kx < d->k_w; ++kx) {
                const int32_t ix = ix0 + kx * d->dil_w;
                const int8_t *w = f + (ky * d->k_w + kx) * d->in_c;
                if (iy >= 0 && iy < d->in_h && ix >= 0 && ix < d->in_w) {
                  const int8_t *x = in_b + iy * in_row + ix * d->in_c;
                  for (ic = 0; ic < d->in_c; ++ic) acc += (int32_t)x[ic] * (int32_t)w[ic];
                } else {
                  int32_t wsum = 0;
                  for (ic = 0; ic < d->in_c; ++ic) wsum += w[ic];
                  acc -= wsum * q->input_offset;
                }
              }
            }
          }
          output[((b * d->out_h + oy) * d->out_w + ox) * d->out_c + oc] = conv_requant(q, oc, acc);
        }
      }
    }
  }
}
