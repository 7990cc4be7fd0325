/*
 * Report UART for disco-f746ng: USART1 at 0x40011000 on PA9 (TX, AF7) / PB7 (RX), 115200 baud
 * 8N1, wired to the ST-LINK/V2-1 virtual COM port of the STM32F746G-DISCO (the USB port a
 * terminal sees). Renode's platform calls it sysbus.usart1. Registers (RM0385, the USART of the
 * F7 family): CR1 (+0x00: UE bit 0, TE bit 3), BRR (+0x0C), ISR (+0x1C, bit 7 = TXE), TDR
 * (+0x28). The clock tree stays at its reset state (16 MHz HSI, APB2 = 16 MHz).
 */
#include <stdint.h>
#include "../../runtime/tml_platform.h"

#define RCC_AHB1ENR  (*(volatile uint32_t *)0x40023830u)
#define RCC_APB2ENR  (*(volatile uint32_t *)0x40023844u)
#define GPIOA_MODER  (*(volatile uint32_t *)0x40020000u)
#define GPIOA_AFRH   (*(volatile uint32_t *)0x40020024u)
#define USART1_BASE  0x40011000u
#define USART_CR1    (*(volatile uint32_t *)(USART1_BASE + 0x00u))
#define USART_BRR    (*(volatile uint32_t *)(USART1_BASE + 0x0Cu))
#define USART_ISR    (*(volatile uint32_t *)(USART1_BASE + 0x1Cu))
#define USART_TDR    (*(volatile uint32_t *)(USART1_BASE + 0x28u))

#define APB2_HZ_AT_RESET 16000000u
#define BAUD_RATE 115200u
#define ISR_TXE (1u << 7)
#define CR1_UE (1u << 0)
#define CR1_TE (1u << 3)

void tml_platform_init(void)
{
    RCC_AHB1ENR |= 1u << 0;   /* GPIOA clock */
    RCC_APB2ENR |= 1u << 4;   /* USART1 clock */
    GPIOA_MODER = (GPIOA_MODER & ~(3u << 18)) | (2u << 18);  /* PA9 alternate function */
    GPIOA_AFRH = (GPIOA_AFRH & ~(15u << 4)) | (7u << 4);     /* PA9 = AF7 (USART1_TX) */
    USART_BRR = (APB2_HZ_AT_RESET + BAUD_RATE / 2u) / BAUD_RATE;
    USART_CR1 = CR1_UE | CR1_TE;
}

void tml_platform_write(const char *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        while (!(USART_ISR & ISR_TXE)) {
        }
        USART_TDR = (uint8_t)s[i];
    }
}

/* SysTick clock under Renode (the runner sets sysbus.nvic Frequency to the board's f_cpu). On the
 * board the core stays on the 16 MHz HSI and the DWT counts its cycles instead (tml_timer.h). */
uint32_t tml_platform_cpu_hz(void)
{
    return 216000000u;
}
