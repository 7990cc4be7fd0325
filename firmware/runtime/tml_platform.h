/*
 * What every board's platform folder (firmware/platform/<board>/) provides to the runtime.
 *
 * The startup code of each board sets up the C environment (.data copied, .bss zeroed, FPU
 * enabled when the build uses it), then calls main() in tml_main.c, which calls
 * tml_platform_init() first. The vector table of each board routes HardFault (and the other
 * fault exceptions) to tml_fault_entry and SysTick to tml_systick_handler, both in the runtime.
 */
#ifndef TML_PLATFORM_H
#define TML_PLATFORM_H

#include <stdint.h>

/* Clocks and the report UART. Called once, before anything is written. */
void tml_platform_init(void);

/* Writes n bytes to the report UART, blocking until every byte is accepted (polling, no IRQ),
 * so it is safe from the HardFault handler. */
void tml_platform_write(const char *s, unsigned n);

/* Core clock in Hz as the emulator and the board run it after tml_platform_init(). SysTick
 * counts this clock, so under QEMU -icount shift=0 one tick is 1e9 / hz instructions. */
uint32_t tml_platform_cpu_hz(void);

/* Linker-script symbols every board's linker.ld defines (addresses only, never read). */
extern uint32_t _tml_flash_start;  /* first byte of flash (the vector table) */
extern uint32_t _tml_flash_end;    /* end of flash contents: code, rodata and the .data image */
extern uint32_t _tml_ram_start;    /* start of .data in RAM */
extern uint32_t _tml_static_end;   /* end of .bss: static RAM is [_tml_ram_start, _tml_static_end) */
extern uint32_t _tml_stack_start;  /* lowest address of the stack region (stack grows down) */
extern uint32_t _tml_stack_end;    /* initial stack pointer, top of the stack region */

/* Runtime entry points the vector tables reference. */
void tml_fault_entry(void);
void tml_systick_handler(void);

#endif
