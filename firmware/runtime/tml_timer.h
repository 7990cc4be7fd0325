/*
 * Timing of inferences on Cortex-M.
 *
 * Real hardware: the DWT cycle counter (CYCCNT), reported as `cycles`.
 * QEMU: the DWT is not modelled (CYCCNT stays 0), so tml_timer_init() falls back to SysTick on
 * the core clock, extended to 64 bits by counting reload wraps in the SysTick exception. Under
 * `-icount shift=0` every guest instruction advances virtual time by exactly 1 ns, so one tick
 * is 1e9 / cpu_hz instructions (40 on mps2-an386 at 25 MHz; 125/21 on netduinoplus2 at
 * 168 MHz), and the cost is reported as `instructions`, never as time.
 */
#ifndef TML_TIMER_H
#define TML_TIMER_H

#include <stdint.h>

typedef enum { TML_TIMER_DWT_CYCLES = 0, TML_TIMER_SYSTICK_ICOUNT = 1 } tml_timer_mode_t;

/* Probes the DWT and starts the chosen counter. */
void tml_timer_init(void);
tml_timer_mode_t tml_timer_mode(void);
/* "dwt" or "systick". */
const char *tml_timer_name(void);
/* The free-running 64-bit counter: cycles (DWT) or SysTick ticks. */
uint64_t tml_timer_now(void);
/* Converts a counter difference to the reported unit: cycles (DWT, unchanged) or
 * instructions (SysTick under icount, rounded to the nearest instruction). */
uint64_t tml_timer_to_cost(uint64_t counts);
/* Cost of one tml_timer_now() call in the reported unit, measured at init over a batch of
 * back-to-back reads; subtracted from every timed region. */
uint32_t tml_timer_read_cost(void);
/* Cost of a region [start, end) with the timer-read cost taken off (never below zero). */
uint64_t tml_timer_cost_between(uint64_t start, uint64_t end);

#endif
