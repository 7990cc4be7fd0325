/*
 * The report records of an Arduino sketch, shared by the native and the TFLite Micro runtime,
 * written with the runtime's protocol writer (tml_report.c) so both speak exactly the `@TML`
 * protocol of docs/protocol.md. Costs are `cycles` (DWT, or micros() scaled by the core
 * clock where there is no DWT: the hello record's `timer` says which) plus `us`; on tinyml's
 * bare-metal core under QEMU they are `instructions` (no `us`: emulated costs are not time).
 */
#include "tml_arduino.h"
#include "tml_report.h"
#include "tml_sketch_config.h"

#define OUTPUT_CHUNK_BYTES 256u

void tml_arduino_report_hello(const tml_arduino_hello_t *h)
{
    tml_report_begin("hello");
    tml_report_u32("protocol", TML_PROTOCOL_VERSION);
    tml_report_str("model_hash", h->model_hash);
    tml_report_str("board", h->board);
    tml_report_u32("clock_hz", tml_platform_cpu_hz());
    tml_report_u32("arena_bytes", h->arena_bytes);
    tml_report_u32("planned_arena_bytes", h->planned_arena_bytes);
    tml_report_u32("weight_bytes", h->weight_bytes);
    tml_report_u32("flash_size_bytes", h->flash_size_bytes);
    tml_report_str("runtime", h->runtime);
    tml_report_str("kernels", h->kernels);
    tml_report_str("build_id", h->build_id);
    tml_report_str("timer", tml_arduino_timer_name());
    tml_report_str("unit", tml_arduino_timer_unit());
    tml_report_u32("timer_read_cost", tml_arduino_timer_read_cost());
    tml_report_u32("runs", h->runs);
    tml_report_u32("inputs", h->inputs);
    tml_report_u32("outputs", h->outputs);
    tml_report_u32("ops", h->ops);
#ifdef TML_PROFILE
    tml_report_u32("profile", 1u); /* op records follow the inferences (tml_arduino_app.c) */
#else
    tml_report_u32("profile", 0u);
#endif
    tml_report_str("serial", TML_REPORT_SERIAL_NAME);
    tml_report_end();
}

void tml_arduino_report_inference(uint32_t index, uint32_t start, uint32_t end)
{
    const uint64_t cost = tml_arduino_timer_cycles(start, end);
    const char *unit = tml_arduino_timer_unit();
    const uint32_t mhz = tml_platform_cpu_hz() / 1000000u;
    tml_report_begin("inference");
    tml_report_u32("index", index);
    tml_report_u64(unit, cost);
    if (unit[0] == 'c') tml_report_u64("us", mhz ? tml_u64_div(cost, mhz) : 0u);
    tml_report_u32("timer_counts", end - start);
    tml_report_end();
}

void tml_arduino_report_output(uint32_t index, const void *bytes, unsigned total)
{
    const uint8_t *p = (const uint8_t *)bytes;
    unsigned offset = 0;
    do {
        unsigned n = total - offset > OUTPUT_CHUNK_BYTES ? OUTPUT_CHUNK_BYTES : total - offset;
        tml_report_begin("output");
        tml_report_u32("index", index);
        tml_report_u32("offset", offset);
        tml_report_u32("bytes", total);
        tml_report_hex_bytes("hex", p + offset, n);
        tml_report_end();
        offset += n;
    } while (offset < total);
}

static void report_done(const char *status, uint32_t runs)
{
    tml_report_begin("done");
    tml_report_str("status", status);
    tml_report_u32("runs", runs);
    tml_report_end();
}

void tml_arduino_report_error(const char *code, int32_t status, const char *message, uint32_t runs)
{
    tml_report_begin("error");
    tml_report_str("code", code);
    tml_report_i32("status", status);
    tml_report_str("message", message);
    tml_report_end();
    report_done("error", runs);
}

void tml_arduino_report_allocate_failed(uint32_t arena_bytes, uint32_t requested_bytes, uint32_t available_bytes, int planner, const char *message)
{
    tml_report_begin("error");
    tml_report_str("code", "allocate_failed");
    tml_report_i32("status", 1);
    tml_report_u32("arena_bytes", arena_bytes);
    if (planner) {
        tml_report_str("stage", "memory_planner");
        tml_report_u32("available_bytes", available_bytes);
    } else if (requested_bytes != 0u) {
        tml_report_str("stage", "allocation");
        tml_report_u32("requested_bytes", requested_bytes);
        tml_report_u32("available_bytes", available_bytes);
    }
    tml_report_str("message", message);
    tml_report_end();
    report_done("error", 0u);
}

void tml_arduino_report_memory_keys(void)
{
    tml_arduino_memory_t m;
    tml_arduino_memory(&m);
    if (m.stack_size_bytes != 0u) {
        tml_report_u32("stack_high_water_bytes", m.stack_high_water_bytes);
        tml_report_u32("stack_size_bytes", m.stack_size_bytes);
    }
    if (m.static_ram_bytes != 0u) tml_report_u32("static_ram_bytes", m.static_ram_bytes);
    if (m.flash_used_bytes != 0u) tml_report_u32("flash_used_bytes", m.flash_used_bytes);
}

void tml_arduino_report_done(uint32_t runs)
{
    report_done("ok", runs);
}
