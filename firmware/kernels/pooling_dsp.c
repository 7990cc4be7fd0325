/*
 * pooling_dsp.c: AVERAGE_POOL_2D for the dsp kernel set (channels a multiple of 4, windows of at
 * most 256 taps). Same results as TFLite Micro's reference AveragePool (int8): only taps inside
 * the image count, the mean rounds half away from zero.
 *
 * Four channels per input word: SXTAB16 adds bytes 0 and 2, SXTAB16 with ROR #8 bytes 1 and 3,
 * to two int16 pairs (3 instructions per 4 values). A sum of at most 256 int8 values stays in
 * [-32768, 32512], so the 16-bit lanes never wrap.
 */
#include "tml_kernels_dsp.h"
#include "tml_simd.h"

int tml_avg_pool2d_s8_dsp(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                          const int8_t *input, int8_t *output) {
  const int32_t c = d->in_c;
  int32_t b, oy, ox, g, ky, kx, i;
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * d->in_w * c;
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
      const int32_t ky1 = d->in_h - iy0 < d->k_h ? d->in_h - iy0 : d->k_h;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
        const int32_t kx1 = d->in_w - ix0 < d->k_w ? d->in_w - ix0 : d->k_w;
        const int32_t count = (ky1 - ky0) * (kx1 - kx0);
        int8_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * c;
        if (ky1 <= ky0 || kx1 <= kx0) return -1;
        for (g = 0; g < c; g += 4) {
          uint32_t even = 0, odd = 0;
          int32_t sum[4];
          for (ky = ky0; ky < ky1; ++ky) {
            const int8_t *x = in_b + ((iy0 + ky) * d->in_w + ix0 + kx0) * c + g;
            for (kx = kx0; kx < kx1; ++kx, x += c) {
              const uint32_t v = tml_read32(x);
              even = tml_sxtab16(even, v);
              odd = tml_sxtab16_ror8(odd, v);
            }
          }
          sum[0] = tml_lo16(even);
          sum[1] = tml_lo16(odd);
          sum[2] = tml_hi16(even);
          sum[3] = tml_hi16(odd);
          for (i = 0; i < 4; ++i) {
            const int32_t s = sum[i];
            const int32_t avg = s > 0 ? (s + count / 2) / count : (s - count / 2) / count;
            out[g + i] = (int8_t)(avg < act_min ? act_min : (avg > act_max ? act_max : avg));
          }
        }
      }
    }
  }
  return 0;
}
