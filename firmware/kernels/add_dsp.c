/*
 * add_dsp.c: ADD for the dsp kernel set. TFLite's int8 ADD rescales each input with
 * MultiplyByQuantizedMultiplierSmallerThanOneExp((v - zero_point) << 20); that depends on the
 * int8 value alone, so the generator tabulates it (256 int32 per input, doubled for
 * tml_requant.h) and each element costs two table reads, an add and a five-instruction
 * requantization. Same results as TFLite Micro's reference kernel.
 */
#include "tml_kernels_dsp.h"
#include "tml_requant.h"

TML_INLINE void add_loop(const tml_add_dsp_params *p, const int8_t *in1, const int8_t *in2, int8_t *out, int full) {
  const int32_t *l1 = p->lut1 + 128, *l2 = p->lut2 + 128;
  const int32_t m = p->rq.multiplier, k = p->rq.k, e = p->rq.shift;
  int32_t i;
  for (i = 0; i < p->count; ++i) {
    int32_t y = tml_ssat8(tml_rq_apply(l1[in1[i]] + l2[in2[i]], m, k, e));
    if (!full) y = y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y);
    out[i] = (int8_t)y;
  }
}

void tml_add_s8_dsp(const tml_add_dsp_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
  if (p->act_min == -128 && p->act_max == 127) add_loop(p, in1, in2, out, 1);
  else add_loop(p, in1, in2, out, 0);
}
