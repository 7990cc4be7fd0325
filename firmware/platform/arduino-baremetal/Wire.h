/* Wire.h of tinyml's bare-metal Arduino core: the TensorFlow Lite Micro Arduino library includes
 * it (peripherals/peripherals.h) but calls nothing from it, and the emulated boards have no I2C
 * device, so it declares nothing. */
#ifndef TML_BAREMETAL_WIRE_H
#define TML_BAREMETAL_WIRE_H
#endif
