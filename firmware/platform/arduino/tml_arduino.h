/*
 * The Arduino side of the tinyml report runtime: what a generated sketch (native or TFLite
 * Micro) calls. C API, so the native runtime's C files and the C++ sketch share it.
 *
 * The sketch's src/tml_sketch_config.h (generated) selects:
 *   REPORT_SERIAL       Serial (native USB CDC) or Serial1 (hardware UART, e.g. under Renode)
 *   TML_REPORT_BAUD     baud rate of REPORT_SERIAL (ignored by USB CDC)
 *   TML_SERIAL_WAIT_MS  how long setup() waits for a host to open the USB port (bounded: a
 *                       headless board never hangs in `while (!Serial)`)
 * and src/tml_build_info.h (generated) gives TML_CLOCK_HZ, the core clock (the hello record's
 * clock_hz; micros() is scaled to cycles with it where there is no DWT).
 *
 * Timing: the DWT cycle counter where the core has one and it counts (Cortex-M3/M4/M7), else
 * micros() scaled to cycles (Cortex-M0+, e.g. RP2040), labelled "micros" in the hello record.
 * SysTick is never touched: the Mbed OS RTOS of the Arduino cores owns it. On tinyml's
 * bare-metal core for the emulated boards (TINYML_BAREMETAL_CORE) the runtime's SysTick timer
 * counts instead, and under QEMU -icount shift=0 its costs are instructions (unit
 * "instructions"), exactly as the native firmware reports them.
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
/* "dwt", "micros", or "systick" (bare-metal core). */
const char *tml_arduino_timer_name(void);
/* The unit of tml_arduino_timer_cycles(): "cycles", or "instructions" under QEMU icount. */
const char *tml_arduino_timer_unit(void);
/* Free-running 32-bit mark: DWT cycles or micros(). Differences are wrap-safe. */
uint32_t tml_arduino_timer_now(void);
/* Cost between two marks in tml_arduino_timer_unit(), the timer-read cost taken off (never
 * below zero). */
uint64_t tml_arduino_timer_cycles(uint32_t start, uint32_t end);
/* Cost of one timer read, in cycles. */
uint32_t tml_arduino_timer_read_cost(void);

/* 1 exactly once each time a host newly opens the report port after having been away, so a
 * session can be repeated for a monitor that attaches late; 0 otherwise (and always 0 for a
 * hardware UART). */
int tml_arduino_host_attached(void);

/* Sleeps about `ms` milliseconds (lets the core's USB stack and RTOS run). */
void tml_arduino_idle(uint32_t ms);

/* Memory figures for the mem record (0 = the core cannot tell; the key is then left out). */
typedef struct {
    uint32_t stack_high_water_bytes;
    uint32_t stack_size_bytes;
    uint32_t static_ram_bytes;  /* .data + .bss, the arena included */
    uint32_t flash_used_bytes;  /* code + read-only data + the .data image */
} tml_arduino_memory_t;

/* Paints the stack (call first in setup()) so tml_arduino_memory() can find its high-water mark. */
void tml_arduino_stack_paint(void);
void tml_arduino_memory(tml_arduino_memory_t *m);

/* Routes HardFault, MemManage, BusFault and UsageFault to the runtime's fault reporter
 * (tml_fault.c: an error record with pc, lr, cfsr, then done), by patching the vector table in
 * RAM that Mbed OS (and tinyml's bare-metal core) keep. Returns 1 when installed, 0 where the
 * table is in flash or the core is an Armv6-M (Cortex-M0+) one. */
int tml_arduino_install_fault_handler(void);

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
/* error + done(status error, runs = inferences completed before the error). */
void tml_arduino_report_error(const char *code, int32_t status, const char *message, uint32_t runs);
/* allocate_failed: the arena, and the first allocation that did not fit (requested and
 * available bytes), or, with `planner` set, the bytes TFLite Micro's memory planner had when it
 * ran out (available only); 0 when unknown. Then done(status error). */
void tml_arduino_report_allocate_failed(uint32_t arena_bytes, uint32_t requested_bytes, uint32_t available_bytes, int planner, const char *message);
/* The memory keys of the mem record (between tml_report_begin("mem") and tml_report_end()). */
void tml_arduino_report_memory_keys(void);
void tml_arduino_report_done(uint32_t runs);

/* --- The native runtime's session (tml_arduino_app.c); the TFLM sketch has its own --- */
void tml_arduino_setup(void);
void tml_arduino_loop(void);

#ifdef __cplusplus
}
#endif

#endif /* TML_ARDUINO_H */
