/*
 * Arduino.h of tinyml's bare-metal Arduino core: the part of the Arduino API that a generated
 * sketch and the TensorFlow Lite Micro Arduino library use, on the emulated boards
 * (mps2-an386, netduinoplus2 in QEMU) where no Arduino core exists. With it the *same* sketch
 * sources that arduino-cli builds for a Nano 33 BLE build with arm-none-eabi-g++ for QEMU.
 *
 *   Serial, Serial1   both write to the board's report UART (firmware/platform/<board>/uart.c),
 *                     polled; always "ready" (operator bool is true); nothing is ever received
 *   millis, micros    from the runtime's SysTick timer (firmware/runtime/tml_timer.c): under
 *                     QEMU -icount shift=0 they are virtual time, proportional to instructions
 *   delay, delayMicroseconds  busy waits on micros()
 *   setup(), loop()   called by the core's main() (core.cpp) after the C run-time start-up
 *
 * TINYML_BAREMETAL_CORE (also on the compiler's command line, as Arduino cores define their
 * ARDUINO_ARCH_*) tells sketch code it runs on this core: the sketch's glue then includes
 * tml_baremetal_core.h and reports instructions from the runtime's timer instead of DWT cycles.
 */
#ifndef TML_BAREMETAL_ARDUINO_H
#define TML_BAREMETAL_ARDUINO_H

#define TINYML_BAREMETAL_CORE 1

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint8_t byte;
typedef bool boolean;

unsigned long millis(void);
unsigned long micros(void);
void delay(unsigned long ms);
void delayMicroseconds(unsigned int us);

void setup(void);
void loop(void);

#ifdef __cplusplus
}

/* Text and byte output, as Arduino's Print class (the overloads sketches and libraries use). */
class Print {
 public:
  virtual size_t write(uint8_t c) = 0;
  virtual size_t write(const uint8_t *buffer, size_t size);
  size_t write(const char *s) { return s ? write(reinterpret_cast<const uint8_t *>(s), strlen(s)) : 0; }
  size_t print(const char *s) { return write(s); }
  size_t print(char c) { return write(static_cast<uint8_t>(c)); }
  size_t print(unsigned long n, int base = 10);
  size_t print(long n, int base = 10);
  size_t print(unsigned int n, int base = 10) { return print(static_cast<unsigned long>(n), base); }
  size_t print(int n, int base = 10) { return print(static_cast<long>(n), base); }
  size_t println(void) { return write("\r\n"); }
  template <typename T>
  size_t println(T value) { size_t n = print(value); return n + println(); }
  virtual ~Print() {}
};

/* One serial port on the board's report UART (polled, transmit only). */
class HardwareSerial : public Print {
 public:
  void begin(unsigned long baud) { (void)baud; }
  void end(void) {}
  int available(void) { return 0; }
  int read(void) { return -1; }
  int peek(void) { return -1; }
  void flush(void) {}
  operator bool() const { return true; }
  size_t write(uint8_t c) override;
  size_t write(const uint8_t *buffer, size_t size) override;
  using Print::write;
};

extern HardwareSerial Serial;
extern HardwareSerial Serial1;

#endif /* __cplusplus */

#endif /* TML_BAREMETAL_ARDUINO_H */
