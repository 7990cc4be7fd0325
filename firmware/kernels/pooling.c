/*
 * pooling.c: AVERAGE_POOL_2D and MAX_POOL_2D for int8 (TFLite Micro reference semantics:
 * only taps inside the image count; the average rounds half away from zero).
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

int tml_avg_pool2d_s8(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                      const int8_t *input, int8_t *output) {
  int32_t b, oy, ox, c, ky, kx;
  for (b = 0; b < d->batches; ++b) {
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
      const int32_t ky1 = d->in_h - iy0 < d->k_h ? d->in_h - iy0 : d->k_h;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
        const int32_t kx1 = d->in_w - ix0 < d->k_w ? d->in_w - ix0 : d->k_w;
        const int32_t count = (ky1 - ky0) * (kx1 - kx0);
        if (ky1 <= ky0 || kx1 <= kx0) return -1;
        for (c = 0; c < d->in_c; ++c) {
          int32_t acc = 0;
          for (ky = ky0; ky < ky1; ++ky) {
            const int8_t *row = input + ((b * d->in_h + iy0 + ky) * d->in_w + ix0) * d->in_c + c;
            for (kx = kx0; kx < kx1; ++kx) acc += row[kx * d->in_c];
          }
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          output[((b * d->out_h + oy) * d->out_w + ox) * d->out_c + c] =
              (int8_t)tml_clamp(acc, act_min, act_max);
        }
      }
    }
  }
  return 0;
}

void tml_max_pool2d_s8(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                       const int8_t *input, int8_t *output) {
  int32_t b, oy, ox, c, ky, kx;
  for (b = 0; b < d->batches; ++b) {
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
      const int32_t ky1 = d->in_h - iy0 < d->k_h ? d->in_h - iy0 : d->k_h;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
        const int32_t kx1 = d->in_w - ix0 < d->k_w ? d->in_w - ix0 : d->k_w;
        for (c = 0; c < d->in_c; ++c) {
          int32_t m = -128;
          for (ky = ky0; ky < ky1; ++ky) {
            const int8_t *row = input + ((b * d->in_h + iy0 + ky) * d->in_w + ix0) * d->in_c + c;
            for (kx = kx0; kx < kx1; ++kx) {
              if (row[kx * d->in_c] > m) m = row[kx * d->in_c];
            }
          }
          output[((b * d->out_h + oy) * d->out_w + ox) * d->out_c + c] =
              (int8_t)tml_clamp(m, act_min, act_max);
        }
      }
    }
  }
}
