/*
 * tinyml's bare-metal Arduino core (see Arduino.h): Serial/Serial1 on the board's report UART,
 * millis()/micros() from the runtime's SysTick timer, and main(), which does what an Arduino
 * core's main does (start the clocks and the timer, then setup() once and loop() forever) and
 * paints the stack first so a sketch can report its high-water mark, and arms the runtime's
 * stack guard as the native firmware does.
 *
 * The board's UART driver (firmware/platform/<board>/uart.c) and the runtime's timer and stack
 * code are compiled with their tml_platform_* entry points renamed to tml_board_* (see
 * tml_baremetal_core.h): the names tml_platform_* belong to the sketch, whose glue implements
 * them on top of Serial exactly as it does on a real Arduino core.
 */
#include "Arduino.h"
#include "tml_baremetal_core.h"

size_t Print::write(const uint8_t *buffer, size_t size)
{
  size_t n = 0;
  while (size-- > 0) n += write(*buffer++);
  return n;
}

/* Digits of n in `base` (2..16), most significant first. */
static size_t print_unsigned(Print &out, unsigned long n, int base)
{
  if (base < 2 || base > 16) base = 10;
  char digits[33];
  int k = 0;
  do {
    const unsigned d = static_cast<unsigned>(n % static_cast<unsigned long>(base));
    digits[k++] = static_cast<char>(d < 10 ? '0' + d : 'A' + d - 10);
    n /= static_cast<unsigned long>(base);
  } while (n > 0 && k < 32);
  size_t written = 0;
  while (k > 0) written += out.write(static_cast<uint8_t>(digits[--k]));
  return written;
}

size_t Print::print(unsigned long n, int base) { return print_unsigned(*this, n, base); }

size_t Print::print(long n, int base)
{
  if (n < 0 && base == 10) {
    size_t w = write(static_cast<uint8_t>('-'));
    return w + print_unsigned(*this, 0ul - static_cast<unsigned long>(n), 10);
  }
  return print_unsigned(*this, static_cast<unsigned long>(n), base);
}

size_t HardwareSerial::write(uint8_t c)
{
  const char ch = static_cast<char>(c);
  tml_board_uart_write(&ch, 1);
  return 1;
}

size_t HardwareSerial::write(const uint8_t *buffer, size_t size)
{
  tml_board_uart_write(reinterpret_cast<const char *>(buffer), static_cast<unsigned>(size));
  return size;
}

/* Both names reach the one UART QEMU exposes as the board's serial port. */
HardwareSerial Serial;
HardwareSerial Serial1;

/* Core clock ticks since the timer started, as microseconds (virtual time under QEMU icount). */
extern "C" unsigned long micros(void)
{
  const uint64_t ticks = tml_timer_now();
  const uint32_t per_us = tml_board_cpu_hz() / 1000000u;
  return static_cast<unsigned long>(tml_u64_div(ticks, per_us ? per_us : 1u));
}

extern "C" unsigned long millis(void) { return micros() / 1000ul; }

extern "C" void delayMicroseconds(unsigned int us)
{
  const unsigned long start = micros();
  while (micros() - start < us) {
  }
}

extern "C" void delay(unsigned long ms)
{
  const unsigned long start = millis();
  while (millis() - start < ms) {
  }
}

/* C++ run-time support the library needs without the hosted C++ library's versions. */
extern "C" void __cxa_pure_virtual(void)
{
  for (;;) {
  }
}

int main(void)
{
  tml_board_uart_init();
  tml_stack_paint();
  tml_stack_guard_init(); /* the native firmware's stack guard (tml_stack.h) */
  tml_baremetal_vectors_to_ram();
  tml_baremetal_protect_flash();
  tml_timer_init();
  setup();
  for (;;) loop();
}
