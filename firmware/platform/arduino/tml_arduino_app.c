/*
 * The native runtime as an Arduino sketch: the generated model (model.c, no interpreter, no
 * third-party library) run TML_RUNS times on the baked-in inputs, reported with the same
 * records as the bare-metal firmware (tml_main.c): hello -> per run: refill inputs, timed
 * invoke, inference -> outputs -> mem -> done. The session runs once from setup() and again
 * whenever a host newly opens the USB port, so a monitor that attaches late still sees it.
 */
#include <stdint.h>
#include "model.h"
#include "tml_input.h"
#include "tml_build_info.h"
#include "tml_sketch_config.h"
#include "tml_arduino.h"
#include "tml_report.h"

#ifndef TML_RUNS
#define TML_RUNS 1
#endif

static int model_ready;

/* Byte loop instead of memcpy: the runtime needs no C library. */
static void refill_inputs(void)
{
    for (int i = 0; i < TML_MODEL_NUM_INPUTS; i++) {
        uint8_t *dst = (uint8_t *)tml_model_input(i);
        const uint8_t *src = tml_baked_input[i];
        const unsigned n = tml_model_input_bytes(i);
        for (unsigned k = 0; k < n; k++) dst[k] = src[k];
    }
}

static int inputs_match(void)
{
    if (TML_BAKED_INPUTS != TML_MODEL_NUM_INPUTS) {
        tml_arduino_report_error("input_count", TML_BAKED_INPUTS, "baked input count differs from the model's input count: regenerate the sketch", 0u);
        return 0;
    }
    for (int i = 0; i < TML_MODEL_NUM_INPUTS; i++) {
        if (tml_baked_input_bytes[i] != tml_model_input_bytes(i)) {
            tml_arduino_report_error("input_size", i, "baked input size differs from the model input size: regenerate the sketch", 0u);
            return 0;
        }
    }
    return 1;
}

#if defined(TML_PROFILE) && TML_MODEL_NUM_OPS > 0
/* --profile: model.c (prefixed with TML_PROFILE by the sketch generator) calls these around each
 * op. Raw timer counts are kept and converted only when reported, so the hooks add as little as
 * possible inside the timed inference; the records give the last run's cost per op, in the
 * timer's unit (cycles on a board, instructions on the emulated bare-metal core). */
static uint32_t op_start;
static uint64_t op_cycles[TML_MODEL_NUM_OPS];

void tml_profile_op_begin(int op_index)
{
    (void)op_index;
    op_start = tml_arduino_timer_now();
}

void tml_profile_op_end(int op_index)
{
    const uint32_t end = tml_arduino_timer_now();
    if (op_index >= 0 && op_index < TML_MODEL_NUM_OPS) op_cycles[op_index] = tml_arduino_timer_cycles(op_start, end);
}

static void report_ops(void)
{
    for (int k = 0; k < TML_MODEL_NUM_OPS; k++) {
        tml_report_begin("op");
        tml_report_u32("index", (uint32_t)k);
        tml_report_str("op", tml_model_op_types[k]);
        tml_report_u64(tml_arduino_timer_unit(), op_cycles[k]);
        tml_report_end();
    }
}
#else
void tml_profile_op_begin(int op_index) { (void)op_index; }
void tml_profile_op_end(int op_index) { (void)op_index; }
static void report_ops(void) {}
#endif

static void run_session(void)
{
    const tml_arduino_hello_t hello = {
        TML_MODEL_HASH, TML_BOARD_ID, "tinyml-native", TML_KERNEL_SET, TML_BUILD_ID,
        TML_MODEL_ARENA_BYTES, TML_MODEL_ARENA_BYTES, TML_MODEL_WEIGHT_BYTES, TML_FLASH_BYTES,
        TML_RUNS, TML_MODEL_NUM_INPUTS, TML_MODEL_NUM_OUTPUTS, TML_MODEL_NUM_OPS,
    };
    tml_arduino_report_hello(&hello);
    if (!inputs_match()) return;
    if (!model_ready) {
        const int status = tml_model_init();
        if (status != 0) {
            tml_arduino_report_error("init_failed", status, "tml_model_init failed", 0u);
            return;
        }
        model_ready = 1;
    }
    for (uint32_t run = 0; run < TML_RUNS; run++) {
        refill_inputs();
        const uint32_t start = tml_arduino_timer_now();
        const int status = tml_model_invoke();
        const uint32_t end = tml_arduino_timer_now();
        if (status != 0) {
            tml_arduino_report_error("invoke_failed", status, "tml_model_invoke failed", run);
            return;
        }
        tml_arduino_report_inference(run, start, end);
    }
    report_ops();
    for (int j = 0; j < TML_MODEL_NUM_OUTPUTS; j++) {
        tml_arduino_report_output((uint32_t)j, tml_model_output(j), tml_model_output_bytes(j));
    }
    tml_report_begin("mem");
    tml_report_u32("arena_bytes", TML_MODEL_ARENA_BYTES);
    tml_report_u32("planned_arena_bytes", TML_MODEL_ARENA_BYTES);
    tml_arduino_report_memory_keys();
    tml_report_end();
    tml_arduino_report_done(TML_RUNS);
}

void tml_arduino_setup(void)
{
    tml_arduino_stack_paint();
    (void)tml_arduino_install_fault_handler();
    tml_platform_init();
    tml_arduino_timer_init();
    run_session();
}

void tml_arduino_loop(void)
{
    if (tml_arduino_host_attached()) run_session();
    tml_arduino_idle(50);
}

