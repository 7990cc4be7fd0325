/*
 * Start-up of tinyml's bare-metal Arduino core, for any Cortex-M board with a platform folder
 * (firmware/platform/<board>/: linker.ld and uart.c). The vector table starts the image: the
 * initial stack pointer, reset, SysTick to the runtime's timer and everything else to a handler
 * that stops the core, like an Arduino core without a crash reporter. main() (core.cpp) then
 * copies the table to RAM (tml_baremetal_vectors_to_ram), as Mbed OS does on the Arduino
 * boards, so the sketch can install its own fault handlers the same way on both.
 */
#include <stdint.h>
#include "tml_baremetal_core.h"
#include "../../runtime/tml_platform.h"

#define SCB_VTOR  (*(volatile uint32_t *)0xE000ED08u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

extern uint32_t _tml_data_load;  /* .data image in flash */
extern uint32_t _tml_data_start, _tml_data_end, _tml_bss_start, _tml_bss_end;
extern int main(void);

/* C++ static constructors (the linker script keeps .init_array in flash). */
extern void (*__init_array_start[])(void) __attribute__((weak));
extern void (*__init_array_end[])(void) __attribute__((weak));

void tml_reset_handler(void);
void tml_baremetal_default_handler(void);

/* 96 external interrupts cover both emulated boards (mps2-an386: 32, STM32F405: 82). */
#define NUM_VECTORS (16 + 96)
#define DEF (const void *)tml_baremetal_default_handler
#define DEF8 DEF, DEF, DEF, DEF, DEF, DEF, DEF, DEF

__attribute__((section(".isr_vector"), used))
const void *const tml_baremetal_vectors[NUM_VECTORS] = {
    &_tml_stack_end,
    (const void *)tml_reset_handler,
    DEF, DEF, DEF, DEF, DEF, /* NMI, HardFault, MemManage, BusFault, UsageFault */
    0, 0, 0, 0,
    DEF, DEF, 0, DEF,        /* SVCall, DebugMonitor, reserved, PendSV */
    (const void *)tml_systick_handler,
    DEF8, DEF8, DEF8, DEF8, DEF8, DEF8, DEF8, DEF8, DEF8, DEF8, DEF8, DEF8, /* external 0..95 */
};

/* VTOR needs the table aligned to its size rounded up to a power of two (112 words -> 512). */
static const void *ram_vectors[NUM_VECTORS] __attribute__((aligned(512)));

void tml_baremetal_default_handler(void)
{
    for (;;) {
        __asm volatile("wfi");
    }
}

void tml_baremetal_vectors_to_ram(void)
{
    for (unsigned i = 0; i < NUM_VECTORS; i++) ram_vectors[i] = tml_baremetal_vectors[i];
    __asm volatile("dsb");
    SCB_VTOR = (uint32_t)(uintptr_t)ram_vectors;
    __asm volatile("dsb\n isb");
}

uint32_t tml_baremetal_static_ram_bytes(void)
{
    return (uint32_t)((uintptr_t)&_tml_static_end - (uintptr_t)&_tml_ram_start);
}

uint32_t tml_baremetal_flash_used_bytes(void)
{
    return (uint32_t)((uintptr_t)&_tml_flash_end - (uintptr_t)&_tml_flash_start);
}

/* The copy loops must not become memcpy/memset calls made before .data exists. */
__attribute__((noreturn, optimize("no-tree-loop-distribute-patterns"))) void tml_reset_handler(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)tml_baremetal_vectors;
    uint32_t *src = &_tml_data_load;
    for (uint32_t *dst = &_tml_data_start; dst < &_tml_data_end;) *dst++ = *src++;
    for (uint32_t *dst = &_tml_bss_start; dst < &_tml_bss_end;) *dst++ = 0;
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFu << 20;  /* CP10 and CP11 full access: the build uses the FPU */
    __asm volatile("dsb\n isb");
#endif
    for (void (**ctor)(void) = __init_array_start; ctor < __init_array_end; ctor++) (*ctor)();
    (void)main();
    for (;;) {
        __asm volatile("wfi");
    }
}
