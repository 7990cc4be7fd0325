/*
 * movement.c: data movement without arithmetic (TRANSPOSE, STRIDED_SLICE, SLICE, SPLIT, SPLIT_V,
 * UNPACK, CONCATENATION, PACK, PAD, PADV2, GATHER, RESIZE_NEAREST_NEIGHBOR). Every kernel works
 * on any element size: values are copied, never interpreted, as in TFLite Micro's reference
 * kernels. Layouts and parameters: tml_kernels_shape.h.
 */
#include <stddef.h>
#include <string.h>

#include "tml_kernels.h"
#include "tml_fixedpoint.h" /* TML_INLINE */

/*
 * memcpy, with short copies (a few channels) done as at most four fixed-size moves, which the
 * compiler inlines: a library call costs more than copying 3 bytes.
 */
TML_INLINE void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n) {
  if (n > 16) {
    memcpy(dst, src, n);
    return;
  }
  if (n & 16) {
    memcpy(dst, src, 16);
    return;
  }
  if (n & 8) {
    memcpy(dst, src, 8);
    dst += 8;
    src += 8;
  }
  if (n & 4) {
    memcpy(dst, src, 4);
    dst += 4;
    src += 4;
  }
  if (n & 2) {
    memcpy(dst, src, 2);
    dst += 2;
    src += 2;
  }
  if (n & 1) *dst = *src;
}

/* Copies `count` elements spaced `step` elements apart (step != 1) into dense `out`. */
static void gather_row(const uint8_t *in, int32_t step, int32_t count, int32_t eb, uint8_t *out) {
  int32_t i;
  switch (eb) {
    case 1:
      for (i = 0; i < count; ++i) out[i] = in[(ptrdiff_t)i * step];
      break;
    case 2: {
      const int16_t *s = (const int16_t *)(const void *)in;
      int16_t *d = (int16_t *)(void *)out;
      for (i = 0; i < count; ++i) d[i] = s[(ptrdiff_t)i * step];
      break;
    }
    case 4: {
      const int32_t *s = (const int32_t *)(const void *)in;
      int32_t *d = (int32_t *)(void *)out;
      for (i = 0; i < count; ++i) d[i] = s[(ptrdiff_t)i * step];
      break;
    }
    default:
      for (i = 0; i < count; ++i) memcpy(out + (ptrdiff_t)i * eb, in + (ptrdiff_t)i * step * eb, (size_t)eb);
      break;
  }
}

void tml_copy_view(const tml_view *v, int32_t elem_bytes, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const int32_t last = v->rank - 1;
  const int32_t row = v->shape[last];
  const int32_t row_step = v->step[last];
  const size_t row_bytes = (size_t)row * (size_t)elem_bytes;
  int32_t idx[TML_VIEW_MAX_RANK] = {0};
  int32_t rows = 1, r, d;
  int32_t at = v->offset;
  for (d = 0; d < last; ++d) rows *= v->shape[d];
  if (row == 0) return;
  if (last <= 1 && row_step == 1) {
    /* Rows of contiguous elements at a fixed stride (slices and splits along the last axis). */
    const ptrdiff_t stride = last == 1 ? (ptrdiff_t)v->step[0] * elem_bytes : 0;
    const uint8_t *src = in + (ptrdiff_t)at * elem_bytes;
    for (r = 0; r < rows; ++r) {
      copy_bytes(out, src, row_bytes);
      out += row_bytes;
      src += stride;
    }
    return;
  }
  for (r = 0; r < rows; ++r) {
    const uint8_t *src = in + (ptrdiff_t)at * elem_bytes;
    if (row_step == 1) copy_bytes(out, src, row_bytes);
    else gather_row(src, row_step, row, elem_bytes, out);
    out += row_bytes;
    /* Odometer over the outer dimensions, tracking the input offset. */
    for (d = last - 1; d >= 0; --d) {
      at += v->step[d];
      if (++idx[d] < v->shape[d]) break;
      at -= v->step[d] * v->shape[d];
      idx[d] = 0;
    }
  }
}

void tml_concat(int32_t outer, int32_t count, const int32_t *chunk_bytes, const void *const *inputs,
                void *output) {
  uint8_t *dst = (uint8_t *)output;
  size_t block = 0;
  int32_t b, i;
  for (i = 0; i < count; ++i) block += (size_t)chunk_bytes[i];
  /* Input by input: a fixed chunk size per loop, written at the output block stride. */
  for (i = 0; i < count; ++i) {
    const size_t n = (size_t)chunk_bytes[i];
    const uint8_t *src = (const uint8_t *)inputs[i];
    uint8_t *out = dst;
    for (b = 0; b < outer; ++b) {
      copy_bytes(out, src, n);
      out += block;
      src += n;
    }
    dst += n;
  }
}

/* Writes `elems` copies of the element at `value`; returns the end. */
static uint8_t *fill(uint8_t *out, const uint8_t *value, int32_t elems, int32_t eb) {
  int32_t i;
  if (eb == 1) {
    memset(out, value[0], (size_t)elems);
  } else if (eb == 2) {
    int16_t v, *d = (int16_t *)(void *)out;
    memcpy(&v, value, 2);
    for (i = 0; i < elems; ++i) d[i] = v;
  } else if (eb == 4) {
    int32_t v, *d = (int32_t *)(void *)out;
    memcpy(&v, value, 4);
    for (i = 0; i < elems; ++i) d[i] = v;
  } else {
    for (i = 0; i < elems; ++i) memcpy(out + (ptrdiff_t)i * eb, value, (size_t)eb);
  }
  return out + (ptrdiff_t)elems * eb;
}

typedef struct {
  const tml_pad_params *p;
  int32_t eb;
  const uint8_t *value;
  int32_t out_inner[5]; /* output elements of one index of dim d (product of later output dims) */
  const uint8_t *in;
} pad_state;

static uint8_t *pad_dim(pad_state *s, int32_t d, uint8_t *out) {
  const tml_pad_params *p = s->p;
  int32_t i;
  out = fill(out, s->value, p->before[d] * s->out_inner[d], s->eb);
  if (d == p->rank - 1) {
    const size_t n = (size_t)p->in_shape[d] * (size_t)s->eb;
    copy_bytes(out, s->in, n);
    s->in += n;
    out += n;
  } else {
    for (i = 0; i < p->in_shape[d]; ++i) out = pad_dim(s, d + 1, out);
  }
  return fill(out, s->value, p->after[d] * s->out_inner[d], s->eb);
}

void tml_pad(const tml_pad_params *p, int32_t elem_bytes, const void *input, const void *pad_value,
             void *output) {
  pad_state s;
  int32_t d, inner = 1;
  s.p = p;
  s.eb = elem_bytes;
  s.value = (const uint8_t *)pad_value;
  s.in = (const uint8_t *)input;
  for (d = p->rank - 1; d >= 0; --d) {
    s.out_inner[d] = inner;
    inner *= p->before[d] + p->in_shape[d] + p->after[d];
  }
  (void)pad_dim(&s, 0, (uint8_t *)output);
}

int tml_gather(int32_t batches, int32_t outer, int32_t axis_size, int32_t coords, int32_t inner_bytes,
               const void *input, const int32_t *coordinates, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  int32_t b, o, c;
  for (b = 0; b < batches; ++b) {
    const int32_t *coord = coordinates + (ptrdiff_t)b * coords;
    for (o = 0; o < outer; ++o) {
      const uint8_t *slab = in + ((ptrdiff_t)b * outer + o) * axis_size * inner_bytes;
      for (c = 0; c < coords; ++c) {
        const int32_t k = coord[c];
        if (k < 0 || k >= axis_size) return -1;
        copy_bytes(out, slab + (ptrdiff_t)k * inner_bytes, (size_t)inner_bytes);
        out += inner_bytes;
      }
    }
  }
  return 0;
}

void tml_resize_nearest(int32_t batches, int32_t in_h, int32_t in_w, int32_t out_h, int32_t out_w,
                        int32_t pixel_bytes, const int32_t *src_y, const int32_t *src_x,
                        const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const ptrdiff_t row_bytes = (ptrdiff_t)in_w * pixel_bytes;
  int32_t b, y, x;
  for (b = 0; b < batches; ++b) {
    const uint8_t *image = in + (ptrdiff_t)b * in_h * row_bytes;
    for (y = 0; y < out_h; ++y) {
      const uint8_t *row = image + (ptrdiff_t)src_y[y] * row_bytes;
      for (x = 0; x < out_w; ++x) {
        copy_bytes(out, row + (ptrdiff_t)src_x[x] * pixel_bytes, (size_t)pixel_bytes);
        out += pixel_bytes;
      }
    }
  }
}
