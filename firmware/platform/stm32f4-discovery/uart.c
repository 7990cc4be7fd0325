/*
 * Report UART for stm32f4-discovery: USART2 at 0x40004400 on PA2 (TX, AF7) / PA3 (RX), 115200
 * baud 8N1. On MB997D boards (ST-LINK/V2-A) PA2/PA3 reach the ST-LINK's virtual COM port; on
 * older boards connect a 3.3 V USB-serial adapter to PA2 and GND. Renode's platform calls it
 * sysbus.usart2. Registers: SR (+0x00, bit 7 = TXE), DR (+0x04), BRR (+0x08), CR1 (+0x0C: UE
 * bit 13, TE bit 3). The clock tree stays at its reset state (16 MHz HSI, APB1 = 16 MHz): the
 * report needs no more, and the board's DWT counts core cycles at that clock.
 */
#include <stdint.h>
#include "../../runtime/tml_platform.h"

#define RCC_AHB1ENR  (*(volatile uint32_t *)0x40023830u)
#define RCC_APB1ENR  (*(volatile uint32_t *)0x40023840u)
#define GPIOA_MODER  (*(volatile uint32_t *)0x40020000u)
#define GPIOA_AFRL   (*(volatile uint32_t *)0x40020020u)
#define USART2_BASE  0x40004400u
#define USART_SR     (*(volatile uint32_t *)(USART2_BASE + 0x00u))
#define USART_DR     (*(volatile uint32_t *)(USART2_BASE + 0x04u))
#define USART_BRR    (*(volatile uint32_t *)(USART2_BASE + 0x08u))
#define USART_CR1    (*(volatile uint32_t *)(USART2_BASE + 0x0Cu))

#define APB1_HZ_AT_RESET 16000000u
#define BAUD_RATE 115200u
#define HSI_HZ 16000000u
#define SR_TXE (1u << 7)
#define CR1_UE (1u << 13)
#define CR1_TE (1u << 3)

void tml_platform_init(void)
{
    RCC_AHB1ENR |= 1u << 0;   /* GPIOA clock */
    RCC_APB1ENR |= 1u << 17;  /* USART2 clock */
    GPIOA_MODER = (GPIOA_MODER & ~(3u << 4)) | (2u << 4);    /* PA2 alternate function */
    GPIOA_AFRL = (GPIOA_AFRL & ~(15u << 8)) | (7u << 8);     /* PA2 = AF7 (USART2_TX) */
    USART_BRR = (APB1_HZ_AT_RESET + BAUD_RATE / 2u) / BAUD_RATE;
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

/* SysTick clock under Renode (the runner sets sysbus.nvic Frequency to the board's f_cpu). On the
 * board the core stays on the 16 MHz HSI and the DWT counts its cycles instead (tml_timer.h). */
uint32_t tml_platform_cpu_hz(void)
{
    return 168000000u;
}
