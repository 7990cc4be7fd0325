/*
 * Fault reporting in a sketch: the runtime's fault reporter (tml_fault.c, copied into the
 * sketch's src/ unchanged) answers HardFault, MemManage, BusFault and UsageFault with an `error`
 * record (pc, lr, cfsr, ...) and `done`, as in the native firmware, instead of the core's own
 * handler (Mbed OS prints a crash dump to its console and halts; tinyml's bare-metal core just
 * halts), so the host sees the fault and exits 12.
 *
 * Installing it patches the vector table that Mbed OS keeps in RAM (the .nvictable region at
 * 0x20000000 on the Nano 33 BLE; tinyml's bare-metal core copies its table to RAM the same way).
 * A table in flash cannot be patched: the core's handler stays. Armv6-M cores (Cortex-M0+) have
 * no CFSR and the reporter's entry code is Armv7-M, so nothing is installed there.
 */
#include <stdint.h>
#include "tml_arduino.h"
#include "tml_platform.h"

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)

#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define FIRST_FAULT_VECTOR 3u  /* HardFault; then MemManage, BusFault, UsageFault */
#define LAST_FAULT_VECTOR 6u

#if !defined(TINYML_BAREMETAL_CORE)
/* tml_fault_entry reports on a fresh stack at _tml_stack_end (the faulting stack may be the
 * one that overflowed), and tml_stack.c names the stack region [_tml_stack_start,
 * _tml_stack_end). The bare-metal core's linker script defines both; an Arduino core's does not
 * (its stacks belong to Mbed OS), so here they bound a stack of the fault reporter's own. The
 * sketch arms no stack guard on an Arduino core. */
static uint64_t tml_fault_stack[128] __attribute__((used));
__asm__(".global _tml_stack_start\n\t.set _tml_stack_start, tml_fault_stack\n"
        ".global _tml_stack_end\n\t.set _tml_stack_end, tml_fault_stack + 1024\n");
#endif

int tml_arduino_install_fault_handler(void)
{
    const uint32_t table = SCB_VTOR;
    if (table < 0x20000000u || table >= 0x40000000u) return 0; /* in flash: read-only */
    volatile uint32_t *vectors = (volatile uint32_t *)(uintptr_t)table;
    for (uint32_t i = FIRST_FAULT_VECTOR; i <= LAST_FAULT_VECTOR; i++) vectors[i] = (uint32_t)(uintptr_t)tml_fault_entry;
    __asm volatile("dsb\n\tisb" ::: "memory");
    return 1;
}

#else

int tml_arduino_install_fault_handler(void)
{
    return 0;
}

#endif
