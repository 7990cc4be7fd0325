/*
 * tml_kernels_elementwise.h: element-wise arithmetic and activations (ADD/SUB/MUL int16, MAXIMUM, MINIMUM, RELU, LEAKY_RELU, HARD_SWISH, PRELU, ELU, LOGISTIC, TANH, ...).
 * Conventions as in tml_kernels.h (NHWC, TFLite quantization, offsets, act_min/act_max).
 */
#ifndef TML_KERNELS_ELEMENTWISE_H
#define TML_KERNELS_ELEMENTWISE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_ELEMENTWISE_H */
