/*
 * The report protocol writer: one record per line,
 *
 *     @TML <json> *<crc16>\n
 *
 * where <json> is a single-line JSON object whose first key is "type", and <crc16> is
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor; check value
 * 0x29B1 for "123456789") of exactly the <json> bytes, as 4 upper-case hex digits.
 * Anything else on the wire is device log. docs/protocol.md is the full description.
 *
 * No printf and no buffer of the whole record: fields are streamed to the UART as they are
 * written and the CRC is accumulated on the way. Keys must be plain literals (never escaped);
 * string values are escaped so that a record is always pure printable ASCII on one line.
 */
#ifndef TML_REPORT_H
#define TML_REPORT_H

#include <stdint.h>

#define TML_PROTOCOL_VERSION 1u

/* Starts a record: writes `@TML {"type":"<type>"`. */
void tml_report_begin(const char *type);
void tml_report_str(const char *key, const char *value);
void tml_report_u32(const char *key, uint32_t value);
void tml_report_i32(const char *key, int32_t value);
void tml_report_u64(const char *key, uint64_t value);
/* A 32-bit value as the JSON string "0x%08X" (addresses and fault registers). */
void tml_report_hex32(const char *key, uint32_t value);
/* n bytes as a JSON string of 2n lower-case hex digits. */
void tml_report_hex_bytes(const char *key, const void *bytes, unsigned n);
/* Ends the record: writes `} *XXXX\n`. */
void tml_report_end(void);

/* A plain device log line (not a record); `\n` is appended. */
void tml_report_log(const char *text);

/* Forgets a half-written record (the fault handler calls this) and starts a fresh line. */
void tml_report_reset(void);

/* CRC-16/CCITT-FALSE update, exposed for tests of the firmware itself. */
uint16_t tml_crc16_update(uint16_t crc, const void *bytes, unsigned n);

/* Unsigned 64-bit division by a 32-bit divisor without libgcc (shift-subtract). */
uint64_t tml_u64_div(uint64_t n, uint32_t d);

#endif
