/*
 * depthwise_conv_dsp.c: DEPTHWISE_CONV_2D (depth multiplier 1, channels a multiple of 4) for the
 * dsp kernel set (tml_kernels_dsp.h). Same results as TFLite Micro's reference
 * DepthwiseConvPerChannel.
 *
 * Four channels at a time: per tap, one load brings the 4 input channels, two SXTB16 split them
 * into pairs (c0, c2) and (c1, c3), one LDRD the matching doubled weight pairs, and SMLABB/SMLATT
 * accumulate each channel (8 instructions per 4 multiply-adds). Accumulators stay in registers
 * over the window; border windows skip the outside taps and take their bias from the region
 * table. Optionally in place (the output overwrites the input), with a ring of saved rows.
 */
#include "tml_kernels_dsp.h"
#include "tml_simd.h"
#include "tml_requant.h"

/* One tap of 4 channels: input word at x, weight pairs w[0] (c0, c2) and w[1] (c1, c3). */
#define DW_TAP(x, w)                                          \
  do {                                                        \
    const uint32_t v_ = tml_read32(x);                        \
    const uint32_t e_ = tml_sxtb16(v_), o_ = tml_sxtb16_ror8(v_); \
    const uint32_t w0_ = (w)[0], w1_ = (w)[1];                \
    a0 = tml_smlabb(e_, w0_, a0);                             \
    a2 = tml_smlatt(e_, w0_, a2);                             \
    a1 = tml_smlabb(o_, w1_, a1);                             \
    a3 = tml_smlatt(o_, w1_, a3);                             \
  } while (0)

TML_INLINE int32_t dw_act(int32_t y, int32_t lo, int32_t hi, int full) {
  y = tml_ssat8(y);
  if (!full) {
    if (y < lo) y = lo;
    if (y > hi) y = hi;
  }
  return y;
}

TML_INLINE void copy_row(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n >= 4; n -= 4, dst += 4, src += 4) tml_write32(dst, tml_read32(src));
  for (; n > 0; --n) *dst++ = *src++;
}

static void dw_rows(const tml_dw_dsp_params *p, const int8_t *input, int8_t *output, int8_t *scratch, int full) {
  const tml_window_dims *d = &p->d;
  const int32_t c = d->in_c;
  const int32_t in_row = d->in_w * c;
  const int32_t ring = d->pad_top + 1;
  const int32_t taps = d->k_h * d->k_w;
  const int32_t rq_step = p->rq_per_channel ? 1 : 0;
  const int8_t *rows[16];
  int32_t b, oy, ox, g, ky, kx;
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    int8_t *out = output + b * d->out_h * d->out_w * c;
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
      const int32_t ky1 = d->in_h - iy0 < d->k_h ? d->in_h - iy0 : d->k_h;
      const int32_t region_row = p->row_region ? p->row_region[oy] * p->col_regions : 0;
      if (p->in_place) copy_row(scratch + (oy % ring) * in_row, in_b + oy * in_row, in_row);
      for (ky = ky0; ky < ky1; ++ky) {
        const int32_t iy = iy0 + ky;
        rows[ky] = p->in_place && iy <= oy ? scratch + (iy % ring) * in_row : in_b + iy * in_row;
      }
      for (ox = 0; ox < d->out_w; ++ox, out += c) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
        const int32_t kx1 = d->in_w - ix0 < d->k_w ? d->in_w - ix0 : d->k_w;
        const int32_t nx = kx1 - kx0;
        const int32_t *bias = p->bias + (region_row + (p->col_region ? p->col_region[ox] : 0)) * c;
        const uint32_t *wg = p->weights + (ky0 * d->k_w + kx0) * 2;
        const tml_rq *q = p->rq;
        for (g = 0; g < c; g += 4, bias += 4, wg += taps * 2, q += 4 * rq_step) {
          int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
          const uint32_t *w = wg;
          if (nx > 0) {
            for (ky = ky0; ky < ky1; ++ky, w += d->k_w * 2) {
              const int8_t *x = rows[ky] + (ix0 + kx0) * c + g;
              if (nx == 3) {
                DW_TAP(x, w);
                DW_TAP(x + c, w + 2);
                DW_TAP(x + 2 * c, w + 4);
              } else {
                for (kx = 0; kx < nx; ++kx) DW_TAP(x + kx * c, w + 2 * kx);
              }
            }
          }
          out[g] = (int8_t)dw_act(tml_rq_one(a0, q), p->act_min, p->act_max, full);
          out[g + 1] = (int8_t)dw_act(tml_rq_one(a1, q + rq_step), p->act_min, p->act_max, full);
          out[g + 2] = (int8_t)dw_act(tml_rq_one(a2, q + 2 * rq_step), p->act_min, p->act_max, full);
          out[g + 3] = (int8_t)dw_act(tml_rq_one(a3, q + 3 * rq_step), p->act_min, p->act_max, full);
        }
      }
    }
  }
}

void tml_depthwise_conv2d_s8_dsp(const tml_dw_dsp_params *p, const int8_t *input, int8_t *output,
                                 int8_t *scratch) {
  if (p->act_min == -128 && p->act_max == 127) dw_rows(p, input, output, scratch, 1);
  else dw_rows(p, input, output, scratch, 0);
}
