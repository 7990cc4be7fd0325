/*
 * conv_dsp.c: CONV_2D and FULLY_CONNECTED for the dsp kernel set (tml_kernels_dsp.h).
 *
 * Same results as TFLite Micro's reference ConvPerChannel / FullyConnected (int8). Each output
 * pixel's window is one contiguous run of k_len int8 values: the input pixel itself for a 1x1
 * filter, else the window gathered into scratch (im2col, padding taps at the input zero point,
 * which contribute exactly nothing since the input offset is folded into the bias). With x16 the
 * run is first widened to int16 pairs in the order SXTB16 gives them, once per pixel, so the
 * inner loop (over every group of 4 output channels) does not widen it again. The inner loop
 * (tml_dsp_groups.h) computes 4 output channels at once with SMLAD on packed weight pairs
 * loaded 4 words per LDM; requantization is five instructions per value (tml_requant.h).
 */
#include <string.h>
#include "tml_kernels_dsp.h"
#include "tml_dsp_groups.h"
#include "tml_simd.h"
#include "tml_requant.h"

#if TML_SIMD_NATIVE
/* One k group (4 values) against the 8 packed weight words of 4 channels, the weights in r8-r11
   (LDM needs ascending registers); everything else is allocated by the compiler. */
#define TML_DOT4_SMLAD                                                                             \
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
#define TML_DOT4_STEP8                                                                             \
  "ldr %[v], [%[x]], #4\n\t"                                                                      \
  "sxtb16 %[xl], %[v]\n\t"                                                                        \
  "sxtb16 %[v], %[v], ror #8\n\t" TML_DOT4_SMLAD
#define TML_DOT4_STEP16 "ldrd %[xl], %[v], [%[x]], #8\n\t" TML_DOT4_SMLAD
#define TML_DOT4_OPERANDS                                                                          \
  [a0] "+r"(s0), [a1] "+r"(s1), [a2] "+r"(s2), [a3] "+r"(s3), [x] "+r"(x), [w] "+r"(w),            \
      [v] "=&r"(v), [xl] "=&r"(xl)
#define TML_DOT4_LOOP(STEP)                                                                        \
  do {                                                                                            \
    if (n & 1) __asm__ volatile(STEP : TML_DOT4_OPERANDS : : "r8", "r9", "r10", "r11", "memory"); \
    n >>= 1;                                                                                      \
    if (n > 0)                                                                                    \
      __asm__ volatile("1:\n\t" STEP STEP "subs %[n], %[n], #1\n\tbne 1b\n\t"                      \
                       : TML_DOT4_OPERANDS, [n] "+r"(n)                                           \
                       :                                                                          \
                       : "r8", "r9", "r10", "r11", "cc", "memory");                               \
  } while (0)
#endif

/* a[0..3] += dot products of n k groups at x (int8 words, or int16 pair words with x16) with
   the packed weights at *wp; *wp advances past the 8 n words read. */
TML_INLINE void dot4(const uint8_t *x, const uint32_t **wp, int32_t n, int x16, int32_t a[4]) {
  const uint32_t *w = *wp;
#if TML_SIMD_NATIVE
  int32_t s0 = a[0], s1 = a[1], s2 = a[2], s3 = a[3];
  uint32_t v, xl;
  if (x16) TML_DOT4_LOOP(TML_DOT4_STEP16);
  else TML_DOT4_LOOP(TML_DOT4_STEP8);
  a[0] = s0;
  a[1] = s1;
  a[2] = s2;
  a[3] = s3;
#else
  for (; n > 0; --n, w += 8) x = tml_dot4_step_c(x, x16, w, a);
#endif
  *wp = w;
}

/* Copies n bytes, a word at a time (unaligned words are fine on Armv7-M and on the host). */
TML_INLINE void copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n >= 4; n -= 4, dst += 4, src += 4) tml_write32(dst, tml_read32(src));
  for (; n > 0; --n) *dst++ = *src++;
}

/* Fills n bytes with the byte of v (v holds it four times). */
TML_INLINE void fill_bytes(int8_t *dst, uint32_t v, int32_t n) {
  for (; n >= 4; n -= 4, dst += 4) tml_write32(dst, v);
  for (; n > 0; --n) *dst++ = (int8_t)v;
}

/*
 * Gathers the window at (iy0, ix0) into col (k_len bytes): padding taps at the zero point, then
 * zeros up to k_len (their weights are zero). Without dilation across, each filter row is one
 * contiguous run of the input, clipped the same way in every row.
 */
static void im2col(const tml_conv_dsp_params *p, const int8_t *in_b, int32_t iy0, int32_t ix0, int8_t *col) {
  const tml_window_dims *d = &p->d;
  const int32_t c = d->in_c;
  const int32_t row_bytes = d->k_w * c;
  const uint32_t zp4 = (uint32_t)(uint8_t)p->input_zero_point * 0x01010101u;
  int32_t ky, kx;
  int8_t *o = col;
  if (d->dil_w == 1 && (row_bytes & 3) == 0 && ix0 >= 0 && ix0 + d->k_w <= d->in_w && iy0 >= 0 &&
      iy0 + (d->k_h - 1) * d->dil_h < d->in_h) {
    /* The window inside the image (most pixels): k_h runs of whole words. */
    const int32_t words = row_bytes >> 2;
    const int32_t skip = d->dil_h * d->in_w * c - row_bytes;
    const int8_t *src = in_b + (iy0 * d->in_w + ix0) * c;
    for (ky = 0; ky < d->k_h; ++ky, src += skip) {
      for (kx = 0; kx < words; ++kx, src += 4, o += 4) tml_write32(o, tml_read32(src));
    }
  } else if (d->dil_w == 1) {
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
    const int32_t kx1 = d->in_w - ix0 < d->k_w ? d->in_w - ix0 : d->k_w;
    const int32_t left = kx0 * c;
    const int32_t mid = kx1 > kx0 ? (kx1 - kx0) * c : 0;
    const int32_t right = row_bytes - left - mid;
    const int8_t *src = in_b + (iy0 * d->in_w + ix0 + kx0) * c;
    const int32_t step = d->dil_h * d->in_w * c;
    for (ky = 0; ky < d->k_h; ++ky, src += step, o += row_bytes) {
      const int32_t iy = iy0 + ky * d->dil_h;
      if (iy < 0 || iy >= d->in_h) {
        fill_bytes(o, zp4, row_bytes);
        continue;
      }
      if (left) fill_bytes(o, zp4, left);
      copy_bytes(o + left, src, mid);
      if (right) fill_bytes(o + left + mid, zp4, right);
    }
  } else {
    for (ky = 0; ky < d->k_h; ++ky) {
      const int32_t iy = iy0 + ky * d->dil_h;
      for (kx = 0; kx < d->k_w; ++kx, o += c) {
        const int32_t ix = ix0 + kx * d->dil_w;
        if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w) fill_bytes(o, zp4, c);
        else copy_bytes(o, in_b + (iy * d->in_w + ix) * c, c);
      }
    }
  }
  fill_bytes(o, 0, p->k_len - (int32_t)(o - col));
}

/* Widens n int8 words at src into int16 pair words at dst, (x0, x2) then (x1, x3) per word. */
TML_INLINE void widen(uint32_t *dst, const int8_t *src, int32_t n) {
  for (; n > 0; --n, src += 4, dst += 2) {
    const uint32_t v = tml_read32(src);
    dst[0] = tml_sxtb16(v);
    dst[1] = tml_sxtb16_ror8(v);
  }
}

/* The fused ADD of n values: out[i] = ADD(other[i], y[i]) (out may be other: read, then written). */
static void add_epilogue(const tml_add_epilogue *e, const int8_t *y, const int8_t *other, int8_t *out, int32_t n) {
  const int32_t *lo = e->lut_other + 128, *lc = e->lut_conv + 128;
  const int32_t m = e->rq.multiplier, k = e->rq.k, sh = e->rq.shift;
  const int32_t lo_act = e->act_min, hi_act = e->act_max;
  int32_t i;
  if (lo_act == -128 && hi_act == 127) {
    for (i = 0; i < n; ++i) out[i] = (int8_t)tml_ssat8(tml_rq_apply(lo[other[i]] + lc[y[i]], m, k, sh));
  } else {
    for (i = 0; i < n; ++i) {
      const int32_t r = tml_ssat8(tml_rq_apply(lo[other[i]] + lc[y[i]], m, k, sh));
      out[i] = (int8_t)(r < lo_act ? lo_act : (r > hi_act ? hi_act : r));
    }
  }
}

/*
 * Output channels [c0, channels) of one pixel, in C around dot4(): for a fused ADD, an activation
 * range narrower than [-128, 127], and the channels of a last partial group.
 */
static void pixel_general(const tml_conv_dsp_params *p, const uint8_t *x, int32_t c0, const int8_t *other, int8_t *out) {
  const int32_t n = p->k_len >> 2;
  const uint32_t *w = p->weights + c0 * 2 * n;
  const int32_t channels = p->d.out_c;
  const tml_add_epilogue *add = p->add;
  int32_t c, i;
  for (c = c0; c < channels; c += 4) {
    int32_t a[4];
    a[0] = p->bias[c];
    a[1] = p->bias[c + 1];
    a[2] = p->bias[c + 2];
    a[3] = p->bias[c + 3];
    dot4(x, &w, n, p->x16, a);
    for (i = 0; i < 4 && c + i < channels; ++i) {
      int32_t y = tml_ssat8(tml_rq_one(a[i], p->rq + c + i));
      y = y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y);
      if (add) {
        /* TFLite's ADD of the other input and this output value, from the tables. */
        y = tml_ssat8(tml_rq_one(add->lut_other[128 + other[c + i]] + add->lut_conv[128 + y], &add->rq));
        y = y < add->act_min ? add->act_min : (y > add->act_max ? add->act_max : y);
      }
      out[c + i] = (int8_t)y;
    }
  }
}

void tml_conv2d_s8_dsp(const tml_conv_dsp_params *p, const int8_t *input, int8_t *output,
                       const int8_t *other, int8_t *scratch, int32_t oy0, int32_t oy1) {
  const tml_window_dims *d = &p->d;
  const int32_t in_row = d->in_w * d->in_c;
  const int32_t out_row = d->out_w * d->out_c;
  const int32_t n = p->k_len >> 2;
  /* The assembly loops take whole groups with SSAT as the only clamp. */
  const int32_t fast_groups = p->act_min != -128 || p->act_max != 127 ? 0 : d->out_c >> 2;
  /* im2col: the int8 window at scratch, its int16 form after it (x16), then, with a fused
     ADD, the convolution's output pixel before the ADD. */
  uint32_t *wide = (uint32_t *)(void *)(scratch + (p->im2col ? p->k_len : 0));
  int8_t *conv_out = scratch + (p->im2col ? p->k_len : 0) + (p->x16 ? 2 * p->k_len : 0);
  tml_conv_groups_args args;
  int32_t b, oy, ox;
  args.n = n;
  args.groups = fast_groups;
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    for (oy = oy0; oy < oy1; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      const int32_t o_row = ((b * d->out_h + oy) - oy0) * out_row;
      int8_t *out = output + o_row;
      const int8_t *oth = other ? other + o_row : other;
      for (ox = 0; ox < d->out_w; ++ox, out += d->out_c, oth = oth ? oth + d->out_c : oth) {
        const int32_t ix0 = ox * d->stride_w - d->pad_left;
        const int8_t *x;
        if (p->im2col) {
          im2col(p, in_b, iy0, ix0, scratch);
          x = scratch;
        } else {
          /* 1x1 filter, no padding: the window is the input pixel itself. */
          x = in_b + (iy0 * d->in_w + ix0) * d->in_c;
          if (p->copy_pixel && !p->x16) {
            copy_bytes(scratch, x, d->in_c);
            x = scratch;
          }
        }
        if (p->x16) {
          /* Also the copy that lets a 1x1 convolution overwrite its input pixel. */
          widen(wide, x, n);
          x = (const int8_t *)wide;
        }
        if (fast_groups > 0) {
          args.x = x;
          args.w = p->weights;
          args.bias = p->bias;
          args.q = p->rq;
          args.out = p->add ? conv_out : out;
          tml_conv_groups(&args, p->x16);
          if (p->add) add_epilogue(p->add, conv_out, oth, out, 4 * fast_groups);
        }
        if (4 * fast_groups < d->out_c) pixel_general(p, (const uint8_t *)x, 4 * fast_groups, oth, out);
      }
    }
  }
}

void tml_fc_accumulate_s8_dsp(const uint32_t *weights, int32_t units, int32_t k_len, int32_t k0,
                              int32_t depth, const int8_t *x, int32_t *acc) {
  const int32_t groups = (units + 3) >> 2;
  const int32_t group_words = (k_len >> 2) * 8;
  const uint32_t *wg = weights + (k0 >> 2) * 8;
  int32_t g;
  for (g = 0; g < groups; ++g, wg += group_words, acc += 4) {
    const uint32_t *w = wg;
    dot4((const uint8_t *)x, &w, depth >> 2, 0, acc);
  }
}

void tml_fc_finish_s8_dsp(int32_t units, const tml_rq *rq, int32_t act_min, int32_t act_max,
                          const int32_t *acc, int8_t *output) {
  int32_t u;
  for (u = 0; u < units; ++u) {
    const int32_t y = tml_ssat8(tml_rq_one(acc[u], rq + u));
    output[u] = (int8_t)(y < act_min ? act_min : (y > act_max ? act_max : y));
  }
}
