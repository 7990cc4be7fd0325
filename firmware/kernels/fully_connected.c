/*
 * fully_connected.c: FULLY_CONNECTED for int8 activations and int8 weights.
 *
 * Same results as TFLite Micro's reference FullyConnected (int8); the input offset is folded
 * into the bias at generation time, so each output is one int8 dot product plus a requantize.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

void tml_fully_connected_s8(int32_t batches, int32_t depth, int32_t units, const tml_requant *q,
                            const int8_t *input, const int8_t *weights, const int32_t *bias,
                            int8_t *output) {
  int32_t b, u, k;
  for (b = 0; b < batches; ++b) {
    const int8_t *x = input + b * depth;
    for (u = 0; u < units; ++u) {
      const int8_t *w = weights + u * depth;
      const int32_t i = q->per_channel ? u : 0;
      int32_t acc = bias[u];
      for (k = 0; k < depth; ++k) acc += (int32_t)x[k] * (int32_t)w[k];
      acc = tml_mbqm(acc, q->multiplier[i], q->shift[i]) + q->output_offset;
      output[b * units + u] = (int8_t)tml_clamp(acc, q->act_min, q->act_max);
    }
  }
}
