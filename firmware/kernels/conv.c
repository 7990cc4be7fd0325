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
#include "tml_dot.h"

/** Requantizes one accumulator for output channel c and stores it. */
TML_INLINE int8_t conv_requant(const tml_requant *q, int32_t c, int32_t acc) {
  const int32_t i = q->per_channel ? c : 0;
  acc = tml_mbqm(acc, q->multiplier[i], q->shift[i]) + q->output_offset;
  return (int8_t)tml_clamp(acc, q->act_min, q->act_max);
}

/* Sum of a filter's weights over taps (ky, kx) with ky in [ky_lo, ky_hi) and kx in [kx_lo, kx_hi). */
static int32_t weight_sum(const tml_window_dims *d, const int8_t *f, int32_t ky_lo, int32_t ky_hi,
                          int32_t kx_lo, int32_t kx_hi) {
  int32_t s = 0, ky, i;
  for (ky = ky_lo; ky < ky_hi; ++ky) {
    const int8_t *w = f + (ky * d->k_w + kx_lo) * d->in_c;
    const int32_t n = (kx_hi - kx_lo) * d->in_c;
    for (i = 0; i < n; ++i) s += w[i];
  }
  return s;
}

/*
 * The taps of a window that fall in the padding: rows above/below the image, and the columns
 * left/right of it in the remaining rows. In the reference they add w * (pad value + input
 * offset) = 0; the folded bias counted them, so their weights times input_offset come back out.
 */
static int32_t padding_correction(const tml_window_dims *d, const tml_requant *q, const int8_t *f,
                                  int32_t ky0, int32_t ky1, int32_t kx0, int32_t kx1) {
  int32_t outside = weight_sum(d, f, 0, ky0, 0, d->k_w) + weight_sum(d, f, ky1, d->k_h, 0, d->k_w);
  outside += weight_sum(d, f, ky0, ky1, 0, kx0) + weight_sum(d, f, ky0, ky1, kx1, d->k_w);
  return outside * q->input_offset;
}

/* Generic path for dilated filters: tap by tap. */
static void conv_dilated(const tml_window_dims *d, const tml_requant *q, const int8_t *input,
                         const int8_t *filter, const int32_t *bias, int8_t *output) {
  const int32_t in_row = d->in_w * d->in_c;
  const int32_t filter_per_out = d->k_h * d->k_w * d->in_c;
  int32_t b, oy, ox, oc, ky, kx, ic;
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        int8_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * d->out_c;
        for (oc = 0; oc < d->out_c; ++oc) {
          const int8_t *f = filter + oc * filter_per_out;
          int32_t acc = bias[oc];
          for (ky = 0; ky < d->k_h; ++ky) {
            const int32_t iy = iy0 + ky * d->dil_h;
            for (kx = 0; kx < d->k_w; ++kx) {
              const int32_t ix = ix0 + kx * d->dil_w;
              const int8_t *w = f + (ky * d->k_w + kx) * d->in_c;
              if (iy >= 0 && iy < d->in_h && ix >= 0 && ix < d->in_w) {
                acc = tml_dot_s8(in_b + iy * in_row + ix * d->in_c, w, d->in_c, acc);
              } else {
                int32_t wsum = 0;
                for (ic = 0; ic < d->in_c; ++ic) wsum += w[ic];
                acc -= wsum * q->input_offset;
              }
            }
          }
          out[oc] = conv_requant(q, oc, acc);
        }
      }
    }
  }
}

/*
 * 1x1 filter, stride 1, no padding: a matrix product [pixels, in_c] x [in_c, out_c], computed
 * in 2x2 blocks (two pixels by two output channels) so every load feeds two multiply-adds.
 */
static void conv_pointwise(const tml_window_dims *d, const tml_requant *q, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output) {
  const int32_t pixels = d->batches * d->out_h * d->out_w;
  const int32_t n = d->in_c;
  int32_t p = 0, oc;
  for (; p + 1 < pixels; p += 2) {
    const int8_t *x0 = input + p * n;
    const int8_t *x1 = x0 + n;
    int8_t *o0 = output + p * d->out_c;
    int8_t *o1 = o0 + d->out_c;
    for (oc = 0; oc + 1 < d->out_c; oc += 2) {
      int32_t acc[4];
      acc[0] = acc[2] = bias[oc];
      acc[1] = acc[3] = bias[oc + 1];
      tml_dot2x2_s8(x0, x1, filter + oc * n, filter + (oc + 1) * n, n, acc);
      o0[oc] = conv_requant(q, oc, acc[0]);
      o0[oc + 1] = conv_requant(q, oc + 1, acc[1]);
      o1[oc] = conv_requant(q, oc, acc[2]);
      o1[oc + 1] = conv_requant(q, oc + 1, acc[3]);
    }
    if (oc < d->out_c) {
      o0[oc] = conv_requant(q, oc, tml_dot_s8(x0, filter + oc * n, n, bias[oc]));
      o1[oc] = conv_requant(q, oc, tml_dot_s8(x1, filter + oc * n, n, bias[oc]));
    }
  }
  if (p < pixels) {
    const int8_t *x = input + p * n;
    for (oc = 0; oc < d->out_c; ++oc) output[p * d->out_c + oc] = conv_requant(q, oc, tml_dot_s8(x, filter + oc * n, n, bias[oc]));
  }
}

void tml_conv2d_s8(const tml_window_dims *d, const tml_requant *q, const int8_t *input,
                   const int8_t *filter, const int32_t *bias, int8_t *output) {
  const int32_t in_row = d->in_w * d->in_c;
  const int32_t filter_per_out = d->k_h * d->k_w * d->in_c;
  const int32_t filter_row = d->k_w * d->in_c;
  int32_t b, oy, ox, oc, ky;
  if (d->dil_h != 1 || d->dil_w != 1) {
    conv_dilated(d, q, input, filter, bias, output);
    return;
  }
  if (d->k_h == 1 && d->k_w == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_top == 0 &&
      d->pad_left == 0 && d->out_h == d->in_h && d->out_w == d->in_w) {
    conv_pointwise(d, q, input, filter, bias, output);
    return;
  }
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      /* The filter rows [ky0, ky1) that land inside the image. */
      const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
      const int32_t ky1 = d->in_h - iy0 < d->k_h ? d->in_h - iy0 : d->k_h;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
        const int32_t kx1 = d->in_w - ix0 < d->k_w ? d->in_w - ix0 : d->k_w;
        /* Each clipped filter row is one contiguous run in both the input and the filter. */
        const int32_t run = (kx1 - kx0) * d->in_c;
        const int8_t *x0 = in_b + (iy0 + ky0) * in_row + (ix0 + kx0) * d->in_c;
        const int32_t f_off = ky0 * filter_row + kx0 * d->in_c;
        const int border = ky0 != 0 || ky1 != d->k_h || kx0 != 0 || kx1 != d->k_w;
        int8_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * d->out_c;
        for (oc = 0; oc + 1 < d->out_c; oc += 2) {
          const int8_t *f0 = filter + oc * filter_per_out;
          const int8_t *f1 = f0 + filter_per_out;
          int32_t acc0 = bias[oc];
          int32_t acc1 = bias[oc + 1];
          if (border) {
            acc0 -= padding_correction(d, q, f0, ky0, ky1, kx0, kx1);
            acc1 -= padding_correction(d, q, f1, ky0, ky1, kx0, kx1);
          }
          const int8_t *x = x0;
          for (ky = ky0; ky < ky1; ++ky, x += in_row) {
            const int32_t r = (ky - ky0) * filter_row + f_off;
            tml_dot2_s8(x, f0 + r, f1 + r, run, &acc0, &acc1);
          }
          out[oc] = conv_requant(q, oc, acc0);
          out[oc + 1] = conv_requant(q, oc + 1, acc1);
        }
        if (oc < d->out_c) {
          const int8_t *f = filter + oc * filter_per_out;
          int32_t acc = bias[oc] - (border ? padding_correction(d, q, f, ky0, ky1, kx0, kx1) : 0);
          const int8_t *x = x0;
          for (ky = ky0; ky < ky1; ++ky, x += in_row) acc = tml_dot_s8(x, f + (ky - ky0) * filter_row + f_off, run, acc);
          out[oc] = conv_requant(q, oc, acc);
        }
      }
    }
  }
}
