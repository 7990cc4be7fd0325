/*
 * The TensorFlow Lite Micro sketch's arena (TFLM runtime only): the interpreter's allocator is
 * created exactly as MicroInterpreter(model, resolver, arena, size) creates it (a
 * SingleArenaBufferAllocator with a GreedyMemoryPlanner at the arena's tail, the same bytes in
 * the same places), except that the arena allocator remembers the first allocation that did not
 * fit, so `allocate_failed` can say how many bytes were requested and how many were available.
 */
#ifndef TML_TFLM_ARENA_H
#define TML_TFLM_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include "tensorflow/lite/micro/micro_allocator.h"

/* Why the last AllocateTensors() did not fit, since tml_tflm_create_allocator(): the first
 * allocation the arena refused (requested and available bytes), or, when every allocation fit
 * and TFLite Micro's memory planner ran out of room instead ("Too many buffers"), the bytes the
 * planner had (available_bytes, requested_bytes 0, planner 1). All 0: nothing recorded. */
struct tml_tflm_shortfall {
  size_t requested_bytes;
  size_t available_bytes;
  int planner;
};

/* The interpreter's allocator over arena[0, size), 16-byte aligned; nullptr when not even the
 * allocator's own bookkeeping fits (the shortfall says by how much). */
tflite::MicroAllocator *tml_tflm_create_allocator(uint8_t *arena, size_t size);
const tml_tflm_shortfall &tml_tflm_last_shortfall();

#endif /* TML_TFLM_ARENA_H */
