/*
 * tml_kernels_elementwise.h: element-wise arithmetic and activations (int8 activation tables,
 * int16 LOGISTIC/TANH, ADD int16, SUB, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, PRELU,
 * L2_NORMALIZATION). Conventions as in tml_kernels.h (NHWC, TFLite quantization, offsets
 * = -zero points on inputs and +zero point on the output, act_min/act_max).
 *
 * Semantics are those of TensorFlow Lite Micro's reference kernels (named per function); the
 * int8 reference executor in src/reference/int8/ computes the same bits and is the oracle the
 * tests compare with, beside TFLM's own outputs in ../shared/golden-ops.
 */
#ifndef TML_KERNELS_ELEMENTWISE_H
#define TML_KERNELS_ELEMENTWISE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Any int8 -> int8 element-wise function as a 256-entry table, indexed by the input's byte
 * (uint8_t)x: output[i] = table[(uint8_t)input[i]]. The generator fills the table from the int8
 * reference's element function, so each entry is what TFLM's kernel computes for that input:
 * RELU, RELU6 (activations.cc), LEAKY_RELU (leaky_relu.cc), HARD_SWISH (hard_swish.cc),
 * ELU (elu.cc, itself a table in TFLM), LOGISTIC (logistic.cc), TANH (tanh.cc).
 * input, output: count int8 values, any shape (same for both). May run in place.
 */
void tml_lut_s8(int32_t count, const int8_t *table, const int8_t *input, int8_t *output);

/**
 * LOGISTIC / TANH on int16 (TFLM reference_integer_ops Logistic / Tanh for int16): every value
 * through tml_sigmoid_s16 / tml_tanh_s16 (sigmoid_s16.c, declared in tml_kernels_conv16.h with
 * the integer LSTM that shares them): the input scaled by (x * multiplier + round) >> shift
 * (multiplier 0: 3 << shift, no shift), then TFLite's 256-node sigmoid(k / 24) table
 * interpolated. Input zero point 0; output scale 2^-15, zero point 0: logistic in [0, 32767],
 * tanh in [-32768, 32767]. input, output: count int16 values (activation_s16.c).
 */
void tml_logistic_array_s16(int32_t count, int32_t multiplier, int32_t shift, const int16_t *input,
                            int16_t *output);
void tml_tanh_array_s16(int32_t count, int32_t multiplier, int32_t shift, const int16_t *input,
                        int16_t *output);

/**
 * Numpy broadcasting of two inputs onto an output of up to 4 dimensions (shapes padded with
 * leading 1s). Element (i0, i1, i2, i3) of the output reads in1[sum ik * in1_strides[k]] and
 * in2[sum ik * in2_strides[k]]; a stride of 0 repeats that input along the dimension.
 */
typedef struct {
  int32_t out_shape[4];
  int32_t in1_strides[4];
  int32_t in2_strides[4];
  int32_t broadcast; /* 0: both inputs have the output's elements in order, a flat loop */
} tml_broadcast4;

/**
 * Quantized ADD / SUB / MUL / SQUARED_DIFFERENCE parameters (TFLM ArithmeticParams).
 * ADD, SUB (add.cc, sub.cc): a = mbqm((x1 + input1_offset) << left_shift, input1 mult/shift),
 *   b likewise; y = clamp(mbqm(a +/- b, output mult/shift) + output_offset, act_min, act_max).
 *   left_shift 20 for int8, 15 for int16.
 * SQUARED_DIFFERENCE (squared_difference.cc, int8): left_shift 7, d = a - b,
 *   y = clamp(mbqm(d * d, output mult/shift) + output_offset).
 * MUL (mul.cc): y = clamp(mbqm((x1 + input1_offset) * (x2 + input2_offset), output mult/shift)
 *   + output_offset); input multipliers unused.
 * mbqm: MultiplyByQuantizedMultiplier (double rounding); shifts <= 0 except MUL's.
 */
typedef struct {
  int32_t left_shift;
  int32_t input1_offset, input2_offset;
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
  int32_t output_offset;
  int32_t act_min, act_max;
} tml_arith_params;

void tml_add_s16(const tml_broadcast4 *b, const tml_arith_params *p, const int16_t *input1,
                 const int16_t *input2, int16_t *output);
void tml_sub_s8(const tml_broadcast4 *b, const tml_arith_params *p, const int8_t *input1,
                const int8_t *input2, int8_t *output);
void tml_sub_s16(const tml_broadcast4 *b, const tml_arith_params *p, const int16_t *input1,
                 const int16_t *input2, int16_t *output);
void tml_mul_s8(const tml_broadcast4 *b, const tml_arith_params *p, const int8_t *input1,
                const int8_t *input2, int8_t *output);
void tml_mul_s16(const tml_broadcast4 *b, const tml_arith_params *p, const int16_t *input1,
                 const int16_t *input2, int16_t *output);
void tml_squared_difference_s8(const tml_broadcast4 *b, const tml_arith_params *p,
                               const int8_t *input1, const int8_t *input2, int8_t *output);

/**
 * MAXIMUM / MINIMUM (maximum_minimum.cc): the larger / smaller raw value; inputs and output
 * share scale and zero point (TFLM does not requantize).
 */
void tml_maximum_s8(const tml_broadcast4 *b, const int8_t *input1, const int8_t *input2,
                    int8_t *output);
void tml_minimum_s8(const tml_broadcast4 *b, const int8_t *input1, const int8_t *input2,
                    int8_t *output);
void tml_maximum_s16(const tml_broadcast4 *b, const int16_t *input1, const int16_t *input2,
                     int16_t *output);
void tml_minimum_s16(const tml_broadcast4 *b, const int16_t *input1, const int16_t *input2,
                     int16_t *output);

/**
 * PRELU, int8 (prelu.cc, BroadcastPrelu4DSlow): c = x + input_offset;
 * y = clamp(output_offset + (c >= 0 ? mbqm(c, positive mult/shift)
 *                                   : mbqm(c * (alpha + alpha_offset), negative mult/shift))).
 * input1 is the input, input2 the alpha tensor (broadcast).
 */
typedef struct {
  int32_t input_offset, alpha_offset, output_offset;
  int32_t positive_multiplier, positive_shift; /* sIn / sOut */
  int32_t negative_multiplier, negative_shift; /* sIn * sAlpha / sOut */
} tml_prelu_params;

void tml_prelu_s8(const tml_broadcast4 *b, const tml_prelu_params *p, const int8_t *input,
                  const int8_t *alpha, int8_t *output);

/**
 * L2_NORMALIZATION, int8 (l2norm.cc, reference_integer_ops::L2Normalization) over the last
 * axis: per row, acc = sum (x - zp)^2, then y = clamp(mbqm(x - zp, 1/sqrt(acc)) in units of
 * 1/128 (output zero point 0). input, output: [rows, depth] int8.
 */
void tml_l2_normalization_s8(int32_t rows, int32_t depth, int32_t input_zero_point,
                             const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_ELEMENTWISE_H */
