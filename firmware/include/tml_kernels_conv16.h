/*
 * tml_kernels_conv16.h: 16x8 convolutions, fully connected, pooling and softmax; TRANSPOSE_CONV;
 * the integer UNIDIRECTIONAL_SEQUENCE_LSTM; the int16 sigmoid/tanh they share.
 *
 * Conventions as in tml_kernels.h (NHWC, TFLite quantization, tml_window_dims, tml_requant).
 * 16x8 means int16 activations, symmetric (zero point 0, so tml_requant's offsets are 0 and
 * no bias is folded), with int8 symmetric weights. Semantics: TFLite Micro's reference kernels
 * at commit 90b983c (the goldens in ../shared/golden-ops), see each function.
 */
#ifndef TML_KERNELS_CONV16_H
#define TML_KERNELS_CONV16_H

#include <stdint.h>
#include "tml_kernels.h" /* tml_window_dims, tml_requant */

#ifdef __cplusplus
extern "C" {
#endif

/**
 * CONV_2D, 16x8. input [batches, in_h, in_w, in_c] int16; filter [out_c, k_h, k_w, filter_in_c]
 * int8 (filter_in_c = in_c / groups; output channel c reads group c / (out_c / groups));
 * bias [out_c] int64 or NULL; output [batches, out_h, out_w, out_c] int16.
 * int64 accumulator, requantized with TFLite's int64 MultiplyByQuantizedMultiplier (multiplier
 * rounded to 16 bits, one rounding shift), clamped to [act_min, act_max].
 */
void tml_conv2d_s16(const tml_window_dims *d, const tml_requant *q, int32_t filter_in_c,
                    const int16_t *input, const int8_t *filter, const int64_t *bias,
                    int16_t *output);

/** CONV_2D, 16x8 with an int32 bias: int32 accumulator (wrapping) and the int32 requantizer. */
void tml_conv2d_s16_b32(const tml_window_dims *d, const tml_requant *q, int32_t filter_in_c,
                        const int16_t *input, const int8_t *filter, const int32_t *bias,
                        int16_t *output);

/**
 * DEPTHWISE_CONV_2D, 16x8. filter [1, k_h, k_w, out_c] int8, out_c = in_c * depth_multiplier;
 * bias [out_c] int64 or NULL. int64 accumulator as tml_conv2d_s16.
 */
void tml_depthwise_conv2d_s16(const tml_window_dims *d, const tml_requant *q,
                              int32_t depth_multiplier, const int16_t *input,
                              const int8_t *filter, const int64_t *bias, int16_t *output);

/**
 * FULLY_CONNECTED, 16x8: output[b, u] = requant(bias[u] + sum_k weights[u, k] * input[b, k]).
 * input [batches, depth] int16, weights [units, depth] int8, bias [units] int64 or NULL,
 * output [batches, units] int16. int64 accumulator and requantizer; q->per_channel selects
 * per-unit or one multiplier.
 */
void tml_fully_connected_s16(int32_t batches, int32_t depth, int32_t units, const tml_requant *q,
                             const int16_t *input, const int8_t *weights, const int64_t *bias,
                             int16_t *output);

/** FULLY_CONNECTED, 16x8 with an int32 bias: int32 accumulator and requantizer. */
void tml_fully_connected_s16_b32(int32_t batches, int32_t depth, int32_t units,
                                 const tml_requant *q, const int16_t *input,
                                 const int8_t *weights, const int32_t *bias, int16_t *output);

/**
 * AVERAGE_POOL_2D, int16: the rounded mean (int32 sum, division rounding half away from zero)
 * of the window's taps inside the image, clamped. Returns 0, or -1 if a window has no tap inside.
 */
int tml_avg_pool2d_s16(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                       const int16_t *input, int16_t *output);

/** MAX_POOL_2D, int16: the largest tap inside the image, clamped to [act_min, act_max]. */
void tml_max_pool2d_s16(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                        const int16_t *input, int16_t *output);

/**
 * SOFTMAX int16 -> int16 over the last axis (TFLite's SoftmaxInt16). Input zero point 0; output
 * scale 1/32768, zero point 0 (values in [0, 32767]). input_multiplier/input_shift scale
 * x - row max so that [-65535, 0] spans [-10, 0]. The two 513-entry tables are TFLite's
 * LUTPopulate<int16_t> of exp on [-10, 0] and of 1/(1+x) on [0, 1], generated once by tinyml.
 */
typedef struct {
  int32_t outer;  /* number of rows */
  int32_t depth;  /* row length */
  int32_t input_multiplier, input_shift;
  const int16_t *exp_lut;               /* 513 entries */
  const int16_t *one_over_one_plus_x_lut; /* 513 entries */
} tml_softmax_s16_params;

void tml_softmax_s16(const tml_softmax_s16_params *p, const int16_t *input, int16_t *output);

/**
 * TRANSPOSE_CONV, int8 (TFLite's reference_integer_ops::TransposeConv).
 * input [batches, in_h, in_w, in_c] int8; filter [out_c, k_h, k_w, in_c] int8 symmetric;
 * bias [out_c] int32 or NULL; output [batches, out_h, out_w, out_c] int8.
 * Output (oy, ox) gathers input (iy, ix) and tap (fy, fx) with iy * stride_h - pad_top + fy = oy
 * (same for x): the sum TFLite scatters, without its output-sized int32 scratch. Then bias,
 * per-channel requantization, output offset, clamp. dil_h/dil_w must be 1.
 */
void tml_transpose_conv_s8(const tml_window_dims *d, const tml_requant *q, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output);

/**
 * int16 sigmoid and tanh of one value (TFLite's reference_integer_ops Logistic/Tanh for int16):
 * x is scaled by (x * multiplier + round) >> shift, multiplier 0 meaning 3 << shift with no
 * shift; the result interpolates TFLite's 256-entry sigmoid(k/24) table. Output Q0.15.
 */
int16_t tml_sigmoid_s16(int32_t x, int32_t multiplier, int32_t shift);
int16_t tml_tanh_s16(int32_t x, int32_t multiplier, int32_t shift);

/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations, int8 per-tensor weights, int32 biases, int16
 * cell state (TFLite Micro's integer LSTM, lstm_eval.h). Gates are indexed forget, input, cell,
 * output. Per step and unit j:
 *   pre_g = sat16(sat16(mbqm(bias_g[j] + sum W_g[j,:] (x - x_zp), in_g))
 *               + sat16(mbqm(sum R_g[j,:] (h - h_zp), rec_g)))       Q3.12
 *   f, i, o = sigmoid(pre); g = tanh(pre)                              Q0.15
 *   c = sat16(sat16(mbqm(f c, forget_cell)) + sat16(mbqm(i g, input_cell))), clipped to
 *       +-cell_clip when cell_clip > 0
 *   h = clamp8(mbqm(o tanh_c(c), hidden) + h_zp)
 * input [batches, time_steps, input_size] ([time_steps, batches, input_size] if time_major),
 * hidden [batches, units] int8 and cell [batches, units] int16: persistent state, updated;
 * output like input with units features. No scratch: each step writes the new hidden values
 * into its output rows, then copies them into the hidden state.
 */
typedef struct {
  int32_t batches, time_steps, input_size, units, time_major;
  int32_t input_zero_point, hidden_zero_point;
  const int8_t *input_weights[4];     /* [units, input_size] */
  const int8_t *recurrent_weights[4]; /* [units, units] */
  const int32_t *bias[4];             /* [units] */
  int32_t input_multiplier[4], input_shift[4];         /* x * W -> Q3.12 */
  int32_t recurrent_multiplier[4], recurrent_shift[4]; /* h * R -> Q3.12 */
  int32_t forget_cell_multiplier, forget_cell_shift;   /* f * c -> cell scale */
  int32_t input_cell_multiplier, input_cell_shift;     /* i * g -> cell scale */
  int32_t hidden_multiplier, hidden_shift;             /* o * tanh(c) -> hidden scale */
  int32_t cell_tanh_multiplier, cell_tanh_shift;       /* tml_tanh_s16 of the cell state */
  int32_t cell_clip;                                   /* quantized; 0: no clipping */
} tml_lstm_params;

void tml_lstm_s8_s16(const tml_lstm_params *p, const int8_t *input, int8_t *hidden,
                     int16_t *cell, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_CONV16_H */
