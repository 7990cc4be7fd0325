/*
 * tml_kernels_shape.h: data movement, reductions and resizing (CONCATENATION, PAD, TRANSPOSE, STRIDED_SLICE, MEAN, RESIZE_*, ...).
 * Conventions as in tml_kernels.h (NHWC, TFLite quantization, offsets, act_min/act_max).
 */
#ifndef TML_KERNELS_SHAPE_H
#define TML_KERNELS_SHAPE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_SHAPE_H */
