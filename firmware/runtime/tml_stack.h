/*
 * Stack high-water mark by stack painting: the unused part of the stack region is filled with
 * a pattern at start-up; the lowest word that no longer holds the pattern is the deepest the
 * stack has reached.
 */
#ifndef TML_STACK_H
#define TML_STACK_H

#include <stdint.h>

/* Paints [stack start, current SP - margin). Call early in main, with a shallow stack. */
void tml_stack_paint(void);
/* Bytes of stack used so far (top of stack minus the lowest overwritten word). */
uint32_t tml_stack_high_water(void);
/* Size of the stack region from the linker script. */
uint32_t tml_stack_size(void);

#endif
