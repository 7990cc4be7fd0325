/*
 * The Arduino side of the tinyml report runtime: what a generated sketch (native or TFLite
 * Micro) calls. C API, so the native runtime's C files and the C++ sketch share it.
 *
 * The sketch's src/tml_sketch_config.h (generated) selects:
 *   REPORT_SERIAL       Serial (native USB CDC) or Serial1 (hardware UART, e.g. under Renode)
 *   TML_REPORT_BAUD     baud rate of REPORT_SERIAL (ignored by USB CDC)
 *   TML_SERIAL_WAIT_MS  how long setup() waits for a host to open the USB port (bounded: a
 *                       headless board never hangs in `while (!Serial)`)
 *   TML_CLOCK_HZ        core clock, used to turn micros() into cycles where there is no DWT
 *
 * Timing: the DWT cycle counter where the core has one and it counts (Cortex-M3/M4/M7), else
 * micros() scaled to cycles (Cortex-M0+, e.g. RP2040), labelled "micros" in the hello record.
 * SysTick is never touched: the Mbed OS RTOS of the Arduino cores owns it.
 */
#ifndef TML_ARDUINO_H
#define TML_ARDUINO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts REPORT_SERIAL and waits at most TML_SERIAL_WAIT_MS for a host (USB CDC only). */
void tml_platform_init(void);
/* Writes n bytes to REPORT_SERIAL; drops them when no host holds the USB port (never blocks). */
void tml_platform_write(const char *s, unsigned n);
uint32_t tml_platform_cpu_hz(void);

/* Probes the DWT and measures the cost of one timer read. */
void tml_arduino_timer_init(void);
/* "dwt" or "micros". */
const char *tml_arduino_timer_name(void);
/* Free-running 32-bit mark: DWT cycles or micros(). Differences are wrap-safe. */
uint32_t tml_arduino_timer_now(void);
/* Cycles between two marks, the timer-read cost taken off (never below zero). */
uint64_t tml_arduino_timer_cycles(uint32_t start, uint32_t end);
/* Cost of one timer read, in cycles. */
uint32_t tml_arduino_timer_read_cost(void);

/* 1 exactly once each time a host newly opens the report port after having been away, so a
 * session can be repeated for a monitor that attaches late; 0 otherwise (and always 0 for a
 * hardware UART). */
int tml_arduino_host_attached(void);

/* Sleeps about `ms` milliseconds (lets the core's USB stack and RTOS run). */
void tml_arduino_idle(uint32_t ms);

/* --- Records shared by both runtimes (tml_arduino_report.c) --- */

typedef struct {
    const char *model_hash;
    const char *board;
    const char *runtime;        /* "tinyml-native" or "tflm" */
    const char *kernels;        /* "portable", "tflm" */
    const char *build_id;
    uint32_t arena_bytes;       /* the arena the firmware allocates */
    uint32_t planned_arena_bytes; /* tinyml's memory plan */
    uint32_t weight_bytes;
    uint32_t flash_size_bytes;
    uint32_t runs;
    uint32_t inputs;
    uint32_t outputs;
    uint32_t ops;
} tml_arduino_hello_t;

void tml_arduino_report_hello(const tml_arduino_hello_t *h);
/* An inference record: `cycles` (and `us`) between two timer marks. */
void tml_arduino_report_inference(uint32_t index, uint32_t start, uint32_t end);
/* One output tensor as `output` records of at most 256 bytes each. */
void tml_arduino_report_output(uint32_t index, const void *bytes, unsigned total);
/* error + done(status error). */
void tml_arduino_report_error(const char *code, int32_t status, const char *message);
void tml_arduino_report_done(uint32_t runs);

/* --- The native runtime's session (tml_arduino_app.c); the TFLM sketch has its own --- */
void tml_arduino_setup(void);
void tml_arduino_loop(void);

#ifdef __cplusplus
}
#endif

#endif /* TML_ARDUINO_H */
