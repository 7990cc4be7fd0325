/*
 * Start-up of tinyml's bare-metal Arduino core, for any Cortex-M board with a platform folder
 * (firmware/platform/<board>/: linker.ld and uart.c). The vector table starts the image: the
 * initial stack pointer, reset, SysTick to the runtime's timer and everything else to a handler
 * that stops the core, like an Arduino core without a crash reporter. main() (core.cpp) then
 * copies the table to RAM (tml_baremetal_vectors_to_ram), as Mbed OS does on the Arduino
 * boards, so the sketch can install its own fault handlers the same way on both, and makes the
 * image read-only with the MPU (tml_baremetal_protect_flash): QEMU's mps2-an386 loads it into
 * RAM at address 0, where a write through a null pointer would silently change code and
 * constants; on a board's flash it faults, and with the MPU it faults here too.
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

/* PMSAv7 MPU (Armv7-M): region base/attributes, and the control register. */
#define MPU_TYPE (*(volatile uint32_t *)0xE000ED90u)
#define MPU_CTRL (*(volatile uint32_t *)0xE000ED94u)
#define MPU_RNR  (*(volatile uint32_t *)0xE000ED98u)
#define MPU_RBAR (*(volatile uint32_t *)0xE000ED9Cu)
#define MPU_RASR (*(volatile uint32_t *)0xE000EDA0u)
#define RASR_READ_ONLY (6u << 24)   /* AP = 0b110: read-only, privileged and unprivileged */
#define RASR_NORMAL_CACHED (1u << 17) /* TEX 0, C 1, B 0: normal memory, as flash */
#define CTRL_ENABLE 1u
#define CTRL_PRIVDEFENA 4u          /* the default memory map everywhere else */

/* A read-only MPU region over [base, base + 2^k) covering `bytes`. */
static void read_only_region(uint32_t number, uint32_t base, uint32_t bytes)
{
    uint32_t log2 = 5; /* 32 bytes, the smallest region */
    while (log2 < 32 && (1ull << log2) < bytes) log2++;
    MPU_RNR = number;
    MPU_RBAR = base & ~((uint32_t)((1ull << log2) - 1u));
    MPU_RASR = RASR_READ_ONLY | RASR_NORMAL_CACHED | ((log2 - 1u) << 1) | 1u;
}

void tml_baremetal_protect_flash(void)
{
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
    if (((MPU_TYPE >> 8) & 0xFFu) < 2u) return; /* no MPU modelled */
    const uint32_t start = (uint32_t)(uintptr_t)&_tml_flash_start;
    const uint32_t bytes = (uint32_t)((uintptr_t)&_tml_flash_end - (uintptr_t)&_tml_flash_start);
    read_only_region(0, start, bytes);
    if (start != 0u) read_only_region(1, 0u, bytes); /* the boot alias at address 0 */
    MPU_CTRL = CTRL_ENABLE | CTRL_PRIVDEFENA;
    __asm volatile("dsb\n isb");
#endif
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
