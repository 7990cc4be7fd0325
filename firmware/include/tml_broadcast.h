/*
 * tml_broadcast.h: the loop every broadcasting binary kernel runs (tml_broadcast4 in
 * tml_kernels_elementwise.h). Private to the kernels: not part of the generated code's API.
 */
#ifndef TML_BROADCAST_H
#define TML_BROADCAST_H

#include "tml_kernels_elementwise.h"

/*
 * Sets out[k] = ELEM(x, y) for every output element k in row-major order, x read from in1 and
 * y from in2 through the strides of b. ELEM is a function-like macro or function of two values.
 */
#define TML_FOR_EACH_BROADCAST(b, in1, in2, out, ELEM)                                          \
  do {                                                                                        \
    if (!(b)->broadcast) {                                                                    \
      const int32_t n_ = (b)->out_shape[0] * (b)->out_shape[1] * (b)->out_shape[2] *          \
                         (b)->out_shape[3];                                                   \
      int32_t k_;                                                                             \
      for (k_ = 0; k_ < n_; ++k_) (out)[k_] = ELEM((in1)[k_], (in2)[k_]);                     \
    } else {                                                                                  \
      int32_t i0_, i1_, i2_, i3_, k_ = 0;                                                     \
      for (i0_ = 0; i0_ < (b)->out_shape[0]; ++i0_)                                           \
        for (i1_ = 0; i1_ < (b)->out_shape[1]; ++i1_)                                         \
          for (i2_ = 0; i2_ < (b)->out_shape[2]; ++i2_) {                                     \
            const int32_t a_ = i0_ * (b)->in1_strides[0] + i1_ * (b)->in1_strides[1] +        \
                               i2_ * (b)->in1_strides[2];                                     \
            const int32_t c_ = i0_ * (b)->in2_strides[0] + i1_ * (b)->in2_strides[1] +        \
                               i2_ * (b)->in2_strides[2];                                     \
            for (i3_ = 0; i3_ < (b)->out_shape[3]; ++i3_, ++k_)                               \
              (out)[k_] = ELEM((in1)[a_ + i3_ * (b)->in1_strides[3]],                         \
                               (in2)[c_ + i3_ * (b)->in2_strides[3]]);                        \
          }                                                                                   \
    }                                                                                         \
  } while (0)

#endif /* TML_BROADCAST_H */
