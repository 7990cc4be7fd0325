/* Cortex-M timing: DWT CYCCNT when present, else SysTick with wrap counting (see tml_timer.h). */
#include "tml_timer.h"
#include "tml_platform.h"
#include "tml_report.h"

#define SCB_DEMCR   (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL    (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT  (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR     (*(volatile uint32_t *)0xE0001FB0u)
#define SYST_CSR    (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR    (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR    (*(volatile uint32_t *)0xE000E018u)

#define SYSTICK_RELOAD 0x00FFFFFFu  /* full 24-bit range: one wrap per 2^24 ticks */
#define READ_COST_BATCH 64u

static tml_timer_mode_t mode;
static volatile uint32_t systick_wraps;
static uint32_t dwt_high;        /* software extension of the 32-bit CYCCNT */
static uint32_t dwt_last;
static uint32_t read_cost;

void tml_systick_handler(void)
{
    systick_wraps++;
}

static int dwt_counts(void)
{
    SCB_DEMCR |= 1u << 24;          /* TRCENA: enables the DWT */
    DWT_LAR = 0xC5ACCE55u;          /* unlocks the DWT on cores that lock it (M7) */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;                 /* CYCCNTENA */
    uint32_t first = DWT_CYCCNT;
    for (volatile int i = 0; i < 16; i++) {
    }
    return DWT_CYCCNT != first;
}

void tml_timer_init(void)
{
    if (dwt_counts()) {
        mode = TML_TIMER_DWT_CYCLES;
        dwt_high = 0;
        dwt_last = DWT_CYCCNT;
    } else {
        mode = TML_TIMER_SYSTICK_ICOUNT;
        systick_wraps = 0;
        SYST_RVR = SYSTICK_RELOAD;
        SYST_CVR = 0;
        SYST_CSR = 7u;              /* core clock, wrap exception, enabled */
        /* The counter reads 0 until its first reload; that 0 is not a wrap. */
        while (SYST_CVR == 0) {
        }
    }
    /* The cost of reading the timer, averaged over a batch so that SysTick's tick
     * granularity does not hide it. */
    uint64_t start = tml_timer_now();
    for (unsigned i = 0; i < READ_COST_BATCH; i++) (void)tml_timer_now();
    uint64_t end = tml_timer_now();
    read_cost = (uint32_t)tml_u64_div(tml_timer_to_cost(end - start), READ_COST_BATCH + 1u);
}

tml_timer_mode_t tml_timer_mode(void)
{
    return mode;
}

const char *tml_timer_name(void)
{
    return mode == TML_TIMER_DWT_CYCLES ? "dwt" : "systick";
}

uint64_t tml_timer_now(void)
{
    if (mode == TML_TIMER_DWT_CYCLES) {
        /* Extends CYCCNT to 64 bits; correct while calls are < 2^32 cycles apart. */
        uint32_t now = DWT_CYCCNT;
        if (now < dwt_last) dwt_high++;
        dwt_last = now;
        return ((uint64_t)dwt_high << 32) | now;
    }
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * (SYSTICK_RELOAD + 1u) + (SYSTICK_RELOAD - value);
}

uint64_t tml_timer_to_cost(uint64_t counts)
{
    if (mode == TML_TIMER_DWT_CYCLES) return counts;
    /* instructions = ticks * 1e9 / hz, rounded to nearest. */
    uint32_t hz = tml_platform_cpu_hz();
    return tml_u64_div(counts * 1000000000ull + hz / 2u, hz);
}

uint32_t tml_timer_read_cost(void)
{
    return read_cost;
}

uint64_t tml_timer_cost_between(uint64_t start, uint64_t end)
{
    uint64_t cost = tml_timer_to_cost(end - start);
    return cost > read_cost ? cost - read_cost : 0;
}
