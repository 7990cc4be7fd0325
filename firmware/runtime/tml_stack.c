/* Stack painting and the stack guard (see tml_stack.h). */
#include "tml_stack.h"
#include "tml_platform.h"

#define STACK_PAINT 0xC5A5C5A5u
#define PAINT_MARGIN 64u  /* bytes below the current SP left alone (this function's own frame) */

/* PMSAv7 MPU (Armv7-M ARM B3.5). */
#define MPU_TYPE (*(volatile uint32_t *)0xE000ED90u)
#define MPU_CTRL (*(volatile uint32_t *)0xE000ED94u)
#define MPU_RNR  (*(volatile uint32_t *)0xE000ED98u)
#define MPU_RBAR (*(volatile uint32_t *)0xE000ED9Cu)
#define MPU_RASR (*(volatile uint32_t *)0xE000EDA0u)
#define MPU_CTRL_ENABLE     (1u << 0)
#define MPU_CTRL_PRIVDEFENA (1u << 2)  /* the default memory map everywhere else (privileged code) */
#define MPU_RASR_XN         (1u << 28)
#define MPU_RASR_AP_RO      (6u << 24) /* read-only, privileged and unprivileged */
#define MPU_RASR_NORMAL_WB  ((1u << 19) | (1u << 17) | (1u << 16)) /* TEX=001 C=1 B=1: normal memory, like SRAM */

/* CFSR: MemManage status bits. */
#define MMFSR_DACCVIOL  (1u << 1)
#define MMFSR_MSTKERR   (1u << 4)
#define MMFSR_MLSPERR   (1u << 5)
#define MMFSR_MMARVALID (1u << 7)

static uint32_t guard_start;
static uint32_t guard_end;
static int guard_mpu;

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

static uint32_t log2_of(uint32_t n)
{
    uint32_t k = 0;
    while ((1u << k) < n) k++;
    return k;
}

uint32_t tml_stack_guard_init(void)
{
    return tml_stack_guard_arm((uint32_t)(uintptr_t)&_tml_stack_start, (uint32_t)(uintptr_t)&_tml_stack_end);
}

uint32_t tml_stack_guard_arm(uint32_t start, uint32_t end)
{
    const uint32_t size = TML_STACK_GUARD_BYTES;
    /* An MPU region starts at a multiple of its size: the first such block in the stack region.
     * A stack too small to give up two guards' worth keeps no guard. */
    guard_start = (start + size - 1u) & ~(size - 1u);
    guard_end = guard_start + size;
    if (guard_end + size > end) {
        guard_start = guard_end = 0;
        return 0;
    }
    const uint32_t regions = (MPU_TYPE >> 8) & 0xFFu;
    if (regions > 0) {
        __asm volatile("dsb");
        MPU_RNR = regions - 1u; /* the highest-numbered region wins any overlap */
        MPU_RBAR = guard_start;
        MPU_RASR = MPU_RASR_XN | MPU_RASR_AP_RO | MPU_RASR_NORMAL_WB | ((log2_of(size) - 1u) << 1) | 1u;
        MPU_CTRL = MPU_CTRL_PRIVDEFENA | MPU_CTRL_ENABLE; /* HFNMIENA = 0: off in the HardFault handler */
        __asm volatile("dsb\n isb");
        guard_mpu = 1;
    }
    return size;
}

const char *tml_stack_guard_kind(void)
{
    return guard_end == 0 ? "none" : guard_mpu ? "mpu" : "canary";
}

uint32_t tml_stack_guard_bytes(void)
{
    return guard_end - guard_start;
}

int tml_stack_guard_intact(void)
{
    if (guard_mpu) return 1; /* a write there would have faulted */
    const volatile uint32_t *word = (const volatile uint32_t *)(uintptr_t)guard_start;
    const volatile uint32_t *end = (const volatile uint32_t *)(uintptr_t)guard_end;
    for (; word < end; word++) {
        if (*word != STACK_PAINT) return 0;
    }
    return 1;
}

int tml_stack_guard_hit(uint32_t cfsr, uint32_t mmfar)
{
    if (!guard_mpu) return 0;
    if (cfsr & (MMFSR_MSTKERR | MMFSR_MLSPERR)) return 1;
    return (cfsr & (MMFSR_DACCVIOL | MMFSR_MMARVALID)) == (MMFSR_DACCVIOL | MMFSR_MMARVALID) && mmfar >= guard_start && mmfar < guard_end;
}
