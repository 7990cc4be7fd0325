/*
 * tml_kernels_shape.h: data movement, reductions, resizing and BATCH_MATMUL.
 * Conventions as in tml_kernels.h (row-major, NHWC for 4-D, TFLite quantization, offsets).
 *
 * The data-movement kernels (movement.c) copy elements without looking at their values, so one
 * kernel serves every dtype: sizes are given in bytes (elem_bytes = 1 for int8, 2 for int16,
 * 4 for int32/float). The generator folds every shape-dependent decision (axis ranges, merged
 * dimensions, index maps) into the parameters, computed by the same TypeScript that drives the
 * int8 reference (src/reference/movement.ts), as TFLite Micro's Prepare would.
 * Semantics: TFLite Micro reference kernels (concatenation.cc, pad.cc, transpose.cc,
 * strided_slice.cc, split.cc, split_v.cc, pack.cc, unpack.cc, gather.cc, reduce.cc,
 * arg_min_max.cc, resize_nearest_neighbor.cc, resize_bilinear.cc, batch_matmul.cc).
 */
#ifndef TML_KERNELS_SHAPE_H
#define TML_KERNELS_SHAPE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TML_VIEW_MAX_RANK 6

/**
 * An affine view of an input tensor: output element (i_0, ..., i_{rank-1}), row-major in
 * `shape`, is input element `offset + sum_d i_d * step[d]` (steps in elements, may be negative).
 */
typedef struct {
  int32_t rank; /* 1..TML_VIEW_MAX_RANK */
  int32_t shape[TML_VIEW_MAX_RANK];
  int32_t step[TML_VIEW_MAX_RANK];
  int32_t offset;
} tml_view;

/* ---- movement.c ---- */

/**
 * TRANSPOSE, STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, UNPACK (one call per output): copies the view
 * `v` of `input` into the dense `output` (prod(shape) elements of elem_bytes each). An innermost
 * step of 1 copies rows with memcpy.
 */
void tml_copy_view(const tml_view *v, int32_t elem_bytes, const void *input, void *output);

/**
 * CONCATENATION, PACK: output = `outer` repetitions of [chunk_bytes[0] bytes of inputs[0],
 * chunk_bytes[1] bytes of inputs[1], ...], block b of input i starting at byte b * chunk_bytes[i].
 */
void tml_concat(int32_t outer, int32_t count, const int32_t *chunk_bytes, const void *const *inputs,
                void *output);

/** PAD / PADV2 (constant mode), up to 5 dimensions. */
typedef struct {
  int32_t rank;         /* 1..5 */
  int32_t in_shape[5];  /* input dims */
  int32_t before[5];    /* elements added before / after the input along each dim, >= 0 */
  int32_t after[5];
} tml_pad_params;

/** output dims = before + in_shape + after; elements outside the input are *pad_value. */
void tml_pad(const tml_pad_params *p, int32_t elem_bytes, const void *input, const void *pad_value,
             void *output);

/**
 * GATHER: input [batches, outer, axis_size, inner], coordinates [batches, coords] (int32),
 * output [batches, outer, coords, inner]; inner given in bytes. Returns 0, or -1 (output
 * incomplete) when a coordinate lies outside [0, axis_size).
 */
int tml_gather(int32_t batches, int32_t outer, int32_t axis_size, int32_t coords, int32_t inner_bytes,
               const void *input, const int32_t *coordinates, void *output);

/**
 * RESIZE_NEAREST_NEIGHBOR: input [batches, in_h, in_w, pixel], output [batches, out_h, out_w,
 * pixel] (pixel = depth * elem_bytes bytes); output pixel (y, x) is input pixel
 * (src_y[y], src_x[x]), maps precomputed with TFLM's float32 GetNearestNeighbor.
 */
void tml_resize_nearest(int32_t batches, int32_t in_h, int32_t in_w, int32_t out_h, int32_t out_w,
                        int32_t pixel_bytes, const int32_t *src_y, const int32_t *src_x,
                        const void *input, void *output);

/* ---- resize.c ---- */

/**
 * RESIZE_BILINEAR (TFLM ResizeBilinearInteger, Q10 positions). rows[3 * y .. 3 * y + 2] =
 * (low row, high row, Q10 distance from the low row) of output row y; cols likewise per column.
 * Each output element is the Q20 weighted sum of its four neighbours rounded half away from zero
 * with a truncating division by 2^20. Input and output share scale and zero point.
 */
typedef struct {
  int32_t batches, in_h, in_w, depth, out_h, out_w;
  const int32_t *rows; /* [out_h * 3] */
  const int32_t *cols; /* [out_w * 3] */
} tml_resize_bilinear_params;

void tml_resize_bilinear_s8(const tml_resize_bilinear_params *p, const int8_t *input, int8_t *output);
void tml_resize_bilinear_s16(const tml_resize_bilinear_params *p, const int16_t *input, int16_t *output);

/* ---- reduce.c ---- */

/** How MEAN / SUM turn the int32 sum of the reduced elements into an output value. */
#define TML_REDUCE_TRUNCATING_MEAN 0 /* sum / count, C division (MEAN, equal quantization) */
#define TML_REDUCE_REQUANTIZE 1      /* mbqm(sum - input_zero_point * count) + output_zero_point */

/**
 * MEAN, SUM, REDUCE_MAX. `kept` walks the output elements in order (the input offset of each
 * one's first reduced element), `reduced` the elements folded into one output (offsets relative
 * to that). multiplier/shift: QuantizeMultiplier(sIn / sOut), with 1/count folded in for MEAN.
 * Results are clamped to the dtype. Sums are int32 and wrap as TFLM's do.
 */
typedef struct {
  tml_view kept;
  tml_view reduced;
  int32_t count; /* elements per output, prod(reduced.shape) */
  int32_t mode;  /* TML_REDUCE_*; ignored by the max kernels */
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift;
} tml_reduce_params;

void tml_reduce_sum_s8(const tml_reduce_params *p, const int8_t *input, int8_t *output);
void tml_reduce_sum_s16(const tml_reduce_params *p, const int16_t *input, int16_t *output);
void tml_reduce_max_s8(const tml_reduce_params *p, const int8_t *input, int8_t *output);
void tml_reduce_max_s16(const tml_reduce_params *p, const int16_t *input, int16_t *output);

/**
 * ARG_MAX (is_min = 0) / ARG_MIN (is_min = 1): input [outer, axis_size, inner], output
 * [outer, inner] int32: the index of the first largest (smallest) element along the axis.
 */
void tml_arg_min_max_s8(int32_t outer, int32_t axis_size, int32_t inner, int32_t is_min,
                        const int8_t *input, int32_t *output);
void tml_arg_min_max_s16(int32_t outer, int32_t axis_size, int32_t inner, int32_t is_min,
                         const int16_t *input, int32_t *output);

/* ---- batch_matmul.c ---- */

/**
 * BATCH_MATMUL: out[t, i, j] = clamp(mbqm(sum_k (a[i, k] + a_offset) * (b[k, j] + b_offset)) +
 * output_offset) for batch t, with a[i, k] at a + a_offsets[t] + i * a_row_step + k * a_depth_step
 * and b[k, j] at b + b_offsets[t] + k * b_depth_step + j * b_col_step (adj_x / adj_y and batch
 * broadcasting folded into the steps and offsets). Output [batches, rows, cols], dense.
 * int8: int32 accumulator; int16: int64 accumulator and TFLM's 64-bit MultiplyByQuantizedMultiplier.
 */
typedef struct {
  int32_t batches, rows, cols, depth;
  int32_t a_row_step, a_depth_step, b_depth_step, b_col_step;
  const int32_t *a_offsets; /* [batches] */
  const int32_t *b_offsets; /* [batches] */
  int32_t a_offset, b_offset; /* -zero points */
  int32_t output_offset, multiplier, shift, act_min, act_max;
} tml_batch_matmul_params;

void tml_batch_matmul_s8(const tml_batch_matmul_params *p, const int8_t *a, const int8_t *b, int8_t *output);
void tml_batch_matmul_s16(const tml_batch_matmul_params *p, const int16_t *a, const int16_t *b, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_SHAPE_H */
