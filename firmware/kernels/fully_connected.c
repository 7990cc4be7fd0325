/*
 * fully_connected.c: FULLY_CONNECTED for int8 activations and int8 weights.
 *
 * Same results as TFLite Micro's reference FullyConnected (int8); the input offset is folded
 * into the bias at generation time, so each output is one int8 dot product plus a requantize.
 */
#include "tml_kernels.h"
#include "tml_fixedpoint.h"
#include "tml_dot.h"

TML_INLINE int8_t fc_requant(const tml_requant *q, int32_t u, int32_t acc) {
  const int32_t i = q->per_channel ? u : 0;
  acc = tml_mbqm(acc, q->multiplier[i], q->shift[i]) + q->output_offset;
  return (int8_t)tml_clamp(acc, q->act_min, q->act_max);
}

void tml_fully_connected_s8(int32_t batches, int32_t depth, int32_t units, const tml_requant *q,
                            const int8_t *input, const int8_t *weights, const int32_t *bias,
                            int8_t *output) {
  int32_t b, u;
  for (b = 0; b < batches; ++b) {
    const int8_t *x = input + b * depth;
    int8_t *out = output + b * units;
    /* Two units per pass over the input: each input value is loaded once for both. */
    for (u = 0; u + 1 < units; u += 2) {
      int32_t acc0 = bias[u], acc1 = bias[u + 1];
      tml_dot2_s8(x, weights + u * depth, weights + (u + 1) * depth, depth, &acc0, &acc1);
      out[u] = fc_requant(q, u, acc0);
      out[u + 1] = fc_requant(q, u + 1, acc1);
    }
    if (u < units) out[u] = fc_requant(q, u, tml_dot_s8(x, weights + u * depth, depth, bias[u]));
  }
}
