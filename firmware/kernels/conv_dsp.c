/*
 * conv_dsp.c: CONV_2D and FULLY_CONNECTED for the dsp kernel set (tml_kernels_dsp.h).
 *
 * Same results as TFLite Micro's reference ConvPerChannel / FullyConnected (int8). Each output
 * pixel's window is one contiguous run of k_len int8 values: the input pixel itself for a 1x1
 * filter, else the window gathered into scratch (im2col, padding taps at the input zero point,
 * which contribute exactly nothing since the input offset is folded into the bias). The inner
 * loop runs that run against four output channels at once: per input word (4 values), one load
 * and two SXTB16 give two int16 pairs, two LDMs bring the 8 packed weight pairs of the 4
 * channels, and 8 SMLADs do the 16 multiply-adds (14 instructions per 16 MACs with the loop
 * unrolled twice). Requantization is five instructions per value (tml_requant.h).
 */
#include <string.h>
#include "tml_kernels_dsp.h"
#include "tml_simd.h"
#include "tml_requant.h"

#if TML_SIMD_NATIVE
/* One input word against the 8 packed weight words of 4 channels. r8-r11 hold the weights (LDM
   needs ascending registers); everything else is allocated by the compiler. */
#define TML_DOT4_STEP                                                                              \
  "ldr %[v], [%[x]], #4\n\t"                                                                      \
  "sxtb16 %[xl], %[v]\n\t"                                                                        \
  "sxtb16 %[v], %[v], ror #8\n\t"                                                                 \
  "ldmia %[w]!, {r8, r9, r10, r11}\n\t"                                                           \
  "smlad %[a0], %[xl], r8, %[a0]\n\t"                                                             \
  "smlad %[a0], %[v], r9, %[a0]\n\t"                                                              \
  "smlad %[a1], %[xl], r10, %[a1]\n\t"                                                            \
  "smlad %[a1], %[v], r11, %[a1]\n\t"                                                             \
  "ldmia %[w]!, {r8, r9, r10, r11}\n\t"                                                           \
  "smlad %[a2], %[xl], r8, %[a2]\n\t"                                                             \
  "smlad %[a2], %[v], r9, %[a2]\n\t"                                                              \
  "smlad %[a3], %[xl], r10, %[a3]\n\t"                                                            \
  "smlad %[a3], %[v], r11, %[a3]\n\t"
#define TML_DOT4_OPERANDS                                                                          \
  [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [x] "+r"(x), [w] "+r"(w),        \
      [v] "=&r"(v), [xl] "=&r"(xl)
#endif

/* a0..a3 += dot products of n input words at x with the packed weights at *wp; *wp advances
   past the 8 n words read. */
TML_INLINE void dot4(const int8_t *x, const uint32_t **wp, int32_t n, int32_t *a0, int32_t *a1,
                     int32_t *a2, int32_t *a3) {
  const uint32_t *w = *wp;
#if TML_SIMD_NATIVE
  uint32_t v, xl;
  if (n & 1) {
    __asm__ volatile(TML_DOT4_STEP : TML_DOT4_OPERANDS : : "r8", "r9", "r10", "r11", "memory");
  }
  n >>= 1;
  if (n > 0) {
    __asm__ volatile("1:\n\t" TML_DOT4_STEP TML_DOT4_STEP "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     : TML_DOT4_OPERANDS, [n] "+r"(n)
                     :
                     : "r8", "r9", "r10", "r11", "cc", "memory");
  }
  *wp = w;
#else
  int32_t s0 = *a0, s1 = *a1, s2 = *a2, s3 = *a3;
  for (; n > 0; --n, x += 4, w += 8) {
    const uint32_t v = tml_read32(x);
    const uint32_t xl = tml_sxtb16(v), xh = tml_sxtb16_ror8(v);
    s0 = tml_smlad(xh, w[1], tml_smlad(xl, w[0], s0));
    s1 = tml_smlad(xh, w[3], tml_smlad(xl, w[2], s1));
    s2 = tml_smlad(xh, w[5], tml_smlad(xl, w[4], s2));
    s3 = tml_smlad(xh, w[7], tml_smlad(xl, w[6], s3));
  }
  *a0 = s0;
  *a1 = s1;
  *a2 = s2;
  *a3 = s3;
  *wp = w;
#endif
}

/* Clamps a requantized value to the fused activation range. full: the range is [-128, 127]. */
TML_INLINE int32_t act(int32_t y, int32_t lo, int32_t hi, int full) {
  y = tml_ssat8(y);
  if (!full) {
    if (y < lo) y = lo;
    if (y > hi) y = hi;
  }
  return y;
}

/* Copies n bytes a word at a time (unaligned words are fine on Armv7-M and the host). */
TML_INLINE void copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n >= 4; n -= 4, dst += 4, src += 4) tml_write32(dst, tml_read32(src));
  for (; n > 0; --n) *dst++ = *src++;
}

TML_INLINE void fill_bytes(int8_t *dst, int32_t value, int32_t n) {
  for (; n > 0; --n) *dst++ = (int8_t)value;
}

/* Gathers the window at (iy0, ix0) into col (k_len bytes): padding taps at the zero point. */
static void im2col(const tml_conv_dsp_params *p, const int8_t *in_b, int32_t iy0, int32_t ix0, int8_t *col) {
  const tml_window_dims *d = &p->d;
  const int32_t c = d->in_c;
  const int32_t zp = p->input_zero_point;
  int32_t ky, kx;
  int8_t *o = col;
  for (ky = 0; ky < d->k_h; ++ky) {
    const int32_t iy = iy0 + ky * d->dil_h;
    if (iy < 0 || iy >= d->in_h) {
      fill_bytes(o, zp, d->k_w * c);
      o += d->k_w * c;
      continue;
    }
    if (d->dil_w == 1) {
      const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
      const int32_t kx1 = d->in_w - ix0 < d->k_w ? d->in_w - ix0 : d->k_w;
      if (kx1 <= kx0) {
        fill_bytes(o, zp, d->k_w * c);
      } else {
        fill_bytes(o, zp, kx0 * c);
        copy_bytes(o + kx0 * c, in_b + (iy * d->in_w + ix0 + kx0) * c, (kx1 - kx0) * c);
        fill_bytes(o + kx1 * c, zp, (d->k_w - kx1) * c);
      }
      o += d->k_w * c;
      continue;
    }
    for (kx = 0; kx < d->k_w; ++kx, o += c) {
      const int32_t ix = ix0 + kx * d->dil_w;
      if (ix < 0 || ix >= d->in_w) fill_bytes(o, zp, c);
      else copy_bytes(o, in_b + (iy * d->in_w + ix) * c, c);
    }
  }
  fill_bytes(o, 0, p->k_len - (int32_t)(o - col)); /* k padding: its weights are zero */
}

/*
 * One output pixel, every group of 4 channels: n input words at x against the packed weights
 * (read straight through), doubled biases, requantization table q (q_step = 1 per channel, 0
 * for one entry), stores to out (the last group stores only the channels that exist).
 */
TML_INLINE void pixel(const int8_t *x, int32_t n, const uint32_t *w, const int32_t *bias, const tml_rq *q,
                      int32_t q_step, int32_t channels, int32_t act_min, int32_t act_max,
                      const tml_add_epilogue *add, const int8_t *other, int8_t *out, int full) {
  int32_t c;
  for (c = 0; c < channels; c += 4, bias += 4, q += 4 * q_step, out += 4) {
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    int32_t y0, y1, y2, y3;
    dot4(x, &w, n, &a0, &a1, &a2, &a3);
    y0 = act(tml_rq_one(a0, q), act_min, act_max, full);
    y1 = act(tml_rq_one(a1, q + q_step), act_min, act_max, full);
    y2 = act(tml_rq_one(a2, q + 2 * q_step), act_min, act_max, full);
    y3 = act(tml_rq_one(a3, q + 3 * q_step), act_min, act_max, full);
    if (add) {
      /* TFLite's ADD of the other input and this output value, from the tables. */
      const int32_t *lo = add->lut_other + 128, *lc = add->lut_conv + 128;
      const int32_t y[4] = {y0, y1, y2, y3};
      int32_t i;
      for (i = 0; i < 4 && c + i < channels; ++i) {
        const int32_t r = tml_ssat8(tml_rq_one(lo[other[c + i]] + lc[y[i]], &add->rq));
        out[i] = (int8_t)(r < add->act_min ? add->act_min : (r > add->act_max ? add->act_max : r));
      }
    } else if (c + 4 <= channels) {
      out[0] = (int8_t)y0;
      out[1] = (int8_t)y1;
      out[2] = (int8_t)y2;
      out[3] = (int8_t)y3;
    } else {
      out[0] = (int8_t)y0;
      if (c + 1 < channels) out[1] = (int8_t)y1;
      if (c + 2 < channels) out[2] = (int8_t)y2;
    }
  }
}

static void conv_rows(const tml_conv_dsp_params *p, const int8_t *input, int8_t *output, const int8_t *other,
                      int8_t *scratch, int32_t oy0, int32_t oy1, int full) {
  const tml_window_dims *d = &p->d;
  const int32_t in_row = d->in_w * d->in_c;
  const int32_t out_row = d->out_w * d->out_c;
  const int32_t n = p->k_len >> 2;
  const int32_t q_step = p->rq_per_channel ? 1 : 0;
  int32_t b, oy, ox;
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    for (oy = oy0; oy < oy1; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      const int32_t o_row = ((b * d->out_h + oy) - oy0) * out_row;
      int8_t *out = output + o_row;
      const int8_t *oth = other ? other + o_row : other;
      for (ox = 0; ox < d->out_w; ++ox, out += d->out_c) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        const int8_t *x;
        if (p->im2col) {
          im2col(p, in_b, iy0, ix0, scratch);
          x = scratch;
        } else {
          /* 1x1 filter, no padding: the window is the input pixel itself. */
          x = in_b + (iy0 * d->in_w + ix0) * d->in_c;
          if (p->copy_pixel) {
            copy_bytes(scratch, x, d->in_c);
            x = scratch;
          }
        }
        pixel(x, n, p->weights, p->bias, p->rq, q_step, d->out_c, p->act_min, p->act_max, p->add,
              oth ? oth + ox * d->out_c : oth, out, full);
      }
    }
  }
}

void tml_conv2d_s8_dsp(const tml_conv_dsp_params *p, const int8_t *input, int8_t *output,
                       const int8_t *other, int8_t *scratch, int32_t oy0, int32_t oy1) {
  /* Two copies of the loops: one where SSAT alone applies the activation range. */
  if (p->act_min == -128 && p->act_max == 127) conv_rows(p, input, output, other, scratch, oy0, oy1, 1);
  else conv_rows(p, input, output, other, scratch, oy0, oy1, 0);
}

void tml_fc_accumulate_s8_dsp(const uint32_t *weights, int32_t units, int32_t k_len, int32_t k0,
                              int32_t depth, const int8_t *x, int32_t *acc) {
  const int32_t groups = (units + 3) >> 2;
  const int32_t group_words = (k_len >> 2) * 8;
  const uint32_t *wg = weights + (k0 >> 2) * 8;
  int32_t g;
  for (g = 0; g < groups; ++g, wg += group_words, acc += 4) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint32_t *w = wg;
    dot4(x, &w, depth >> 2, &a0, &a1, &a2, &a3);
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
  }
}

void tml_fc_finish_s8_dsp(int32_t units, const tml_rq *rq, int32_t rq_per_channel, int32_t act_min,
                          int32_t act_max, const int32_t *acc, int8_t *output) {
  int32_t u;
  for (u = 0; u < units; ++u) {
    const int32_t y = act(tml_rq_one(acc[u], rq_per_channel ? rq + u : rq), act_min, act_max, 0);
    output[u] = (int8_t)y;
  }
}
