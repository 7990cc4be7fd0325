/*
 * tml_fixedpoint.h: the fixed-point primitives every int8/int16 kernel requantizes with.
 *
 * They reproduce TFLite Micro's reference arithmetic bit for bit (the double-rounding variant:
 * a saturating rounding doubling high multiply, then a rounding right shift; the golden outputs
 * were built without TFLITE_SINGLE_ROUNDING). Written for C99, no libc.
 *
 * A quantized multiplier is a pair (multiplier, shift): multiplier is a Q0.31 value in
 * [2^30, 2^31) (or 0), shift is a power-of-two exponent in [-31, 30]; positive shifts scale up.
 */
#ifndef TML_FIXEDPOINT_H
#define TML_FIXEDPOINT_H

#include <stdint.h>

#if defined(__GNUC__)
#define TML_INLINE static inline __attribute__((always_inline))
#else
#define TML_INLINE static inline
#endif

/** (a * b * 2) >> 32 rounded to nearest, ties away from zero; INT32_MIN * INT32_MIN saturates. */
TML_INLINE int32_t tml_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  {
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
    /* C99 division truncates toward zero, as the reference's does. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
  }
}

/** x / 2^exponent rounded to nearest, ties away from zero. exponent in [0, 31]. */
TML_INLINE int32_t tml_rdbypot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** x * 2^shift wrapping as two's complement (the reference multiplies in int32). */
TML_INLINE int32_t tml_shl_wrap(int32_t x, int shift) {
  return (int32_t)((uint32_t)x << shift);
}

/** TFLite's MultiplyByQuantizedMultiplier: x * multiplier * 2^shift, double rounding. */
TML_INLINE int32_t tml_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
  const int left = shift > 0 ? (int)shift : 0;
  const int right = shift > 0 ? 0 : (int)-shift;
  return tml_rdbypot(tml_srdhm(tml_shl_wrap(x, left), multiplier), right);
}

TML_INLINE int32_t tml_clamp(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* TML_FIXEDPOINT_H */
