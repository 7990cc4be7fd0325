/*
 * The stack: high-water mark by stack painting, and the guard that turns a stack overflow into
 * a reported fault.
 *
 * Painting: the unused part of the stack region is filled with a pattern at start-up; the lowest
 * word that no longer holds the pattern is the deepest the stack has reached.
 *
 * Guard: the stack grows down towards .bss (the tensor arena, the report state). Past its end a
 * push would silently corrupt them, and a core that then faults inside its fault handler locks
 * up: the host saw a timeout instead of a fault. The guard is an MPU region over the lowest
 * TML_STACK_GUARD_BYTES of the stack region, read-only and never executable, so the first push
 * into it faults (MemManage, escalated to HardFault; the MPU is off inside the HardFault handler,
 * HFNMIENA = 0, so the handler itself can run). The fault handler reports code "stack_overflow"
 * with the op that was running (tml_model_current_op). Where the core has no MPU, the painted
 * words of that region are a canary checked after every inference (tml_stack_guard_intact).
 */
#ifndef TML_STACK_H
#define TML_STACK_H

#include <stdint.h>

/* Size of the guard region (a power of two >= 32: the PMSAv7 region rules). */
#ifndef TML_STACK_GUARD_BYTES
#define TML_STACK_GUARD_BYTES 1024u
#endif

/* Paints [stack start, current SP - margin). Call early in main, with a shallow stack. */
void tml_stack_paint(void);
/* Bytes of stack used so far (top of stack minus the lowest overwritten word). */
uint32_t tml_stack_high_water(void);
/* Size of the stack region from the linker script. */
uint32_t tml_stack_size(void);

/* Arms the guard over the linker script's stack region (after tml_stack_paint). Returns the
 * guard's size in bytes. */
uint32_t tml_stack_guard_init(void);
/* The same for a stack region [start, end) given by the caller (another runtime's stack, e.g. an
 * Arduino core's): the guard covers its lowest TML_STACK_GUARD_BYTES-aligned block. The canary
 * fallback assumes those words were painted (tml_stack_paint) or are checked by the caller. */
uint32_t tml_stack_guard_arm(uint32_t start, uint32_t end);
/* "mpu" (a fault at the first push into the guard) or "canary" (checked after each inference). */
const char *tml_stack_guard_kind(void);
uint32_t tml_stack_guard_bytes(void);
/* 1 while no write has reached the guard region (the canary check). */
int tml_stack_guard_intact(void);
/* 1 when fault status registers say a stack push or a write hit the guard region. */
int tml_stack_guard_hit(uint32_t cfsr, uint32_t mmfar);
/* Reports a stack overflow the canary found (an `error` record naming the op, then `done`) and
 * halts; in tml_fault.c. */
__attribute__((noreturn)) void tml_stack_overflow_report(void);

#endif
