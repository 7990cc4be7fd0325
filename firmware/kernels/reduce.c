/*
 * reduce.c: MEAN, SUM, REDUCE_MAX (TFLite Micro reduce.cc with the reference reduce.h) and
 * ARG_MAX / ARG_MIN (arg_min_max.cc), int8 and int16. Parameters: tml_kernels_shape.h.
 */
#include <stddef.h>

#include "tml_kernels.h"
#include "tml_fixedpoint.h"

/* Advances an odometer over `v`; returns the change of the input offset. */
static int32_t view_next(const tml_view *v, int32_t *idx) {
  int32_t d, delta = 0;
  for (d = v->rank - 1; d >= 0; --d) {
    delta += v->step[d];
    if (++idx[d] < v->shape[d]) return delta;
    delta -= v->step[d] * v->shape[d];
    idx[d] = 0;
  }
  return delta;
}

/* Advances the odometer of every dimension of `v` but the innermost (the next row). */
static int32_t outer_next(const tml_view *v, int32_t *idx) {
  int32_t d, delta = 0;
  for (d = v->rank - 2; d >= 0; --d) {
    delta += v->step[d];
    if (++idx[d] < v->shape[d]) return delta;
    delta -= v->step[d] * v->shape[d];
    idx[d] = 0;
  }
  return delta;
}

static int32_t view_count(const tml_view *v) {
  int32_t d, n = 1;
  for (d = 0; d < v->rank; ++d) n *= v->shape[d];
  return n;
}

/*
 * The int32 sum wraps like TFLM's int32 temp_sum: it is accumulated in uint32 (defined
 * overflow) and read back as int32 (GCC's modular conversion).
 */
#define TML_DEFINE_REDUCE_SUM(name, T, LO, HI)                                                    \
  void name(const tml_reduce_params *p, const T *input, T *output) {                             \
    const int32_t outputs = view_count(&p->kept);                                                \
    const int32_t inner_rank = p->reduced.rank;                                                  \
    const int32_t row = p->reduced.shape[inner_rank - 1];                                        \
    const int32_t row_step = p->reduced.step[inner_rank - 1];                                    \
    const int32_t rows = p->count / (row > 0 ? row : 1);                                         \
    int32_t kidx[TML_VIEW_MAX_RANK] = {0};                                                       \
    int32_t base = p->kept.offset, o;                                                            \
    for (o = 0; o < outputs; ++o) {                                                              \
      int32_t ridx[TML_VIEW_MAX_RANK] = {0};                                                     \
      int32_t at = base + p->reduced.offset, r, k;                                               \
      uint32_t sum = 0;                                                                          \
      for (r = 0; r < rows && row > 0; ++r) {                                                    \
        const T *src = input + at;                                                               \
        for (k = 0; k < row; ++k) sum += (uint32_t)(int32_t)src[(ptrdiff_t)k * row_step];        \
        at += outer_next(&p->reduced, ridx);                                                     \
      }                                                                                          \
      if (p->count == 0) {                                                                       \
        output[o] = 0;                                                                           \
      } else if (p->mode == TML_REDUCE_TRUNCATING_MEAN) {                                        \
        output[o] = (T)((int32_t)sum / p->count);                                                \
      } else {                                                                                   \
        const uint32_t centred = sum - (uint32_t)((int64_t)p->input_zero_point * p->count);      \
        const int32_t v = tml_mbqm((int32_t)centred, p->multiplier, p->shift) + p->output_zero_point; \
        output[o] = (T)tml_clamp(v, LO, HI);                                                     \
      }                                                                                          \
      base += view_next(&p->kept, kidx);                                                         \
    }                                                                                            \
  }

TML_DEFINE_REDUCE_SUM(tml_reduce_sum_s8, int8_t, -128, 127)
TML_DEFINE_REDUCE_SUM(tml_reduce_sum_s16, int16_t, -32768, 32767)

#define TML_DEFINE_REDUCE_MAX(name, T, LO)                                                        \
  void name(const tml_reduce_params *p, const T *input, T *output) {                             \
    const int32_t outputs = view_count(&p->kept);                                                \
    const int32_t inner_rank = p->reduced.rank;                                                  \
    const int32_t row = p->reduced.shape[inner_rank - 1];                                        \
    const int32_t row_step = p->reduced.step[inner_rank - 1];                                    \
    const int32_t rows = p->count / (row > 0 ? row : 1);                                         \
    int32_t kidx[TML_VIEW_MAX_RANK] = {0};                                                       \
    int32_t base = p->kept.offset, o;                                                            \
    for (o = 0; o < outputs; ++o) {                                                              \
      int32_t ridx[TML_VIEW_MAX_RANK] = {0};                                                     \
      int32_t at = base + p->reduced.offset, r, k;                                               \
      T m = (T)(LO);                                                                             \
      for (r = 0; r < rows && row > 0; ++r) {                                                    \
        const T *src = input + at;                                                               \
        for (k = 0; k < row; ++k) {                                                              \
          const T v = src[(ptrdiff_t)k * row_step];                                              \
          if (v > m) m = v;                                                                      \
        }                                                                                        \
        at += outer_next(&p->reduced, ridx);                                                     \
      }                                                                                          \
      output[o] = m;                                                                             \
      base += view_next(&p->kept, kidx);                                                         \
    }                                                                                            \
  }

TML_DEFINE_REDUCE_MAX(tml_reduce_max_s8, int8_t, -128)
TML_DEFINE_REDUCE_MAX(tml_reduce_max_s16, int16_t, -32768)

#define TML_DEFINE_ARG_MIN_MAX(name, T)                                                           \
  void name(int32_t outer, int32_t axis_size, int32_t inner, int32_t is_min, const T *input,     \
            int32_t *output) {                                                                   \
    int32_t o, i, k;                                                                             \
    for (o = 0; o < outer; ++o) {                                                                \
      const T *slab = input + (ptrdiff_t)o * axis_size * inner;                                  \
      for (i = 0; i < inner; ++i) {                                                              \
        T best = slab[i];                                                                        \
        int32_t at = 0;                                                                          \
        for (k = 1; k < axis_size; ++k) {                                                        \
          const T v = slab[(ptrdiff_t)k * inner + i];                                            \
          if (is_min ? v < best : v > best) {                                                    \
            best = v;                                                                            \
            at = k;                                                                              \
          }                                                                                      \
        }                                                                                        \
        *output++ = at;                                                                          \
      }                                                                                          \
    }                                                                                            \
  }

TML_DEFINE_ARG_MIN_MAX(tml_arg_min_max_s8, int8_t)
TML_DEFINE_ARG_MIN_MAX(tml_arg_min_max_s16, int16_t)
