/*
 * conv_s16.c: 16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (int16 activations with zero
 * point 0, int8 symmetric weights, int64 or int32 bias).
 *
 * Same results as TFLite Micro's reference ConvPerChannel / DepthwiseConvPerChannel /
 * FullyConnected for int16 input. An int16 x int8 product is below 2^22 in magnitude, so the
 * int64 accumulators cannot overflow for any realistic filter; the int32 variants (int32 bias)
 * wrap modulo 2^32 like the reference's int32 arithmetic, computed without undefined behaviour.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/*
 * TFLite's MultiplyByQuantizedMultiplier for an int64 accumulator (|x| < 2^47): the multiplier
 * is rounded to 16 bits, then one rounding right shift by 15 - shift.
 */
TML_INLINE int32_t mbqm64(int64_t x, int32_t multiplier, int32_t shift) {
  const int64_t reduced = multiplier < 0x7FFF0000 ? (int64_t)((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int total_shift = 15 - (int)shift;
  const int64_t round = (int64_t)1 << (total_shift - 1);
  /* >> of a negative int64 is an arithmetic shift on every compiler tinyml targets (gcc). */
  return (int32_t)((x * reduced + round) >> total_shift);
}

TML_INLINE int16_t requant64(const tml_requant *q, int32_t c, int64_t acc) {
  const int32_t i = q->per_channel ? c : 0;
  return (int16_t)tml_clamp(mbqm64(acc, q->multiplier[i], q->shift[i]), q->act_min, q->act_max);
}

TML_INLINE int16_t requant32(const tml_requant *q, int32_t c, int32_t acc) {
  const int32_t i = q->per_channel ? c : 0;
  return (int16_t)tml_clamp(tml_mbqm(acc, q->multiplier[i], q->shift[i]), q->act_min, q->act_max);
}

/* One output position of a (grouped) 16x8 convolution: the window sum for output channel oc. */
TML_INLINE int64_t conv_window_sum(const tml_window_dims *d, int32_t filter_in_c, const int16_t *in_batch,
                                   const int8_t *filter, int32_t in_y0, int32_t in_x0, int32_t oc,
                                   int32_t in_c0) {
  int64_t acc = 0;
  int32_t fy, fx, ic;
  for (fy = 0; fy < d->k_h; ++fy) {
    const int32_t iy = in_y0 + d->dil_h * fy;
    if (iy < 0 || iy >= d->in_h) continue;
    for (fx = 0; fx < d->k_w; ++fx) {
      const int32_t ix = in_x0 + d->dil_w * fx;
      const int16_t *x;
      const int8_t *w;
      if (ix < 0 || ix >= d->in_w) continue;
      x = in_batch + (iy * d->in_w + ix) * d->in_c + in_c0;
      w = filter + ((oc * d->k_h + fy) * d->k_w + fx) * filter_in_c;
      /* 32 x 32 -> 64-bit multiply-accumulate (one SMLAL on Cortex-M4). */
      for (ic = 0; ic < filter_in_c; ++ic) acc += (int32_t)x[ic] * (int32_t)w[ic];
    }
  }
  return acc;
}

void tml_conv2d_s16(const tml_window_dims *d, const tml_requant *q, int32_t filter_in_c,
                    const int16_t *input, const int8_t *filter, const int64_t *bias,
                    int16_t *output) {
  const int32_t per_group = d->out_c / (d->in_c / filter_in_c);
  int32_t b, oy, ox, oc;
  for (b = 0; b < d->batches; ++b) {
    const int16_t *in_batch = input + b * d->in_h * d->in_w * d->in_c;
    for (oy = 0; oy < d->out_h; ++oy) {
      for (ox = 0; ox < d->out_w; ++ox) {
        int16_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * d->out_c;
        for (oc = 0; oc < d->out_c; ++oc) {
          int64_t acc = conv_window_sum(d, filter_in_c, in_batch, filter, oy * d->stride_h - d->pad_top,
                                        ox * d->stride_w - d->pad_left, oc, (oc / per_group) * filter_in_c);
          if (bias) acc += bias[oc];
          out[oc] = requant64(q, oc, acc);
        }
      }
    }
  }
}

void tml_conv2d_s16_b32(const tml_window_dims *d, const tml_requant *q, int32_t filter_in_c,
                        const int16_t *input, const int8_t *filter, const int32_t *bias,
                        int16_t *output) {
  const int32_t per_group = d->out_c / (d->in_c / filter_in_c);
  int32_t b, oy, ox, oc;
  for (b = 0; b < d->batches; ++b) {
    const int16_t *in_batch = input + b * d->in_h * d->in_w * d->in_c;
    for (oy = 0; oy < d->out_h; ++oy) {
      for (ox = 0; ox < d->out_w; ++ox) {
        int16_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * d->out_c;
        for (oc = 0; oc < d->out_c; ++oc) {
          const int64_t sum = conv_window_sum(d, filter_in_c, in_batch, filter, oy * d->stride_h - d->pad_top,
                                              ox * d->stride_w - d->pad_left, oc, (oc / per_group) * filter_in_c);
          /* The reference accumulates in int32: keep the low 32 bits of the exact sum. */
          uint32_t wrap = (uint32_t)(uint64_t)sum;
          if (bias) wrap += (uint32_t)bias[oc];
          out[oc] = requant32(q, oc, (int32_t)wrap);
        }
      }
    }
  }
}

void tml_depthwise_conv2d_s16(const tml_window_dims *d, const tml_requant *q,
                              int32_t depth_multiplier, const int16_t *input,
                              const int8_t *filter, const int64_t *bias, int16_t *output) {
  int32_t b, oy, ox, ic, m, fy, fx;
  for (b = 0; b < d->batches; ++b) {
    const int16_t *in_batch = input + b * d->in_h * d->in_w * d->in_c;
    for (oy = 0; oy < d->out_h; ++oy) {
      const int32_t in_y0 = oy * d->stride_h - d->pad_top;
      for (ox = 0; ox < d->out_w; ++ox) {
        const int32_t in_x0 = ox * d->stride_w - d->pad_left;
        int16_t *out = output + ((b * d->out_h + oy) * d->out_w + ox) * d->out_c;
        for (ic = 0; ic < d->in_c; ++ic) {
          for (m = 0; m < depth_multiplier; ++m) {
            const int32_t oc = ic * depth_multiplier + m;
            int64_t acc = bias ? bias[oc] : 0;
            for (fy = 0; fy < d->k_h; ++fy) {
              const int32_t iy = in_y0 + d->dil_h * fy;
              if (iy < 0 || iy >= d->in_h) continue;
              for (fx = 0; fx < d->k_w; ++fx) {
                const int32_t ix = in_x0 + d->dil_w * fx;
                if (ix < 0 || ix >= d->in_w) continue;
                acc += (int32_t)in_batch[(iy * d->in_w + ix) * d->in_c + ic] *
                       (int32_t)filter[(fy * d->k_w + fx) * d->out_c + oc];
              }
            }
            out[oc] = requant64(q, oc, acc);
          }
        }
      }
    }
  }
}

void tml_fully_connected_s16(int32_t batches, int32_t depth, int32_t units, const tml_requant *q,
                             const int16_t *input, const int8_t *weights, const int64_t *bias,
                             int16_t *output) {
  int32_t b, u, k;
  for (b = 0; b < batches; ++b) {
    const int16_t *x = input + b * depth;
    for (u = 0; u < units; ++u) {
      const int8_t *w = weights + u * depth;
      int64_t acc = bias ? bias[u] : 0;
      for (k = 0; k < depth; ++k) acc += (int32_t)x[k] * (int32_t)w[k];
      output[b * units + u] = requant64(q, u, acc);
    }
  }
}

void tml_fully_connected_s16_b32(int32_t batches, int32_t depth, int32_t units,
                                 const tml_requant *q, const int16_t *input,
                                 const int8_t *weights, const int32_t *bias, int16_t *output) {
  int32_t b, u, k;
  for (b = 0; b < batches; ++b) {
    const int16_t *x = input + b * depth;
    for (u = 0; u < units; ++u) {
      const int8_t *w = weights + u * depth;
      uint32_t wrap = bias ? (uint32_t)bias[u] : 0u;
      for (k = 0; k < depth; ++k) wrap += (uint32_t)((int32_t)x[k] * (int32_t)w[k]);
      output[b * units + u] = requant32(q, u, (int32_t)wrap);
    }
  }
}
