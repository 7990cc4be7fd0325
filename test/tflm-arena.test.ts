/**
 * The TFLite Micro arena formula (src/arduino/arena.ts), the fallback when the arena cannot be
 * measured, against the measurements: bench/results/tflm-golden.json holds the smallest arena
 * the pinned library accepts for every ../shared/golden and golden-ops model it runs (measured
 * in QEMU by bisection, then verified by running with exactly that arena). The formula must be
 * at or above every one of them, within its documented margin; and TFLM's own
 * arena_used_bytes() is below them (it is not the arena that works).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/formats/load.ts';
import { TFLM_ARENA_FORMULA, tflmArenaBytes } from '../src/arduino/arena.ts';
import { planMemory } from '../src/plan/memory.ts';
import { sharedPath } from './helpers/shared.ts';

interface Entry {
  id: string;
  model: string;
  outcome: string;
  needed_arena_bytes: number | null;
  refused_arena_bytes: number | null;
  arena_used_bytes: number | null;
}
const bench = JSON.parse(readFileSync(resolve(import.meta.dirname, '../bench/results/tflm-golden.json'), 'utf8')) as { models: Entry[] };
const measured = bench.models.filter((m) => m.outcome === 'identical');

describe('the arena formula against the measured arenas', () => {
  it('covers the golden models and most golden-ops models', () => {
    expect(measured.filter((m) => !m.id.includes('_') || m.id.startsWith('tflm-') || m.id.startsWith('mlperf-')).length).toBeGreaterThanOrEqual(6);
    expect(measured.length).toBeGreaterThan(80);
  });

  it.each(measured.map((m) => [m.id, m] as const))('%s: formula >= the smallest arena that works, within the margin; arena_used_bytes below it', (_id, m) => {
    expect(m.needed_arena_bytes).toBeGreaterThan(0);
    expect(m.refused_arena_bytes).toBe(m.needed_arena_bytes! - 16);
    expect(m.arena_used_bytes).toBeLessThanOrEqual(m.needed_arena_bytes!);
    const graph = loadModel(sharedPath(m.model));
    const f = tflmArenaBytes(graph, planMemory(graph).arenaBytes);
    expect(f.arenaBytes).toBeGreaterThanOrEqual(m.needed_arena_bytes!);
    // Not wasteful: the fitted sum (before the margin) stays within 1 KiB + 25% of the need.
    expect(f.arenaBytes).toBeLessThanOrEqual(Math.ceil(((m.needed_arena_bytes! * 1.25 + 1024) * (1 + TFLM_ARENA_FORMULA.margin)) / 16) * 16);
    expect(f.arenaBytes % 16).toBe(0);
  });
});

/**
 * bench/results/emulated.json (bench/emulated.ts): TFLite Micro + CMSIS-NN measured by tinyml
 * with the pinned library, beside the anchors (../shared/anchors/tflm-cortex-m4.json), which
 * become a cross-check: the same outputs, instruction counts within 10% (another TFLM snapshot
 * and build; docs/run.md says where they differ).
 */
describe('the TFLite Micro column of bench/results/emulated.json against the anchors', () => {
  const emulated = JSON.parse(readFileSync(resolve(import.meta.dirname, '../bench/results/emulated.json'), 'utf8')) as {
    models: Record<string, { tinyml: { instructions_per_inference: number }; tflm_cmsis_nn_measured?: { runtime: string; instructions_per_inference: number; outputs_case: string; same_outputs_as_tinyml: boolean }; tinyml_vs_tflm_cmsis_nn_measured?: { instructions_ratio: number } }>;
  };
  const anchors = JSON.parse(readFileSync(sharedPath('anchors/tflm-cortex-m4.json'), 'utf8')) as { models: Record<string, { cmsis_nn: { instructions_per_inference: number; outputs_case: string } }> };

  it.each(Object.keys(anchors.models))('%s: measured with the pinned library, outputs as the anchor\'s and tinyml\'s, instructions within 10%% of the anchor', (id) => {
    const m = emulated.models[id]?.tflm_cmsis_nn_measured;
    expect(m, `${id} has no tflm_cmsis_nn_measured: node bin/run-ts.js bench/emulated.ts`).toBeDefined();
    const anchor = anchors.models[id]!.cmsis_nn;
    expect(m!.runtime).toMatch(/^Chirale_TensorFLowLite 2\.0\.0, CMSIS-NN kernels/);
    expect(m!.outputs_case).toBe(anchor.outputs_case);
    expect(m!.same_outputs_as_tinyml).toBe(true);
    expect(Math.abs(m!.instructions_per_inference / anchor.instructions_per_inference - 1)).toBeLessThan(0.1);
    expect(emulated.models[id]!.tinyml_vs_tflm_cmsis_nn_measured!.instructions_ratio).toBeCloseTo(emulated.models[id]!.tinyml.instructions_per_inference / m!.instructions_per_inference, 3);
  });
});
