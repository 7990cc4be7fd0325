/*
 * Fault reporting. Every fault exception (HardFault, NMI, MemManage, BusFault, UsageFault) and
 * every unexpected interrupt enters tml_fault_entry. The entry picks the stack the exception
 * frame was pushed on (MSP or PSP, from EXC_RETURN bit 2), takes the stacked PC, LR and xPSR
 * from it, moves to a fresh stack at the top of the stack region (the old one may be what
 * overflowed) and calls tml_fault_report. The report is an `error` record with the stacked PC and LR, the exception number and
 * the fault status registers, then a `done` record; the core then sleeps forever.
 *
 * A fault caused by the stack running into its guard (tml_stack.h) is reported with code
 * `stack_overflow`; every fault names the op that was running (`op`, `op_type`) when it came
 * during tml_model_invoke().
 */
#include "model.h"
#include "tml_platform.h"
#include "tml_report.h"
#include "tml_stack.h"

/* Armv7-M only (the entry code and the fault status registers); Arduino sketches copy this file
 * and also build it for Cortex-M0+ cores, where it is empty. */
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)

#define SCB_CFSR  (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR  (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR  (*(volatile uint32_t *)0xE000ED38u)

void tml_fault_report(uint32_t pc, uint32_t lr, uint32_t ipsr, uint32_t exc_return, uint32_t xpsr);

/* Reads PC, LR and xPSR out of the exception frame (r0 r1 r2 r3 r12 lr pc xpsr) into registers
 * before the stack pointer moves, then calls the reporter on a fresh stack. */
__attribute__((naked)) void tml_fault_entry(void)
{
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r12, msp\n"
        "mrsne r12, psp\n"
        "mov r3, lr\n"
        "mrs r2, ipsr\n"
        "ldr r0, [r12, #24]\n"
        "ldr r1, [r12, #20]\n"
        "ldr r12, [r12, #28]\n"
        "ldr lr, =_tml_stack_end\n"
        "mov sp, lr\n"
        "sub sp, sp, #8\n"
        "str r12, [sp]\n"
        "b tml_fault_report\n");
}

static const char *exception_name(uint32_t number)
{
    switch (number) {
    case 2: return "nmi";
    case 3: return "hardfault";
    case 4: return "memmanage";
    case 5: return "busfault";
    case 6: return "usagefault";
    default: return "unexpected_exception";
    }
}

/* The op running now (tml_model_current_op), as the `op` and `op_type` keys. */
static void report_current_op(void)
{
    const int op = tml_model_current_op;
    tml_report_i32("op", op);
    if (op >= 0 && op < TML_MODEL_NUM_OPS) tml_report_str("op_type", tml_model_op_types[op]);
}

static __attribute__((noreturn)) void halt(void)
{
    for (;;) {
        __asm volatile("wfi");
    }
}

__attribute__((noreturn)) void tml_stack_overflow_report(void)
{
    tml_report_reset();
    tml_report_begin("error");
    tml_report_str("code", "stack_overflow");
    tml_report_str("guard", tml_stack_guard_kind());
    tml_report_u32("stack_size_bytes", tml_stack_size());
    report_current_op();
    tml_report_end();
    tml_report_begin("done");
    tml_report_str("status", "fault");
    tml_report_end();
    halt();
}

__attribute__((noreturn, used)) void tml_fault_report(uint32_t pc, uint32_t lr, uint32_t ipsr, uint32_t exc_return, uint32_t xpsr)
{
    uint32_t number = ipsr & 0x1FFu;
    const uint32_t cfsr = SCB_CFSR;
    const int overflow = tml_stack_guard_hit(cfsr, SCB_MMFAR);
    tml_report_reset();
    tml_report_begin("error");
    tml_report_str("code", overflow ? "stack_overflow" : exception_name(number));
    if (overflow) {
        tml_report_str("guard", tml_stack_guard_kind());
        tml_report_u32("stack_size_bytes", tml_stack_size());
    }
    report_current_op();
    tml_report_u32("exception", number);
    tml_report_hex32("pc", pc);
    tml_report_hex32("lr", lr);
    tml_report_hex32("xpsr", xpsr);
    tml_report_hex32("cfsr", cfsr);
    tml_report_hex32("hfsr", SCB_HFSR);
    tml_report_hex32("mmfar", SCB_MMFAR);
    tml_report_hex32("bfar", SCB_BFAR);
    tml_report_hex32("exc_return", exc_return);
    tml_report_end();
    tml_report_begin("done");
    tml_report_str("status", "fault");
    tml_report_end();
    halt();
}

#endif /* Armv7-M */
