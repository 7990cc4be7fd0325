/*
 * Arduino glue for the report runtime (see tml_arduino.h): REPORT_SERIAL, the bounded wait for
 * a USB host, timing (DWT cycles / micros() on an Arduino core, the runtime's SysTick timer on
 * tinyml's bare-metal core) and the memory figures of the mem record. Compiled by arduino-cli
 * as part of the sketch's src/, and by tinyml for the emulated boards.
 */
#include <Arduino.h>
#include "tml_sketch_config.h"
#include "tml_build_info.h"
#include "tml_arduino.h"

#ifndef REPORT_SERIAL
#define REPORT_SERIAL Serial
#endif
#ifndef TML_REPORT_BAUD
#define TML_REPORT_BAUD 115200
#endif
#ifndef TML_SERIAL_WAIT_MS
#define TML_SERIAL_WAIT_MS 5000
#endif
#ifndef TML_CLOCK_HZ
#error "TML_CLOCK_HZ comes from the generated tml_build_info.h: regenerate the sketch with tinyml"
#endif
/* Bytes below setup()'s stack pointer painted to find the stack high-water mark on an Arduino
 * core, whose stack bounds the sketch does not know (Mbed OS gives the main thread 32 KiB). */
#ifndef TML_STACK_PAINT_BYTES
#define TML_STACK_PAINT_BYTES 8192u
#endif

/* Armv7-M and Armv7E-M have the DWT cycle counter; Armv6-M (Cortex-M0/M0+) does not. */
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
#define TML_HAVE_DWT 1
#define TML_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TML_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TML_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TML_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#else
#define TML_HAVE_DWT 0
#endif

static bool host_was_present = false;

extern "C" void tml_platform_init(void)
{
    REPORT_SERIAL.begin(TML_REPORT_BAUD);
    /* USB CDC: wait for the host to open the port, but never forever (headless boards). A
     * hardware UART is always "ready", so this returns at once for Serial1. */
    const unsigned long start = millis();
    while (!REPORT_SERIAL && (millis() - start) < (unsigned long)TML_SERIAL_WAIT_MS) {
        delay(10);
    }
    host_was_present = (bool)REPORT_SERIAL;
}

extern "C" void tml_platform_write(const char *s, unsigned n)
{
    if (!REPORT_SERIAL) return; /* no host on the USB port: drop, never block */
    REPORT_SERIAL.write((const uint8_t *)s, (size_t)n);
}

extern "C" uint32_t tml_platform_cpu_hz(void)
{
    return TML_CLOCK_HZ;
}

extern "C" int tml_arduino_host_attached(void)
{
    const bool present = (bool)REPORT_SERIAL;
    const bool attached = present && !host_was_present;
    host_was_present = present;
    return attached ? 1 : 0;
}

extern "C" void tml_arduino_idle(uint32_t ms)
{
    delay(ms);
}

#if defined(TINYML_BAREMETAL_CORE)
/* tinyml's bare-metal core (QEMU): the runtime's timer, which the core started before setup():
 * the DWT if it counts, else SysTick in instructions under -icount shift=0. */
#include "tml_baremetal_core.h"
extern "C" void tml_arduino_timer_init(void)
{
}

extern "C" uint32_t tml_arduino_timer_read_cost(void)
{
    return tml_timer_read_cost();
}

extern "C" uint32_t tml_arduino_timer_now(void)
{
    return (uint32_t)tml_timer_now();
}

extern "C" const char *tml_arduino_timer_name(void)
{
    return tml_timer_name();
}

extern "C" const char *tml_arduino_timer_unit(void)
{
    return tml_timer_mode() == TML_TIMER_DWT_CYCLES ? "cycles" : "instructions";
}

extern "C" uint64_t tml_arduino_timer_cycles(uint32_t start, uint32_t end)
{
    return tml_timer_cost_between(0u, (uint64_t)(uint32_t)(end - start));
}

extern "C" void tml_arduino_stack_paint(void)
{
    /* The core painted the whole stack region before setup(). */
}

extern "C" void tml_arduino_memory(tml_arduino_memory_t *m)
{
    m->stack_high_water_bytes = tml_stack_high_water();
    m->stack_size_bytes = tml_stack_size();
    m->static_ram_bytes = tml_baremetal_static_ram_bytes();
    m->flash_used_bytes = tml_baremetal_flash_used_bytes();
}

#else /* an Arduino core */

static bool use_dwt = false;
static uint32_t read_cost = 0;

extern "C" uint32_t tml_arduino_timer_now(void)
{
#if TML_HAVE_DWT
    if (use_dwt) return TML_DWT_CYCCNT;
#endif
    return (uint32_t)micros();
}

extern "C" void tml_arduino_timer_init(void)
{
#if TML_HAVE_DWT
    TML_DEMCR |= 1u << 24; /* TRCENA */
    TML_DWT_LAR = 0xC5ACCE55u; /* unlock on cores that lock the DWT (Cortex-M7) */
    TML_DWT_CTRL |= 1u;    /* CYCCNTENA */
    const uint32_t first = TML_DWT_CYCCNT;
    for (volatile int i = 0; i < 16; i++) {
    }
    use_dwt = TML_DWT_CYCCNT != first; /* an emulator may not model the DWT */
#endif
    if (use_dwt) {
        /* One read's cost over a batch of back-to-back reads. */
        const uint32_t a = tml_arduino_timer_now();
        for (int i = 0; i < 32; i++) (void)tml_arduino_timer_now();
        const uint32_t b = tml_arduino_timer_now();
        read_cost = (b - a) / 33u;
    }
}

extern "C" const char *tml_arduino_timer_name(void)
{
    return use_dwt ? "dwt" : "micros";
}

extern "C" const char *tml_arduino_timer_unit(void)
{
    return "cycles";
}

extern "C" uint32_t tml_arduino_timer_read_cost(void)
{
    return read_cost;
}

extern "C" uint64_t tml_arduino_timer_cycles(uint32_t start, uint32_t end)
{
    const uint32_t diff = end - start;
    if (use_dwt) return diff > read_cost ? (uint64_t)(diff - read_cost) : 0u;
    return (uint64_t)diff * (uint64_t)(TML_CLOCK_HZ / 1000000u);
}

/* Section bounds of the GCC Arm linker scripts the Arduino cores use (Mbed OS, CMSIS). Weak:
 * a core whose script names them otherwise gives 0 here and the key is left out. */
extern "C" {
extern char __Vectors[] __attribute__((weak));
extern char __etext[] __attribute__((weak));
extern char __data_start__[] __attribute__((weak));
extern char __data_end__[] __attribute__((weak));
extern char __bss_end__[] __attribute__((weak));
}

#define TML_STACK_PAINT 0xC5A5C5A5u
static uintptr_t paint_low;
static uintptr_t paint_top;

/* Paints TML_STACK_PAINT_BYTES below the caller's frame (64 bytes of this one's left alone). */
extern "C" __attribute__((noinline)) void tml_arduino_stack_paint(void)
{
    uintptr_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    paint_top = sp & ~(uintptr_t)3u;
    paint_low = paint_top - TML_STACK_PAINT_BYTES;
    for (volatile uint32_t *w = (volatile uint32_t *)paint_low; (uintptr_t)w < paint_top - 64u; w++) *w = TML_STACK_PAINT;
}

extern "C" void tml_arduino_memory(tml_arduino_memory_t *m)
{
    m->stack_high_water_bytes = 0;
    m->stack_size_bytes = 0;
    if (paint_low != 0u) {
        const volatile uint32_t *w = (const volatile uint32_t *)paint_low;
        while ((uintptr_t)w < paint_top && *w == TML_STACK_PAINT) w++;
        /* Bytes below setup()'s frame the session used; the window's size is the limit. */
        m->stack_high_water_bytes = (uint32_t)(paint_top - (uintptr_t)w);
        m->stack_size_bytes = TML_STACK_PAINT_BYTES;
    }
    const uintptr_t data = (uintptr_t)__data_start__, data_end = (uintptr_t)__data_end__;
    const uintptr_t bss_end = (uintptr_t)__bss_end__, text_end = (uintptr_t)__etext, text = (uintptr_t)__Vectors;
    m->static_ram_bytes = (data != 0u && bss_end > data) ? (uint32_t)(bss_end - data) : 0u;
    m->flash_used_bytes = (text != 0u && text_end > text && data_end >= data) ? (uint32_t)(text_end - text + (data_end - data)) : 0u;
}
#endif
