/*
 * svdf.c: SVDF with int8 input/output and an int16 or int8 state (TFLite Micro's integer SVDF).
 *
 * The reference keeps two int32 scratch buffers (per-filter time products and per-unit sums);
 * here each unit's sum is accumulated directly, so no scratch memory is needed. Integer sums
 * are exact, so the order of additions does not change the result.
 */
#include <string.h>
#include "tml_kernels.h"
#include "tml_fixedpoint.h"

#define TML_DEFINE_SVDF(name, state_t, lo, hi)                                                  \
  void name(const tml_svdf_params *p, const int8_t *input, const int8_t *weights_feature,       \
            const state_t *weights_time, const int32_t *bias, state_t *state, int8_t *output) {  \
    const int32_t n_unit = p->n_filter / p->rank;                                               \
    const int32_t per_batch = p->n_filter * p->n_memory;                                        \
    int32_t b, f, k, u, r;                                                                      \
    /* Age the memory: every element moves one slot left, across the whole state. */           \
    memmove(state, state + 1, (size_t)(p->batches * per_batch - 1) * sizeof(state_t));          \
    for (b = 0; b < p->batches; ++b) {                                                          \
      const int8_t *x = input + b * p->n_input;                                                 \
      state_t *s = state + b * per_batch;                                                       \
      const int8_t *w = weights_feature;                                                        \
      for (f = 0; f < p->n_filter; ++f) {                                                       \
        uint32_t wrap = 0u;                                                                     \
        int32_t dot;                                                                            \
        for (k = 0; k < p->n_input; ++k)                                                        \
          wrap += (uint32_t)((int32_t)*w++ * ((int32_t)x[k] - p->input_zero_point));            \
        dot = (int32_t)wrap;                                                                    \
        dot = tml_mbqm(dot, p->multiplier1, p->shift1) + p->state_zero_point;                   \
        s[f * p->n_memory + p->n_memory - 1] = (state_t)tml_clamp(dot, lo, hi);                 \
      }                                                                                         \
      for (u = 0; u < n_unit; ++u) {                                                            \
        /* int16 x int16 sums can exceed int32: accumulate modulo 2^32 like the reference's     \
           int32 arithmetic on a two's-complement machine, without undefined behaviour. */     \
        uint32_t wrap = bias ? (uint32_t)bias[u] : 0u;                                          \
        int32_t acc;                                                                            \
        for (r = 0; r < p->rank; ++r) {                                                         \
          const int32_t filter = u * p->rank + r;                                               \
          const state_t *wt = weights_time + filter * p->n_memory;                              \
          const state_t *sm = s + filter * p->n_memory;                                         \
          for (k = 0; k < p->n_memory; ++k)                                                     \
            wrap += (uint32_t)((int32_t)wt[k] * ((int32_t)sm[k] - p->state_zero_point));        \
        }                                                                                       \
        acc = (int32_t)wrap;                                                                    \
        acc = tml_mbqm(acc, p->multiplier2, p->shift2) + p->output_zero_point;                  \
        output[b * n_unit + u] = (int8_t)tml_clamp(acc, -128, 127);                             \
      }                                                                                         \
    }                                                                                           \
  }

TML_DEFINE_SVDF(tml_svdf_s8_s16, int16_t, -32768, 32767)
TML_DEFINE_SVDF(tml_svdf_s8_s8, int8_t, -128, 127)
