/*
 * tml_kernels.h: the int8/int16 kernels the native backend's generated model.c calls.
 *
 * Conventions shared by every kernel (CMSIS-NN style):
 * - Activations are NHWC, row-major: element (n, y, x, c) of a [N, H, W, C] tensor is at
 *   ((n * H + y) * W + x) * C + c.
 * - Quantized values follow the TFLite spec: real = scale * (q - zero_point). int8 activations
 *   use one scale/zero point per tensor, in [-128, 127]; int8 weights are symmetric (zero point
 *   0), per output channel for convolutions.
 * - Offsets carry the sign the arithmetic needs: input_offset = -input_zero_point (so
 *   q + input_offset is the centred value), output_offset = +output_zero_point.
 * - act_min/act_max: the fused activation range in the output's quantized domain, already
 *   intersected with the dtype's range (e.g. [-128, 127] with no activation).
 * - Requantization: (multiplier, shift) pairs from tml_fixedpoint.h. `per_channel` = 1 means
 *   multiplier[c]/shift[c] per output channel, 0 means multiplier[0]/shift[0] for all.
 * - Biases passed to CONV/DEPTHWISE/FULLY_CONNECTED are "folded": the generator adds
 *   input_offset * sum(weights of that output channel) to the model's int32 bias, so the inner
 *   loops multiply raw int8 values. This is exact in int32 and gives the same results as
 *   TFLite Micro's reference kernels, which add the offset to every input element.
 * - No kernel allocates memory; scratch space, if any, is passed in.
 */
#ifndef TML_KERNELS_H
#define TML_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Geometry shared by CONV_2D, DEPTHWISE_CONV_2D and the pools. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_c;    /* input  [batches, in_h, in_w, in_c] */
  int32_t out_h, out_w, out_c; /* output [batches, out_h, out_w, out_c] */
  int32_t k_h, k_w;            /* filter (or pooling window) height and width */
  int32_t stride_h, stride_w;
  int32_t dil_h, dil_w;        /* dilation; 1 for pools */
  int32_t pad_top, pad_left;   /* explicit padding resolved at generation time */
} tml_window_dims;

/** Quantization of a convolution-like op (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED). */
typedef struct {
  int32_t input_offset;  /* -input zero point, in [-127, 128] */
  int32_t output_offset; /* output zero point, in [-128, 127] */
  int32_t act_min, act_max;
  int32_t per_channel;   /* 1: one multiplier/shift per output channel, 0: one for all */
  const int32_t *multiplier;
  const int32_t *shift;
} tml_requant;

/**
 * CONV_2D, int8 in and out, int8 per-channel weights.
 * input  [batches, in_h, in_w, in_c], int8
 * filter [out_c, k_h, k_w, in_c], int8, symmetric
 * bias   [out_c], int32, folded (see the header comment)
 * output [batches, out_h, out_w, out_c], int8
 * Taps that fall into the padding contribute nothing, as in TFLite (the padding value is the
 * input zero point).
 */
void tml_conv2d_s8(const tml_window_dims *d, const tml_requant *q, const int8_t *input,
                   const int8_t *filter, const int32_t *bias, int8_t *output);

/**
 * DEPTHWISE_CONV_2D, int8. out_c = in_c * depth_multiplier; output channel c reads input
 * channel c / depth_multiplier.
 * filter [1, k_h, k_w, out_c], int8; bias [out_c], int32, folded.
 */
void tml_depthwise_conv2d_s8(const tml_window_dims *d, const tml_requant *q,
                             int32_t depth_multiplier, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output);

/**
 * FULLY_CONNECTED, int8: output[b, u] = requant(bias[u] + sum_k weights[u, k] * input[b, k]).
 * input [batches, depth], weights [units, depth] (zero point 0), bias [units] folded,
 * output [batches, units].
 */
void tml_fully_connected_s8(int32_t batches, int32_t depth, int32_t units, const tml_requant *q,
                            const int8_t *input, const int8_t *weights, const int32_t *bias,
                            int8_t *output);

/**
 * AVERAGE_POOL_2D, int8: the rounded mean of the window's taps inside the image (padding
 * taps are not counted), clamped to [act_min, act_max]. Input and output share scale and
 * zero point. Returns 0, or -1 if a window has no tap inside the image.
 */
int tml_avg_pool2d_s8(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                      const int8_t *input, int8_t *output);

/** MAX_POOL_2D, int8: the largest tap inside the image, clamped to [act_min, act_max]. */
void tml_max_pool2d_s8(const tml_window_dims *d, int32_t act_min, int32_t act_max,
                       const int8_t *input, int8_t *output);

/** Parameters of SOFTMAX with an int8 input (TFLite's gemmlowp fixed-point algorithm). */
typedef struct {
  int32_t outer;            /* number of rows */
  int32_t depth;            /* row length: softmax runs over the last axis */
  int32_t input_multiplier; /* beta * input_scale in Q5.26, as TFLite's PreprocessSoftmaxScaling */
  int32_t input_left_shift;
  int32_t diff_min;         /* differences below this give exactly 0 probability */
} tml_softmax_params;

/** SOFTMAX int8 -> int8: output scale 1/256, zero point -128. */
void tml_softmax_s8(const tml_softmax_params *p, const int8_t *input, int8_t *output);
/** SOFTMAX int8 -> int16: output scale 1/65536, zero point -32768. */
void tml_softmax_s8_s16(const tml_softmax_params *p, const int8_t *input, int16_t *output);

/** ADD, int8, with numpy broadcasting over up to 4 dimensions (TFLite's int8 ADD arithmetic). */
typedef struct {
  int32_t out_shape[4];              /* output shape padded to 4-D with leading 1s */
  int32_t in1_strides[4];            /* element strides of input 1 per output dim; 0 broadcasts */
  int32_t in2_strides[4];
  int32_t broadcast;                 /* 0: same shapes, a flat loop over out elements */
  int32_t left_shift;                /* 20 for int8 */
  int32_t input1_offset, input2_offset; /* -zero points */
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
  int32_t output_offset;
  int32_t act_min, act_max;
} tml_add_params;

void tml_add_s8(const tml_add_params *p, const int8_t *input1, const int8_t *input2,
                int8_t *output);

/**
 * QUANTIZE between integer types (TFLite's Requantize):
 * out = clamp(requant(in - in_zero_point) + out_zero_point) to the output dtype's range.
 * in/out dtypes are given by the function name (s8, s16, s32).
 */
typedef struct {
  int32_t count;
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift;
} tml_requantize_params;

void tml_requantize_s16_s8(const tml_requantize_params *p, const int16_t *input, int8_t *output);
void tml_requantize_s8_s8(const tml_requantize_params *p, const int8_t *input, int8_t *output);
void tml_requantize_s8_s16(const tml_requantize_params *p, const int8_t *input, int16_t *output);
void tml_requantize_s16_s16(const tml_requantize_params *p, const int16_t *input, int16_t *output);
void tml_requantize_s8_s32(const tml_requantize_params *p, const int8_t *input, int32_t *output);
void tml_requantize_s16_s32(const tml_requantize_params *p, const int16_t *input, int32_t *output);

/**
 * QUANTIZE float32 -> int8/int16: q = round(x / scale) + zero_point, clamped to the dtype.
 * round_half_even = 0: halves away from zero (TFLite); 1: halves to even (ONNX QuantizeLinear).
 */
void tml_quantize_f32_s8(int32_t count, float scale, int32_t zero_point, int32_t round_half_even,
                         const float *input, int8_t *output);
void tml_quantize_f32_s16(int32_t count, float scale, int32_t zero_point, int32_t round_half_even,
                          const float *input, int16_t *output);

/** DEQUANTIZE int8/int16 -> float32: x = scale * (q - zero_point). */
void tml_dequantize_s8_f32(int32_t count, float scale, int32_t zero_point, const int8_t *input,
                           float *output);
void tml_dequantize_s16_f32(int32_t count, float scale, int32_t zero_point, const int16_t *input,
                            float *output);

/**
 * SVDF with int8 input/output and int16 state/time weights (TFLite Micro's integer SVDF).
 * input          [batches, n_input], int8
 * weights_feature [n_filter, n_input], int8
 * weights_time   [n_filter, n_memory], int16
 * bias           [n_unit] int32, or NULL; n_unit = n_filter / rank
 * state          [batches, n_filter * n_memory], int16, persistent across invocations
 * output         [batches, n_unit], int8
 * Step: shift the state left by one element, write the new feature activations into the last
 * memory slot of each filter, then output = requant2(bias + sum over rank of time dot products).
 */
typedef struct {
  int32_t batches, n_input, n_filter, n_memory, rank;
  int32_t input_zero_point, state_zero_point, output_zero_point;
  int32_t multiplier1, shift1; /* input * weights_feature -> state */
  int32_t multiplier2, shift2; /* state * weights_time -> output */
} tml_svdf_params;

void tml_svdf_s8_s16(const tml_svdf_params *p, const int8_t *input, const int8_t *weights_feature,
                     const int16_t *weights_time, const int32_t *bias, int16_t *state,
                     int8_t *output);
void tml_svdf_s8_s8(const tml_svdf_params *p, const int8_t *input, const int8_t *weights_feature,
                    const int8_t *weights_time, const int32_t *bias, int8_t *state,
                    int8_t *output);

#ifdef __cplusplus
}
#endif

/* Kernel families declared in their own headers (each documents its layouts and ranges). */
#include "tml_kernels_elementwise.h"
#include "tml_kernels_shape.h"
#include "tml_kernels_conv16.h"
#include "tml_kernels_dsp.h"

#endif /* TML_KERNELS_H */
