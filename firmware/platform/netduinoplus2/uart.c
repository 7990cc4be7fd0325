/*
 * Report UART for netduinoplus2: USART1 at 0x40011000 (QEMU serial0; PA9 TX / PA10 RX, AF7,
 * on the real board). Registers: SR (+0x00, bit 7 = TXE), DR (+0x04), BRR (+0x08), CR1
 * (+0x0C: UE bit 13, TE bit 3). The clock tree is left at its reset state (16 MHz HSI, APB2 =
 * 16 MHz) on real hardware: QEMU does not model the RCC, so waiting for a PLL lock would hang.
 * QEMU runs the core at 168 MHz whatever the RCC says; tml_platform_cpu_hz() returns that.
 */
#include <stdint.h>
#include "../../runtime/tml_platform.h"

#define RCC_AHB1ENR  (*(volatile uint32_t *)0x40023830u)
#define RCC_APB2ENR  (*(volatile uint32_t *)0x40023844u)
#define GPIOA_MODER  (*(volatile uint32_t *)0x40020000u)
#define GPIOA_AFRH   (*(volatile uint32_t *)0x40020024u)
#define USART1_BASE  0x40011000u
#define USART_SR     (*(volatile uint32_t *)(USART1_BASE + 0x00u))
#define USART_DR     (*(volatile uint32_t *)(USART1_BASE + 0x04u))
#define USART_BRR    (*(volatile uint32_t *)(USART1_BASE + 0x08u))
#define USART_CR1    (*(volatile uint32_t *)(USART1_BASE + 0x0Cu))

#define APB2_HZ_AT_RESET 16000000u
#define BAUD_RATE 115200u
#define QEMU_CORE_HZ 168000000u
#define SR_TXE (1u << 7)
#define CR1_UE (1u << 13)
#define CR1_TE (1u << 3)

void tml_platform_init(void)
{
    RCC_AHB1ENR |= 1u << 0;   /* GPIOA clock */
    RCC_APB2ENR |= 1u << 4;   /* USART1 clock */
    GPIOA_MODER = (GPIOA_MODER & ~(3u << 18)) | (2u << 18);   /* PA9 alternate function */
    GPIOA_AFRH = (GPIOA_AFRH & ~(15u << 4)) | (7u << 4);      /* PA9 = AF7 (USART1_TX) */
    USART_BRR = (APB2_HZ_AT_RESET + BAUD_RATE / 2u) / BAUD_RATE;
    USART_CR1 = CR1_UE | CR1_TE;
}

void tml_platform_write(const char *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        while (!(USART_SR & SR_TXE)) {
        }
        USART_DR = (uint8_t)s[i];
    }
}

uint32_t tml_platform_cpu_hz(void)
{
    return QEMU_CORE_HZ;
}
