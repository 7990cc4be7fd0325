/*
 * Arduino glue for the report runtime (see tml_arduino.h): REPORT_SERIAL, the bounded wait for
 * a USB host, and DWT/micros timing. Compiled by arduino-cli as part of the sketch's src/.
 */
#include <Arduino.h>
#include "tml_sketch_config.h"
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
#define TML_CLOCK_HZ 0u
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

static bool use_dwt = false;
static uint32_t read_cost = 0;
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
