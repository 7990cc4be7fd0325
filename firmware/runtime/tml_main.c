/*
 * The firmware application: runs the generated model TML_RUNS times on the baked-in inputs
 * and reports everything over the report UART (records in docs/protocol.md):
 *
 *   hello -> (init) -> per run: refill inputs, timed invoke, inference [+ op records with
 *   -DTML_PROFILE and the output records, both after the first run] -> [batch, for small
 *   models under SysTick] -> mem -> done
 *
 * Outputs are those of the first inference from the initial state: later runs of a stateful
 * model (SVDF, LSTM state tensors) see the state the earlier ones left, as in TFLite Micro.
 *
 * Inputs are copied in before each inference, outside the timed region, so every run sees the
 * same bytes and the timed region holds tml_model_invoke() alone (the timer-read cost is
 * subtracted, see tml_timer.h).
 */
#include <stdint.h>
#include "model.h"
#include "tml_input.h"
#include "tml_build_info.h"
#include "tml_platform.h"
#include "tml_report.h"
#include "tml_stack.h"
#include "tml_timer.h"

#ifndef TML_RUNS
#define TML_RUNS 1
#endif
#ifndef TML_KERNEL_SET
#define TML_KERNEL_SET "portable"
#endif
#ifndef TML_RUNTIME_NAME
#define TML_RUNTIME_NAME "tinyml-native"
#endif
#ifndef TML_CLOCK_HZ
#define TML_CLOCK_HZ 0u
#endif
#ifdef TML_PROFILE
#define TML_PROFILE_ENABLED 1u
#else
#define TML_PROFILE_ENABLED 0u
#endif

#define OUTPUT_CHUNK_BYTES 256u
/* Under SysTick one tick is 40 (mps2-an386) or ~6 (netduinoplus2) instructions, coarse for a
 * model of a few thousand instructions. Models cheaper than this are also timed as a batch. */
#ifndef TML_BATCH_BELOW
#define TML_BATCH_BELOW 200000u
#endif
#ifndef TML_BATCH_SIZE
#define TML_BATCH_SIZE 64u
#endif

static const char *cost_key(void)
{
    return tml_timer_mode() == TML_TIMER_DWT_CYCLES ? "cycles" : "instructions";
}

static __attribute__((noreturn)) void halt(void)
{
    for (;;) {
        __asm volatile("wfi");
    }
}

/* Timed inferences completed so far: `done` carries it after an error too. */
static uint32_t runs_done;

static __attribute__((noreturn)) void fail(const char *code, int32_t status, const char *message)
{
    tml_report_begin("error");
    tml_report_str("code", code);
    tml_report_i32("status", status);
    tml_report_str("message", message);
    tml_report_end();
    tml_report_begin("done");
    tml_report_str("status", "error");
    tml_report_u32("runs", runs_done);
    tml_report_end();
    halt();
}

static void report_hello(void)
{
    tml_report_begin("hello");
    tml_report_u32("protocol", TML_PROTOCOL_VERSION);
    tml_report_str("model_hash", TML_MODEL_HASH);
    tml_report_str("board", TML_BOARD_ID);
    tml_report_u32("clock_hz", TML_CLOCK_HZ ? TML_CLOCK_HZ : tml_platform_cpu_hz());
    tml_report_u32("arena_bytes", TML_MODEL_ARENA_BYTES);
    tml_report_u32("weight_bytes", TML_MODEL_WEIGHT_BYTES);
    tml_report_u32("flash_size_bytes", TML_FLASH_BYTES);
    tml_report_str("runtime", TML_RUNTIME_NAME);
    tml_report_str("kernels", TML_KERNEL_SET);
    tml_report_str("build_id", TML_BUILD_ID);
    tml_report_str("timer", tml_timer_name());
    tml_report_str("unit", cost_key());
    tml_report_u32("timer_read_cost", tml_timer_read_cost());
    tml_report_u32("runs", TML_RUNS);
    tml_report_u32("inputs", TML_MODEL_NUM_INPUTS);
    tml_report_u32("outputs", TML_MODEL_NUM_OUTPUTS);
    tml_report_u32("ops", TML_MODEL_NUM_OPS);
    tml_report_u32("profile", TML_PROFILE_ENABLED);
    tml_report_str("stack_guard", tml_stack_guard_kind());
    tml_report_end();
}

/* A byte loop the compiler must not turn into a memcpy call (no C library is required). */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) static void refill_inputs(void)
{
    for (int i = 0; i < TML_MODEL_NUM_INPUTS; i++) {
        uint8_t *dst = (uint8_t *)tml_model_input(i);
        const uint8_t *src = tml_baked_input[i];
        unsigned n = tml_model_input_bytes(i);
        for (unsigned k = 0; k < n; k++) dst[k] = src[k];
    }
}

static void check_inputs(void)
{
    if (TML_BAKED_INPUTS != TML_MODEL_NUM_INPUTS) {
        fail("input_count", TML_BAKED_INPUTS, "baked input count differs from the model's input count: rebuild the firmware");
    }
    for (int i = 0; i < TML_MODEL_NUM_INPUTS; i++) {
        if (tml_baked_input_bytes[i] != tml_model_input_bytes(i)) {
            fail("input_size", i, "baked input size differs from the model input size: rebuild the firmware");
        }
    }
}

#if TML_PROFILE_ENABLED && TML_MODEL_NUM_OPS > 0
/* Raw timer counts per op; converted (and the read cost taken off) only when reported, so the
 * hooks add as little as possible inside the timed inference. */
static uint64_t op_start;
static uint64_t op_counts[TML_MODEL_NUM_OPS];

void tml_profile_op_begin(int op_index)
{
    (void)op_index;
    op_start = tml_timer_now();
}

void tml_profile_op_end(int op_index)
{
    uint64_t end = tml_timer_now();
    if (op_index >= 0 && op_index < TML_MODEL_NUM_OPS) op_counts[op_index] = end - op_start;
}

static void report_ops(void)
{
    for (int k = 0; k < TML_MODEL_NUM_OPS; k++) {
        tml_report_begin("op");
        tml_report_u32("index", (uint32_t)k);
        tml_report_str("op", tml_model_op_types[k]);
        tml_report_u64(cost_key(), tml_timer_cost_between(0, op_counts[k]));
        tml_report_end();
    }
}
#else
void tml_profile_op_begin(int op_index) { (void)op_index; }
void tml_profile_op_end(int op_index) { (void)op_index; }
static void report_ops(void) {}
#endif

static void report_outputs(void)
{
    for (int j = 0; j < TML_MODEL_NUM_OUTPUTS; j++) {
        const uint8_t *bytes = (const uint8_t *)tml_model_output(j);
        unsigned total = tml_model_output_bytes(j);
        unsigned offset = 0;
        do {
            unsigned n = total - offset > OUTPUT_CHUNK_BYTES ? OUTPUT_CHUNK_BYTES : total - offset;
            tml_report_begin("output");
            tml_report_u32("index", (uint32_t)j);
            tml_report_u32("offset", offset);
            tml_report_u32("bytes", total);
            tml_report_hex_bytes("hex", bytes + offset, n);
            tml_report_end();
            offset += n;
        } while (offset < total);
    }
}

/*
 * Batch timing for small models (SysTick only): the cost of TML_BATCH_SIZE iterations of
 * (refill inputs, invoke) minus the cost of TML_BATCH_SIZE refills alone, so the refill stays
 * out of the figure while the tick granularity is spread over the whole batch. Reported as a
 * `batch` record with the batch total; the host divides by `inferences`.
 */
static void report_batch(uint64_t single_cost)
{
    if (tml_timer_mode() != TML_TIMER_SYSTICK_ICOUNT || TML_PROFILE_ENABLED || single_cost >= TML_BATCH_BELOW) return;
    uint64_t start = tml_timer_now();
    for (uint32_t i = 0; i < TML_BATCH_SIZE; i++) refill_inputs();
    uint64_t refills = tml_timer_to_cost(tml_timer_now() - start);
    int status = 0;
    start = tml_timer_now();
    for (uint32_t i = 0; i < TML_BATCH_SIZE; i++) {
        refill_inputs();
        status |= tml_model_invoke();
    }
    uint64_t both = tml_timer_to_cost(tml_timer_now() - start);
    if (!tml_stack_guard_intact()) tml_stack_overflow_report();
    if (status != 0) fail("invoke_failed", status, "tml_model_invoke failed");
    tml_report_begin("batch");
    tml_report_u32("inferences", TML_BATCH_SIZE);
    tml_report_u64(cost_key(), both > refills ? both - refills : 0);
    tml_report_end();
}

static void report_mem(void)
{
    tml_report_begin("mem");
    tml_report_u32("arena_bytes", TML_MODEL_ARENA_BYTES);
    tml_report_u32("stack_high_water_bytes", tml_stack_high_water());
    tml_report_u32("stack_size_bytes", tml_stack_size());
    tml_report_u32("stack_guard_bytes", tml_stack_guard_bytes());
    tml_report_u32("static_ram_bytes", (uint32_t)((uintptr_t)&_tml_static_end - (uintptr_t)&_tml_ram_start));
    tml_report_u32("flash_used_bytes", (uint32_t)((uintptr_t)&_tml_flash_end - (uintptr_t)&_tml_flash_start));
    tml_report_end();
}

int main(void)
{
    tml_platform_init();
    tml_stack_paint();
    tml_stack_guard_init();
    tml_timer_init();
    report_hello();
    check_inputs();

    int status = tml_model_init();
    if (status != 0) fail("init_failed", status, "tml_model_init failed");

    uint64_t first_cost = 0;
    for (uint32_t run = 0; run < TML_RUNS; run++) {
        refill_inputs();
        uint64_t start = tml_timer_now();
        status = tml_model_invoke();
        uint64_t end = tml_timer_now();
        if (!tml_stack_guard_intact()) tml_stack_overflow_report();
        if (status != 0) fail("invoke_failed", status, "tml_model_invoke failed");
        uint64_t cost = tml_timer_cost_between(start, end);
        if (run == 0) first_cost = cost;
        runs_done = run + 1u;
        tml_report_begin("inference");
        tml_report_u32("index", run);
        tml_report_u64(cost_key(), cost);
        tml_report_u64("timer_counts", end - start);
        tml_report_end();
        if (run == 0) {
            report_ops();
            report_outputs();
        }
    }

    report_batch(first_cost);
    report_mem();
    tml_report_begin("done");
    tml_report_str("status", "ok");
    tml_report_u32("runs", TML_RUNS);
    tml_report_end();
    halt();
}
