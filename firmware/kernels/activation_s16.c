/*
 * activation_s16.c: the int16 LOGISTIC and TANH ops over a tensor (see
 * tml_logistic_array_s16 in tml_kernels_elementwise.h); the per-value arithmetic is
 * sigmoid_s16.c's, shared with the integer LSTM.
 */
#include "tml_kernels.h"

void tml_logistic_array_s16(int32_t count, int32_t multiplier, int32_t shift, const int16_t *input,
                            int16_t *output) {
  int32_t i;
  for (i = 0; i < count; ++i) output[i] = tml_sigmoid_s16(input[i], multiplier, shift);
}

void tml_tanh_array_s16(int32_t count, int32_t multiplier, int32_t shift, const int16_t *input,
                        int16_t *output) {
  int32_t i;
  for (i = 0; i < count; ++i) output[i] = tml_tanh_s16(input[i], multiplier, shift);
}
