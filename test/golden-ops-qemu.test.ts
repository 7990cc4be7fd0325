/**
 * Operator conformance on the emulated Cortex-M4: a representative subset of
 * ../shared/golden-ops per op family, built as native firmware for QEMU mps2-an386 (arm-none-eabi-gcc)
 * with each kernel set the board can use (dsp, its default, and portable) and run there; every
 * output byte of both cases equals TFLite Micro's reference kernels. A variant whose firmware is
 * the same C for both sets (no op the dsp set changes, no int8 dot product that
 * -DTML_KERNELS_DSP changes) runs once, with the default set. The host build of every variant is checked in golden-ops.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/formats/load.ts';
import { elementCount } from '../src/ir/graph.ts';
import { decodeBytes } from '../src/reference/int8/common.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';
import { runSamplesOnEmulator } from '../src/eval/device.ts';
import { byteDiff, GOLDEN_OP_IDS, goldenOp } from './helpers/golden-ops.ts';
import { chooseNative, KERNEL_SETS, type KernelSet } from '../src/codegen/native/dsp.ts';

/** Convolutions, fully connected, pooling, softmax, SVDF (and their 16x8 forms, LSTM). */
const CONV_FAMILY = [
  'conv2d_3x3_same_s2_relu6_c17',
  'conv2d_3x3_valid_d2_relu6_c3',
  'conv2d_3x3_valid_s1_relu6_c8_batch2',
  'dwconv_3x3_same_s1_m2_relu6_c3',
  'dwconv_3x3_valid_s2_m2_relu_c5',
  'fc_keepdims_bias_none',
  'fc_pertensor_bias_relu',
  'avgpool_3x3_same_s2_relu',
  'maxpool_3x3_same_s2',
  'softmax_beta1_4d',
  'svdf_rank2_batch2_none',
  'i16_conv2d_3x3_same_s1_relu_c8',
  'i16_dwconv_3x3_valid_s2_m2_none_c3',
  'i16_softmax_beta0p5_batch',
  'transpose_conv_3x3_same_s2',
  'lstm_b2_t4',
];

/** Variants that take the dsp kernel set's assembly loops (activation range [-128, 127]): 1x1,
 * im2col (with a last partial group of channels) and FULLY_CONNECTED convolutions, depthwise, ADD. */
const DSP_PATHS = ['conv2d_1x1_valid_s1_none_c8_nobias', 'conv2d_3x3_valid_s2_none_c3', 'conv2d_5x1_same_s2_none_c17_nobias', 'fc_bias_none', 'dwconv_3x3_valid_s2_m1_none_c8', 'add_same_none'];

/** Element-wise arithmetic and activations. */
const ELEMENTWISE_FAMILY = [
  'add_bcast4d_relu6',
  'add_const_bcast_none',
  'quantize_float_to_int8',
  'dequantize_int8',
  'hard_swish',
  'prelu_alpha_c',
  'sub_bcast4d_relu6',
  'i16_mul_bcast_relu',
  'i16_tanh',
  'l2_normalization',
];

/** Data movement, reductions, resizing, BATCH_MATMUL: every kernel of movement.c, reduce.c, resize.c, batch_matmul.c once. */
const SHAPE_FAMILY = [
  'reshape',
  'i16_reshape',
  'concat_axis1_diff_scales',
  'i16_pad',
  'i16_transpose',
  'strided_slice',
  'unpack',
  'gather',
  'i16_mean_axes12_keepdims',
  'reduce_max_axes12_keepdims',
  'arg_max',
  'resize_bilinear_half',
  'resize_nn_align',
  'batch_matmul',
];

const SUBSET = [...CONV_FAMILY, ...DSP_PATHS, ...ELEMENTWISE_FAMILY, ...SHAPE_FAMILY];

it('every id of the QEMU subset is a golden-ops variant', () => {
  for (const id of SUBSET) expect(GOLDEN_OP_IDS).toContain(id);
});

/** The kernel sets whose firmware differs for a variant. */
function setsFor(id: string): KernelSet[] {
  const graph = loadModel(goldenOp(id).modelPath);
  const int8Dot = graph.ops.some((o) => ['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED'].includes(o.type) && graph.tensors[o.inputs[0]!]?.dtype === 'int8');
  return chooseNative(graph, { kernels: 'dsp' }).choices.size > 0 || int8Dot ? [...KERNEL_SETS] : ['dsp'];
}

describe.each(SUBSET.flatMap((id) => setsFor(id).map((k) => [id, k] as [string, KernelSet])))('%s on QEMU mps2-an386, %s kernels', (id, kernels) => {
  it('both cases: every output byte equals TFLite Micro', async () => {
    const g = goldenOp(id);
    const graph = loadModel(g.modelPath);
    const samples = g.cases.map((c) =>
      graph.inputs.map((gi, i): TensorValue => {
        const t = graph.tensors[gi.tensor]!;
        return { dtype: t.dtype, shape: [...t.shape], data: decodeBytes(t.dtype, c.inputs[i]!, elementCount(t.shape)) } as TensorValue;
      }),
    );
    // One firmware build; each case runs in its own QEMU boot with its input patched into the ELF.
    const runs = await runSamplesOnEmulator(graph, samples, 'mps2-an386', undefined, kernels);
    g.cases.forEach((c, k) =>
      c.outputs.forEach((want, j) => {
        const v = runs.outputs[k]![j]!.data;
        expect(byteDiff(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), want), `case ${k} output ${j}`).toEqual([]);
      }),
    );
  });
});
