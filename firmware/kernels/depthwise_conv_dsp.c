/*
 * depthwise_conv_dsp.c: DEPTHWISE_CONV_2D (depth multiplier 1, channels a multiple of 4) for the
 * dsp kernel set (tml_kernels_dsp.h). Same results as TFLite Micro's reference
 * DepthwiseConvPerChannel.
 *
 * For each output row the kernel builds a line buffer of the k_h input rows it reads, padded
 * with the input zero point (padding taps then contribute exactly nothing, the input offset being
 * folded into the bias), stored column by column: [column][ky][channel]. The window of an output
 * pixel is then k_w * k_h taps at one stride (the channel count) in that buffer, whatever the
 * padding. The inner loop (tml_dsp_groups.h) does four channels per tap: one load, two SXTB16
 * for the pairs (c0, c2) and (c1, c3), one LDRD for the matching doubled weight pairs and
 * SMLABB/SMLATT for the four channels.
 *
 * In place (same shape, stride 1): output row oy overwrites input row oy; the line buffer for
 * row oy + 1 takes rows oy and above from the previous line buffer (shifted by one row), where
 * they were copied before being overwritten.
 */
#include "tml_kernels_dsp.h"
#include "tml_dsp_groups.h"
#include "tml_simd.h"
#include "tml_requant.h"

TML_INLINE void copy_words(int8_t *dst, const int8_t *src, int32_t bytes) {
  for (; bytes >= 8; bytes -= 8, dst += 8, src += 8) {
    const uint32_t a = tml_read32(src), b = tml_read32(src + 4);
    tml_write32(dst, a);
    tml_write32(dst + 4, b);
  }
  if (bytes >= 4) tml_write32(dst, tml_read32(src));
}

TML_INLINE void fill_words(int8_t *dst, uint32_t v, int32_t bytes) {
  for (; bytes >= 4; bytes -= 4, dst += 4) tml_write32(dst, v);
}

/* The line buffer geometry: columns (padding included) and bytes per column. */
TML_INLINE int32_t line_columns(const tml_window_dims *d) {
  const int32_t right = (d->out_w - 1) * d->stride_w + d->k_w - d->pad_left - d->in_w;
  return d->in_w + d->pad_left + (right > 0 ? right : 0);
}

/* Slice ky of every column of the line buffer: input row `row` (NULL: padding). */
static void put_row(const tml_dw_dsp_params *p, int8_t *buf, int32_t ky, const int8_t *row, uint32_t zp4) {
  const tml_window_dims *d = &p->d;
  const int32_t c = d->in_c;
  const int32_t col_bytes = d->k_h * c;
  int8_t *dst = buf + d->pad_left * col_bytes + ky * c;
  int32_t x;
  for (x = 0; x < d->in_w; ++x, dst += col_bytes) {
    if (row) copy_words(dst, row + x * c, c);
    else fill_words(dst, zp4, c);
  }
}

/* In place: slice ky + 1 moves to slice ky in every input column. */
static void shift_rows(const tml_dw_dsp_params *p, int8_t *buf) {
  const tml_window_dims *d = &p->d;
  const int32_t c = d->in_c;
  const int32_t col_bytes = d->k_h * c;
  int8_t *col = buf + d->pad_left * col_bytes;
  int32_t x;
  for (x = 0; x < d->in_w; ++x, col += col_bytes) copy_words(col, col + c, (d->k_h - 1) * c);
}

void tml_depthwise_conv2d_s8_dsp(const tml_dw_dsp_params *p, const int8_t *input, int8_t *output,
                                 int8_t *scratch) {
  const tml_window_dims *d = &p->d;
  const int32_t c = d->in_c;
  const int32_t in_row = d->in_w * c;
  const int32_t col_bytes = d->k_h * c;
  const int32_t taps = d->k_h * d->k_w;
  const uint32_t zp4 = (uint32_t)(uint8_t)p->input_zero_point * 0x01010101u;
  const int fast = p->act_min == -128 && p->act_max == 127;
  tml_dw_groups_args args;
  int32_t b, oy, ox, ky, g, t, i;
  args.taps3 = taps / 3;
  args.stride = c;
  args.groups = c >> 2;
  for (b = 0; b < d->batches; ++b) {
    const int8_t *in_b = input + b * d->in_h * in_row;
    int8_t *out = output + b * d->out_h * d->out_w * c;
    fill_words(scratch, zp4, line_columns(d) * col_bytes);
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t iy0 = oy * d->stride_h - d->pad_top;
      if (p->in_place && oy > 0) {
        /* Rows iy0 .. iy0 + k_h - 2 were in the previous buffer; the last one is still intact. */
        shift_rows(p, scratch);
        ky = d->k_h - 1;
      } else {
        ky = 0;
      }
      for (; ky < d->k_h; ++ky) {
        const int32_t iy = iy0 + ky;
        put_row(p, scratch, ky, iy >= 0 && iy < d->in_h ? in_b + iy * in_row : 0, zp4);
      }
      for (ox = 0; ox < d->out_w; ++ox, out += c) {
        const int8_t *x = scratch + ox * d->stride_w * col_bytes;
        if (fast && taps % 3 == 0) {
          args.x = x;
          args.w = p->weights;
          args.bias = p->bias;
          args.q = p->rq;
          args.out = out;
          tml_dw_groups(&args);
          continue;
        }
        /* A fused activation narrower than [-128, 127], or a window of other than 3k taps: the
           same sums in C, then the clamp. */
        for (g = 0; g < c; g += 4) {
          const uint32_t *w = p->weights + g / 4 * taps * 2;
          int32_t a[4];
          const int8_t *xt = x + g;
          for (i = 0; i < 4; ++i) a[i] = p->bias[g + i];
          for (t = 0; t < taps; ++t, xt += c, w += 2) {
            const uint32_t v = tml_read32(xt);
            const uint32_t e = tml_sxtb16(v), o = tml_sxtb16_ror8(v);
            a[0] = tml_smlabb(e, w[0], a[0]);
            a[2] = tml_smlatt(e, w[0], a[2]);
            a[1] = tml_smlabb(o, w[1], a[1]);
            a[3] = tml_smlatt(o, w[1], a[3]);
          }
          for (i = 0; i < 4; ++i) {
            const int32_t y = tml_ssat8(tml_rq_one(a[i], p->rq + g + i));
            out[g + i] = (int8_t)(y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y));
          }
        }
      }
    }
  }
}
