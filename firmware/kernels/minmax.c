/*
 * minmax.c: MAXIMUM and MINIMUM, int8 and int16, with numpy broadcasting over up to 4
 * dimensions (TFLM maximum_minimum.cc: raw values compared, no requantization; the inputs and
 * the output share scale and zero point).
 */
#include "tml_kernels.h"
#include "tml_broadcast.h"

#define MAX_ELEM(x, y) ((x) > (y) ? (x) : (y))
#define MIN_ELEM(x, y) ((x) < (y) ? (x) : (y))

void tml_maximum_s8(const tml_broadcast4 *b, const int8_t *input1, const int8_t *input2,
                    int8_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, MAX_ELEM);
}

void tml_minimum_s8(const tml_broadcast4 *b, const int8_t *input1, const int8_t *input2,
                    int8_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, MIN_ELEM);
}

void tml_maximum_s16(const tml_broadcast4 *b, const int16_t *input1, const int16_t *input2,
                     int16_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, MAX_ELEM);
}

void tml_minimum_s16(const tml_broadcast4 *b, const int16_t *input1, const int16_t *input2,
                     int16_t *output) {
  TML_FOR_EACH_BROADCAST(b, input1, input2, output, MIN_ELEM);
}
