/* The TFLM sketch's arena allocator and the arena measurement (see tml_tflm_arena.h). */
#include <new>
#include "tml_tflm_arena.h"
#include "tensorflow/lite/micro/arena_allocator/single_arena_buffer_allocator.h"
#include "tensorflow/lite/micro/memory_helpers.h"
#include "tensorflow/lite/micro/memory_planner/greedy_memory_planner.h"
#include "tensorflow/lite/micro/micro_arena_constants.h"

namespace {

tml_tflm_shortfall shortfall = {0, 0, 0};
/* The last temporary allocation that took all the free bytes: the memory planner's scratch. */
size_t planner_bytes = 0;

void record(size_t requested, size_t available)
{
  if (shortfall.requested_bytes == 0) shortfall = {requested, available, 0};
}

/* TFLite Micro's arena allocator, recording the first request that does not fit. No data
 * members of its own: it takes exactly the bytes of the allocator it stands in for. */
class RecordingArenaAllocator : public tflite::SingleArenaBufferAllocator {
 public:
  RecordingArenaAllocator(uint8_t *buffer, size_t size) : SingleArenaBufferAllocator(buffer, size) {}

  /* Bytes between the head and the tail sections. */
  size_t Gap() const { return static_cast<size_t>(tail() - head()); }

  TfLiteStatus ResizeBuffer(uint8_t *resizable_buf, size_t size, size_t alignment) override
  {
    /* The resizable buffer starts at the arena's head: it may grow up to the tail. */
    uint8_t *const start = tflite::AlignPointerUp(head() - GetNonPersistentUsedBytes(), alignment);
    const size_t available = tail() > start ? static_cast<size_t>(tail() - start) : 0u;
    const TfLiteStatus status = SingleArenaBufferAllocator::ResizeBuffer(resizable_buf, size, alignment);
    if (status != kTfLiteOk && size > available) record(size, available);
    return status;
  }

  uint8_t *AllocatePersistentBuffer(size_t size, size_t alignment) override
  {
    const size_t available = Gap();
    uint8_t *p = SingleArenaBufferAllocator::AllocatePersistentBuffer(size, alignment);
    if (p == nullptr) record(size, available);
    return p;
  }

  uint8_t *AllocateTemp(size_t size, size_t alignment) override
  {
    const size_t available = GetAvailableMemory(alignment);
    uint8_t *p = SingleArenaBufferAllocator::AllocateTemp(size, alignment);
    if (p == nullptr) record(size, available);
    else if (size == available) planner_bytes = size; /* CommitStaticMemoryPlan takes all that is left */
    return p;
  }
};

static_assert(sizeof(RecordingArenaAllocator) == sizeof(tflite::SingleArenaBufferAllocator),
              "the recording allocator must occupy the arena exactly as TFLite Micro's own");

}  // namespace

tflite::MicroAllocator *tml_tflm_create_allocator(uint8_t *arena, size_t size)
{
  shortfall = {0, 0, 0};
  planner_bytes = 0;
  uint8_t *const aligned = tflite::AlignPointerUp(arena, tflite::MicroArenaBufferAlignment());
  const size_t aligned_size = aligned < arena + size ? static_cast<size_t>(arena + size - aligned) : 0u;
  /* As SingleArenaBufferAllocator::Create, MicroAllocator::Create(arena, size) do it, with a
   * check before each placement (TFLite Micro's own path writes through a null pointer when
   * the arena cannot even hold its bookkeeping). */
  RecordingArenaAllocator bootstrap(aligned, aligned_size);
  uint8_t *self = bootstrap.AllocatePersistentBuffer(sizeof(RecordingArenaAllocator), alignof(RecordingArenaAllocator));
  if (self == nullptr) return nullptr;
  RecordingArenaAllocator *allocator = new (self) RecordingArenaAllocator(bootstrap);
  uint8_t *planner = allocator->AllocatePersistentBuffer(sizeof(tflite::GreedyMemoryPlanner), alignof(tflite::GreedyMemoryPlanner));
  if (planner == nullptr) return nullptr;
  tflite::GreedyMemoryPlanner *memory_planner = new (planner) tflite::GreedyMemoryPlanner();
  if (allocator->Gap() < sizeof(tflite::MicroAllocator) + alignof(tflite::MicroAllocator)) {
    record(sizeof(tflite::MicroAllocator), allocator->Gap());
    return nullptr;
  }
  return tflite::MicroAllocator::Create(allocator, memory_planner);
}

const tml_tflm_shortfall &tml_tflm_last_shortfall()
{
  if (shortfall.requested_bytes == 0 && planner_bytes != 0) shortfall = {0, planner_bytes, 1};
  return shortfall;
}
