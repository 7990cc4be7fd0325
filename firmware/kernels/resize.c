/*
 * resize.c: RESIZE_BILINEAR for int8 and int16, TFLite Micro's ResizeBilinearInteger (integer
 * positions with 10 fractional bits, no floating point). The per-row and per-column source
 * indices and distances are precomputed by the generator (tml_kernels_shape.h); this file only
 * blends. RESIZE_NEAREST_NEIGHBOR is a copy (movement.c).
 */
#include <stddef.h>

#include "tml_kernels.h"

/*
 * Weighted sum of the four neighbours in Q20, rounded half away from zero, truncating division
 * by 2^20 (C semantics, as TFLM). int8 inputs stay below 2^31 in int32: |v| <= 128 and the four
 * weights' magnitudes sum to at most 2048 * 2048 (a negative distance only occurs when low and
 * high rows coincide); int16 inputs need int64.
 */
#define TML_DEFINE_RESIZE_BILINEAR(name, T, ACC)                                                   \
  void name(const tml_resize_bilinear_params *p, const T *input, T *output) {                     \
    int32_t b, y, x, c;                                                                           \
    for (b = 0; b < p->batches; ++b) {                                                            \
      const T *image = input + (ptrdiff_t)b * p->in_h * p->in_w * p->depth;                       \
      for (y = 0; y < p->out_h; ++y) {                                                            \
        const T *row0 = image + (ptrdiff_t)p->rows[3 * y] * p->in_w * p->depth;                   \
        const T *row1 = image + (ptrdiff_t)p->rows[3 * y + 1] * p->in_w * p->depth;               \
        const ACC dy = p->rows[3 * y + 2];                                                        \
        for (x = 0; x < p->out_w; ++x) {                                                          \
          const ptrdiff_t x0 = (ptrdiff_t)p->cols[3 * x] * p->depth;                              \
          const ptrdiff_t x1 = (ptrdiff_t)p->cols[3 * x + 1] * p->depth;                          \
          const ACC dx = p->cols[3 * x + 2];                                                      \
          const ACC w00 = (1024 - dy) * (1024 - dx), w10 = dy * (1024 - dx);                      \
          const ACC w01 = (1024 - dy) * dx, w11 = dy * dx;                                        \
          for (c = 0; c < p->depth; ++c) {                                                        \
            const ACC v = (ACC)row0[x0 + c] * w00 + (ACC)row1[x0 + c] * w10 +                     \
                          (ACC)row0[x1 + c] * w01 + (ACC)row1[x1 + c] * w11;                      \
            *output++ = (T)((v + (v > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));                 \
          }                                                                                       \
        }                                                                                         \
      }                                                                                           \
    }                                                                                             \
  }

TML_DEFINE_RESIZE_BILINEAR(tml_resize_bilinear_s8, int8_t, int32_t)
TML_DEFINE_RESIZE_BILINEAR(tml_resize_bilinear_s16, int16_t, int64_t)
