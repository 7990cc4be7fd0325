/*
 * lut.c: int8 element-wise activations as a 256-entry lookup table (see tml_lut_s8 in
 * tml_kernels_elementwise.h). The table holds the exact TFLM output for each int8 input, so
 * one load per element replaces the kernel's fixed-point arithmetic.
 */
#include "tml_kernels.h"

void tml_lut_s8(int32_t count, const int8_t *table, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < count; ++i) output[i] = table[(uint8_t)input[i]];
}
