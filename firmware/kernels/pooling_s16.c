/*
 * pooling_s16.c: AVERAGE_POOL_2D and MAX_POOL_2D for int16 activations (TFLite Micro's
 * reference_integer_ops pooling for int16: only taps inside the image count; the int32 sum
 * is divided rounding half away from zero; input and output share scale and zero point).
 * input [batches, in_h, in_w, c] int16 -> output [batches, out_h, out_w, c] int16.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/* The window's tap range [*lo, *hi) along one axis, clipped to the image. */
TML_INLINE void clip_window(int32_t origin, int32_t k, int32_t size, int32_t *lo, int32_t *hi) {
  *lo = origin < 0 ? -origin : 0;
  *hi = size - origin < k ? size - origin : k;
}

int tml_avg_pool2d_s16(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                       const int16_t *input, int16_t *output) {
  int32_t b, oy, ox, c, ky, kx, ky0, ky1, kx0, kx1;
  for (b = 0; b < d->batches; ++b) {
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      clip_window(iy0, d->k_h, d->in_h, &ky0, &ky1);
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        int32_t count;
        clip_window(ix0, d->k_w, d->in_w, &kx0, &kx1);
        if (ky1 <= ky0 || kx1 <= kx0) return -1;
        count = (ky1 - ky0) * (kx1 - kx0);
        for (c = 0; c < d->in_c; ++c) {
          int32_t acc = 0;
          for (ky = ky0; ky < ky1; ++ky) {
            for (kx = kx0; kx < kx1; ++kx) {
              acc += input[((b * d->in_h + iy0 + ky) * d->in_w + ix0 + kx) * d->in_c + c];
            }
          }
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          output[((b * d->out_h + oy) * d->out_w + ox) * d->out_c + c] = (int16_t)tml_clamp(acc, act_min, act_max);
        }
      }
    }
  }
  return 0;
}

void tml_max_pool2d_s16(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                        const int16_t *input, int16_t *output) {
  int32_t b, oy, ox, c, ky, kx, ky0, ky1, kx0, kx1;
  for (b = 0; b < d->batches; ++b) {
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      clip_window(iy0, d->k_h, d->in_h, &ky0, &ky1);
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        clip_window(ix0, d->k_w, d->in_w, &kx0, &kx1);
        for (c = 0; c < d->in_c; ++c) {
          int32_t m = -32768;
          for (ky = ky0; ky < ky1; ++ky) {
            for (kx = kx0; kx < kx1; ++kx) {
              const int32_t v = input[((b * d->in_h + iy0 + ky) * d->in_w + ix0 + kx) * d->in_c + c];
              if (v > m) m = v;
            }
          }
          output[((b * d->out_h + oy) * d->out_w + ox) * d->out_c + c] = (int16_t)tml_clamp(m, act_min, act_max);
        }
      }
    }
  }
}
