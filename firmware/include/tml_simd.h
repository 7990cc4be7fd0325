/*
 * tml_simd.h: the Armv7E-M DSP instructions the dsp kernel set is written with, as inline
 * functions, plus a portable C definition of each with identical results.
 *
 * On a core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7/M33) each function is the one
 * instruction it names; anywhere else (the host tests under ASan/UBSan, a Cortex-M0+) it is C that
 * computes the same 32-bit result, so the same kernel source is tested on the host and runs on
 * the device. Values are uint32_t when they hold two int16 halves ("pairs"), int32_t otherwise.
 * Sums wrap modulo 2^32 like the instructions (SMLAD only sets the Q flag, which nothing reads).
 */
#ifndef TML_SIMD_H
#define TML_SIMD_H

#include <stdint.h>
#include <string.h>
#include "tml_fixedpoint.h"

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
#define TML_SIMD_NATIVE 1
#else
#define TML_SIMD_NATIVE 0
#endif

/** Low and high int16 halves of a pair. */
TML_INLINE int32_t tml_lo16(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x & 0xFFFFu); }
TML_INLINE int32_t tml_hi16(uint32_t x) { return (int32_t)(int16_t)(uint16_t)(x >> 16); }
TML_INLINE uint32_t tml_pair(int32_t lo, int32_t hi) { return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16); }
TML_INLINE int32_t tml_wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

#if TML_SIMD_NATIVE

/** SXTB16: bytes 0 and 2 of x sign-extended to a pair (byte 0 low). */
TML_INLINE uint32_t tml_sxtb16(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
  return r;
}
/** SXTB16 x, ROR #8: bytes 1 and 3 of x sign-extended to a pair (byte 1 low). */
TML_INLINE uint32_t tml_sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
/** SMLAD: acc + lo(a) * lo(b) + hi(a) * hi(b). */
TML_INLINE int32_t tml_smlad(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
/** SMLABB: acc + lo(a) * lo(b). */
TML_INLINE int32_t tml_smlabb(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
/** SMLATT: acc + hi(a) * hi(b). */
TML_INLINE int32_t tml_smlatt(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
/** SXTAB16: each half of acc plus the sign-extended bytes 0 and 2 of x (halves wrap mod 2^16). */
TML_INLINE uint32_t tml_sxtab16(uint32_t acc, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(acc), "r"(x));
  return r;
}
/** SXTAB16 with ROR #8: each half of acc plus the sign-extended bytes 1 and 3 of x. */
TML_INLINE uint32_t tml_sxtab16_ror8(uint32_t acc, uint32_t x) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
  return r;
}
/** SSAT #8: x clamped to [-128, 127]. */
TML_INLINE int32_t tml_ssat8(int32_t x) {
  int32_t r;
  __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(x));
  return r;
}

#else /* portable definitions, same results */

TML_INLINE uint32_t tml_sxtb16(uint32_t x) {
  return tml_pair((int32_t)(int8_t)(uint8_t)(x & 0xFFu), (int32_t)(int8_t)(uint8_t)((x >> 16) & 0xFFu));
}
TML_INLINE uint32_t tml_sxtb16_ror8(uint32_t x) { return tml_sxtb16((x >> 8) | (x << 24)); }
TML_INLINE int32_t tml_smlad(uint32_t a, uint32_t b, int32_t acc) {
  const uint32_t p = (uint32_t)(tml_lo16(a) * tml_lo16(b)) + (uint32_t)(tml_hi16(a) * tml_hi16(b));
  return (int32_t)((uint32_t)acc + p);
}
TML_INLINE int32_t tml_smlabb(uint32_t a, uint32_t b, int32_t acc) { return tml_wrap_add(acc, tml_lo16(a) * tml_lo16(b)); }
TML_INLINE int32_t tml_smlatt(uint32_t a, uint32_t b, int32_t acc) { return tml_wrap_add(acc, tml_hi16(a) * tml_hi16(b)); }
TML_INLINE uint32_t tml_sxtab16(uint32_t acc, uint32_t x) {
  const uint32_t e = tml_sxtb16(x);
  return ((acc + e) & 0xFFFFu) | (((acc >> 16) + (e >> 16)) << 16);
}
TML_INLINE uint32_t tml_sxtab16_ror8(uint32_t acc, uint32_t x) { return tml_sxtab16(acc, (x >> 8) | (x << 24)); }
TML_INLINE int32_t tml_ssat8(int32_t x) { return x < -128 ? -128 : (x > 127 ? 127 : x); }

#endif

/** One 32-bit load from any address (Armv7-M does unaligned LDR; memcpy compiles to it). */
TML_INLINE uint32_t tml_read32(const void *p) {
  uint32_t w;
  memcpy(&w, p, 4);
  return w;
}
TML_INLINE void tml_write32(void *p, uint32_t w) { memcpy(p, &w, 4); }

#endif /* TML_SIMD_H */
