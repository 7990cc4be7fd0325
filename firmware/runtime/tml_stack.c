/* Stack painting (see tml_stack.h). */
#include "tml_stack.h"
#include "tml_platform.h"

#define STACK_PAINT 0xC5A5C5A5u
#define PAINT_MARGIN 64u  /* bytes below the current SP left alone (this function's own frame) */

void tml_stack_paint(void)
{
    uint32_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    volatile uint32_t *word = (volatile uint32_t *)&_tml_stack_start;
    volatile uint32_t *limit = (volatile uint32_t *)((sp - PAINT_MARGIN) & ~3u);
    while (word < limit) *word++ = STACK_PAINT;
}

uint32_t tml_stack_high_water(void)
{
    const volatile uint32_t *word = (const volatile uint32_t *)&_tml_stack_start;
    const volatile uint32_t *top = (const volatile uint32_t *)&_tml_stack_end;
    while (word < top && *word == STACK_PAINT) word++;
    return (uint32_t)((uintptr_t)top - (uintptr_t)word);
}

uint32_t tml_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_tml_stack_end - (uintptr_t)&_tml_stack_start);
}
