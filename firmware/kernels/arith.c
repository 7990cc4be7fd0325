/*
 * arith.c: quantized ADD (int16), SUB (int8, int16), MUL (int8, int16) and SQUARED_DIFFERENCE
 * (int8) with numpy broadcasting over up to 4 dimensions; the arithmetic of TFLM's reference
 * kernels add.cc, sub.cc, mul.cc and squared_difference.cc (see tml_arith_params in
 * tml_kernels_elementwise.h). The int8 ADD lives in add.c.
 */
#include "tml_kernels.h"
#include "tml_broadcast.h"
#include "tml_fixedpoint.h"

/* Both inputs rescaled to twice the larger input scale, at left_shift extra bits. */
TML_INLINE int32_t scaled1(const tml_arith_params *p, int32_t x) {
  return tml_mbqm(tml_shl_wrap(x + p->input1_offset, (int)p->left_shift), p->input1_multiplier,
                  p->input1_shift);
}

TML_INLINE int32_t scaled2(const tml_arith_params *p, int32_t x) {
  return tml_mbqm(tml_shl_wrap(x + p->input2_offset, (int)p->left_shift), p->input2_multiplier,
                  p->input2_shift);
}

TML_INLINE int32_t finish(const tml_arith_params *p, int32_t raw) {
  return tml_clamp(tml_mbqm(raw, p->output_multiplier, p->output_shift) + p->output_offset,
                   p->act_min, p->act_max);
}

TML_INLINE int32_t add_one(const tml_arith_params *p, int32_t a, int32_t b) {
  return finish(p, scaled1(p, a) + scaled2(p, b));
}

TML_INLINE int32_t sub_one(const tml_arith_params *p, int32_t a, int32_t b) {
  return finish(p, scaled1(p, a) - scaled2(p, b));
}

TML_INLINE int32_t mul_one(const tml_arith_params *p, int32_t a, int32_t b) {
  /* int32 product, wrapping like the reference's (int16 inputs with zero point 0 never wrap). */
  const int32_t prod = (int32_t)((uint32_t)(a + p->input1_offset) * (uint32_t)(b + p->input2_offset));
  return finish(p, prod);
}

TML_INLINE int32_t squared_difference_one(const tml_arith_params *p, int32_t a, int32_t b) {
  const int32_t d = scaled1(p, a) - scaled2(p, b); /* |d| <= 255 * 2^7: d * d fits int32 */
  return finish(p, d * d);
}

#define ADD_ELEM(x, y) ((int16_t)add_one(p, (x), (y)))
#define SUB_ELEM_S8(x, y) ((int8_t)sub_one(p, (x), (y)))
#define SUB_ELEM_S16(x, y) ((int16_t)sub_one(p, (x), (y)))
#define MUL_ELEM_S8(x, y) ((int8_t)mul_one(p, (x), (y)))
#define MUL_ELEM_S16(x, y) ((int16_t)mul_one(p, (x), (y)))
#define SQDIFF_ELEM(x, y) ((int8_t)squared_difference_one(p, (x), (y)))

void tml_add_s16(const tml_broadcast4 *b, const tml_arith_params *p, const int16_t *input1,
                 const int16_t *input2, int16_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, ADD_ELEM);
}

void tml_sub_s8(const tml_broadcast4 *b, const tml_arith_params *p, const int8_t *input1,
                const int8_t *input2, int8_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, SUB_ELEM_S8);
}

void tml_sub_s16(const tml_broadcast4 *b, const tml_arith_params *p, const int16_t *input1,
                 const int16_t *input2, int16_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, SUB_ELEM_S16);
}

void tml_mul_s8(const tml_broadcast4 *b, const tml_arith_params *p, const int8_t *input1,
                const int8_t *input2, int8_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, MUL_ELEM_S8);
}

void tml_mul_s16(const tml_broadcast4 *b, const tml_arith_params *p, const int16_t *input1,
                 const int16_t *input2, int16_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, MUL_ELEM_S16);
}

void tml_squared_difference_s8(const tml_broadcast4 *b, const tml_arith_params *p,
                               const int8_t *input1, const int8_t *input2, int8_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, SQDIFF_ELEM);
}
