/*
 * tml_kernels_dsp.h: the dsp kernel set, the default on cores with the Armv7E-M DSP extension
 * (Cortex-M4/M7/M33). Same results as the portable kernels (tml_kernels.h) bit for bit; written
 * with the SIMD instructions of tml_simd.h (portable C definitions elsewhere, so the host tests
 * run this very source) and with everything the generator can precompute precomputed:
 *
 * - Weights are packed once, at generation time, in the order the inner loop reads them:
 *   output channels in groups of 4 (the last group padded with zero weights), and within a group,
 *   for every 4 consecutive k values (k = the flattened [k_h, k_w, in_c] filter index, padded to a
 *   multiple of 4 with zeros), 8 words: for channel c = 0..3 of the group, the int16 pairs
 *   (2 w[c][k], 2 w[c][k+2]) and (2 w[c][k+1], 2 w[c][k+3]) (low half first). They pair with
 *   SXTB16(x) = (x[k], x[k+2]) and SXTB16(x, ROR #8) = (x[k+1], x[k+3]) of one input word, so one
 *   SMLAD does two multiply-adds. Weights and biases are stored doubled: accumulators hold 2 * acc,
 *   which the requantization of tml_requant.h needs (exact: |acc| < 2^30 is checked).
 * - Padding: every window is read with its padding taps at the input zero point (gathered for
 *   convolutions, a padded line buffer for depthwise); since the input offset is folded into the
 *   bias, they contribute exactly nothing, as in TFLite.
 * - Requantization: tml_rq entries (tml_requant.h), one per output channel (a per-tensor
 *   multiplier is repeated), padded to whole groups of 4.
 */
#ifndef TML_KERNELS_DSP_H
#define TML_KERNELS_DSP_H

#include <stdint.h>
#include "tml_kernels.h"
#include "tml_requant.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A fused ADD applied to each output value y of a convolution: out = ADD(other, y). */
typedef struct {
  /* Doubled rescaled inputs of TFLite's int8 ADD, 2 * MBQM((v + offset) << 20, m, shift), as
     tables of 256 entries indexed by the int8 value + 128. */
  const int32_t *lut_other;
  const int32_t *lut_conv;
  tml_rq rq;                 /* the ADD's output requantization, zero point folded in */
  int32_t act_min, act_max;  /* the ADD's fused activation range */
} tml_add_epilogue;

/**
 * CONV_2D (and FULLY_CONNECTED, as a 1x1 convolution over [batches, 1, 1, depth]), int8.
 * im2col = 0: a 1x1 filter without padding and in_c % 4 == 0; each window is the input pixel.
 * im2col = 1: each window (strided, dilated, padded) is gathered into `scratch` as k_len bytes
 * in [k_h][k_w][in_c] order, padding taps at the input zero point, then zeros up to k_len.
 */
typedef struct {
  tml_window_dims d;
  int32_t im2col;
  int32_t x16;                  /* widen each window to int16 pairs once, in scratch */
  int32_t k_len;                /* k values per window, padded to a multiple of 4 */
  const uint32_t *weights;      /* [ceil(out_c / 4)][k_len / 4][8] packed pairs, doubled */
  const int32_t *bias;          /* [ceil(out_c / 4) * 4], doubled, input offset folded in */
  const tml_rq *rq;             /* [ceil(out_c / 4) * 4], one per channel */
  int32_t act_min, act_max;
  int32_t input_zero_point;     /* im2col padding value */
  int32_t copy_pixel;           /* 1x1 running in place: copy each input pixel to scratch first */
  const tml_add_epilogue *add;  /* NULL, or a fused ADD */
} tml_conv_dsp_params;

/**
 * Runs output rows [oy0, oy1) of every batch. `output` points at row oy0 of batch 0 (so a row
 * buffer works); `other` is the fused ADD's other input with the output's layout, or NULL.
 * `scratch` (4-byte aligned): im2col: k_len bytes, then 2 k_len more with x16; 1x1: 2 k_len
 * bytes with x16, in_c bytes with copy_pixel; then, with a fused ADD, out_c bytes (the
 * convolution's output pixel before the ADD). Each output value is
 * written after everything it depends on has been read, so with copy_pixel the output may
 * overwrite the input (pixel by pixel) and a fused ADD's output may overwrite `other`.
 */
void tml_conv2d_s8_dsp(const tml_conv_dsp_params *p, const int8_t *input, int8_t *output,
                       const int8_t *other, int8_t *scratch, int32_t oy0, int32_t oy1);

/**
 * FULLY_CONNECTED over a slice of the input: for every unit u (in groups of 4; acc holds
 * ceil(units / 4) * 4 sums), acc[u] += 2 * sum_{k < depth} w[u][k0 + k] * x[k], with the packed
 * weights of the whole layer (k_len = its padded depth) and k0, depth multiples of 4. Used to
 * stream a convolution's output rows into the FULLY_CONNECTED that reads them, without storing
 * the whole tensor.
 */
void tml_fc_accumulate_s8_dsp(const uint32_t *weights, int32_t units, int32_t k_len, int32_t k0,
                              int32_t depth, const int8_t *x, int32_t *acc);

/** Requantizes acc[units] (doubled sums, bias included; rq one entry per unit) into output. */
void tml_fc_finish_s8_dsp(int32_t units, const tml_rq *rq, int32_t act_min, int32_t act_max,
                          const int32_t *acc, int8_t *output);

/**
 * DEPTHWISE_CONV_2D with depth multiplier 1 and in_c % 4 == 0, int8.
 * weights: [in_c / 4][k_w][k_h][2] words (taps column by column): per group of 4 channels and
 * tap, the doubled int16 pairs (2 w[c0], 2 w[c2]) and (2 w[c1], 2 w[c3]) (matching SXTB16 of the
 * input word and of the input word rotated by 8); bias: [in_c], doubled; rq: [in_c].
 * scratch (4-byte aligned): the line buffer, columns * k_h * in_c bytes, where columns =
 * in_w + pad_left + the right padding the last window needs.
 * in_place: the output overwrites the input (same shape, stride 1).
 */
typedef struct {
  tml_window_dims d;
  const uint32_t *weights;
  const int32_t *bias;
  const tml_rq *rq;
  int32_t act_min, act_max;
  int32_t input_zero_point;
  int32_t in_place;
} tml_dw_dsp_params;

void tml_depthwise_conv2d_s8_dsp(const tml_dw_dsp_params *p, const int8_t *input, int8_t *output,
                                 int8_t *scratch);

/** ADD of two int8 tensors of the same shape (TFLite's int8 ADD arithmetic, via tables). */
typedef struct {
  int32_t count;
  const int32_t *lut1; /* [256]: 2 * rescaled input 1, indexed by value + 128 (see tml_add_epilogue) */
  const int32_t *lut2;
  tml_rq rq;
  int32_t act_min, act_max;
} tml_add_dsp_params;

/** out[i] = ADD(in1[i], in2[i]); out may be in1 or in2 (each element is read before it is written). */
void tml_add_s8_dsp(const tml_add_dsp_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);

/**
 * AVERAGE_POOL_2D, int8, in_c % 4 == 0 and k_h * k_w <= 256: as tml_avg_pool2d_s8 (same
 * arguments, same results), four channels per SIMD add. Returns 0, or -1 if a window has no
 * tap inside the image.
 */
int tml_avg_pool2d_s8_dsp(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                          const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_DSP_H */
