/*
 * prelu.c: PRELU, int8, the alpha tensor broadcast against the input over up to 4 dimensions
 * (TFLM prelu.cc, reference_ops::BroadcastPrelu4DSlow; see tml_prelu_params).
 */
#include "tml_kernels.h"
#include "tml_broadcast.h"
#include "tml_fixedpoint.h"

TML_INLINE int8_t prelu_one(const tml_prelu_params *p, int32_t x, int32_t alpha) {
  const int32_t c = x + p->input_offset;
  const int32_t v = c >= 0
                        ? tml_mbqm(c, p->positive_multiplier, p->positive_shift)
                        : tml_mbqm(c * (alpha + p->alpha_offset), p->negative_multiplier,
                                   p->negative_shift);
  return (int8_t)tml_clamp(v + p->output_offset, -128, 127);
}

#define PRELU_ELEM(x, a) prelu_one(p, (x), (a))

void tml_prelu_s8(const tml_broadcast4 *b, const tml_prelu_params *p, const int8_t *input,
                  const int8_t *alpha, int8_t *output) {
  TML_FOR_EACH_BROADCAST(b, input, alpha, output, PRELU_ELEM);
}
