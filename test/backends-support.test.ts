/**
 * The backend registry `tinyml inspect` reads is filled from each backend's own op table, not
 * from hand lists: every set equals the real exported set of its backend, and a real model's
 * ops show up as supported where that backend runs them.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BACKENDS, getBackend } from '../src/backends/support.ts';
import { FLOAT_REFERENCE_OPS } from '../src/reference/float/index.ts';
import { INT8_REFERENCE_OPS } from '../src/reference/int8/index.ts';
import { NATIVE_C_OPS } from '../src/codegen/native/ops.ts';
import { TFLM_RESOLVER_METHODS } from '../src/arduino/tflm-ops.ts';
import { runCli } from './helpers/cli.ts';
import { MODELS } from './helpers/shared.ts';

const sorted = (s: Iterable<string>): string[] => [...s].sort();

describe('backend op sets', () => {
  it('each backend set is its backend\'s exported op table, and none is empty', () => {
    expect(sorted(getBackend('reference-float').supportedOps)).toEqual(sorted(new Set(FLOAT_REFERENCE_OPS)));
    expect(sorted(getBackend('reference-int8').supportedOps)).toEqual(sorted(INT8_REFERENCE_OPS));
    expect(sorted(getBackend('native-c').supportedOps)).toEqual(sorted(NATIVE_C_OPS));
    expect(sorted(getBackend('tflm').supportedOps)).toEqual(sorted(Object.keys(TFLM_RESOLVER_METHODS)));
    for (const b of BACKENDS) expect(b.supportedOps.size, b.id).toBeGreaterThan(0);
  });

  it('tinyml inspect --json on the KWS int8 model: CONV_2D runs on the int8 reference, native C and TFLite Micro', () => {
    const r = runCli(['inspect', join(MODELS, 'mlperf-tiny', 'kws', 'kws_ref_model.tflite'), '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { opSet: { type: string; backends: Record<string, boolean> }[] };
    const conv = json.opSet.find((e) => e.type === 'CONV_2D')!;
    expect(conv.backends).toMatchObject({ 'reference-int8': true, 'native-c': true, tflm: true });
  });
});
