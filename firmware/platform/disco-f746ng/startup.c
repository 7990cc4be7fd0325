/*
 * Start-up for the STM32F746NG of the STM32F746G-DISCO board (Renode
 * platforms/boards/stm32f7_discovery-bb.repl; the same image flashed with ST-LINK on the board):
 * code in the 1 MiB flash at 0x08000000 (AXIM; the core fetches the reset vectors through the
 * 0x00000000 alias), data and stack in the 320 KiB of DTCM + SRAM1 + SRAM2 from 0x20000000. The
 * caches stay off (reset state), so timings on the board do not depend on cache warm-up. Fault
 * exceptions go to the runtime's fault reporter, SysTick to the runtime's timer, every external
 * interrupt to the fault reporter too (none is enabled, so one firing is a bug).
 */
#include <stdint.h>
#include "../../runtime/tml_platform.h"

#define SCB_VTOR  (*(volatile uint32_t *)0xE000ED08u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

extern uint32_t _tml_data_load;  /* .data image in flash */
extern uint32_t _tml_data_start, _tml_data_end, _tml_bss_start, _tml_bss_end;
extern int main(void);

void tml_reset_handler(void);

#define NUM_EXTERNAL_IRQS 98 /* RM0385: STM32F74x interrupts 0..97 */
#define IRQ1 (const void *)tml_fault_entry
#define IRQ8 IRQ1, IRQ1, IRQ1, IRQ1, IRQ1, IRQ1, IRQ1, IRQ1

__attribute__((section(".isr_vector"), used))
const void *const tml_vector_table[16 + NUM_EXTERNAL_IRQS] = {
    &_tml_stack_end,
    (const void *)tml_reset_handler,
    (const void *)tml_fault_entry,  /* NMI */
    (const void *)tml_fault_entry,  /* HardFault */
    (const void *)tml_fault_entry,  /* MemManage */
    (const void *)tml_fault_entry,  /* BusFault */
    (const void *)tml_fault_entry,  /* UsageFault */
    0, 0, 0, 0,
    (const void *)tml_fault_entry,  /* SVCall */
    (const void *)tml_fault_entry,  /* DebugMonitor */
    0,
    (const void *)tml_fault_entry,  /* PendSV */
    (const void *)tml_systick_handler,
    IRQ8, IRQ8, IRQ8, IRQ8, IRQ8, IRQ8, IRQ8, IRQ8, IRQ8, IRQ8, IRQ8, IRQ8, IRQ1, IRQ1, /* external interrupts 0..97 */
};

/* The copy loops must not become memcpy/memset calls: no C library is required. */
__attribute__((noreturn, optimize("no-tree-loop-distribute-patterns"))) void tml_reset_handler(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)tml_vector_table;
    uint32_t *src = &_tml_data_load;
    for (uint32_t *dst = &_tml_data_start; dst < &_tml_data_end;) *dst++ = *src++;
    for (uint32_t *dst = &_tml_bss_start; dst < &_tml_bss_end;) *dst++ = 0;
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFu << 20;  /* CP10 and CP11 full access: the build uses the FPU */
    __asm volatile("dsb\n isb");
#endif
    (void)main();
    for (;;) {
        __asm volatile("wfi");
    }
}
