/*
 * Report UART for the Nano 33 BLE / BLE Sense: UARTE0 of the nRF52840 at 0x40002000 with
 * EasyDMA, on the board's TX pin (D1 = P1.03, the pin Arduino calls Serial1), 115200 baud 8N1.
 * The USB port is not used: its CDC stack needs the Mbed core, and Renode does not emulate the
 * nRF52840 USB device; the same pin carries the report on the board and in Renode's `uart0`.
 *
 * EasyDMA reads RAM only, so bytes (often string literals in flash) are copied into a RAM buffer
 * and sent with TXD.PTR / TXD.MAXCNT / TASKS_STARTTX, waiting for EVENTS_ENDTX (nRF52840 product
 * specification, UARTE chapter). The legacy TXD register is not used: Renode's UARTE model
 * ignores it and it is deprecated on the chip.
 */
#include <stdint.h>
#include "../../runtime/tml_platform.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define CLOCK_BASE              0x40000000u
#define CLOCK_TASKS_HFCLKSTART  REG(CLOCK_BASE + 0x000u)
#define CLOCK_EVENTS_HFCLKSTARTED REG(CLOCK_BASE + 0x100u)

#define UARTE0_BASE          0x40002000u
#define UARTE_TASKS_STARTTX  REG(UARTE0_BASE + 0x008u)
#define UARTE_EVENTS_ENDTX   REG(UARTE0_BASE + 0x120u)
#define UARTE_ENABLE         REG(UARTE0_BASE + 0x500u)
#define UARTE_PSEL_RTS       REG(UARTE0_BASE + 0x508u)
#define UARTE_PSEL_TXD       REG(UARTE0_BASE + 0x50Cu)
#define UARTE_PSEL_CTS       REG(UARTE0_BASE + 0x510u)
#define UARTE_PSEL_RXD       REG(UARTE0_BASE + 0x514u)
#define UARTE_BAUDRATE       REG(UARTE0_BASE + 0x524u)
#define UARTE_TXD_PTR        REG(UARTE0_BASE + 0x544u)
#define UARTE_TXD_MAXCNT     REG(UARTE0_BASE + 0x548u)
#define UARTE_CONFIG         REG(UARTE0_BASE + 0x56Cu)

#define GPIO_P1_OUTSET       REG(0x50000808u)
#define GPIO_P1_DIRSET       REG(0x50000818u)

#define UARTE_ENABLE_ON      8u
#define BAUD_115200          0x01D7E000u
#define PSEL_DISCONNECTED    0xFFFFFFFFu
#define TX_PORT              1u
#define TX_PIN               3u      /* P1.03: the Nano 33 BLE's D1/TX pin */
#define NRF52840_CORE_HZ     64000000u
#define DMA_CHUNK            64u
#define HFCLK_WAIT_LOOPS     100000u

static uint8_t tx_buffer[DMA_CHUNK];  /* in RAM: EasyDMA cannot read flash */

void tml_platform_init(void)
{
    /* The crystal oscillator gives the UART an accurate baud rate on the board; bounded wait,
     * the internal oscillator still works if it never reports started. */
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    for (uint32_t i = 0; i < HFCLK_WAIT_LOOPS && CLOCK_EVENTS_HFCLKSTARTED == 0; i++) {
    }
    GPIO_P1_OUTSET = 1u << TX_PIN;  /* TX idles high */
    GPIO_P1_DIRSET = 1u << TX_PIN;
    UARTE_PSEL_TXD = (TX_PORT << 5) | TX_PIN;
    UARTE_PSEL_RXD = PSEL_DISCONNECTED;
    UARTE_PSEL_RTS = PSEL_DISCONNECTED;
    UARTE_PSEL_CTS = PSEL_DISCONNECTED;
    UARTE_BAUDRATE = BAUD_115200;
    UARTE_CONFIG = 0;  /* 8N1, no flow control */
    UARTE_ENABLE = UARTE_ENABLE_ON;
}

void tml_platform_write(const char *s, unsigned n)
{
    while (n > 0) {
        unsigned chunk = n < DMA_CHUNK ? n : DMA_CHUNK;
        for (unsigned i = 0; i < chunk; i++) tx_buffer[i] = (uint8_t)s[i];
        UARTE_EVENTS_ENDTX = 0;
        UARTE_TXD_PTR = (uint32_t)(uintptr_t)tx_buffer;
        UARTE_TXD_MAXCNT = chunk;
        UARTE_TASKS_STARTTX = 1;
        while (UARTE_EVENTS_ENDTX == 0) {
        }
        s += chunk;
        n -= chunk;
    }
}

uint32_t tml_platform_cpu_hz(void)
{
    return NRF52840_CORE_HZ;
}
