/*
 * What tinyml's bare-metal Arduino core (core.cpp, startup.c) adds to the Arduino API of
 * Arduino.h, for the sketch glue compiled on it (TINYML_BAREMETAL_CORE): the runtime's timer
 * (SysTick under QEMU: costs in instructions), its stack painting, and the memory figures of
 * the linker script. C linkage; included by Arduino.h.
 *
 * The board's UART driver and the runtime's timer are compiled with
 *   -Dtml_platform_init=tml_board_uart_init -Dtml_platform_write=tml_board_uart_write
 *   -Dtml_platform_cpu_hz=tml_board_cpu_hz
 * because the sketch owns the tml_platform_* names (its glue writes to Serial).
 */
#ifndef TML_BAREMETAL_CORE_H
#define TML_BAREMETAL_CORE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "tml_timer.h"
#include "tml_stack.h"

void tml_board_uart_init(void);
void tml_board_uart_write(const char *s, unsigned n);
uint32_t tml_board_cpu_hz(void);

uint64_t tml_u64_div(uint64_t n, uint32_t d);

/* Copies the vector table to RAM and points VTOR at it, as Mbed OS does on the Arduino boards,
 * so a sketch can install its own fault handlers (tml_arduino_fault.c). */
void tml_baremetal_vectors_to_ram(void);

/* Makes the firmware image (and address 0) read-only with the MPU, as flash is on a board: a
 * stray write faults instead of changing code. No-op without an MPU. */
void tml_baremetal_protect_flash(void);

/* Static RAM (.data + .bss) and flash contents (code, read-only data, .data image), in bytes,
 * from the linker script's symbols. */
uint32_t tml_baremetal_static_ram_bytes(void);
uint32_t tml_baremetal_flash_used_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* TML_BAREMETAL_CORE_H */
