/*
 * Report UART for mps2-an386: CMSDK APB UART0 at 0x40004000 (QEMU serial0), clocked by the
 * 25 MHz SYSCLK. Registers: DATA (+0x00), STATE (+0x04, bit 0 = TX buffer full), CTRL (+0x08,
 * bit 0 = TX enable), BAUDDIV (+0x10, >= 16). Polled: no interrupts.
 */
#include <stdint.h>
#include "../../runtime/tml_platform.h"

#define UART0_BASE   0x40004000u
#define UART_DATA    (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE   (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL    (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))

#define SYSCLK_HZ 25000000u
#define BAUD_RATE 115200u
#define STATE_TX_FULL 1u
#define CTRL_TX_ENABLE 1u

void tml_platform_init(void)
{
    UART_BAUDDIV = SYSCLK_HZ / BAUD_RATE;
    UART_CTRL = CTRL_TX_ENABLE;
}

void tml_platform_write(const char *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        while (UART_STATE & STATE_TX_FULL) {
        }
        UART_DATA = (uint8_t)s[i];
    }
}

uint32_t tml_platform_cpu_hz(void)
{
    return SYSCLK_HZ;
}
