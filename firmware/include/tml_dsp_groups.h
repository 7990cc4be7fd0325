/*
 * tml_dsp_groups.h: the hand-scheduled inner loops of the dsp kernel set, shared by the
 * convolution and depthwise kernels. One call computes every group of 4 output channels of one
 * output pixel: the group's 4 doubled biases, a run of multiply-adds, the requantization of the 4
 * sums (tml_requant.h) and 4 byte stores. Only for outputs whose activation range is [-128, 127]
 * (SSAT alone clamps) and for whole groups; the kernels do everything else in C.
 *
 * On a core with the DSP extension the loops are inline assembly: the compiler cannot keep the 13
 * live values of the inner loop in registers and load 4 weight words with one LDM, so the loop
 * state between groups lives in a 24-byte frame the assembly pushes. r7 is not touched (it may
 * be the frame pointer). Elsewhere (the host tests) the same computation is plain C.
 *
 * Per group of 4 channels and 4 k values, instructions:
 *   conv, int8 input:   LDR, 2 SXTB16, 2 LDM, 8 SMLAD   = 13 per 16 multiply-adds
 *   conv, int16 input:  LDRD, 2 LDM, 8 SMLAD            = 11 per 16 multiply-adds
 *   depthwise (1 tap):  LDR, ADD, 2 SXTB16, LDRD, 4 SMLAxy = 9 per 4 multiply-adds
 * plus 2 per loop iteration (the loops are unrolled: conv twice, depthwise three times), 6 per
 * output value and about 14 per group.
 */
#ifndef TML_DSP_GROUPS_H
#define TML_DSP_GROUPS_H

#include <stdint.h>
#include "tml_simd.h"
#include "tml_requant.h"

/** One step of 4 output channels' dot products in plain C (the assembly's reference): 4 int8
 * inputs (or, with x16, 4 int16 inputs as two pair words) against 8 packed weight words (channel j
 * uses w[2j] for the low pair and w[2j+1] for the high pair). Returns x advanced past what it read. */
TML_INLINE const uint8_t *tml_dot4_step_c(const uint8_t *x, int x16, const uint32_t *w, int32_t a[4]) {
  uint32_t xl, xh;
  if (x16) {
    xl = tml_read32(x);
    xh = tml_read32(x + 4);
    x += 8;
  } else {
    const uint32_t v = tml_read32(x);
    xl = tml_sxtb16(v);
    xh = tml_sxtb16_ror8(v);
    x += 4;
  }
  a[0] = tml_smlad(xh, w[1], tml_smlad(xl, w[0], a[0]));
  a[1] = tml_smlad(xh, w[3], tml_smlad(xl, w[2], a[1]));
  a[2] = tml_smlad(xh, w[5], tml_smlad(xl, w[4], a[2]));
  a[3] = tml_smlad(xh, w[7], tml_smlad(xl, w[6], a[3]));
  return x;
}

/** Arguments of tml_conv_groups(); field order is read by the assembly (do not reorder). */
typedef struct {
  const void *x;           /* n words: int8 values, or int16 pairs (x16) */
  int32_t n;               /* words per group pass (int16 input: pairs of words) */
  const uint32_t *w;       /* packed weights, read straight through */
  const int32_t *bias;     /* 4 doubled biases per group */
  const tml_rq *q;         /* 4 entries per group */
  int8_t *out;             /* 4 bytes per group */
  int32_t groups;          /* >= 1 */
} tml_conv_groups_args;

/** Arguments of tml_dw_groups(); field order is read by the assembly (do not reorder). */
typedef struct {
  const int8_t *x;         /* [taps][stride] gathered input, group g at x + 4 g */
  int32_t taps3;           /* taps / 3 (the loop does 3 taps a turn), >= 1 */
  int32_t stride;          /* bytes between taps (the channel count) */
  const uint32_t *w;       /* [groups][taps][2] doubled weight pairs */
  const int32_t *bias;
  const tml_rq *q;
  int8_t *out;
  int32_t groups;          /* >= 1 */
} tml_dw_groups_args;

#if TML_SIMD_NATIVE

/* The 4 sums in r0..r3 requantized with the entries at r4 (advanced) and stored at r6 (advanced). */
#define TML_RQ_STORE(a)                                                                            \
  "ldmia r4!, {r8, r9, r10}\n\t"                                                                  \
  "add r9, r9, " a ", asr #31\n\t"                                                                \
  "smmlar r9, " a ", r8, r9\n\t"                                                                  \
  "asr r9, r9, r10\n\t"                                                                           \
  "ssat r9, #8, r9\n\t"                                                                           \
  "strb r9, [r6], #1\n\t"

/* Frame: [sp] x, +4 n, +8 bias, +12 q, +16 out, +20 groups. Weights in r5 throughout. */
#define TML_GROUPS_PROLOGUE                                                                        \
  "ldmia r0, {r1, r2, r3, r4, r5, r6}\n\t"                                                        \
  "ldr r12, [r0, #24]\n\t"                                                                        \
  "push {r1, r2, r4, r5, r6, r12}\n\t"                                                            \
  "mov r5, r3\n\t"

#define TML_GROUPS_EPILOGUE                                                                        \
  "ldr r4, [sp, #12]\n\t"                                                                         \
  "ldr r6, [sp, #16]\n\t" TML_RQ_STORE("r0") TML_RQ_STORE("r1") TML_RQ_STORE("r2") TML_RQ_STORE("r3") \
  "str r4, [sp, #12]\n\t"                                                                         \
  "str r6, [sp, #16]\n\t"                                                                         \
  "ldr r12, [sp, #20]\n\t"                                                                        \
  "subs r12, r12, #1\n\t"                                                                         \
  "str r12, [sp, #20]\n\t"                                                                        \
  "bne 1b\n\t"                                                                                    \
  "add sp, sp, #24\n\t"

/* Group start: the 4 biases into r0..r3, x into r4, the pass count into r6 (halved, C = odd). */
#define TML_GROUP_START                                                                            \
  "1:\n\t"                                                                                        \
  "ldr r12, [sp, #8]\n\t"                                                                         \
  "ldmia r12!, {r0, r1, r2, r3}\n\t"                                                              \
  "str r12, [sp, #8]\n\t"                                                                         \
  "ldr r4, [sp]\n\t"                                                                              \
  "ldr r6, [sp, #4]\n\t"                                                                          \
  "lsrs r6, r6, #1\n\t"

#define TML_SMLAD8                                                                                 \
  "ldmia r5!, {r8, r9, r10, r11}\n\t"                                                             \
  "smlad r0, lr, r8, r0\n\t"                                                                      \
  "smlad r0, r12, r9, r0\n\t"                                                                     \
  "smlad r1, lr, r10, r1\n\t"                                                                     \
  "smlad r1, r12, r11, r1\n\t"                                                                    \
  "ldmia r5!, {r8, r9, r10, r11}\n\t"                                                             \
  "smlad r2, lr, r8, r2\n\t"                                                                      \
  "smlad r2, r12, r9, r2\n\t"                                                                     \
  "smlad r3, lr, r10, r3\n\t"                                                                     \
  "smlad r3, r12, r11, r3\n\t"

#define TML_STEP_X8                                                                                \
  "ldr r12, [r4], #4\n\t"                                                                         \
  "sxtb16 lr, r12\n\t"                                                                            \
  "sxtb16 r12, r12, ror #8\n\t" TML_SMLAD8

#define TML_STEP_X16 "ldrd lr, r12, [r4], #8\n\t" TML_SMLAD8

#define TML_CONV_GROUPS_ASM(STEP)                                                                  \
  TML_GROUPS_PROLOGUE TML_GROUP_START                                                             \
  "bcc 2f\n\t" STEP                                                                               \
  "2:\n\t"                                                                                        \
  "beq 4f\n\t"                                                                                    \
  "3:\n\t" STEP STEP                                                                              \
  "subs r6, r6, #1\n\t"                                                                           \
  "bne 3b\n\t"                                                                                    \
  "4:\n\t" TML_GROUPS_EPILOGUE

/** Every group of one pixel of a convolution. x16: the input words are pre-widened int16 pairs. */
TML_INLINE void tml_conv_groups(const tml_conv_groups_args *args, int x16) {
  register const tml_conv_groups_args *a __asm__("r0") = args;
  if (x16) {
    __asm__ volatile(TML_CONV_GROUPS_ASM(TML_STEP_X16)
                     : "+r"(a)
                     :
                     : "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
  } else {
    __asm__ volatile(TML_CONV_GROUPS_ASM(TML_STEP_X8)
                     : "+r"(a)
                     :
                     : "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
  }
}

/* One tap of 4 channels: the input word at r4 (then r4 += stride), its weight pairs at r5. */
#define TML_DW_TAP                                                                                 \
  "ldr r12, [r4]\n\t"                                                                             \
  "add r4, r4, r11\n\t"                                                                           \
  "sxtb16 lr, r12\n\t"                                                                            \
  "sxtb16 r12, r12, ror #8\n\t"                                                                   \
  "ldrd r8, r9, [r5], #8\n\t"                                                                     \
  "smlabb r0, lr, r8, r0\n\t"                                                                     \
  "smlatt r2, lr, r8, r2\n\t"                                                                     \
  "smlabb r1, r12, r9, r1\n\t"                                                                    \
  "smlatt r3, r12, r9, r3\n\t"

/** Every group of one pixel of a depthwise convolution whose window has a multiple of 3 taps. */
TML_INLINE void tml_dw_groups(const tml_dw_groups_args *args) {
  register const tml_dw_groups_args *a __asm__("r0") = args;
  /* Frame as for the conv loops, with the tap stride kept at [sp, #4] beside the tap count. */
  __asm__ volatile(
      "ldmia r0, {r1, r2, r3, r4, r5, r6}\n\t" /* x, taps3, stride, w, bias, q */
      "ldrd r11, r12, [r0, #24]\n\t"           /* out, groups */
      "push {r1, r2, r3, r5, r6, r11, r12}\n\t" /* [sp] x, +4 taps3, +8 stride, +12 bias, +16 q, +20 out, +24 groups */
      "mov r5, r4\n\t"
      "1:\n\t"
      "ldr r12, [sp, #12]\n\t"
      "ldmia r12!, {r0, r1, r2, r3}\n\t"
      "str r12, [sp, #12]\n\t"
      "ldr r4, [sp]\n\t"
      "add r12, r4, #4\n\t"
      "str r12, [sp]\n\t"
      "ldrd r6, r11, [sp, #4]\n\t" /* taps3, stride */
      "2:\n\t" TML_DW_TAP TML_DW_TAP TML_DW_TAP
      "subs r6, r6, #1\n\t"
      "bne 2b\n\t"
      "ldr r4, [sp, #16]\n\t"
      "ldr r6, [sp, #20]\n\t" TML_RQ_STORE("r0") TML_RQ_STORE("r1") TML_RQ_STORE("r2") TML_RQ_STORE("r3")
      "str r4, [sp, #16]\n\t"
      "str r6, [sp, #20]\n\t"
      "ldr r12, [sp, #24]\n\t"
      "subs r12, r12, #1\n\t"
      "str r12, [sp, #24]\n\t"
      "bne 1b\n\t"
      "add sp, sp, #28\n\t"
      : "+r"(a)
      :
      : "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

#else /* portable C, same results */

TML_INLINE void tml_groups_store(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const tml_rq *q, int8_t *out) {
  out[0] = (int8_t)tml_ssat8(tml_rq_one(a0, q));
  out[1] = (int8_t)tml_ssat8(tml_rq_one(a1, q + 1));
  out[2] = (int8_t)tml_ssat8(tml_rq_one(a2, q + 2));
  out[3] = (int8_t)tml_ssat8(tml_rq_one(a3, q + 3));
}

TML_INLINE void tml_conv_groups(const tml_conv_groups_args *args, int x16) {
  const uint32_t *w = args->w;
  int32_t g, i;
  for (g = 0; g < args->groups; ++g) {
    const int32_t *b = args->bias + 4 * g;
    int32_t a[4] = {b[0], b[1], b[2], b[3]};
    const uint8_t *x = (const uint8_t *)args->x;
    for (i = 0; i < args->n; ++i, w += 8) x = tml_dot4_step_c(x, x16, w, a);
    tml_groups_store(a[0], a[1], a[2], a[3], args->q + 4 * g, args->out + 4 * g);
  }
}

TML_INLINE void tml_dw_groups(const tml_dw_groups_args *args) {
  const uint32_t *w = args->w;
  int32_t g, t;
  for (g = 0; g < args->groups; ++g) {
    const int32_t *b = args->bias + 4 * g;
    int32_t a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];
    const int8_t *x = args->x + 4 * g;
    for (t = 0; t < 3 * args->taps3; ++t, x += args->stride, w += 2) {
      const uint32_t v = tml_read32(x);
      const uint32_t e = tml_sxtb16(v), o = tml_sxtb16_ror8(v);
      a0 = tml_smlabb(e, w[0], a0);
      a2 = tml_smlatt(e, w[0], a2);
      a1 = tml_smlabb(o, w[1], a1);
      a3 = tml_smlatt(o, w[1], a3);
    }
    tml_groups_store(a0, a1, a2, a3, args->q + 4 * g, args->out + 4 * g);
  }
}

#endif

#endif /* TML_DSP_GROUPS_H */
