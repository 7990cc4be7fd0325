/*
 * depthwise_conv.c: DEPTHWISE_CONV_2D for int8 activations and int8 per-channel weights.
 *
 * Same results as TFLite Micro's reference DepthwiseConvPerChannel; the input offset is folded
 * into the bias at generation time, and padding taps are subtracted back out on border windows.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/* Accumulators kept on the stack per chunk of channels (the kernel allocates nothing). */
#define TML_DW_CHUNK 32

/* Generic path: dilated filters or depth multipliers above TML_DW_CHUNK, tap by tap. */
static void depthwise_generic(const tml_window_dims *d, const tml_requant *q, int32_t depth_multiplier,
                              const int8_t *input, const int8_t *filter, const int32_t *bias,
                              int8_t *output) {
  const int32_t in_row = d->in_w * d->in_c;
  int32_t b, oy, ox, oc, ky, kx;
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        int8_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * d->out_c;
        for (oc = 0; oc < d->out_c; ++oc) {
          const int32_t ic = oc / depth_multiplier;
          const int32_t i = q->per_channel ? oc : 0;
          int32_t acc = bias[oc];
          for (ky = 0; ky < d->k_h; ++ky) {
            const int32_t iy = iy0 + ky * d->dil_h;
            const int inside_y = iy >= 0 && iy < d->in_h;
            for (kx = 0; kx < d->k_w; ++kx) {
              const int32_t ix = ix0 + kx * d->dil_w;
              const int32_t w = filter[(ky * d->k_w + kx) * d->out_c + oc];
              if (inside_y && ix >= 0 && ix < d->in_w) {
                acc += w * (int32_t)in_b[iy * in_row + ix * d->in_c + ic];
              } else {
                acc -= w * q->input_offset; /* padding tap: the folded bias counted it */
              }
            }
          }
          acc = tml_mbqm(acc, q->multiplier[i], q->shift[i]) + q->output_offset;
          out[oc] = (int8_t)tml_clamp(acc, q->act_min, q->act_max);
        }
      }
    }
  }
}

void tml_depthwise_conv2d_s8(const tml_window_dims *d, const tml_requant *q,
                             int32_t depth_multiplier, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output) {
  const int32_t in_row = d->in_w * d->in_c;
  const int32_t m = depth_multiplier;
  /* Output channels per chunk: a whole number of input channels' worth. */
  const int32_t chunk = m <= TML_DW_CHUNK ? (TML_DW_CHUNK / m) * m : 0;
  int32_t acc[TML_DW_CHUNK];
  int32_t b, oy, ox, c0, c, j, k, ky, kx;
  if (chunk == 0 || d->dil_h != 1 || d->dil_w != 1) {
    depthwise_generic(d, q, depth_multiplier, input, filter, bias, output);
    return;
  }
  /* For every tap, the output channels of a chunk are contiguous in the filter and the output,
     and their input channels (c / m) are contiguous in the input: accumulate tap by tap. */
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        int8_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * d->out_c;
        for (c0 = 0; c0 < d->out_c; c0 += chunk) {
          const int32_t n = d->out_c - c0 < chunk ? d->out_c - c0 : chunk;
          for (c = 0; c < n; ++c) acc[c] = bias[c0 + c];
          for (ky = 0; ky < d->k_h; ++ky) {
            const int32_t iy = iy0 + ky;
            for (kx = 0; kx < d->k_w; ++kx) {
              const int32_t ix = ix0 + kx;
              const int8_t *w = filter + (ky * d->k_w + kx) * d->out_c + c0;
              if (iy >= 0 && iy < d->in_h && ix >= 0 && ix < d->in_w) {
                const int8_t *x = in_b + iy * in_row + ix * d->in_c + c0 / m;
                if (m == 1) {
                  for (c = 0; c < n; ++c) acc[c] += (int32_t)x[c] * (int32_t)w[c];
                } else {
                  for (j = 0, c = 0; c < n; ++j) {
                    const int32_t xv = x[j];
                    for (k = 0; k < m; ++k, ++c) acc[c] += xv * (int32_t)w[c];
                  }
                }
              } else {
                for (c = 0; c < n; ++c) acc[c] -= (int32_t)w[c] * q->input_offset; /* padding tap */
              }
            }
          }
          for (c = 0; c < n; ++c) {
            const int32_t i = q->per_channel ? c0 + c : 0;
            const int32_t v = tml_mbqm(acc[c], q->multiplier[i], q->shift[i]) + q->output_offset;
            out[c0 + c] = (int8_t)tml_clamp(v, q->act_min, q->act_max);
          }
        }
      }
    }
  }
}
