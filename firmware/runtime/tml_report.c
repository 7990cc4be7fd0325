/*
 * Report protocol writer (see tml_report.h and docs/protocol.md). Bytes are collected in a
 * small line buffer and handed to the platform UART when it fills or the record ends; the
 * CRC covers the JSON object only, from '{' to the closing '}' inclusive.
 */
#include "tml_report.h"
#include "tml_platform.h"

#define TML_OUT_BUFFER 64u

static char out_buffer[TML_OUT_BUFFER];
static unsigned out_used;
static uint16_t record_crc;
static int in_json; /* 1 while the bytes written belong to the CRC'd JSON text */

uint16_t tml_crc16_update(uint16_t crc, const void *bytes, unsigned n)
{
    const uint8_t *p = (const uint8_t *)bytes;
    for (unsigned i = 0; i < n; i++) {
        crc ^= (uint16_t)((uint16_t)p[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

uint64_t tml_u64_div(uint64_t n, uint32_t d)
{
    uint64_t quotient = 0, remainder = 0;
    for (int bit = 63; bit >= 0; bit--) {
        remainder = (remainder << 1) | ((n >> bit) & 1u);
        if (remainder >= d) {
            remainder -= d;
            quotient |= (uint64_t)1 << bit;
        }
    }
    return quotient;
}

static void flush(void)
{
    if (out_used > 0) {
        tml_platform_write(out_buffer, out_used);
        out_used = 0;
    }
}

static void put_char(char c)
{
    if (in_json) record_crc = tml_crc16_update(record_crc, &c, 1);
    if (out_used == TML_OUT_BUFFER) flush();
    out_buffer[out_used++] = c;
}

static void put_text(const char *s)
{
    while (*s) put_char(*s++);
}

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* Writes a JSON string body, escaping quote, backslash, control and non-ASCII bytes. */
static void put_escaped(const char *s)
{
    for (; *s; s++) {
        uint8_t c = (uint8_t)*s;
        if (c == '"' || c == '\\') {
            put_char('\\');
            put_char((char)c);
        } else if (c < 0x20 || c >= 0x7F) {
            put_text("\\u00");
            put_char(hex_lower[c >> 4]);
            put_char(hex_lower[c & 15u]);
        } else {
            put_char((char)c);
        }
    }
}

static void put_key(const char *key)
{
    put_text(",\"");
    put_text(key);
    put_text("\":");
}

/* Decimal digits of a 64-bit value; divides by 10 with tml_u64_div only above 32 bits. */
static void put_u64(uint64_t value)
{
    char digits[21];
    int n = 0;
    while (value > 0xFFFFFFFFu) {
        uint64_t q = tml_u64_div(value, 10u);
        digits[n++] = (char)('0' + (unsigned)(value - q * 10u));
        value = q;
    }
    uint32_t v = (uint32_t)value;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    while (n > 0) put_char(digits[--n]);
}

void tml_report_begin(const char *type)
{
    flush();
    put_text("@TML ");
    in_json = 1;
    record_crc = 0xFFFFu;
    put_text("{\"type\":\"");
    put_escaped(type);
    put_char('"');
}

void tml_report_str(const char *key, const char *value)
{
    put_key(key);
    put_char('"');
    put_escaped(value ? value : "");
    put_char('"');
}

void tml_report_u32(const char *key, uint32_t value)
{
    put_key(key);
    put_u64(value);
}

void tml_report_i32(const char *key, int32_t value)
{
    put_key(key);
    if (value < 0) {
        put_char('-');
        put_u64((uint64_t)(-(int64_t)value));
    } else {
        put_u64((uint64_t)value);
    }
}

void tml_report_u64(const char *key, uint64_t value)
{
    put_key(key);
    put_u64(value);
}

void tml_report_hex32(const char *key, uint32_t value)
{
    put_key(key);
    put_text("\"0x");
    for (int shift = 28; shift >= 0; shift -= 4) put_char(hex_upper[(value >> shift) & 15u]);
    put_char('"');
}

void tml_report_hex_bytes(const char *key, const void *bytes, unsigned n)
{
    const uint8_t *p = (const uint8_t *)bytes;
    put_key(key);
    put_char('"');
    for (unsigned i = 0; i < n; i++) {
        put_char(hex_lower[p[i] >> 4]);
        put_char(hex_lower[p[i] & 15u]);
    }
    put_char('"');
}

void tml_report_end(void)
{
    put_char('}');
    in_json = 0;
    uint16_t crc = record_crc;
    put_text(" *");
    for (int shift = 12; shift >= 0; shift -= 4) put_char(hex_upper[(crc >> shift) & 15u]);
    put_char('\n');
    flush();
}

void tml_report_log(const char *text)
{
    flush();
    put_text(text);
    put_char('\n');
    flush();
}

void tml_report_reset(void)
{
    out_used = 0;
    in_json = 0;
    record_crc = 0xFFFFu;
    put_char('\n');
    flush();
}
