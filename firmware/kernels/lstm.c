/*
 * lstm.c: UNIDIRECTIONAL_SEQUENCE_LSTM with int8 activations, int8 weights, int32 biases and
 * an int16 cell state (TFLite Micro's integer LSTM, lstm_eval.h / lstm_eval.cc).
 *
 * TFLM computes each gate as a vector (two fully connected layers into int16 buffers, a
 * saturating add, the activation), then the cell and hidden updates, with four scratch
 * buffers. Every one of those steps is element-wise per unit once the dot products are done,
 * so this kernel walks the units one at a time and needs no scratch: the old hidden state
 * stays readable for the whole step because the new values go to the step's output rows
 * first and are copied into the hidden state at the end. The integer results are identical.
 */
#include <string.h>
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

TML_INLINE int32_t sat16(int32_t v) {
  return tml_clamp(v, -32768, 32767);
}

/* A gate's pre-activation for unit j of one batch row (Q3.12). */
TML_INLINE int32_t gate_input(const tml_lstm_params *p, int32_t g, int32_t j, const int8_t *x,
                              const int8_t *h) {
  const int8_t *w = p->input_weights[g] + j * p->input_size;
  const int8_t *r = p->recurrent_weights[g] + j * p->units;
  int32_t acc_x = p->bias[g][j];
  int32_t acc_h = 0;
  int32_t k;
  for (k = 0; k < p->input_size; ++k) acc_x += (int32_t)w[k] * ((int32_t)x[k] - p->input_zero_point);
  for (k = 0; k < p->units; ++k) acc_h += (int32_t)r[k] * ((int32_t)h[k] - p->hidden_zero_point);
  return sat16(sat16(tml_mbqm(acc_x, p->input_multiplier[g], p->input_shift[g])) +
               sat16(tml_mbqm(acc_h, p->recurrent_multiplier[g], p->recurrent_shift[g])));
}

/* One step for `rows` batch rows: x [rows, input_size], h/c [rows, units], y [rows, units]. */
static void lstm_step(const tml_lstm_params *p, int32_t rows, const int8_t *x, int8_t *h,
                      int16_t *c, int8_t *y) {
  int32_t r, j;
  for (r = 0; r < rows; ++r) {
    const int8_t *xr = x + r * p->input_size;
    const int8_t *hr = h + r * p->units;
    int16_t *cr = c + r * p->units;
    int8_t *yr = y + r * p->units;
    for (j = 0; j < p->units; ++j) {
      const int32_t f = tml_sigmoid_s16(gate_input(p, 0, j, xr, hr), 0, 0);
      const int32_t i = tml_sigmoid_s16(gate_input(p, 1, j, xr, hr), 0, 0);
      const int32_t g = tml_tanh_s16(gate_input(p, 2, j, xr, hr), 0, 0);
      const int32_t o = tml_sigmoid_s16(gate_input(p, 3, j, xr, hr), 0, 0);
      int32_t cell = sat16(sat16(tml_mbqm(f * cr[j], p->forget_cell_multiplier, p->forget_cell_shift)) +
                           sat16(tml_mbqm(i * g, p->input_cell_multiplier, p->input_cell_shift)));
      int32_t t;
      if (p->cell_clip > 0) cell = tml_clamp(cell, -p->cell_clip, p->cell_clip);
      cr[j] = (int16_t)cell;
      t = tml_tanh_s16(cell, p->cell_tanh_multiplier, p->cell_tanh_shift);
      yr[j] = (int8_t)tml_clamp(tml_mbqm(t * o, p->hidden_multiplier, p->hidden_shift) + p->hidden_zero_point, -128, 127);
    }
  }
  memcpy(h, y, (size_t)(rows * p->units));
}

void tml_lstm_s8_s16(const tml_lstm_params *p, const int8_t *input, int8_t *hidden,
                     int16_t *cell, int8_t *output) {
  int32_t b, t;
  if (p->time_major) {
    /* [time, batch, features]: every batch row advances together. */
    for (t = 0; t < p->time_steps; ++t) {
      lstm_step(p, p->batches, input + t * p->batches * p->input_size, hidden, cell,
                output + t * p->batches * p->units);
    }
  } else {
    /* [batch, time, features]: one batch row runs through all its steps, then the next. */
    for (b = 0; b < p->batches; ++b) {
      for (t = 0; t < p->time_steps; ++t) {
        const int32_t row = b * p->time_steps + t;
        lstm_step(p, 1, input + row * p->input_size, hidden + b * p->units, cell + b * p->units,
                  output + row * p->units);
      }
    }
  }
}
