/*
 * tml_kernels_conv16.h: 16x8 convolutions, pooling and softmax, TRANSPOSE_CONV, UNIDIRECTIONAL_SEQUENCE_LSTM.
 * Conventions as in tml_kernels.h (NHWC, TFLite quantization, offsets, act_min/act_max).
 */
#ifndef TML_KERNELS_CONV16_H
#define TML_KERNELS_CONV16_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_CONV16_H */
